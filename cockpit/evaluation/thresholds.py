"""Choosing a binary decision threshold on the validation split, from the problem spec:
its target recall or precision, or the relative cost of the two mistakes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cockpit.problem import ProblemSpec

if TYPE_CHECKING:
    import numpy as np


def choose_threshold(
    y_true: np.ndarray, scores: np.ndarray, positive, spec: ProblemSpec
) -> tuple[float, str]:
    """(threshold, why). Never uses the test split: callers pass validation rows."""
    import numpy as np
    from sklearn.metrics import precision_recall_curve

    is_positive = np.asarray(y_true) == positive
    precision, recall, thresholds = precision_recall_curve(is_positive, scores)
    precision, recall = precision[:-1], recall[:-1]  # align with thresholds
    if len(thresholds) == 0:
        return 0.5, "default 0.5 (no distinct scores)"
    target = spec.metric_target
    if spec.metric == "recall" and target is not None:
        aim = _with_margin(target, int(is_positive.sum()))
        meets = recall >= aim
        if meets.any():
            best = np.flatnonzero(meets)[np.argmax(precision[meets])]
            return float(thresholds[best]), (
                f"highest precision ({precision[best]:.3f}) with validation recall "
                f"{recall[best]:.3f} >= {aim:.3f} (target {target:g} + one standard error)"
            )
        return float(thresholds[0]), f"no threshold reaches recall {target:g}: the lowest score"
    if spec.metric == "precision" and target is not None:
        aim = _with_margin(target, int((scores >= np.median(scores)).sum()))
        meets = precision >= aim
        if meets.any():
            best = np.flatnonzero(meets)[np.argmax(recall[meets])]
            return float(thresholds[best]), (
                f"highest recall ({recall[best]:.3f}) with validation precision "
                f"{precision[best]:.3f} >= {aim:.3f} (target {target:g} + one standard error)"
            )
    if spec.costlier_mistake in ("false_negative", "false_positive") and spec.cost_ratio:
        fn_cost = spec.cost_ratio if spec.costlier_mistake == "false_negative" else 1.0
        fp_cost = spec.cost_ratio if spec.costlier_mistake == "false_positive" else 1.0
        positives = is_positive.sum()
        costs = [
            fn_cost * (1 - r) * positives + fp_cost * _false_positives(p, r, positives)
            for p, r in zip(precision, recall, strict=True)
        ]
        best = int(np.argmin(costs))
        return float(thresholds[best]), (
            f"lowest expected cost with a {spec.costlier_mistake.replace('_', ' ')} "
            f"{spec.cost_ratio:g}x as costly"
        )
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1))
    return float(thresholds[best]), f"best validation F1 ({f1[best]:.3f})"


def _with_margin(target: float, rows: int) -> float:
    """Aim one standard error above a rate target, so the threshold chosen on validation
    still meets it on the test split and in production more often than a coin flip."""
    import math

    if rows <= 0:
        return target
    return min(1.0, target + min(0.05, math.sqrt(target * (1 - target) / rows)))


def _false_positives(precision: float, recall: float, positives: int) -> float:
    true_positives = recall * positives
    return 0.0 if precision == 0 else true_positives * (1 - precision) / precision


def threshold_curve(y_true, scores, positive, points: int = 50) -> dict[str, list[float]]:
    """Precision and recall at evenly spaced thresholds, for the plot."""
    import numpy as np

    is_positive = np.asarray(y_true) == positive
    grid = np.linspace(0, 1, points + 1)[1:-1]
    precision, recall = [], []
    for t in grid:
        predicted = scores >= t
        tp = float((predicted & is_positive).sum())
        precision.append(tp / predicted.sum() if predicted.sum() else 1.0)
        recall.append(tp / is_positive.sum() if is_positive.sum() else 0.0)
    return {"threshold": grid.tolist(), "precision": precision, "recall": recall}
