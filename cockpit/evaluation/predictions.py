"""A run's predictions on one part of its split, with the threshold applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.evaluation.metrics import positive_label
from cockpit.projects import Project
from cockpit.training.runs import Run, load_pipeline
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class Predictions:
    frame: pd.DataFrame  # the rows predicted (raw, target included)
    y_true: np.ndarray | None  # None: the rows carry no target column
    y_pred: np.ndarray
    proba: np.ndarray | None  # class probabilities (classification)
    classes: list[Any] | None
    positive: Any = None  # binary: the positive class
    threshold: float | None = None

    @property
    def truth(self) -> np.ndarray:
        """The true targets, for rows that carry them (every part of a split does)."""
        if self.y_true is None:
            raise CockpitError("these rows carry no target column to score against")
        return self.y_true

    @property
    def positive_scores(self) -> np.ndarray | None:
        if self.proba is None or self.positive is None or self.classes is None:
            return None
        return self.proba[:, self.classes.index(self.positive)]


def apply_threshold(proba, classes: list, positive, threshold: float):
    import numpy as np

    negative = next(c for c in classes if c != positive)
    scores = proba[:, classes.index(positive)]
    return np.where(scores >= threshold, positive, negative)


def predict_frame(
    pipeline, frame: pd.DataFrame, project: Project, threshold: float | None = None
) -> Predictions:
    from cockpit.training.fit import predict

    y_pred, proba, classes = predict(pipeline, frame, project.task)
    positive = None
    if project.task == "binary" and classes is not None and len(classes) == 2:
        positive = positive_label(classes)
        if proba is not None and threshold is not None:
            y_pred = apply_threshold(proba, classes, positive, threshold)
    y_true = frame[project.target].to_numpy() if project.target in frame.columns else None
    return Predictions(frame, y_true, y_pred, proba, classes, positive, threshold)


def run_predictions(
    ws: Workspace, project: Project, run: Run, part: str, threshold: float | None = None
) -> Predictions:
    """Predict one part ("validation" or "test") of the run's split with its saved pipeline."""
    from cockpit.data.splits import get_split, split_frames

    pipeline = load_pipeline(ws, run)
    frame = split_frames(ws, project, get_split(ws, project, run.split_id))[part]
    return predict_frame(pipeline, frame, project, threshold)
