"""What one MLflow run holds, read through MlflowClient into plain values: its info,
params, tags, final metrics, metric histories, logged datasets and the models it logged."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from cockpit.importing.mlflow_store import paged

LOG_MODEL_TAG = "mlflow.log-model.history"  # MLflow 2's log_model records each model it saved here


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A model a run logged: an MLflow 3 logged model (models/m-…) or a run artifact folder."""

    name: str
    model_id: str | None  # MLflow 3's logged model id; None for a run artifact (MLflow 2)
    artifact_uri: str | None  # where its files are (a logged model's artifact location)
    artifact_path: str | None = None  # the folder in the run's artifacts (MLflow 2)


@dataclass(slots=True)
class MlflowRun:
    run_id: str
    experiment_id: str
    name: str
    status: str  # RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: dict[str, float]  # each key's latest value
    datasets: list[dict[str, Any]] = field(default_factory=list)  # name, digest, context, columns
    model_ids: list[str] = field(default_factory=list)
    histories: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)  # (step, ms, value)


def experiments(client, name: str | None = None) -> list[Experiment]:
    """The active experiments (or the one named), in id order."""
    from mlflow.entities import ViewType

    found = [
        Experiment(str(e.experiment_id), e.name)
        for e in paged(client.search_experiments, view_type=ViewType.ACTIVE_ONLY)
    ]
    if name is not None:
        found = [e for e in found if e.name == name]
    return sorted(found, key=lambda e: (len(e.experiment_id), e.experiment_id))


def runs_of(client, experiment_id: str) -> list[MlflowRun]:
    """Every active run of an experiment, oldest first, without metric histories."""
    return [
        summary(r)
        for r in paged(
            client.search_runs, experiment_ids=[experiment_id], order_by=["attributes.start_time ASC"]
        )
    ]


def summary(run) -> MlflowRun:
    info, data = run.info, run.data
    datasets = []
    for item in getattr(run.inputs, "dataset_inputs", None) or []:
        ds = item.dataset
        datasets.append(
            {
                "name": ds.name,
                "digest": ds.digest,
                "context": next((t.value for t in item.tags if t.key == "mlflow.data.context"), None),
                "columns": _schema_columns(ds.schema),
            }
        )
    outputs = getattr(run, "outputs", None)
    model_ids = [o.model_id for o in getattr(outputs, "model_outputs", None) or []]
    return MlflowRun(
        info.run_id,
        str(info.experiment_id),
        info.run_name or "",
        info.status,
        info.start_time,
        info.end_time,
        dict(data.params),
        dict(data.tags),
        {k: float(v) for k, v in data.metrics.items()},
        datasets,
        model_ids,
    )


def _schema_columns(schema: str | None) -> list[str]:
    """Column names of a logged dataset's schema (MLflow writes it as JSON: mlflow_colspec)."""
    try:
        spec = json.loads(schema or "{}").get("mlflow_colspec") or []
    except (ValueError, AttributeError):
        return []
    return [c["name"] for c in spec if isinstance(c, dict) and c.get("name")]


def read_histories(client, run: MlflowRun) -> None:
    """Each metric's whole history, in (step, timestamp) order; a read that fails raises."""
    for key in sorted(run.metrics):
        points = client.get_metric_history(run.run_id, key)
        run.histories[key] = sorted((int(p.step), int(p.timestamp), float(p.value)) for p in points)


def read_histories_bulk(client, runs: list[MlflowRun], chunk: int = 500) -> set[str]:
    """The metric histories of many runs at once from MLflow's SQL store: one query per
    `chunk` runs (bulk_points), where MLflow's client asks one per key per run (~10 ms each
    in its session and checks: 10,000 runs of 5 metrics took over 8 minutes); the ids of the
    runs read. A chunk whose read fails is left out: its runs are read one by one
    (read_histories), so a broken one is reported by its own id. A file store is not an SQL
    store: every run is left out."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy.exc import SQLAlchemyError

    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if not isinstance(store, SqlAlchemyStore):
        return set()
    done: set[str] = set()
    for start in range(0, len(runs), chunk):
        part = {r.run_id: r for r in runs[start : start + chunk] if r.metrics}
        found: dict[str, dict[str, list[tuple[int, int, float]]]] = {i: {} for i in part}
        try:
            points = bulk_points(store, list(part))
        except (MlflowException, SQLAlchemyError, OSError):  # these runs are read alone, reported alone
            continue
        for run_id, key, step, timestamp, value, is_nan in points:
            found[run_id].setdefault(key, []).append(
                (int(step), int(timestamp), math.nan if is_nan else float(value))
            )
        for run_id, run in part.items():
            run.histories = {k: sorted(found[run_id].get(k, [])) for k in sorted(run.metrics)}
            done.add(run_id)
    done.update(r.run_id for r in runs if not r.metrics)  # nothing to read
    return done


def bulk_points(store, run_ids: list[str]) -> list[tuple[str, str, int, int, float, bool]]:
    """(run id, key, step, timestamp, value, is_nan) of every metric point of the runs, read
    through MLflow's own session and metric model (what its get_metric_history reads, as
    plain rows: building its entities cost ~0.1 ms a point). The copy read was upgraded to
    this MLflow's schema, so its model matches the table."""
    from mlflow.store.tracking.dbmodels.models import SqlMetric

    with store.ManagedSessionMaker() as session:
        rows = (
            session.query(
                SqlMetric.run_uuid,
                SqlMetric.key,
                SqlMetric.step,
                SqlMetric.timestamp,
                SqlMetric.value,
                SqlMetric.is_nan,
            )
            .filter(SqlMetric.run_uuid.in_(run_ids))
            .all()
        )
    return [tuple(r) for r in rows]


def model_sources(client, run: MlflowRun) -> list[ModelSource]:
    """The models a run logged: its MLflow 3 logged models, else (a store from MLflow 2, whose
    log_model tags the run) the top-level folders of its artifacts that hold an MLmodel file."""
    found = []
    for model_id in run.model_ids:
        logged = client.get_logged_model(model_id)
        found.append(ModelSource(logged.name, model_id, logged.artifact_location))
    if found or LOG_MODEL_TAG not in run.tags:
        return found
    for item in client.list_artifacts(run.run_id):
        if item.is_dir and any(
            a.path.endswith("MLmodel") for a in client.list_artifacts(run.run_id, item.path)
        ):
            found.append(ModelSource(item.path, None, None, item.path))
    return found


def registered_aliases(client) -> dict[str, list[str]]:
    """MLflow run id -> ['name v3', 'name@champion', …]: the registered model versions made
    from each run, and the aliases that point at them."""
    by_run: dict[str, list[str]] = {}
    for model in paged(client.search_registered_models):
        aliases: dict[str, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        for version in paged(client.search_model_versions, filter_string=f"name = '{_quoted(model.name)}'"):
            if not version.run_id:
                continue
            names = by_run.setdefault(version.run_id, [])
            names.append(f"{model.name} v{version.version}")
            names.extend(f"{model.name}@{a}" for a in sorted(aliases.get(str(version.version), [])))
    return by_run


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")
