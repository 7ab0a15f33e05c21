"""Tracked training runs. A run pins its data version, split, feature spec, family,
params and seed, and records metrics, curves, artifact, code commit and environment.

Training happens in a child process (a thread cannot interrupt `fit`): cancel
stops it at once, and a run whose processes died is marked interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.features import COMPILER_VERSION
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock
from storage.migrations import RUN_METRICS
from storage.processes import process_alive
from storage.store import to_json

STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
JSON_FIELDS = (
    "params",
    "train_metrics",
    "validation_metrics",
    "curve",
    "library_versions",
    "origin",
    "input_schema",
)
# Where a run came from. catalog: a family of cockpit's catalogue; estimator: any importable
# scikit-learn estimator (`module.Class`) behind the feature spec's transformer; pipeline: a
# user's whole Pipeline (`module:factory`); script/notebook: a model logged through the Python
# API (cockpit.start_run); file: a model file registered with `cockpit register --file`;
# mlflow: a run imported from an MLflow store (`cockpit import mlflow`).
SOURCES = ("catalog", "estimator", "pipeline", "script", "notebook", "file", "mlflow")
EXTERNAL_SOURCES = ("script", "notebook", "file", "mlflow")
# runs whose status another system keeps: running there, with no process of cockpit's behind them
FOLLOWED_SOURCES = ("mlflow",)


@dataclass(frozen=True, slots=True)
class LearningCurve:
    """Train and validation scores as a staged param (trees, boosting rounds) grew."""

    param: str
    metric: str
    steps: list[int]
    train: list[float | None]
    validation: list[float | None]


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    project_id: int
    sweep_id: int | None
    family: str
    params: dict[str, Any]
    seed: int
    version_id: int | None
    split_id: int | None
    feature_spec_version: int | None
    status: str
    error: str | None
    metric: str | None
    score: float | None
    train_metrics: dict[str, float] | None
    validation_metrics: dict[str, float] | None
    curve: dict[str, Any] | None
    duration_s: float | None
    artifact_sha256: str | None
    git_commit: str | None
    git_dirty: bool | None
    python_version: str | None
    library_versions: dict[str, str] | None
    owner_pid: int | None
    worker_pid: int | None
    created_at: str
    finished_at: str | None
    created_by: str | None
    threshold: float | None = None  # binary decision threshold, chosen on validation
    threshold_reason: str | None = None
    feature_compiler: int | None = None  # None: compiler 1 (before it was recorded)
    source: str | None = None  # one of SOURCES; None: catalog (before it was recorded)
    model_class: str | None = None  # the fitted model's class, e.g. LGBMClassifier
    origin: dict[str, Any] | None = None  # script/argv/cwd, notebook, or file it came from
    input_schema: list[dict[str, str]] | None = None  # [{"name", "dtype"}] the model takes

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def label(self) -> str:
        return f"run {self.id} ({self.model_name})"

    @property
    def kind(self) -> str:
        """Where the run came from (one of SOURCES)."""
        return self.source or "catalog"

    @property
    def external(self) -> bool:
        """Trained outside cockpit (a script, a notebook, a file): cockpit holds the fitted
        model, not a recipe it can run again by name."""
        return self.kind in EXTERNAL_SOURCES

    @property
    def model_name(self) -> str:
        """What the runs table shows as the model: the family, or the class for others."""
        return self.model_class or self.family

    @property
    def learning_curve(self) -> LearningCurve | None:
        """The curve a staged fit recorded; None for families fitted in one go."""
        c = self.curve
        return LearningCurve(c["param"], c["metric"], c["steps"], c["train"], c["validation"]) if c else None


def _from_row(row: dict) -> Run:
    data = {k: v for k, v in row.items() if not k.startswith("m_")}
    for key in JSON_FIELDS:
        data[key] = json.loads(data[key]) if data[key] else None
    if data["git_dirty"] is not None:
        data["git_dirty"] = bool(data["git_dirty"])
    return Run(**data)


def get_run(ws: Workspace, project: Project, run_id: int) -> Run:
    row = ws.store.one("SELECT * FROM runs WHERE id = ? AND project_id = ?", [run_id, project.id])
    if row is None:
        raise CockpitError(f"no run {run_id} in project {project.name!r}")
    return _from_row(row)


NO_MODEL_WHY = {
    "script": "its code never called run.log_model",
    "notebook": "its code never called run.log_model",
    "mlflow": "MLflow holds no scikit-learn model cockpit could load for it",
}


def check_has_model(run: Run, done: str) -> None:
    """A run that can be `done` (evaluated, registered, reproduced): finished, with a model."""
    if run.status != "finished":
        raise CockpitError(f"{run.label} is {run.status}: only a finished run can be {done}")
    if not run.artifact_sha256:
        raise CockpitError(
            f"{run.label} finished without a model ({NO_MODEL_WHY.get(run.kind, 'it saved none')}): "
            f"there is nothing to be {done}"
        )


def load_pipeline(ws: Workspace, run: Run) -> Any:
    """The fitted pipeline a run saved; a run that saved none is refused by name. A model of
    a user's own class needs its module: the working folder is searched too, as in training."""
    if not run.artifact_sha256:
        raise CockpitError(f"{run.label} is {run.status}: it saved no model")
    if run.kind != "catalog":
        from cockpit.training.models import working_folder_on_path

        working_folder_on_path()
    try:
        return ws.artifacts.load(run.artifact_sha256)
    except ModuleNotFoundError as exc:
        raise CockpitError(
            f"{run.label}: its model needs the module {exc.name!r}, which does not import here; "
            "install it, run cockpit in the folder that holds it, or add that folder to PYTHONPATH"
        ) from None


def list_runs(ws: Workspace, project: Project, limit: int = 200) -> list[Run]:
    mark_interrupted(ws, project)
    rows = ws.store.rows(
        "SELECT * FROM runs WHERE project_id = ? ORDER BY id DESC LIMIT ?", [project.id, limit]
    )
    return [_from_row(r) for r in rows]


def _alive(pid: int | None) -> bool:
    """Is the process running? An ended process not yet reaped (a zombie) is not."""
    return bool(pid) and process_alive(pid)  # type: ignore[arg-type]


def mark_interrupted(ws: Workspace, project: Project) -> int:
    """Runs left 'running' by processes that no longer exist become 'interrupted' (not a
    run another system follows: an imported MLflow run is running there)."""
    stale = [
        r
        for r in ws.store.rows(
            "SELECT id, owner_pid, worker_pid FROM runs WHERE project_id = ? AND status = 'running'"
            f" AND COALESCE(source, '') NOT IN ({', '.join('?' * len(FOLLOWED_SOURCES))})",
            [project.id, *FOLLOWED_SOURCES],
        )
        if not _alive(r["owner_pid"]) and not _alive(r["worker_pid"])
    ]
    for row in stale:
        finish(
            ws, project, row["id"], "interrupted", error="the process running it stopped before it finished"
        )
    _mark_sweeps_interrupted(ws, project)
    return len(stale)


def _mark_sweeps_interrupted(ws: Workspace, project: Project) -> None:
    """A sweep left 'running' by a process that is gone becomes 'interrupted'."""
    from storage.processes import same_process

    stale = [
        r
        for r in ws.store.rows(
            "SELECT id, owner_pid, owner_started FROM sweeps WHERE project_id = ? AND status = 'running'",
            [project.id],
        )
        if not same_process(r["owner_pid"], r["owner_started"])
    ]
    for row in stale:
        close_sweep(ws, project, row["id"], "interrupted", "its process stopped before it finished")


def close_sweep(ws: Workspace, project: Project, sweep_id: int, status: str, reason: str) -> int | None:
    """A sweep's end, in one transaction: its row says how it ended and its best run, and its
    end event is the audit of its trials (its runs counted by how each ended: the trials
    themselves write no event). The best run by the metric its runs were scored on."""
    with ws.store.transaction():
        counts = {
            r["status"]: r["n"]
            for r in ws.store.rows(
                "SELECT status, count(*) AS n FROM runs WHERE sweep_id = ? GROUP BY status", [sweep_id]
            )
        }
        metric = ws.store.scalar("SELECT metric FROM runs WHERE sweep_id = ? LIMIT 1", [sweep_id])
        direction = "ASC" if metric in metrics.LOWER_IS_BETTER else "DESC"
        best = ws.store.scalar(
            "SELECT id FROM runs WHERE sweep_id = ? AND score IS NOT NULL "
            f"ORDER BY score {direction}, id LIMIT 1",
            [sweep_id],
        )
        trials = sum(counts.values())
        ws.store.update(
            "sweeps",
            {"id": sweep_id},
            {
                "status": status,
                "reason": reason,
                "finished_trials": trials,
                "best_run_id": best,
                "finished_at": clock.now_iso(),
            },
        )
        ws.record(
            "experiments",
            f"sweep {status}",
            project.id,
            {
                "sweep": sweep_id,
                "trials": trials,
                **{state: counts.get(state, 0) for state in ("finished", "failed", "cancelled")},
                "best": best,
                "reason": reason,
            },
        )
    return best


# -- creating and finishing runs ------------------------------------------------


@dataclass
class RunPlan:
    """Everything a run pins before it starts."""

    family: str
    params: dict[str, Any]
    seed: int
    version_id: int
    split_id: int
    feature_spec_version: int
    metric: str
    source: str | None = None  # catalog, estimator or pipeline (models.resolve); external runs set theirs
    model_class: str | None = None  # the estimator's class, for models outside the catalogue
    origin: dict[str, Any] | None = None  # where an external run came from (external.start)


def plan_run(
    ws: Workspace,
    project: Project,
    family: str,
    params: dict | list[str] | None,
    seed: int = 42,
    split_id: int | None = None,
) -> RunPlan:
    """Resolve the model (a catalogue family, `module.Class` or `module:function`: see
    training.models), params, split and feature spec; CockpitError when any is unusable."""
    from cockpit.data.splits import get_split
    from cockpit.features import ensure_spec, spec_at
    from cockpit.problem import current_spec
    from cockpit.training import models

    model = models.resolve(family, project.task)
    resolved = model.resolve_params(params or {})
    split = get_split(ws, project, split_id)
    spec_version, _ = ensure_spec(ws, project)  # the first run saves the inferred spec
    spec_at(ws, project, spec_version)
    if resolved.get("random_state", "absent") is None:
        resolved["random_state"] = seed
    metric = metrics.primary_metric(project.task, current_spec(ws, project).metric)
    return RunPlan(
        model.name,
        resolved,
        seed,
        split.version_id,
        split.id,
        spec_version,
        metric,
        model.source,
        model.model_class,
    )


def create_run(
    ws: Workspace,
    project: Project,
    plan: RunPlan,
    sweep_id: int | None = None,
    status: str = "running",
    error: str | None = None,
    environment: tuple[str | None, bool | None, dict] | None = None,
) -> int:
    """Record a run as started. `environment` (commit, dirty, versions) is read if not given."""
    from cockpit.training.environment import capture

    values = _start_values(project, plan, sweep_id, environment or capture(ws.root))
    values.update(status=status, error=error)
    with ws.store.transaction():
        run_id = ws.store.insert("runs", values)
        ws.record(
            "experiments",
            "run started" if status == "running" else f"run {status}",
            project.id,
            {"run": run_id, "family": plan.family, "seed": plan.seed},
        )
    return run_id


class Trial(NamedTuple):
    """A run that has already ended (a sweep's trial), ready to be recorded."""

    plan: RunPlan
    status: str
    error: str | None = None
    output: Any = None
    artifact_sha256: str | None = None


# The columns of a trial's row, in the order record_trials builds it: the plan's, the
# burst's (environment, process, clock, user), then the results'.
_TRIAL_COLUMNS = (
    "project_id",
    "sweep_id",
    "family",
    "params",
    "seed",
    "version_id",
    "split_id",
    "feature_spec_version",
    "feature_compiler",
    "source",
    "model_class",
    "origin",
    "metric",
    "status",
    "error",
    "git_commit",
    "git_dirty",
    "python_version",
    "library_versions",
    "owner_pid",
    "created_at",
    "finished_at",
    "created_by",
    "train_metrics",
    "validation_metrics",
    "curve",
    "duration_s",
    "artifact_sha256",
    "score",
    *(f"m_{name}" for name in RUN_METRICS),
)
_NO_RESULTS = (None,) * (6 + len(RUN_METRICS))


def record_trials(
    ws: Workspace,
    project: Project,
    sweep_id: int | None,
    environment: tuple[str | None, bool | None, dict],
    trials: Sequence[Trial],
) -> list[int]:
    """A sweep's trials that came back together (runs that have already ended), inside the
    caller's transaction, each as one INSERT of its whole row. They write no audit event of
    their own: the sweep's start and end events are their audit (the end one counts them by
    status), and a run row already says who made it, when, and how it ended — one event per
    trial would bury the lifecycle's decisions under a large sweep's trials. The values the
    trials share (environment, clock, user) are worked out once."""
    commit, dirty, versions = environment
    now = clock.now_iso()
    shared = (
        commit,
        dirty,
        versions["python"],
        _versions_json(versions),
        os.getpid(),
        now,
        now,
        current_user(),
    )
    rows = []
    for trial in trials:
        plan, output = trial.plan, trial.output
        if output is None:
            results: tuple = _NO_RESULTS
        else:
            scores = output.validation_metrics
            results = (
                output.train_metrics,
                scores,
                output.curve,
                output.duration_s,
                trial.artifact_sha256,
                scores.get(plan.metric),
                *map(scores.get, RUN_METRICS),
            )
        rows.append(
            (
                project.id,
                sweep_id,
                plan.family,
                plan.params,
                plan.seed,
                plan.version_id,
                plan.split_id,
                plan.feature_spec_version,
                COMPILER_VERSION,
                plan.source,
                plan.model_class,
                plan.origin,
                plan.metric,
                trial.status,
                trial.error,
                *shared,
                *results,
            )
        )
    return ws.store.insert_rows("runs", _TRIAL_COLUMNS, rows)


_last_versions: tuple[dict, str] = ({}, "{}")


def _versions_json(versions: dict) -> str:
    """The library versions as JSON (the largest of a run's values), encoded again only when
    they differ from the last trials' (a sweep records the same versions for every trial)."""
    global _last_versions
    if versions != _last_versions[0]:
        _last_versions = (dict(versions), to_json(versions))
    return _last_versions[1]


def _start_values(
    project: Project,
    plan: RunPlan,
    sweep_id: int | None,
    environment: tuple[str | None, bool | None, dict],
) -> dict[str, Any]:
    """The columns a run starts with."""
    commit, dirty, versions = environment
    values = {
        "project_id": project.id,
        "sweep_id": sweep_id,
        "family": plan.family,
        "params": plan.params,
        "seed": plan.seed,
        "version_id": plan.version_id,
        "split_id": plan.split_id,
        "feature_spec_version": plan.feature_spec_version,
        "feature_compiler": COMPILER_VERSION,
        "source": plan.source,
        "model_class": plan.model_class,
        "origin": plan.origin,
        "status": "running",
        "error": None,
        "metric": plan.metric,
        "git_commit": commit,
        "git_dirty": dirty,
        "python_version": versions["python"],
        "library_versions": versions,
        "owner_pid": os.getpid(),
        "created_at": clock.now_iso(),
        "created_by": current_user(),
    }
    return values


def _end_values(
    status: str, error: str | None, output, artifact_sha256: str | None, metric: str | None
) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status, "error": error, "finished_at": clock.now_iso()}
    if output is not None:
        values.update(
            train_metrics=output.train_metrics,
            validation_metrics=output.validation_metrics,
            curve=output.curve,
            duration_s=output.duration_s,
            artifact_sha256=artifact_sha256,
            score=output.validation_metrics.get(metric),
        )
        values.update({f"m_{k}": v for k, v in output.validation_metrics.items() if k in RUN_METRICS})
    return values


def _end_details(run_id: int, values: dict[str, Any], output, error: str | None) -> dict:
    details: dict[str, Any] = {"run": run_id}
    if output is not None:
        details["score"] = values["score"]
    if error:
        details["error"] = error[:200]
    return details


def finish(
    ws: Workspace,
    project: Project,
    run_id: int,
    status: str,
    error: str | None = None,
    output=None,
    artifact_sha256: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Close a running run: its results (when it finished) and its final status, in one
    transaction. A run is closed once; later calls leave it as it is. `extra` holds other
    columns written in the same update (an external run's class and input schema)."""
    metric = ws.store.scalar("SELECT metric FROM runs WHERE id = ?", [run_id]) if output is not None else None
    values = _end_values(status, error, output, artifact_sha256, metric)
    values.update(extra or {})
    with ws.store.transaction():
        if ws.store.scalar("SELECT status FROM runs WHERE id = ?", [run_id]) != "running":
            return  # closed already (e.g. cancelled while its process was ending)
        ws.store.update("runs", {"id": run_id}, values)
        ws.record("experiments", f"run {status}", project.id, _end_details(run_id, values, output, error))


# -- the child process ---------------------------------------------------------


ProgressCallback = Callable[[float, str], None]


class RunHandle:
    """A run training in a child process (`python -m cockpit.training.child`).

    The child reports progress as `@progress FRACTION MESSAGE` lines on stdout;
    its other output (warnings) is kept, never written to the terminal, where
    the cockpit's screen is.
    """

    CHILD = "cockpit.training.child"  # the module the child runs (`python -m CHILD ...`)

    def __init__(self, ws: Workspace, project: Project, run_id: int, *more: str) -> None:
        import subprocess
        import sys

        self.workspace_dir = ws.dir
        self.project = project
        self.run_id = run_id
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.CHILD, str(ws.dir), str(project.id), str(run_id), *more],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        ws.store.update("runs", {"id": run_id}, {"worker_pid": self.process.pid})
        self.cancelled, self.cancel_reason = False, ""

    def wait(self, progress: ProgressCallback | None = None) -> str:
        """Block until the child ends; returns the run's final status."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("@progress "):
                _, fraction, message = line.rstrip("\n").split(" ", 2)
                if progress:
                    progress(float(fraction), message)
            else:
                self.output = [*self.output[-40:], line.rstrip("\n")]
        code = self.process.wait()
        with Workspace(self.workspace_dir) as ws:
            if self.cancelled:  # `wait` may see the kill before `cancel` records it
                finish(ws, self.project, self.run_id, "cancelled", error=cancel_note(self.cancel_reason))
            status = ws.store.scalar("SELECT status FROM runs WHERE id = ?", [self.run_id])
            if status == "running":
                last = self.output[-1] if self.output else ""
                finish(
                    ws,
                    self.project,
                    self.run_id,
                    "failed",
                    error=f"the training process died (exit code {code}) {last}".strip(),
                )
                status = "failed"
        return status

    def cancel(self, reason: str = "") -> None:
        """Stop the child at once and record the run as cancelled (with the reason given)."""
        self.cancelled, self.cancel_reason = True, reason
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        with Workspace(self.workspace_dir) as ws:
            finish(ws, self.project, self.run_id, "cancelled", error=cancel_note(reason))


def start_run(
    ws: Workspace,
    project: Project,
    family: str,
    params: dict | list[str] | None = None,
    seed: int = 42,
    split_id: int | None = None,
) -> RunHandle:
    """Plan and start a run. A request that cannot be planned (unknown family, unknown
    parameter, a value the estimator refuses, no split) raises CockpitError before anything
    is written: bad usage is not a run."""
    plan = plan_run(ws, project, family, params, seed, split_id)
    run_id = create_run(ws, project, plan)
    return RunHandle(ws, project, run_id)


def train(
    ws: Workspace,
    project: Project,
    family: str,
    params: dict | list[str] | None = None,
    seed: int = 42,
    split_id: int | None = None,
    progress: ProgressCallback | None = None,
) -> Run:
    """Start a run and wait for it (Ctrl-C cancels it)."""
    handle = start_run(ws, project, family, params, seed, split_id)
    try:
        handle.wait(progress)
    except KeyboardInterrupt:
        handle.cancel()
        raise
    return get_run(ws, project, handle.run_id)


def cancel_note(reason: str = "") -> str:
    """What a cancelled run records as its error, with the reason when one is given."""
    return "cancelled by the user" + (f": {reason.strip()}" if reason.strip() else "")


def cancel_run(ws: Workspace, project: Project, run_id: int, reason: str = "") -> Run:
    """Stop a running run started by any process (kills its child) and record it cancelled,
    with the reason given (kept in the run's error and the event log)."""
    import signal

    run = get_run(ws, project, run_id)
    if run.status != "running":
        raise CockpitError(f"{run.label} is {run.status}, not running")
    if run.worker_pid and _alive(run.worker_pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.worker_pid, signal.SIGKILL)
    finish(ws, project, run_id, "cancelled", error=cancel_note(reason))
    return get_run(ws, project, run_id)
