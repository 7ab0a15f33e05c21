"""Segment breakdowns: the metric per group of each segment column, with confidence
intervals, small groups marked, weak groups flagged, and fairness gaps between groups.
Numeric columns are binned into quartiles. Nothing here names a sample_data column.

The intervals are analytic where a standard one exists (cockpit/evaluation/intervals.py),
the bootstrap (BOOTSTRAP resamples) for the other metrics, and the bootstrap for every metric
when `breakdown` is given a number of resamples; each entry names its method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.evaluation import intervals, metrics
from cockpit.evaluation.intervals import wilson
from cockpit.evaluation.predictions import Predictions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SMALL_ROWS = 30
SMALL_POSITIVES = 10
MARGIN = 0.05  # absolute, for metrics between 0 and 1
RELATIVE_MARGIN = 0.10  # for error metrics
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
    interval_method: str | None = None  # Wilson, DeLong, Student t, "bootstrap N"; None: older reports
    interval_note: str | None = None  # why there is no interval: "no errors", "no spread"

    @property
    def flag(self) -> str:
        """WEAK, small or nothing."""
        return "WEAK" if self.flagged else ("small" if self.small else "")

    @property
    def interval(self) -> str:
        return interval_text(self.low, self.high, self.interval_method, self.interval_note)


@dataclass(frozen=True, slots=True)
class FairnessGap:
    """Between the groups of one column: the recall gap and the selection-rate ratio."""

    column: str
    recall_gap: float | None
    worst_recall_group: str | None
    selection_rate_ratio: float
    flagged: bool


def interval_text(low: float | None, high: float | None, method: str | None, note: str | None = None) -> str:
    """An interval as the report, the CLI and the screen show it: "0.761–0.765 (DeLong)";
    "none: no errors (DeLong)" when the method gave zero width; "-" when it could not be computed."""
    if note:
        return f"none: {note}" + (f" ({method})" if method else "")
    if low is None or high is None:
        return "-"
    return f"{low:.3f}–{high:.3f}" + (f" ({method})" if method else "")


def groups_of(values: pd.Series) -> pd.Series:
    """Group labels: categories as they are, numbers as quartile ranges."""
    import numpy as np
    import pandas as pd

    codes, groups = _codes(values)
    return pd.Series(np.array(groups, dtype=object)[codes], index=values.index)


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's group as an integer, and the groups (labels: each value as text, numbers
    with more than 8 values as their quartile range, "missing" for a missing value).
    The distinct values are turned into text, not the rows: a million intervals made text
    one by one took seconds; comparing integers per group is also cheaper than strings."""
    import numpy as np
    import pandas as pd

    if values.dtype.kind in "iuf" and values.nunique() > 8:
        binned = pd.qcut(values, q=4, duplicates="drop")
        codes, distinct = np.asarray(binned.cat.codes), binned.cat.categories
    else:
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
    labels = [_label(value) for value in distinct] + ["missing"]  # code -1, the last, is missing
    merged, groups = pd.factorize(np.array(labels, dtype=object))  # values with the same text
    kept = np.flatnonzero(np.bincount(merged[codes], minlength=len(groups)))  # groups with rows
    renumbered = np.full(len(groups), -1)
    renumbered[kept] = np.arange(len(kept))
    return renumbered[merged][codes], [str(groups[i]) for i in kept]


def _label(value: Any) -> str:
    """A group's text; a quartile range with its edges to 10 significant digits: qcut moves the
    lowest edge down by 0.001, which as a float often reads 6.9799999999999995."""
    import pandas as pd

    if isinstance(value, pd.Interval):
        left, right = ("[" if value.closed_left else "("), ("]" if value.closed_right else ")")
        return f"{left}{value.left:.10g}, {value.right:.10g}{right}"
    return str(value)


def _metric_for(task: str, metric: str, y_true, y_pred, proba, classes, positive) -> float | None:
    scored = metrics.score(task, y_true, y_pred, proba, classes)
    return scored.get(metric)


def _rate_rows(metric: str, y_true, y_pred, positive) -> tuple[np.ndarray, np.ndarray]:
    """(hits, relevant) per row of a proportion: recall counts the actual positives, precision
    the predicted ones, accuracy every row; a hit is a relevant row predicted right."""
    import numpy as np

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if metric == "recall":
        relevant = y_true == positive
    elif metric == "precision":
        relevant = y_pred == positive
    else:
        relevant = np.ones(len(y_true), dtype=bool)
    return (y_true == y_pred) & relevant, relevant


def _rate_counts(metric: str, y_true, y_pred, positive) -> tuple[int, int]:
    hits, relevant = _rate_rows(metric, y_true, y_pred, positive)
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


def _bootstrap(
    task, metric, y_true, y_pred, proba, classes, positive, seed: int, resampled=None, resamples=None
) -> tuple:
    """A 95% percentile interval over `resamples` (BOOTSTRAP) resamples; `resampled(pick)`,
    when given, is the metric of the resample `pick` computed without building it."""

    def statistic(pick) -> float | None:
        if resampled is not None:
            return resampled(pick)
        return _one_metric(
            task,
            metric,
            y_true[pick],
            y_pred[pick],
            proba[pick] if proba is not None else None,
            classes,
            positive,
        )

    return intervals.percentile_bootstrap(statistic, len(y_true), resamples or BOOTSTRAP, seed)


def _fast_resampled_metric(task, metric, y_true, proba, classes):
    """A binary ROC AUC of resamples without scoring every metric on every resample:
    `pick -> value`, equal to `metrics.score(...)["roc_auc"]` on `y_true[pick]` bit for bit.
    The scores are sorted once; a resample only weighs each distinct score (how many negatives
    and positives it drew there), which gives the ROC curve's exact counts, and the curve then
    goes through scikit-learn's own steps (roc_curve's dropped points, the trapezoid). None
    when that shortcut does not apply."""
    import numpy as np

    if task != "binary" or metric != "roc_auc" or proba is None or len(np.unique(y_true)) != 2:
        return None
    positive = metrics.positive_label(classes)
    scores = np.asarray(proba[:, list(classes).index(positive)], dtype=float)
    if not np.isfinite(scores).all():
        return None  # scikit-learn refuses these: keep its error
    run = intervals.score_codes(scores)  # ascending
    runs = int(run.max()) + 1
    key = (runs - 1 - run) * 2 + (np.asarray(y_true) == positive)  # descending score order

    def roc_auc(pick) -> float | None:
        counts = np.bincount(key[pick], minlength=2 * runs)
        return _roc_auc_of_counts(counts[0::2], counts[1::2])

    return roc_auc


def _roc_auc_of_counts(negatives: np.ndarray, positives: np.ndarray) -> float | None:
    """scikit-learn's ROC AUC from the negatives and positives at each distinct score, highest
    score first: roc_curve's counts, its dropped points, the trapezoid."""
    import numpy as np

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


def _auc_and_delong(is_positive, codes, size: int) -> tuple[float | None, float | None, float | None]:
    """(ROC AUC, DeLong's low, high) of one group, from one count of each class per distinct
    score; the AUC is scikit-learn's to the bit, as _fast_resampled_metric's."""
    counts = intervals.class_counts(is_positive, codes, size)
    value = _roc_auc_of_counts(counts[1][::-1], counts[0][::-1])
    found = intervals.delong(is_positive, codes, counts) if value is not None else None
    return (value, *found) if found is not None else (value, None, None)


def _fast_resampled_rate(task, metric, y_true, y_pred, positive):
    """`pick -> value` of a proportion (accuracy; a binary precision or recall, 0 where nothing
    is relevant, as scikit-learn's zero_division=0) or of a regression's MAE or RMSE, from
    per-row arrays made once. None for other metrics."""
    import numpy as np

    if intervals.analytic_method(task, metric) == intervals.WILSON:
        hits, relevant = _rate_rows(metric, y_true, y_pred, positive)

        def rate(pick) -> float:
            trials = int(relevant[pick].sum())
            return int(hits[pick].sum()) / trials if trials else 0.0

        return rate
    if intervals.analytic_method(task, metric) == intervals.STUDENT_T:
        errors = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
        if metric == "mae":
            absolute = np.abs(errors)
            return lambda pick: float(absolute[pick].mean())
        squared = errors**2
        return lambda pick: float(np.sqrt(squared[pick].mean()))
    return None


def _analytic(method: str, metric: str, y_true, y_pred, positive) -> tuple[float | None, float | None]:
    """Wilson's or Student's t interval (DeLong's: _auc_and_delong)."""
    if method == intervals.WILSON:
        return wilson(*_rate_counts(metric, y_true, y_pred, positive))
    found = intervals.mean_error(metric, y_true, y_pred)
    return found if found is not None else (None, None)


def breakdown(
    predictions: Predictions,
    columns: list[str],
    task: str,
    metric: str,
    overall: float | None,
    bootstrap: int | None = None,
) -> list[dict[str, Any]]:
    """One entry per (column, group), worst first within flags. The intervals are analytic
    where the metric has a standard one, else the bootstrap of BOOTSTRAP resamples; with
    `bootstrap` (a number of resamples) every interval is the bootstrap's."""
    import numpy as np

    p = predictions
    method = None if bootstrap else intervals.analytic_method(task, metric)
    resamples = bootstrap or BOOTSTRAP
    # DeLong ranks the scores once for every group; a bootstrap ranks each group's own scores
    # (a resample then counts only that group's distinct scores, not all of them)
    scores = p.positive_scores if method == intervals.DELONG else None
    ranked = intervals.score_codes(scores) if scores is not None and np.isfinite(scores).all() else None
    distinct = int(ranked.max()) + 1 if ranked is not None and len(ranked) else 0
    rows: list[dict[str, Any]] = []
    for column in columns:
        if column not in p.frame.columns:
            continue
        codes, groups = _codes(p.frame[column])
        for group in sorted(groups, key=str):
            mask = codes == groups.index(group)
            y_true, y_pred = p.truth[mask], p.y_pred[mask]
            if ranked is not None:  # DeLong, the value from the same counts
                value, low, high = _auc_and_delong(y_true == p.positive, ranked[mask], distinct)
                used = intervals.DELONG
                rows.append(
                    _entry(p, column, group, mask, y_true, y_pred, metric, overall, value, low, high, used)
                )
                continue
            proba = p.proba[mask] if p.proba is not None else None
            fast = _fast_resampled_metric(task, metric, y_true, proba, p.classes)
            value = (
                fast(np.arange(len(y_true)))
                if fast is not None
                else _metric_for(task, metric, y_true, y_pred, proba, p.classes, p.positive)
            )
            if method is not None and method != intervals.DELONG:
                low, high = _analytic(method, metric, y_true, y_pred, p.positive)
                used = method
            else:
                fast = fast or _fast_resampled_rate(task, metric, y_true, y_pred, p.positive)
                low, high = _bootstrap(
                    task,
                    metric,
                    y_true,
                    y_pred,
                    proba,
                    p.classes,
                    p.positive,
                    seed=len(rows),
                    resampled=fast,
                    resamples=resamples,
                )
                used = intervals.bootstrap_label(resamples)
            rows.append(
                _entry(p, column, group, mask, y_true, y_pred, metric, overall, value, low, high, used)
            )
    return sorted(rows, key=lambda r: (not r["flagged"], _badness(metric, r["value"])))


def _entry(
    p: Predictions, column, group, mask, y_true, y_pred, metric, overall, value, low, high, used
) -> dict:
    import numpy as np

    positives = int((y_true == p.positive).sum()) if p.positive is not None else None
    rows = int(mask.sum())
    best = 0.0 if metric in metrics.LOWER_IS_BETTER else 1.0
    note = intervals.zero_width_note(low, high, value, best)
    if note:  # a zero-width interval claims a certainty the rows cannot give
        low = high = None
    small = rows < SMALL_ROWS or (positives is not None and positives < SMALL_POSITIVES)
    return {
        "column": column,
        "group": str(group),
        "rows": rows,
        "positives": positives,
        "value": value,
        "low": low,
        "high": high,
        "interval_method": used,
        "interval_note": note,
        "small": bool(small),
        "flagged": _is_weak(metric, value, overall, small),
        "selection_rate": float(np.mean(y_pred == p.positive)) if p.positive is not None else None,
    }


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
