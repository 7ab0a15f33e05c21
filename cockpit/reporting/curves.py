"""The curves the evaluation screen draws (screens/evaluation_tabs.py), as inline SVG: ROC,
precision-recall, precision and recall by threshold and calibration for a binary model;
residuals, predicted vs actual and error by target range for a regression."""

from __future__ import annotations

from typing import Any

from cockpit.evaluation.report import Evaluation
from cockpit.reporting.page import plots, section
from cockpit.reporting.svg import Series, bar_chart, line_plot, short_number


def curves(e: Evaluation) -> str:
    """The curves the evaluation screen draws for its task, as SVG."""
    d = e.details
    drawn = []
    if "roc" in d:
        drawn.append(
            line_plot(
                "ROC curve",
                [
                    Series("model", d["roc"]["fpr"], d["roc"]["tpr"]),
                    Series("chance", [0, 1], [0, 1], dashed=True),
                ],
                "false positive rate",
                "true positive rate",
            )
        )
    if "pr" in d:
        drawn.append(
            line_plot(
                "Precision vs recall",
                [Series("model", d["pr"]["recall"], d["pr"]["precision"])],
                "recall",
                "precision",
            )
        )
    if "threshold_curve" in d:
        tc = d["threshold_curve"]
        drawn.append(
            line_plot(
                "Precision and recall by threshold",
                [
                    Series("precision", tc["threshold"], tc["precision"]),
                    Series("recall", tc["threshold"], tc["recall"]),
                ],
                "threshold",
                vlines=[(e.threshold, "chosen")] if e.threshold is not None else [],
            )
        )
    if "calibration" in d:
        cal = d["calibration"]
        drawn.append(
            line_plot(
                "Calibration: observed rate by predicted probability",
                [
                    Series("model", cal["predicted"], cal["observed"]),
                    Series("perfect", [0, 1], [0, 1], dashed=True),
                ],
                "predicted probability",
                "observed rate",
            )
        )
    drawn += _regression_curves(d)
    return section("Curves", plots(*drawn)) if any(drawn) else ""


def _regression_curves(d: dict[str, Any]) -> list[str]:
    drawn = []
    if "residuals" in d:
        edges = d["residuals"]["edges"]
        middles = [short_number((a + b) / 2) for a, b in zip(edges, edges[1:], strict=False)]
        drawn.append(bar_chart("Residuals (predicted - actual)", middles, d["residuals"]["counts"], "rows"))
    if "actual_vs_predicted" in d:
        avp = d["actual_vs_predicted"]
        low, high = min(avp["actual"]), max(avp["actual"])
        drawn.append(
            line_plot(
                "Predicted vs actual",
                [
                    Series("rows", avp["actual"], avp["predicted"], points_only=True),
                    Series("perfect", [low, high], [low, high], dashed=True),
                ],
                "actual",
                "predicted",
            )
        )
    if "error_by_range" in d:
        bands = d["error_by_range"]
        drawn.append(
            bar_chart(
                "MAE by target range",
                [short_number(b["low"]) for b in bands],
                [b["mae"] for b in bands],
                "MAE",
            )
        )
    return drawn
