"""Why a row scored high: for the people who act on predictions. Each feature is set to a
typical value (the batch's median or most common value) and the score change is that
feature's contribution; the largest ones are the row's top reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature that raised a row's score: its value, and how much the score drops when
    the feature is set to a typical value instead."""

    column: str
    value: Any
    effect: float


def top_reasons(
    pipeline, rows: pd.DataFrame, reference: pd.DataFrame, columns: list[str], positive, top: int = 3
) -> list[list[Reason]]:
    """Each row's features that raised its score most, largest first (at most `top`)."""
    import numpy as np

    def scores(frame):
        proba = pipeline.predict_proba(frame)
        return proba[:, list(pipeline.classes_).index(positive)]

    base = scores(rows)
    effects = []
    for column in columns:
        values = reference[column].dropna()
        if values.empty:
            effects.append(np.zeros(len(rows)))
            continue
        typical = values.median() if values.dtype.kind in "iuf" else values.mode().iloc[0]
        effects.append(base - scores(rows.assign(**{column: typical})))
    matrix = np.column_stack(effects)
    reasons = []
    for i in range(len(rows)):
        order = np.argsort(matrix[i])[::-1][:top]
        reasons.append(
            [
                Reason(columns[j], _plain(rows.iloc[i][columns[j]]), float(matrix[i, j]))
                for j in order
                if matrix[i, j] > 0
            ]
        )
    return reasons


def _plain(value):
    return value.item() if hasattr(value, "item") else value
