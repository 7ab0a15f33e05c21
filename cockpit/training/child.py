"""The child process that trains one run and records its result."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

from cockpit.errors import CockpitError


def load_inputs(ws, project, run):
    """The pinned inputs of a run, read back from the store."""
    return pinned_inputs(
        ws,
        project,
        run.family,
        run.params,
        run.seed,
        run.split_id,
        run.feature_spec_version,
        run.metric,
        run.feature_compiler or 1,
    )


def pinned_inputs(
    ws, project, family, params, seed, split_id, spec_version, metric, compiler: int | None = None
):
    from cockpit.data.splits import get_split, split_frames
    from cockpit.features import COMPILER_VERSION, spec_at
    from cockpit.training.fit import TrainInputs

    parts = split_frames(ws, project, get_split(ws, project, split_id))
    return TrainInputs(
        task=project.task,
        target=project.target,
        family=family,
        params=params,
        seed=seed,
        specs=spec_at(ws, project, spec_version),
        train=parts["train"],
        validation=parts["validation"],
        metric=metric,
        compiler=compiler or COMPILER_VERSION,
    )


def report(fraction: float, message: str) -> None:
    """Progress for the parent; if the parent is gone, keep training and stop reporting."""
    try:
        print(f"@progress {fraction:.3f} {message}", flush=True)
    except (BrokenPipeError, OSError):
        import os
        import sys

        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def main(
    workspace_dir: str, project_id: int, run_id: int, progress: Callable[[float, str], None] = report
) -> int:
    """Train the run and record it; `progress(fraction, message)` hears how far it is (by
    default as lines for the parent)."""
    from cockpit.projects import list_projects
    from cockpit.training.fit import fit_and_score
    from cockpit.training.runs import finish, get_run
    from cockpit.workspace import Workspace

    with Workspace(Path(workspace_dir)) as ws:
        project = next(p for p in list_projects(ws) if p.id == project_id)
        try:
            run = get_run(ws, project, run_id)
            check_model(run.family, project.task)
            inputs = load_inputs(ws, project, run)
            output = fit_and_score(inputs, progress)
            ref = ws.artifacts.put(output.pipeline, kind="model", library_versions=run.library_versions)
            finish(ws, project, run_id, "finished", output=output, artifact_sha256=ref.sha256)
            return 0
        except Exception as exc:  # recorded on the run, never a crash
            error = str(exc) if isinstance(exc, CockpitError) else f"{type(exc).__name__}: {exc}"
            finish(ws, project, run_id, "failed", error=error)
            traceback.print_exc(limit=3)
            return 1


def check_model(name: str, task: str) -> None:
    """The run's model, resolved again in this process: a user's module the parent imported
    may not import here (another working folder or PYTHONPATH, as a retrain may have)."""
    import os

    from cockpit.training import models

    try:
        models.resolve(name, task)
    except CockpitError as exc:
        raise CockpitError(
            f"the training process (working folder {os.getcwd()}) cannot load the model: {exc}"
        ) from None


if __name__ == "__main__":
    import sys

    workspace, project_id, run_id = sys.argv[1:4]
    sys.exit(main(workspace, int(project_id), int(run_id)))
