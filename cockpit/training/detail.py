"""What the screens show of runs from outside the catalogue: the model named as people know it
(LGBMClassifier, not lightgbm.LGBMClassifier cut mid-word), the models a project's runs train,
the latest metric steps of the running ones, and a run's detail with the curves it logged."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cockpit.projects import Project
from cockpit.training import runs
from cockpit.training.catalog import FAMILIES, SHORT_NAMES
from cockpit.training.steps import MetricSeries, metric_series
from cockpit.workspace import Workspace

NO_MODEL = "-"  # an external run that has logged no model yet: its class is not known
PLOT_POINTS = 1000  # a longer series is thinned for the plot (its last point always kept)


def model_label(family: str, model_class: str | None = None, short: bool = True) -> str:
    """The model a run trains, in a few cells: a catalogue family by its short name ("forest";
    `short=False`: "random_forest"), else the class ("LGBMClassifier"), else the last part of
    the dotted path the run names."""
    if family in FAMILIES:
        return SHORT_NAMES.get(family, family) if short else family
    if model_class:
        return model_class
    if family in runs.EXTERNAL_SOURCES:
        return NO_MODEL
    return re.split(r"[.:]", family)[-1] or family


def model_labels(ws: Workspace, run_ids: list[int], short: bool = True) -> dict[int, str]:
    """model_label of each run, read by id (for lists that hold only the family)."""
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    rows = ws.store.rows(f"SELECT id, family, model_class FROM runs WHERE id IN ({marks})", run_ids)
    return {r["id"]: model_label(r["family"], r["model_class"], short) for r in rows}


@dataclass(frozen=True, slots=True)
class Latest:
    """A metric's newest logged point."""

    key: str
    step: int
    value: float | None


def latest_points(ws: Workspace, run_ids: list[int]) -> dict[int, tuple[Latest, ...]]:
    """Each run's newest point per metric, keys in name order: an index seek per key, so a
    run with 100,000 points costs no more than one with ten."""
    found: dict[int, tuple[Latest, ...]] = {}
    for run_id in run_ids:
        points = []
        for key in _keys(ws, run_id):
            row = ws.store.one(
                "SELECT step, value FROM run_steps WHERE run_id = ? AND key = ? ORDER BY step DESC LIMIT 1",
                [run_id, key],
            )
            if row is not None:
                points.append(Latest(key, row["step"], row["value"]))
        if points:
            found[run_id] = tuple(points)
    return found


def _keys(ws: Workspace, run_id: int) -> list[str]:
    """The metric names a run logged, read as a skip through the (run_id, key, step) index."""
    rows = ws.store.rows(
        "WITH RECURSIVE k(key) AS ("
        " SELECT (SELECT min(key) FROM run_steps WHERE run_id = ?1)"
        " UNION ALL SELECT (SELECT min(key) FROM run_steps WHERE run_id = ?1 AND key > k.key)"
        " FROM k WHERE k.key IS NOT NULL"
        ") SELECT key FROM k WHERE key IS NOT NULL",
        [run_id],
    )
    return [r["key"] for r in rows]


@dataclass(frozen=True, slots=True)
class ModelsSeen:
    """The models a project's runs train, by their label: how wide the runs table's model
    column must be, and whether any run came from outside the catalogue."""

    labels: tuple[str, ...]
    catalog_only: bool

    @property
    def widest(self) -> int:
        return max((len(label) for label in self.labels), default=0)


def models_seen(ws: Workspace, project_id: int) -> ModelsSeen:
    """The distinct models of a project's runs, read as a skip through the (project_id,
    family) index: a few seeks however many runs there are."""
    families = [
        r["family"]
        for r in ws.store.rows(
            "WITH RECURSIVE f(family) AS ("
            " SELECT (SELECT min(family) FROM runs WHERE project_id = ?1)"
            " UNION ALL SELECT (SELECT min(family) FROM runs WHERE project_id = ?1 AND family > f.family)"
            " FROM f WHERE f.family IS NOT NULL"
            ") SELECT family FROM f WHERE family IS NOT NULL",
            [project_id],
        )
    ]
    labels = []
    for family in families:
        model_class = None
        if family not in FAMILIES:
            model_class = ws.store.scalar(
                "SELECT model_class FROM runs WHERE project_id = ? AND family = ? "
                "AND model_class IS NOT NULL LIMIT 1",
                [project_id, family],
            )
        labels.append(model_label(family, model_class))
    return ModelsSeen(tuple(dict.fromkeys(labels)), all(f in FAMILIES for f in families))


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run as its detail shows it: the record and the metric steps it logged (each series
    thinned to at most PLOT_POINTS for the plot; `points` counts them all)."""

    run: runs.Run
    series: tuple[MetricSeries, ...]
    points: int

    @property
    def model(self) -> str:
        return model_label(self.run.family, self.run.model_class)

    @property
    def live(self) -> bool:
        """Still running: its steps may grow and its status change."""
        return self.run.status == "running"


def run_detail(ws: Workspace, project: Project, run_id: int) -> RunDetail:
    """The run and its logged metric series. A running run whose process is gone is marked
    interrupted first, so the detail never shows a dead run as running."""
    run = runs.get_run(ws, project, run_id)
    if run.status == "running" and runs.mark_interrupted(ws, project):
        run = runs.get_run(ws, project, run_id)
    series = metric_series(ws, run_id)
    return RunDetail(run, tuple(_thin(s) for s in series), sum(len(s.steps) for s in series))


def _thin(series: MetricSeries) -> MetricSeries:
    n = len(series.steps)
    if n <= PLOT_POINTS:
        return series
    every = -(-(n - 1) // (PLOT_POINTS - 1))
    keep = [*range(0, n - 1, every), n - 1]
    return MetricSeries(series.key, [series.steps[i] for i in keep], [series.values[i] for i in keep])
