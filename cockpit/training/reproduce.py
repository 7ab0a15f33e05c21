"""`reproduce RUN`: refit from the pinned inputs in a fresh process — never from the saved
artifact — then compare the new artifact's sha256 and the validation predictions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training.runs import Run, check_has_model, get_run, load_pipeline
from cockpit.workspace import Workspace
from storage import clock
from storage.artifacts import dump_bytes

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Reproduction:
    """A run refitted from its pinned inputs, compared with what it saved."""

    id: int  # the reproductions row
    run: int
    identical: bool  # the artifact and the validation predictions both match
    artifact_match: bool
    predictions_match: bool
    max_difference: float  # largest change in a validation score or prediction
    artifact_sha256: str  # the refitted artifact's
    detail: str
    code_differs: bool  # the code commit is not the run's, or the tree is dirty
    libraries_differ: dict[str, list[str | None]]  # library -> [at training, now]

    def as_dict(self) -> dict[str, Any]:
        """As `cockpit reproduce --json` prints it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def reproduce(ws: Workspace, project: Project, run_id: int) -> Reproduction:
    """Refit in a fresh process and record the verdict; returns it. A script run is re-run
    at its recorded commit in a temporary git worktree; a notebook or file run has
    nothing to re-run and is refused, saying so."""
    run = get_run(ws, project, run_id)
    check_has_model(run, "reproduced")
    refitted = _refitted_from(run) is not None  # a retrain's clone: refitted again below
    if run.kind in ("notebook", "file") and not refitted:
        raise CockpitError(f"cannot reproduce {run.label}: {_outside(run)}; nothing to re-run")
    if run.kind == "script" and not refitted:
        result = _rerun_script(ws, project, run)
    else:
        result = _refit_in_child(ws, project, run)
        from cockpit.training.environment import capture

        commit, dirty, versions = capture(ws.root)
        result["code_differs"] = bool(run.git_commit != commit or dirty)
        result["libraries_differ"] = libraries_differ(run.library_versions, versions)
    result["identical"] = result["artifact_match"] and result["predictions_match"]
    with ws.store.transaction():
        result["id"] = ws.store.insert(
            "reproductions",
            {
                "run_id": run_id,
                "identical": int(result["identical"]),
                "artifact_match": int(result["artifact_match"]),
                "predictions_match": int(result["predictions_match"]),
                "max_difference": result["max_difference"],
                "code_differs": int(result["code_differs"]),
                "libraries_differ": result["libraries_differ"],
                "artifact_sha256": result["artifact_sha256"],
                "detail": result["detail"],
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        ws.record("experiments", "reproduce", project.id, {"run": run_id, "identical": result["identical"]})
    return Reproduction(run=run_id, **result)


def _refitted_from(run: Run) -> int | None:
    """The run whose model a retrain cloned and refitted into this one (None: not a clone)."""
    origin = run.origin or {}
    return int(origin["retrained_from"]) if origin.get("refit") and origin.get("retrained_from") else None


def _outside(run: Run) -> str:
    """Where an external run's model came from, in words."""
    origin = run.origin or {}
    if run.kind == "file":
        return f"trained outside cockpit from the file {origin.get('file', '(not recorded)')}"
    return "trained outside cockpit from a notebook" + (f" in {origin['cwd']}" if origin.get("cwd") else "")


def libraries_differ(
    before: dict[str, str] | None, now: dict[str, str] | None
) -> dict[str, list[str | None]]:
    """library -> [at training, now] for each library whose version changed."""
    now = now or {}
    return {name: [old, now.get(name)] for name, old in (before or {}).items() if now.get(name) != old}


def _refit_in_child(ws: Workspace, project: Project, run) -> dict[str, Any]:
    """`_refit` in a fresh process; its answer comes back on a channel of its own (one small
    JSON line, well inside a pipe's buffer, so the child never waits for the parent to read)."""
    read_fd, write_fd = os.pipe()
    try:
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "cockpit.training.reproduce",
                str(ws.dir),
                str(project.id),
                str(run.id),
                str(write_fd),
            ],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            pass_fds=(write_fd,),
        )
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd, encoding="utf-8") as channel:
        messages = [json.loads(line) for line in channel if line.strip()]
    answer = messages[-1] if messages else {}
    if child.returncode != 0 or "result" not in answer:
        tail = (child.stderr or child.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CockpitError(f"reproducing {run.label} failed: {answer.get('error') or tail[0]}")
    return answer["result"]


def _rerun_script(ws: Workspace, project: Project, run: Run) -> dict[str, Any]:
    """The run's script again, at its commit in a temporary worktree of its repository (its
    seed is in that code), on the same data version and split; the run it logs is compared
    with this one."""
    from cockpit.data.splits import get_split, split_frames
    from cockpit.training import rerun

    if not run.git_commit or run.git_dirty is not False:
        why = "uncommitted changes" if run.git_commit else "outside a git repository"
        raise CockpitError(
            f"cannot reproduce: not a clean commit ({run.label} was logged from {why}): commit "
            "the script, run it again and reproduce that run"
        )
    assert run.version_id is not None and run.split_id is not None, "a finished script run has its split"
    recorded = rerun.recorded_command(ws, run)
    repo = rerun.repository(recorded.script_file.parent)
    with rerun.worktree(repo, run.git_commit) as tree:
        command = rerun.moved_to(recorded, repo, tree)
        done = rerun.run_command(ws, project, command, run.version_id, run.split_id)
    failure = done.failure(run.version_id, run.split_id)
    if failure is not None:
        raise CockpitError(
            f"reproducing {run.label} failed: {command.shown} at {run.git_commit[:12]}: {failure}"
        )
    again = done.run
    assert again is not None and again.artifact_sha256 is not None  # failure() said so
    # what it is, beside what the script recorded of itself: its script path was the
    # worktree's, gone now; the run's own script and folder are where the code lives
    origin = {k: v for k, v in (again.origin or {}).items() if k != "rerun"}
    origin.update(
        script=(run.origin or {}).get("script"), cwd=(run.origin or {}).get("cwd"), reproduces=run.id
    )
    ws.store.update("runs", {"id": again.id}, {"origin": origin})
    validation = split_frames(ws, project, get_split(ws, project, run.split_id))["validation"]
    compared = compare_predictions(load_pipeline(ws, run), load_pipeline(ws, again), validation, project.task)
    compared["detail"] += (
        f"; re-ran {command.shown} at {run.git_commit[:12]} in a temporary worktree ({again.label})"
    )
    return {
        **compared,
        "artifact_match": again.artifact_sha256 == run.artifact_sha256,
        "artifact_sha256": again.artifact_sha256,
        "code_differs": bool(again.git_commit != run.git_commit or again.git_dirty),
        "libraries_differ": libraries_differ(run.library_versions, again.library_versions),
    }


def last_reproduction(ws: Workspace, run_id: int) -> dict | None:
    return ws.store.one("SELECT * FROM reproductions WHERE run_id = ? ORDER BY id DESC LIMIT 1", [run_id])


def _refit(workspace_dir: str, project_id: int, run_id: int) -> dict[str, Any]:
    """In the child: refit from the stored data, split, spec, params and seed; compare."""
    import hashlib

    from cockpit.projects import list_projects
    from cockpit.training.child import load_inputs
    from cockpit.training.fit import fit_and_score

    with Workspace(Path(workspace_dir)) as ws:
        project = next(p for p in list_projects(ws) if p.id == project_id)
        run = get_run(ws, project, run_id)
        source = _refitted_from(run)
        if source is None:
            inputs = load_inputs(ws, project, run)
            pipeline, validation = fit_and_score(inputs).pipeline, inputs.validation
        else:
            pipeline, validation = _refit_clone(ws, project, get_run(ws, project, source), run)
        sha = hashlib.sha256(dump_bytes(pipeline)).hexdigest()
        original = load_pipeline(ws, run)
    return {
        "artifact_match": sha == run.artifact_sha256,
        "artifact_sha256": sha,
        **compare_predictions(original, pipeline, validation, project.task),
    }


def _refit_clone(ws: Workspace, project: Project, source: Run, run: Run) -> tuple[Any, pd.DataFrame]:
    """A clone of `source`'s model fitted on `run`'s split as the retrain did, behind its input
    step (cockpit.retraining.refit), and the split's validation rows."""
    from cockpit.training import external
    from cockpit.training.rerun import fit_clone

    data = external.run_data(ws, project, run.split_id)
    model, rows = fit_clone(ws, source, data)
    return external.with_inputs(model, rows), data.validation


def compare_predictions(original: Any, refitted: Any, validation: pd.DataFrame, task: str) -> dict[str, Any]:
    """Two fitted pipelines on the same validation rows: whether every prediction (and class
    probability) is the same, the largest difference, and the verdict in words."""
    import numpy as np

    from cockpit.training.fit import predict

    old_pred, old_proba, _ = predict(original, validation, task)
    new_pred, new_proba, _ = predict(refitted, validation, task)
    same_labels = bool(np.array_equal(old_pred, new_pred))
    difference = 0.0
    if old_proba is not None and new_proba is not None and old_proba.shape == new_proba.shape:
        difference = float(np.max(np.abs(old_proba - new_proba)))
    elif task == "regression":
        difference = float(np.max(np.abs(np.asarray(old_pred, float) - np.asarray(new_pred, float))))
    changed = int(np.sum(old_pred != new_pred))
    detail = f"{len(new_pred)} validation predictions: {changed} differ, largest difference {difference:.3g}"
    return {
        "predictions_match": same_labels and difference == 0.0,
        "max_difference": difference,
        "detail": detail,
    }


def main(workspace_dir: str, project_id: int, run_id: int, channel_fd: int) -> int:
    from cockpit.training.channel import Channel

    channel = Channel(channel_fd)
    try:
        channel.send(result=_refit(workspace_dir, project_id, run_id))
    except Exception as exc:  # reported to the parent, never a silent exit
        channel.send(error=f"{type(exc).__name__}: {exc}")
        traceback.print_exc(limit=5)
        return 1
    return 0


if __name__ == "__main__":
    workspace_dir, project_id, run_id, channel_fd = sys.argv[1:5]
    sys.exit(main(workspace_dir, int(project_id), int(run_id), int(channel_fd)))
