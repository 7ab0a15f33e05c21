"""How an MLflow run's values become a cockpit run's: status, times, metric names, the
project an experiment becomes, and the task and target a project needs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from storage.migrations import RUN_METRICS

STATUS = {
    "FINISHED": "finished",
    "FAILED": "failed",
    "RUNNING": "running",
    "SCHEDULED": "running",
    "KILLED": "cancelled",
}
TERMINAL = ("FINISHED", "FAILED", "KILLED")
TRAIN_PREFIXES = ("training_", "train_", "training/", "train/", "train.")
VALIDATION_PREFIXES = ("validation_", "valid_", "val_", "eval_", "validation/", "val/", "eval/", "val.")
# the names scikit-learn and MLflow's autolog give some of cockpit's metrics
ALIASES = {
    "auc": "roc_auc",
    "logloss": "log_loss",
    "mean_absolute_error": "mae",
    "root_mean_squared_error": "rmse",
    "mean_absolute_percentage_error": "mape",
    "r2_score": "r2",
    "f1_score": "f1",
    "accuracy_score": "accuracy",
    "precision_score": "precision",
    "recall_score": "recall",
    "roc_auc_score": "roc_auc",
    "balanced_accuracy_score": "balanced_accuracy",
}
GIT_COMMIT = "mlflow.source.git.commit"
SOURCE_TAGS = {"mlflow.source.name": "source_name", "mlflow.source.type": "source_type"}


def known_metric(name: str) -> str | None:
    """cockpit's name for a metric key (accuracy, roc_auc, …), or None."""
    low = name.lower()
    low = ALIASES.get(low, low)
    if low not in RUN_METRICS and low.endswith("_score"):
        low = ALIASES.get(low.removesuffix("_score"), low.removesuffix("_score"))
    return low if low in RUN_METRICS else None


def split_metrics(metrics: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(train, validation) metrics from MLflow's final values. A `training_`/`train_` key is a
    train metric; `val_`/`validation_`/`eval_` and unprefixed keys are validation metrics. A key
    cockpit knows takes cockpit's name (val_accuracy -> accuracy; an explicit validation key wins
    over an unprefixed one); every other key is kept as MLflow named it."""
    train: dict[str, float] = {}
    validation: dict[str, float] = {}
    explicit: set[str] = set()
    for key in sorted(metrics):
        value = metrics[key]
        low = key.lower()
        if low.startswith(TRAIN_PREFIXES):
            rest = key[next(len(p) for p in TRAIN_PREFIXES if low.startswith(p)) :]
            train[known_metric(rest) or key] = value
            continue
        prefix = next((p for p in VALIDATION_PREFIXES if low.startswith(p)), "")
        name = known_metric(key[len(prefix) :])
        if name is None:
            validation[key] = value
        elif prefix or name not in explicit:
            validation[name] = value
            if prefix:
                explicit.add(name)
    return train, validation


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def duration_s(start_ms: int | None, end_ms: int | None) -> float | None:
    if start_ms is None or end_ms is None:
        return None
    return max(0.0, (end_ms - start_ms) / 1000)


def project_name(experiment: str) -> str:
    """A project name cockpit accepts, from an experiment's name ('/Users/a/churn model' ->
    'Users-a-churn-model')."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", experiment).strip("-_.")
    return (name or "mlflow")[:64]


def task_of(model: Any) -> str | None:
    """binary, multiclass or regression, from a fitted scikit-learn model; None when unsure."""
    from sklearn.base import is_classifier, is_regressor

    from cockpit.training.external import final_estimator

    final = final_estimator(model)
    if is_classifier(final) or hasattr(model, "classes_"):
        classes = getattr(model, "classes_", None)
        if classes is None:
            return None
        return "binary" if len(classes) == 2 else "multiclass"
    if is_regressor(final):
        return "regression"
    return None


def target_of(inputs: list[str] | None, output: str | None, datasets: list[dict[str, Any]]) -> str | None:
    """The target column: the model signature's named output, else the one column of a logged
    training dataset that the model does not take as an input."""
    if output:
        return output
    if not inputs:
        return None
    for dataset in datasets:
        if dataset.get("context") not in (None, "training", "train"):
            continue
        left = [c for c in dataset.get("columns") or [] if c not in set(inputs)]
        if len(left) == 1:
            return left[0]
    return None


def origin(run, experiment_name: str, uri: str) -> dict[str, Any]:
    """What the imported run keeps of where it came from (origin JSON)."""
    tags = run.tags
    found: dict[str, Any] = {
        "system": "mlflow",
        "store": uri,
        "run_id": run.run_id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "experiment": experiment_name,
        "status": run.status,
        "tags": {k: v for k, v in sorted(tags.items())},
        "metrics": dict(sorted(run.metrics.items())),
        "datasets": run.datasets,
    }
    for tag, key in SOURCE_TAGS.items():
        if tags.get(tag):
            found[key] = tags[tag]
    return found
