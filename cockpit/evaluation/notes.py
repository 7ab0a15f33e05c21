"""What an evaluation learns on the way, said once in the report instead of as warnings.

scikit-learn warns from deep inside its metrics and estimators (a class never predicted,
a refit that did not converge, a resample holding one class), and a bootstrap repeats the
same warning hundreds of times. Each step of an evaluation runs inside `caught`, which
keeps the warnings from the terminal and turns each distinct one into a sentence; the
sentences that matter most are computed directly from the predictions (`class_notes`).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cockpit.evaluation.predictions import Predictions

MAX_NOTES = 20


class Notes:
    """Distinct sentences in the order first seen."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, text: str) -> None:
        if len(self._seen) < MAX_NOTES:
            self._seen.setdefault(text, None)

    def as_list(self) -> list[str]:
        return list(self._seen)


@contextlib.contextmanager
def caught(notes: Notes, step: str) -> Iterator[None]:
    """Run a step with its warnings recorded, not printed; each distinct one becomes a note."""
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        yield
    for warning in raised:
        sentence = _sentence(warning.category, str(warning.message))
        if sentence:
            notes.add(f"{step}: {sentence}")


# scikit-learn's remarks on a resample or group holding fewer classes than the model knows:
# said once, class by class, by `class_notes` and `segment_notes` instead
SAID_OTHERWISE = ("single label was found", "classes not in y_true")


def _sentence(category: type[Warning], message: str) -> str | None:
    name = category.__name__
    first = message.strip().splitlines()[0] if message.strip() else name
    if any(text in first for text in SAID_OTHERWISE):
        return None
    if name == "ConvergenceWarning":
        return f"the model did not converge ({first.rstrip(':')}); raise max_iter or scale the inputs"
    if "valid feature names" in first:
        return "the model saw inputs without column names (" + first + ")"
    return first if name in ("UndefinedMetricWarning", "UserWarning") else f"{name}: {first}"


def class_notes(p: Predictions, part: str) -> list[str]:
    """Per-class metrics that are undefined on these rows, named class by class."""
    import numpy as np

    if p.classes is None:
        return []
    y_true, y_pred = np.asarray(p.y_true), np.asarray(p.y_pred)
    out = []
    for label in p.classes:
        if not (y_pred == label).any():
            out.append(
                f"precision is undefined for class {_shown(label)}: the model predicted "
                f"it for none of the {len(y_pred)} {part} rows (counted as 0)"
            )
        if not (y_true == label).any():
            out.append(
                f"recall is undefined for class {_shown(label)}: the {part} split holds "
                "no row of it (counted as 0)"
            )
    return out


def segment_notes(segments: list[dict[str, Any]], p: Predictions) -> list[str]:
    """Groups holding a single class: their macro metrics describe that class alone."""
    import numpy as np

    if p.classes is None or not segments:
        return []
    from cockpit.evaluation.segments import groups_of

    out = []
    for column in dict.fromkeys(s["column"] for s in segments):
        groups = groups_of(p.frame[column]).to_numpy()
        for group in dict.fromkeys(s["group"] for s in segments if s["column"] == column):
            present = np.unique(np.asarray(p.y_true)[groups == group])
            if len(present) == 1 and len(p.classes) > 1:
                out.append(
                    f"segment {column}={group} holds only class {_shown(present[0])}: "
                    "its value and interval describe that class alone"
                )
    return out


def _shown(label: Any) -> str:
    return repr(label.item() if hasattr(label, "item") else label)


def interval_note(task: str, metric: str) -> str | None:
    """Said when a segment metric has no standard analytic interval, so its intervals are the
    bootstrap's although none was asked for."""
    from cockpit.evaluation.intervals import analytic_method
    from cockpit.evaluation.segments import BOOTSTRAP

    if analytic_method(task, metric) is not None:
        return None
    return (
        f"segment intervals: {metric} has no standard analytic interval, so they are the "
        f"bootstrap's ({BOOTSTRAP} resamples)"
    )
