"""Champion vs challenger on the same labelled production rows: every metric on the held-out
window, the metric per segment group, the metric per production window (the drift months
included, saying which ones the challenger trained on), and the time each takes to answer
one row and a thousand. The retrain pipeline stores this with its decision."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cockpit.evaluation import metrics
from cockpit.projects import Project

if TYPE_CHECKING:
    import pandas as pd

LATENCY_CALLS = 10
BATCH_ROWS = 1000


@dataclass(frozen=True, slots=True)
class Pair:
    """A metric on the held-out window, champion and challenger."""

    name: str
    champion: float | None
    challenger: float | None


@dataclass(frozen=True, slots=True)
class GroupPair:
    """The metric on one segment group of the held-out window."""

    column: str
    group: str
    rows: int
    champion: float | None = None
    challenger: float | None = None


@dataclass(frozen=True, slots=True)
class WindowPair:
    """The metric on one labelled production window; the challenger trained on every
    window but the held-out one."""

    window: str
    rows: int
    challenger_trained_on_it: bool
    champion: float | None = None
    challenger: float | None = None


@dataclass(frozen=True, slots=True)
class Latency:
    """Median milliseconds to answer one row, and milliseconds for a thousand."""

    row_ms: float | None
    thousand_rows_ms: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Champion vs challenger on the same rows: every metric on the held-out window, per
    segment group, per production window, and the time each takes to answer."""

    window: str
    metric: str
    rows: int
    metrics: list[Pair]
    segments: list[GroupPair]
    windows: list[WindowPair]
    latency: dict[str, Latency]
    notes: list[str] = field(default_factory=list)

    def primary(self) -> Pair | None:
        """The pair of the metric the models are judged by, if it could be measured."""
        return next((m for m in self.metrics if m.name == self.metric), None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Comparison:
        return cls(
            stored["window"],
            stored["metric"],
            stored["rows"],
            [Pair(**m) for m in stored["metrics"]],
            [GroupPair(**g) for g in stored["segments"]],
            [WindowPair(**w) for w in stored["windows"]],
            {side: Latency(**found) for side, found in stored["latency"].items()},
            stored.get("notes", []),
        )


def compare(
    project: Project,
    models: dict[str, tuple[Any, float | None]],
    labelled: pd.DataFrame,
    holdout_window: str,
    metric: str,
    segments: list[str],
) -> Comparison:
    """`models`: {"champion"|"challenger": (pipeline, threshold)}; `labelled`: production
    rows with their label in the target column and their window in `_window`. Warnings
    (a window holding one class) stay off the terminal and are listed as notes. The rows
    reach both models as they reached production (numbers beyond ±1e30, inf too, clipped)."""
    from cockpit.deployment.routing import within_model_range
    from cockpit.evaluation.notes import Notes, caught

    labelled = within_model_range(labelled)
    notes = Notes()
    with caught(notes, "champion vs challenger"):
        comparison = _compare(project, models, labelled, holdout_window, metric, segments)
    return replace(comparison, notes=notes.as_list())


def _compare(
    project: Project,
    models: dict[str, tuple[Any, float | None]],
    labelled: pd.DataFrame,
    holdout_window: str,
    metric: str,
    segments: list[str],
) -> Comparison:
    from cockpit.evaluation.predictions import predict_frame
    from cockpit.evaluation.report import score_predictions
    from cockpit.evaluation.segments import breakdown

    holdout = labelled[labelled["_window"] == holdout_window].drop(columns=["_window"])
    predicted = {
        side: predict_frame(pipeline, holdout, project, cut) for side, (pipeline, cut) in models.items()
    }
    scores = {side: score_predictions(project.task, p) for side, p in predicted.items()}
    measures = sorted(
        set(scores["champion"]) & set(scores["challenger"]), key=lambda name: (name != metric, name)
    )
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for side, p in predicted.items():
        present = [c for c in segments if c in holdout.columns]
        for entry in breakdown(p, present, project.task, metric, scores[side].get(metric)):
            key = (entry["column"], entry["group"])
            groups.setdefault(key, {"column": key[0], "group": key[1], "rows": entry["rows"]})
            groups[key][side] = entry["value"]
    return Comparison(
        window=holdout_window,
        metric=metric,
        rows=int(len(holdout)),
        metrics=[Pair(name, scores["champion"][name], scores["challenger"][name]) for name in measures],
        segments=[GroupPair(**g) for g in sorted(groups.values(), key=lambda g: (g["column"], g["group"]))],
        windows=_by_window(project, models, labelled, holdout_window, metric),
        latency={side: _latency(project, pipeline, cut, holdout) for side, (pipeline, cut) in models.items()},
    )


def _by_window(project: Project, models, labelled, holdout_window: str, metric: str) -> list[WindowPair]:
    from cockpit.evaluation.predictions import predict_frame

    rows = []
    for window in sorted(labelled["_window"].unique()):
        part = labelled[labelled["_window"] == window].drop(columns=["_window"])
        entry: dict[str, Any] = {
            "window": str(window),
            "rows": int(len(part)),
            "challenger_trained_on_it": window != holdout_window,
        }
        for side, (pipeline, cut) in models.items():
            p = predict_frame(pipeline, part, project, cut)
            entry[side] = metrics.score(project.task, p.y_true, p.y_pred, p.proba, p.classes).get(metric)
        rows.append(WindowPair(**entry))
    return rows


def _latency(project: Project, pipeline, threshold, rows: pd.DataFrame) -> Latency:
    """Median milliseconds to answer one row (over LATENCY_CALLS rows) and BATCH_ROWS rows."""
    from cockpit.evaluation.predictions import predict_frame

    one = []
    for i in range(min(LATENCY_CALLS, len(rows))):
        started = time.perf_counter()
        predict_frame(pipeline, rows.iloc[[i]], project, threshold)
        one.append((time.perf_counter() - started) * 1000)
    batch = rows.sample(n=BATCH_ROWS, replace=True, random_state=0) if len(rows) else rows
    started = time.perf_counter()
    if len(batch):
        predict_frame(pipeline, batch, project, threshold)
    return Latency(
        row_ms=round(statistics.median(one), 2) if one else None,
        thousand_rows_ms=round((time.perf_counter() - started) * 1000, 1),
    )
