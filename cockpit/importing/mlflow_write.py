"""An MLflow run written as a cockpit run: its values prepared first (the model checked,
scored on --data's split, saved in the artifact store), then the run, its steps and its
MLflow id in one transaction. A run seen before is updated: its status and metrics while it
ran there, new metric points appended, a model loaded now that was not before."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from cockpit.errors import CockpitError
from cockpit.importing import mapping
from cockpit.importing.mlflow_models import LoadedModel
from cockpit.importing.mlflow_read import MlflowRun
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock
from storage.migrations import RUN_METRICS

SYSTEM = "mlflow"
# what an update leaves as cockpit wrote it: a run cockpit scored on a split keeps its scores
SCORED = ("version_id", "split_id", "feature_spec_version", "train_metrics", "validation_metrics", "score")
CLOSED = ("status", "error", "finished_at", "duration_s")
ERRORS = {"failed": "the run failed in MLflow", "cancelled": "the run was killed in MLflow"}


@dataclass(frozen=True, slots=True)
class Entry:
    """A run imported before: the cockpit run holding it, and whether it can still change."""

    run_id: int
    complete: bool
    registered: list[str]


@dataclass(slots=True)
class Prepared:
    run: MlflowRun
    values: dict[str, Any]  # the runs row
    models: list[LoadedModel]
    model: LoadedModel | None  # the model imported as the run's artifact
    registered: list[str]
    complete: bool  # nothing more to read: ended in MLflow, no scikit-learn model left unloaded
    notes: list[str] = field(default_factory=list)


def known_runs(ws: Workspace, project: Project) -> dict[str, Entry]:
    rows = ws.store.rows(
        "SELECT external_id, run_id, complete, registered FROM imported_runs"
        " WHERE project_id = ? AND system = ?",
        [project.id, SYSTEM],
    )
    return {
        r["external_id"]: Entry(r["run_id"], bool(r["complete"]), json.loads(r["registered"] or "[]"))
        for r in rows
    }


def param_value(text: str) -> Any:
    """An MLflow param (always text) as the value it was: a number, a bool, None, or text."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return text


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if math.isfinite(v) else None) for k, v in metrics.items()}


def prepare(
    ws: Workspace,
    project: Project,
    run: MlflowRun,
    origin: dict[str, Any],
    models: list[LoadedModel],
    registered: list[str],
    data,
) -> Prepared:
    from cockpit.evaluation import metrics
    from cockpit.problem import current_spec

    status = mapping.STATUS.get(run.status)
    if status is None:
        raise CockpitError(f"MLflow status {run.status!r} is not one cockpit knows")
    train, validation = mapping.split_metrics(run.metrics)
    metric = metrics.primary_metric(project.task, current_spec(ws, project).metric)
    values: dict[str, Any] = {
        "project_id": project.id,
        "family": run.tags.get("estimator_class") or "mlflow",
        "model_class": run.tags.get("estimator_name"),
        "params": {k: param_value(v) for k, v in sorted(run.params.items())},
        "seed": _seed(run.params),
        "source": SYSTEM,
        "status": status,
        "error": ERRORS.get(status),
        "metric": metric,
        "train_metrics": _finite(train),
        "validation_metrics": _finite(validation),
        "duration_s": mapping.duration_s(run.start_ms, run.end_ms),
        "git_commit": run.tags.get(mapping.GIT_COMMIT),
        "created_at": mapping.iso(run.start_ms) or clock.now_iso(),
        "finished_at": mapping.iso(run.end_ms) if run.status in mapping.TERMINAL else None,
        "created_by": run.tags.get("mlflow.user"),
    }
    notes: list[str] = []
    chosen = None
    for loaded in models:
        if loaded.model is None:
            continue
        try:
            scored = _model_values(ws, project, loaded, data)
            # cockpit's scores on the split win; MLflow's other keys are kept beside them
            for key in ("train_metrics", "validation_metrics"):
                if key in scored:
                    scored[key] = {**values[key], **scored[key]}
            values.update(scored)
        except CockpitError as exc:
            notes.append(f"{loaded.name}: not usable in project {project.name}: {exc}")
            continue
        chosen = loaded
        break
    if chosen is None:
        values["library_versions"] = {}
    origin = {
        **origin,
        "models": [m.as_dict() for m in models],
        "registered": registered,
        **({"notes": notes} if notes else {}),
    }
    values["origin"] = origin
    values["score"] = (values["validation_metrics"] or {}).get(metric)
    values.update({f"m_{k}": v for k, v in values["validation_metrics"].items() if k in RUN_METRICS})
    unloaded = any(m.model is None and "sklearn" in m.flavours for m in models)
    complete = run.status in mapping.TERMINAL and not unloaded
    return Prepared(run, values, models, chosen, registered, complete, notes)


def _seed(params: dict[str, str]) -> int:
    for key in ("random_state", "seed"):
        value = param_value(params.get(key, ""))
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 0


def _model_values(ws: Workspace, project: Project, loaded: LoadedModel, data) -> dict[str, Any]:
    """The run's columns for an imported model: checked for the project, wrapped behind its
    input columns, scored on --data's split when one is named, saved by its sha256."""
    import pandas as pd

    from cockpit.deployment.model_file import check_estimator_kind, check_fit_for, input_columns
    from cockpit.training import external
    from cockpit.training.environment import library_versions

    model, label = loaded.model, f"MLflow model {loaded.name!r}"
    check_estimator_kind(model, label)
    external.check_model(model, project.task, label)
    found = mapping.task_of(model)
    if found and (found == "regression") != (project.task == "regression"):
        raise CockpitError(f"{label} is a {found} model; project {project.name} is {project.task}")
    if loaded.input_names:
        columns = loaded.input_names
    elif data is not None:
        columns, _ = input_columns(model, data.columns)
    else:
        names = getattr(model, "feature_names_in_", None)
        if names is None:
            raise CockpitError(
                f"{label} records no input column names (no signature, no feature_names_in_): "
                "import it with --data VERSION, whose feature spec names them"
            )
        columns = [str(n) for n in names]
    if project.target in columns:
        raise CockpitError(f"{label} takes the target {project.target!r} as an input")
    values: dict[str, Any] = {}
    if data is not None:
        check_fit_for(model, project, data, columns, label)
        example = data.train[columns]
        wrapped = external.with_inputs(model, example)
        train, validation = external.score(wrapped, data, project.task)
        values.update(
            version_id=data.version_id,
            split_id=data.split_id,
            feature_spec_version=data.feature_spec_version,
            train_metrics=train,
        )
        values["validation_metrics"] = validation
    else:
        dtypes = dict(loaded.inputs or [])
        example = pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in columns})
        wrapped = external.with_inputs(model, example)
    versions = library_versions()
    ref = ws.artifacts.put(wrapped, kind="model", library_versions=versions)
    family, model_class = external.describe(model)
    values.update(
        family=family,
        model_class=model_class,
        artifact_sha256=ref.sha256,
        input_schema=external.input_schema(example),
        library_versions={**versions, **{f"saved with {k}": v for k, v in (loaded.versions or {}).items()}},
    )
    return values


def write(ws: Workspace, project: Project, prepared: Prepared, entry: Entry | None) -> int:
    """The run, its new metric points and its MLflow id, in one transaction."""
    run = prepared.run
    now = clock.now_iso()
    link = {
        "complete": int(prepared.complete),
        "updated_at": now,
        "registered": json.dumps(prepared.registered),
    }
    with ws.store.transaction():
        if entry is None:
            run_id = ws.store.insert("runs", prepared.values)
            ws.store.insert(
                "imported_runs",
                {
                    "project_id": project.id,
                    "system": SYSTEM,
                    "external_id": run.run_id,
                    "experiment_id": run.experiment_id,
                    "run_id": run_id,
                    "imported_at": now,
                    **link,
                },
            )
            details = {"run": run_id, "mlflow_run": run.run_id, "status": prepared.values["status"]}
            ws.record("experiments", "run imported", project.id, details)
        else:
            run_id = entry.run_id
            ws.store.update("runs", {"id": run_id}, _update(ws, run_id, prepared.values))
            ws.store.update("imported_runs", {"run_id": run_id}, link)
            ws.record(
                "experiments", "imported run updated", project.id, {"run": run_id, "mlflow_run": run.run_id}
            )
        if prepared.registered and (entry is None or entry.registered != prepared.registered):
            details = {"run": run_id, "mlflow": prepared.registered}
            ws.record("experiments", "run registered in MLflow", project.id, details)
        _append_steps(ws, run_id, run.histories, new=entry is None)
    return run_id


def note_registered(ws: Workspace, project: Project, entry: Entry, registered: list[str]) -> None:
    """A run imported before whose registered versions or aliases changed in MLflow: its
    origin and link say so now, with an event, in one transaction."""
    with ws.store.transaction():
        origin = json.loads(ws.store.scalar("SELECT origin FROM runs WHERE id = ?", [entry.run_id]) or "{}")
        ws.store.update("runs", {"id": entry.run_id}, {"origin": {**origin, "registered": registered}})
        ws.store.update(
            "imported_runs",
            {"run_id": entry.run_id},
            {"registered": json.dumps(registered), "updated_at": clock.now_iso()},
        )
        details = {"run": entry.run_id, "mlflow": registered}
        ws.record("experiments", "run registered in MLflow", project.id, details)


def _update(ws: Workspace, run_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """What an update changes: not what cockpit decided since (a run it closed, scored on a
    split or gave a model keeps those)."""
    row = ws.store.one("SELECT status, split_id, artifact_sha256 FROM runs WHERE id = ?", [run_id])
    assert row is not None
    keep = {"project_id", "created_at", "created_by"}
    if row["status"] != "running":
        keep.update(CLOSED)
    if row["split_id"] is not None:
        keep.update(SCORED)
        keep.update(f"m_{k}" for k in RUN_METRICS)
    if row["artifact_sha256"] and not values.get("artifact_sha256"):
        keep.update(("artifact_sha256", "family", "model_class", "input_schema", "library_versions"))
    return {k: v for k, v in values.items() if k not in keep}


def _append_steps(
    ws: Workspace, run_id: int, histories: dict[str, list[tuple[int, int, float]]], new: bool
) -> None:
    """Each metric's points past those the run holds already (MLflow's histories only grow;
    a run new to cockpit holds none)."""
    held = (
        {}
        if new
        else {
            r["key"]: r["n"]
            for r in ws.store.rows(
                "SELECT key, COUNT(*) AS n FROM run_steps WHERE run_id = ? GROUP BY key", [run_id]
            )
        }
    )
    rows = [
        (run_id, key, step, value if math.isfinite(value) else None, mapping.iso(ms))
        for key, points in histories.items()
        for step, ms, value in points[held.get(key, 0) :]
    ]
    if rows:
        ws.store.conn.executemany(
            "INSERT INTO run_steps (run_id, key, step, value, logged_at) VALUES (?, ?, ?, ?, ?)", rows
        )
