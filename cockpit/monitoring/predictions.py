"""Prediction drift: what the production model answers against what it answered on the
validation split. Scores for a binary model that scores, predicted values for regression
(PSI on the reference bins), class frequencies for classes (PSI, Jensen-Shannon and a
chi-square p-value); fewer than MIN_DRIFT_ROWS answers give a note instead of a figure."""

from __future__ import annotations

from typing import Any

from cockpit.projects import Project
from cockpit.workspace import Workspace

MIN_DRIFT_ROWS = 30  # fewer rows in a window: no drift figure, a note says why


def prediction_reference(task: str, validation) -> dict[str, Any]:
    """What the model answered on the validation split: the positive class's scores for a
    binary model that scores, the predicted values for regression, and otherwise the share
    of each predicted class (compared by class frequencies, never as numbers)."""
    import pandas as pd

    from cockpit.monitoring import drift

    if validation.positive_scores is not None:
        return drift.numeric_reference(pd.Series(validation.positive_scores, dtype=float))
    if task == "regression":
        return drift.numeric_reference(pd.to_numeric(pd.Series(validation.y_pred), errors="coerce"))
    return drift.categorical_reference(pd.Series(validation.y_pred).astype(str))


def served_drift(stats: dict, reference: dict, scores, predictions) -> dict[str, Any]:
    """Prediction drift from the service's answers, for a window whose batches gave none."""
    found = prediction_drift(reference, scores, predictions)
    notes = found.pop("notes")
    if found["prediction_psi"] is None and not notes:
        return {}
    kept = [n for n in stats["notes"] if not n.startswith("prediction drift")]
    return {**found, "notes": kept + notes}


def served_predictions(ws: Workspace, project: Project, size: str) -> dict[str, Any]:
    """The classes the service answered with (the model's own answers), per window."""
    from cockpit.monitoring.service import request_log

    log = request_log(
        ws, project, size, "prediction", "AND status = 200 AND route IN ('production', 'canary')"
    )
    if log.empty:
        return {}
    return {str(w): group["prediction"] for w, group in log.groupby("window")}


def prediction_drift(reference: dict, scores, predictions=None) -> dict[str, Any]:
    """The answers against the validation set's: PSI of the scores (or predicted values) on
    the reference bins, or for classes, PSI / Jensen-Shannon / chi-square of the class
    frequencies. Both distributions (shares per bin or class) go to the prediction plot."""
    counts = PredictionCounts(reference)
    counts.add(scores, predictions)
    return counts.result()


class PredictionCounts:
    """`prediction_drift` over answers that arrive in chunks: each chunk is reduced to
    counts on the reference bins or classes (cockpit.monitoring.drift) and dropped."""

    def __init__(self, reference: dict) -> None:
        from cockpit.monitoring import drift

        self.ref = reference["prediction"]
        self.categorical = self.ref["kind"] == "categorical"
        self.counts: Any = (drift.CategoricalCounts if self.categorical else drift.NumericCounts)(self.ref)
        self.answers = 0

    def add(self, scores, predictions=None) -> None:
        import pandas as pd

        values = (
            pd.Series([] if predictions is None else predictions, dtype=object).dropna()
            if self.categorical
            else pd.to_numeric(pd.Series(scores), errors="coerce").dropna()
        )
        self.answers += len(values)
        if len(values):
            self.counts.add(values.astype(str) if self.categorical else values)

    def result(self) -> dict[str, Any]:
        ref = self.ref
        empty: dict[str, Any] = {"prediction_psi": None, "prediction_shares": None, "notes": []}
        if self.answers == 0:
            return empty
        if self.answers < MIN_DRIFT_ROWS:
            return {
                **empty,
                "notes": [f"prediction drift: too few answers ({self.answers} < {MIN_DRIFT_ROWS})"],
            }
        found = self.counts.result()
        if not self.categorical:
            return {
                "prediction_psi": found["psi"],
                "prediction_shares": found.get("shares"),
                "prediction_reference": ref["shares"],
                "prediction_edges": found.get("edges"),
                "notes": [],
            }
        classes = [*sorted(ref["shares"]), "other"]  # the same order however it was stored
        return {
            "prediction_psi": found["psi"],
            "prediction_js": found["js"],
            "prediction_chi2_p": found["chi2_p"],
            "prediction_classes": classes,
            "prediction_shares": [found["shares"][c] for c in classes],
            "prediction_reference": [ref["shares"].get(c, 0.0) for c in classes],
            "notes": [],
        }
