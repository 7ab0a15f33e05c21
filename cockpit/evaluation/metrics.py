"""Task metrics with scikit-learn, and which way each one is better.

Run tables store validation metrics in one column each (see storage m008_runs);
the spec's metric names map onto them (multiclass f1_macro -> f1, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CLASSIFICATION = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "pr_auc",
    "log_loss",
)
REGRESSION = ("mae", "rmse", "r2", "mape")
LOWER_IS_BETTER = {"log_loss", "mae", "rmse", "mape"}
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "f1", "regression": "rmse"}
SPEC_TO_COLUMN = {"f1_macro": "f1", "recall_macro": "recall", "precision_macro": "precision"}


def metric_column(name: str) -> str:
    return SPEC_TO_COLUMN.get(name, name)


def spec_name(task: str, column: str) -> str:
    """The name a problem spec gives a run table's metric: multiclass f1 is f1_macro."""
    if task != "multiclass":
        return column
    return next((name for name, named in SPEC_TO_COLUMN.items() if named == column), column)


def primary_metric(task: str, spec_metric: str = "") -> str:
    return metric_column(spec_metric) if spec_metric else DEFAULT_METRIC[task]


def better(metric: str, a: float, b: float) -> bool:
    """Is score a better than score b on this metric?"""
    return a < b if metric in LOWER_IS_BETTER else a > b


def positive_label(classes) -> Any:
    """The class that counts as positive in a binary problem: 1, True, or the last sorted."""
    values = list(classes)
    for candidate in (1, True, "1", "yes", "true"):
        if candidate in values:
            return values[values.index(candidate)]  # the class itself: True, not 1
    return sorted(values, key=str)[-1]


def score(
    task: str, y_true, y_pred, proba: np.ndarray | None = None, classes: list | None = None
) -> dict[str, float]:
    """Every metric of the task; a metric that cannot be computed is left out."""
    if task == "regression":
        return _regression(y_true, y_pred)
    return _classification(task, y_true, y_pred, proba, classes)


def _regression(y_true, y_pred) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics

    out = {
        "mae": metrics.mean_absolute_error(y_true, y_pred),
        "rmse": metrics.root_mean_squared_error(y_true, y_pred),
        "r2": metrics.r2_score(y_true, y_pred) if len(y_true) > 1 else float("nan"),
    }
    if np.all(np.asarray(y_true) != 0):
        out["mape"] = metrics.mean_absolute_percentage_error(y_true, y_pred)
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}


def _classification(task: str, y_true, y_pred, proba, classes) -> dict[str, float]:
    import warnings

    import numpy as np
    from sklearn import metrics
    from sklearn.exceptions import UndefinedMetricWarning

    out: dict[str, float] = {"accuracy": metrics.accuracy_score(y_true, y_pred)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
        out["balanced_accuracy"] = metrics.balanced_accuracy_score(y_true, y_pred)
        if task == "binary":
            positive = positive_label(classes if classes is not None else np.unique(y_true))
            kwargs = {"pos_label": positive, "zero_division": 0}
            out["precision"] = metrics.precision_score(y_true, y_pred, **kwargs)
            out["recall"] = metrics.recall_score(y_true, y_pred, **kwargs)
            out["f1"] = metrics.f1_score(y_true, y_pred, **kwargs)
            if proba is not None and len(np.unique(y_true)) == 2:
                column = list(classes).index(positive)
                is_positive = np.asarray(y_true) == positive
                out["roc_auc"] = metrics.roc_auc_score(is_positive, proba[:, column])
                out["pr_auc"] = metrics.average_precision_score(is_positive, proba[:, column])
        else:
            kwargs = {"average": "macro", "zero_division": 0}
            out["precision"] = metrics.precision_score(y_true, y_pred, **kwargs)
            out["recall"] = metrics.recall_score(y_true, y_pred, **kwargs)
            out["f1"] = metrics.f1_score(y_true, y_pred, **kwargs)
            if proba is not None:
                out["roc_auc"] = _macro_roc_auc(y_true, proba, classes)
        if proba is not None and set(np.unique(y_true)) <= set(classes):
            # A class the model never saw has no probability column: log loss is undefined.
            out["log_loss"] = metrics.log_loss(y_true, np.clip(proba, 1e-15, 1), labels=classes)
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}


def _macro_roc_auc(y_true, proba: np.ndarray, classes) -> float:
    """One-vs-rest ROC AUC of each class present in `y_true`, macro-averaged (NaN when fewer
    than two are present): scikit-learn's `multi_class="ovr"` on the same columns, but also
    right for a multiclass target with two classes (where scikit-learn sees a binary target
    and wants one score column) and for a split missing a class (which has no positive row,
    so no AUC of its own; scikit-learn would give NaN for the whole average)."""
    import numpy as np
    from sklearn import metrics

    is_class = np.asarray(y_true)[:, None] == np.asarray(classes, dtype=object)[None, :]
    present = is_class.any(axis=0)
    if present.sum() < 2:
        return float("nan")
    return float(metrics.roc_auc_score(is_class[:, present], proba[:, present], average="macro"))
