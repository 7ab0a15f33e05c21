"""The child process that trains one run and records its result."""

from __future__ import annotations

import traceback
from pathlib import Path


def load_inputs(ws, project, run):
    """The pinned inputs of a run, read back from the store."""
    from cockpit.features import spec_at
    from cockpit.splits import get_split, split_frames
    from cockpit.training.fit import TrainInputs

    split = get_split(ws, project, run.split_id)
    parts = split_frames(ws, project, split)
    specs = spec_at(ws, project, run.feature_spec_version)
    return TrainInputs(task=project.task, target=project.target, family=run.family,
                       params=run.params, seed=run.seed, specs=specs, train=parts["train"],
                       validation=parts["validation"], metric=run.metric)


def report(fraction: float, message: str) -> None:
    print(f"@progress {fraction:.3f} {message}", flush=True)


def main(workspace_dir: str, project_id: int, run_id: int) -> int:
    from cockpit.projects import list_projects
    from cockpit.training.fit import fit_and_score
    from cockpit.training.runs import finish, get_run
    from cockpit.workspace import Workspace

    with Workspace(Path(workspace_dir)) as ws:
        project = next(p for p in list_projects(ws) if p.id == project_id)
        try:
            run = get_run(ws, project, run_id)
            inputs = load_inputs(ws, project, run)
            output = fit_and_score(inputs, report)
            ref = ws.artifacts.put(output.pipeline, kind="model",
                                   library_versions=run.library_versions)
            finish(ws, project, run_id, "finished", output=output, artifact_sha256=ref.sha256)
            return 0
        except Exception as exc:  # recorded on the run, never a crash
            finish(ws, project, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
            traceback.print_exc(limit=3)
            return 1


if __name__ == "__main__":
    import sys

    workspace, project_id, run_id = sys.argv[1:4]
    sys.exit(main(workspace, int(project_id), int(run_id)))
