"""Segment breakdowns: the metric per group of each segment column, with confidence
intervals, small groups marked, weak groups flagged, and fairness gaps between groups.
Numeric columns are binned into quartiles. Nothing here names a sample_data column."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.evaluation import metrics
from cockpit.evaluation.predictions import Predictions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SMALL_ROWS = 30
SMALL_POSITIVES = 10
MARGIN = 0.05  # absolute, for metrics between 0 and 1
RELATIVE_MARGIN = 0.10  # for error metrics
RATE_METRICS = {"recall", "precision", "accuracy"}
BOOTSTRAP = 200
SELECTION_RATIO_FLOOR = 0.8  # the four-fifths rule


@dataclass(frozen=True, slots=True)
class Segment:
    """One group of a segment column as an evaluation recorded it (`breakdown` makes them)."""

    column: str
    group: str
    rows: int
    value: float | None
    low: float | None  # the 95% interval; None when it could not be computed
    high: float | None
    small: bool  # too few rows or positives to be flagged
    flagged: bool  # weak: more than the margin below overall
    positives: int | None = None
    selection_rate: float | None = None

    @property
    def flag(self) -> str:
        """WEAK, small or nothing."""
        return "WEAK" if self.flagged else ("small" if self.small else "")


@dataclass(frozen=True, slots=True)
class FairnessGap:
    """Between the groups of one column: the recall gap and the selection-rate ratio."""

    column: str
    recall_gap: float | None
    worst_recall_group: str | None
    selection_rate_ratio: float
    flagged: bool


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def groups_of(values: pd.Series) -> pd.Series:
    """Group labels: categories as they are, numbers as quartile ranges."""
    import pandas as pd

    if values.dtype.kind in "iuf" and values.nunique() > 8:
        binned = pd.qcut(values, q=4, duplicates="drop")
        return binned.astype(str).where(values.notna(), "missing")
    return values.astype(str).where(values.notna(), "missing")


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's group as an integer, and the groups: comparing integers per group is far
    cheaper than comparing a million strings."""
    import pandas as pd

    codes, groups = pd.factorize(groups_of(values))
    return codes, [str(g) for g in groups]


def _metric_for(task: str, metric: str, y_true, y_pred, proba, classes, positive) -> float | None:
    scored = metrics.score(task, y_true, y_pred, proba, classes)
    return scored.get(metric)


def _rate_counts(metric: str, y_true, y_pred, positive) -> tuple[int, int]:
    import numpy as np

    if metric == "recall":
        relevant = np.asarray(y_true) == positive
    elif metric == "precision":
        relevant = np.asarray(y_pred) == positive
    else:
        relevant = np.ones(len(y_true), dtype=bool)
    hits = (np.asarray(y_true) == np.asarray(y_pred)) & relevant
    return int(hits.sum()), int(relevant.sum())


def _one_metric(task, metric, y_true, y_pred, proba, classes, positive) -> float | None:
    """The one metric a resample needs (MAE, RMSE, ROC / PR AUC directly), else via
    metrics.score (which computes every metric of the task)."""
    import numpy as np
    from sklearn import metrics as sk

    if task == "regression" and metric in ("mae", "rmse"):
        errors = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
        return float(np.abs(errors).mean() if metric == "mae" else np.sqrt((errors**2).mean()))

    if task == "binary" and metric in ("roc_auc", "pr_auc") and proba is not None:
        is_positive = np.asarray(y_true) == positive
        if is_positive.all() or not is_positive.any():
            return None
        scores = proba[:, list(classes).index(positive)]
        scorer = sk.roc_auc_score if metric == "roc_auc" else sk.average_precision_score
        return float(scorer(is_positive, scores))
    if task != "regression" and metric in LABEL_METRICS:
        return _label_metric(task, metric, y_true, y_pred, positive)
    return _metric_for(task, metric, y_true, y_pred, proba, classes, positive)


LABEL_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")


def _label_metric(task: str, metric: str, y_true, y_pred, positive) -> float | None:
    """One metric of the predicted labels, as metrics.score computes it (macro averages for
    multiclass, the positive class for binary, 0 where undefined), without the others."""
    import math

    from sklearn import metrics as sk

    if metric == "accuracy":
        value = sk.accuracy_score(y_true, y_pred)
    elif metric == "balanced_accuracy":
        value = sk.balanced_accuracy_score(y_true, y_pred)
    else:
        scorer = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score}[metric]
        kwargs = {"pos_label": positive} if task == "binary" else {"average": "macro"}
        value = scorer(y_true, y_pred, zero_division=0, **kwargs)
    return float(value) if math.isfinite(value) else None


def _bootstrap(task, metric, y_true, y_pred, proba, classes, positive, seed: int, resampled=None) -> tuple:
    """A 95% percentile interval over BOOTSTRAP resamples; `resampled(pick)`, when given,
    is the metric of the resample `pick` computed without building it."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(y_true), len(y_true))
        if resampled is not None:
            value = resampled(pick)
        else:
            value = _one_metric(
                task,
                metric,
                y_true[pick],
                y_pred[pick],
                proba[pick] if proba is not None else None,
                classes,
                positive,
            )
        if value is not None:
            values.append(value)
    if not values:
        return None, None
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _fast_resampled_metric(task, metric, y_true, proba, classes):
    """A binary ROC AUC of resamples without scoring every metric on every resample:
    `pick -> value`, equal to `metrics.score(...)["roc_auc"]` on `y_true[pick]` bit for bit.
    The scores are sorted once; a resample only weighs each distinct score (how many
    negatives and positives it drew there), which gives the ROC curve's exact counts, and
    the curve then goes through scikit-learn's own steps (roc_curve's dropped points, the
    trapezoid). None when that shortcut does not apply."""
    import numpy as np

    if task != "binary" or metric != "roc_auc" or proba is None or len(np.unique(y_true)) != 2:
        return None
    positive = metrics.positive_label(classes)
    scores = np.asarray(proba[:, list(classes).index(positive)], dtype=float)
    if not np.isfinite(scores).all():
        return None  # scikit-learn refuses these: keep its error
    distinct, run = np.unique(scores, return_inverse=True)  # ascending
    runs = len(distinct)
    key = (runs - 1 - run) * 2 + (np.asarray(y_true) == positive)  # descending score order

    def roc_auc(pick) -> float | None:
        counts = np.bincount(key[pick], minlength=2 * runs)
        negatives, positives = counts[0::2], counts[1::2]
        drawn = np.flatnonzero(negatives + positives)
        fps = np.cumsum(negatives[drawn], dtype=float)
        tps = np.cumsum(positives[drawn], dtype=float)
        if fps[-1] <= 0 or tps[-1] <= 0:
            return None  # one class drawn: no ROC AUC, as metrics.score leaves it out
        if len(fps) > 2:
            kept = np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]])
            fps, tps = fps[kept], tps[kept]
        fps, tps = np.concatenate([[0.0], fps]), np.concatenate([[0.0], tps])
        return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))

    return roc_auc


def breakdown(
    predictions: Predictions, columns: list[str], task: str, metric: str, overall: float | None
) -> list[dict[str, Any]]:
    """One entry per (column, group), worst first within flags."""
    import numpy as np

    p = predictions
    rows: list[dict[str, Any]] = []
    for column in columns:
        if column not in p.frame.columns:
            continue
        codes, groups = _codes(p.frame[column])
        for group in sorted(groups, key=str):
            mask = codes == groups.index(group)
            y_true, y_pred = p.truth[mask], p.y_pred[mask]
            proba = p.proba[mask] if p.proba is not None else None
            fast = _fast_resampled_metric(task, metric, y_true, proba, p.classes)
            value = (
                fast(np.arange(len(y_true)))
                if fast is not None
                else _metric_for(task, metric, y_true, y_pred, proba, p.classes, p.positive)
            )
            if metric in RATE_METRICS and task == "binary":
                low, high = wilson(*_rate_counts(metric, y_true, y_pred, p.positive))
            else:
                low, high = _bootstrap(
                    task, metric, y_true, y_pred, proba, p.classes, p.positive, seed=len(rows), resampled=fast
                )
            positives = int((y_true == p.positive).sum()) if p.positive is not None else None
            small = mask.sum() < SMALL_ROWS or (positives is not None and positives < SMALL_POSITIVES)
            entry = {
                "column": column,
                "group": str(group),
                "rows": int(mask.sum()),
                "positives": positives,
                "value": value,
                "low": low,
                "high": high,
                "small": bool(small),
                "flagged": False,
                "selection_rate": float(np.mean(y_pred == p.positive)) if p.positive is not None else None,
            }
            entry["flagged"] = _is_weak(metric, value, overall, small)
            rows.append(entry)
    return sorted(rows, key=lambda r: (not r["flagged"], _badness(metric, r["value"])))


def _is_weak(metric: str, value: float | None, overall: float | None, small: bool) -> bool:
    if small or value is None or overall is None:
        return False
    if metric in metrics.LOWER_IS_BETTER:
        return value > overall * (1 + RELATIVE_MARGIN)
    return value < overall - MARGIN


def _badness(metric: str, value: float | None) -> float:
    if value is None:
        return float("inf")
    return -value if metric in metrics.LOWER_IS_BETTER else value


def fairness_gaps(segments: list[dict[str, Any]], predictions: Predictions) -> list[dict]:
    """Per column: the recall gap between groups and the selection-rate ratio (binary)."""
    import numpy as np

    if predictions.positive is None:
        return []
    out = []
    for column in sorted({s["column"] for s in segments}):
        groups = [s for s in segments if s["column"] == column and not s["small"]]
        if len(groups) < 2:
            continue
        codes, names = _codes(predictions.frame[column])
        positives = predictions.y_true == predictions.positive
        recalls = {}
        for g in groups:
            mask = (codes == names.index(g["group"])) & positives
            if mask.sum():
                recalls[g["group"]] = float(np.mean(predictions.y_pred[mask] == predictions.positive))
        rates = {g["group"]: g["selection_rate"] for g in groups}
        highest = max(rates.values()) or 1e-12
        ratio = min(rates.values()) / highest
        gap = max(recalls.values()) - min(recalls.values()) if recalls else None
        out.append(
            {
                "column": column,
                "recall_gap": gap,
                "worst_recall_group": min(recalls, key=recalls.__getitem__) if recalls else None,
                "selection_rate_ratio": ratio,
                "flagged": ratio < SELECTION_RATIO_FLOOR or (gap is not None and gap > 0.1),
            }
        )
    return out
