"""The runs table as a query: a sort and a small filter language, done in SQL on indexed
columns, read a page at a time so it stays fast at 100,000 runs.

Sorted by a column some runs have no value in (a failed run has no metrics), the result is
every run the filter selects: those with a value in the sort order, then those without, by
id. The metric, score and duration indexes are partial (they hold only the runs with a
value, issue 16), so the two parts are read separately, each from an index.

Filter language: space-separated conditions, all of which must hold, e.g.
`recall>0.8 family=random_forest status=finished sweep=3`. Fields: every
metric, score, id, seed, sweep, duration, family (a catalogue family, `module.Class` or
`module:function`), status, source (catalog, estimator, pipeline, script, notebook, file,
mlflow: a run from before sources were recorded, whose source is NULL, is a catalogue run).
Operators: = != > >= < <=.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.evaluation.metrics import LOWER_IS_BETTER, SPEC_TO_COLUMN
from cockpit.training.runs import SOURCES, Run
from cockpit.workspace import Workspace
from storage import Store
from storage.migrations import RUN_METRICS

if TYPE_CHECKING:
    from cockpit.projects import Project

NUMERIC_FIELDS = {
    **{m: f"m_{m}" for m in RUN_METRICS},
    # the problem spec's names for the same columns (multiclass f1_macro -> m_f1)
    **{name: f"m_{column}" for name, column in SPEC_TO_COLUMN.items()},
    "score": "score",
    "id": "id",
    "seed": "seed",
    "sweep": "sweep_id",
    "duration": "duration_s",
}
TEXT_FIELDS = {"family": "family", "status": "status", "metric": "metric", "source": "source"}
FIELDS = {**NUMERIC_FIELDS, **TEXT_FIELDS}
# a field whose column is NULL for some runs reads as this value then: runs from before
# sources were recorded (m024) are catalogue runs
NULL_MEANS = {"source": "catalog"}
CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(>=|<=|!=|=|>|<)(.+)$")
LIST_COLUMNS = (
    "id, family, status, metric, score, seed, sweep_id, duration_s, params, error, source, model_class, "
    "split_id, version_id, "
    # an imported run's id in MLflow (read from its origin only for the rows of a page)
    "CASE WHEN source = 'mlflow' THEN json_extract(origin, '$.run_id') END AS mlflow_run_id, "
    + ", ".join(f"m_{m}" for m in RUN_METRICS)
)


@dataclass(frozen=True, slots=True)
class RunRow:
    """One line of the runs table: what a run is, how it did and the params it tried."""

    id: int
    family: str
    status: str
    metric: str | None
    score: float | None
    seed: int
    sweep_id: int | None
    duration_s: float | None
    params: dict[str, Any]
    error: str | None
    metrics: dict[str, float]  # validation metrics the run has, by column name (roc_auc, rmse)
    source: str | None = None  # where the run came from (runs.SOURCES); None: catalog
    model_class: str | None = None  # the estimator's class, for models outside the catalogue
    mlflow_run_id: str | None = None  # an imported run's id in MLflow
    split_id: int | None = None  # the split it was trained and validated on (None: logged without data)
    version_id: int | None = None  # the data version that split cuts

    @property
    def kind(self) -> str:
        return self.source or "catalog"

    @property
    def model_name(self) -> str:
        """The model as the runs table shows it: the class, or the catalogue family."""
        return self.model_class or self.family

    def as_dict(self) -> dict[str, Any]:
        """The run as `cockpit runs --json` prints it."""
        return {
            "id": self.id,
            "family": self.family,
            "source": self.kind,
            "model_class": self.model_class,
            "mlflow_run_id": self.mlflow_run_id,
            "status": self.status,
            "metric": self.metric,
            "score": self.score,
            "seed": self.seed,
            "sweep_id": self.sweep_id,
            "duration_s": self.duration_s,
            "params": self.params,
            "error": self.error,
            "metrics": self.metrics,
            "split_id": self.split_id,
            "version_id": self.version_id,
        }


METRIC_COLUMNS = tuple((m, f"m_{m}") for m in RUN_METRICS)


def _run_row(row: dict[str, Any]) -> RunRow:
    return RunRow(
        id=row["id"],
        family=row["family"],
        status=row["status"],
        metric=row["metric"],
        score=row["score"],
        seed=row["seed"],
        sweep_id=row["sweep_id"],
        duration_s=row["duration_s"],
        params=json.loads(row["params"]) if row["params"] else {},
        error=row["error"],
        metrics={m: row[c] for m, c in METRIC_COLUMNS if row[c] is not None},
        source=row["source"],
        model_class=row["model_class"],
        mlflow_run_id=row["mlflow_run_id"],
        split_id=row["split_id"],
        version_id=row["version_id"],
    )


@dataclass(frozen=True)
class RunQuery:
    project_id: int
    sort: str = "id"  # a field name
    descending: bool = True
    conditions: tuple[tuple[str, str, Any], ...] = field(default_factory=tuple)

    def where(self, sort_not_null: bool = True, conditions: bool = True) -> tuple[str, list[Any]]:
        """The runs with a value in the sort column (`sort_not_null=False`: every run) that
        the filter selects (`conditions=False`: every run of the project)."""
        clauses, params = ["project_id = ?"], list[Any]([self.project_id])
        for name, op, value in self.conditions if conditions else ():
            column, sql_op = FIELDS[name], "<>" if op == "!=" else op
            if name in NULL_MEANS:
                clauses.append(f"COALESCE({column}, ?) {sql_op} ?")
                params.extend([NULL_MEANS[name], value])
            else:
                clauses.append(f"{column} {sql_op} ?")
                params.append(value)
        if self.sort != "id" and sort_not_null:
            clauses.append(f"{FIELDS[self.sort]} IS NOT NULL")
        return " AND ".join(clauses), params

    @property
    def filters_other_columns(self) -> bool:
        """Does a condition name a column other than the sort column?"""
        return any(FIELDS[name] != FIELDS[self.sort] for name, _, _ in self.conditions)

    def order(self, reverse: bool = False) -> str:
        """The order of the runs with a sort value; those without follow by id (`id_order`)."""
        descending = self.descending != reverse
        direction = "DESC" if descending else "ASC"
        column = FIELDS[self.sort]
        return f"{column} {direction}, id {direction}" if column != "id" else f"id {direction}"

    def id_order(self) -> str:
        return f"id {'DESC' if self.descending else 'ASC'}"

    def whole_order(self) -> str:
        """The whole result's order as one clause (runs without a sort value last). What the
        two indexed reads give together; no index serves it, so it is slow at scale."""
        column = FIELDS[self.sort]
        return self.order() if column == "id" else f"{column} IS NULL, {self.order()}"

    def where_missing(self) -> tuple[str, list[Any]]:
        """The runs the filter selects that have no value in the sort column."""
        where, params = self.where(sort_not_null=False)
        return f"{where} AND {FIELDS[self.sort]} IS NULL", params


def parse_filter(text: str) -> tuple[tuple[str, str, Any], ...]:
    """'recall>0.8 family=random_forest' -> conditions; CockpitError naming a bad one."""
    conditions = []
    for token in text.split():
        match = CONDITION.match(token)  # field names in any case; values as written
        if not match:
            raise CockpitError(
                f"filter {token!r}: write FIELD OP VALUE, e.g. recall>0.8 or family=random_forest"
            )
        name, op, raw = match.group(1).lower(), match.group(2), match.group(3)
        if name not in FIELDS:
            hint = get_close_matches(name, FIELDS, n=1)
            raise CockpitError(
                f"filter {token!r}: unknown field {name!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
        if name in NUMERIC_FIELDS:
            try:
                value: Any = float(raw)
            except ValueError:
                raise CockpitError(f"filter {token!r}: {name} takes a number") from None
            if value != value:  # NaN compares false with everything: a filter matching nothing
                raise CockpitError(f"filter {token!r}: {name} takes a number, not NaN")
        else:
            if op not in ("=", "!="):
                raise CockpitError(f"filter {token!r}: {name} takes = or !=")
            if name == "source" and raw not in SOURCES:
                raise CockpitError(f"filter {token!r}: source is one of {', '.join(SOURCES)}")
            value = raw
        conditions.append((name, op, value))
    return tuple(conditions)


def make_query(
    project_id: int,
    sort: str = "id",
    filter_text: str = "",
    descending: bool | None = None,
    score_metric: str | None = None,
) -> RunQuery:
    """`descending=None` puts the best first: highest first, or lowest first for an error
    metric; `score` follows `score_metric`, the project's primary metric (runs' score)."""
    sort = sort.strip().lower()
    if sort not in FIELDS or sort in TEXT_FIELDS:
        hint = get_close_matches(sort, NUMERIC_FIELDS, n=1)
        raise CockpitError(
            f"cannot sort by {sort!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; sort by id, score, seed, duration or a metric "
            f"({', '.join([*RUN_METRICS, *SPEC_TO_COLUMN])})"
        )
    if descending is None:
        descending = not lower_is_better(score_metric if sort == "score" else sort)
    return RunQuery(project_id, sort, descending, parse_filter(filter_text))


METRIC_FIELDS = {name for name, column in NUMERIC_FIELDS.items() if column.startswith("m_")}


def task_metrics(task: str) -> list[str]:
    """The metric fields runs of a task have, by their column and problem-spec names."""
    from cockpit.evaluation.metrics import CLASSIFICATION, REGRESSION
    from cockpit.problem import METRICS

    names = REGRESSION if task == "regression" else CLASSIFICATION
    return list(dict.fromkeys([*names, *METRICS.get(task, ())]))


def lower_is_better(name: str | None) -> bool:
    """Is a smaller value of this field better (error metrics)? Unknown: no."""
    return SPEC_TO_COLUMN.get(name or "", name) in LOWER_IS_BETTER


def count(store: Store, query: RunQuery) -> int:
    """Every run the filter selects, with or without a value in the sort column."""
    where, params = query.where(sort_not_null=False)
    return int(store.scalar(f"SELECT count(*) FROM runs WHERE {where}", params))


def sorted_count(store: Store, query: RunQuery) -> int:
    """The runs the filter selects that have a value in the sort column: where those without
    one begin in the result."""
    if query.sort == "id" or not _missing_sort_values(store, query):
        return count(store, query)
    where, params = query.where()
    return int(store.scalar(f"SELECT count(*) FROM runs WHERE {where}", params))


def page(
    store: Store, query: RunQuery, offset: int, limit: int, known: dict[str, int] | None = None
) -> list[RunRow]:
    """Rows offset..offset+limit in the query's order, the runs without a sort value last.
    `known` keeps the counts found between the pages of one listing. The far half of a
    result is read backwards from its end, so a jump to the last page costs no more than
    the first."""
    return [_run_row(row) for row in _page_rows(store, query, offset, limit, {} if known is None else known)]


def _known(known: dict[str, int], key: str, compute: Callable[[], int]) -> int:
    if key not in known:
        known[key] = compute()
    return known[key]


def _page_rows(
    store: Store, query: RunQuery, offset: int, limit: int, known: dict[str, int]
) -> list[dict[str, Any]]:
    missing = 0 if query.sort == "id" else _missing_sort_values(store, query)
    if not missing:
        return _sorted_rows(store, query, offset, limit, known)
    # At most `missing` of the filter's runs lack the sort value: a page before the last
    # `missing` rows needs no exact boundary (counting it can cost a row read per match).
    if (
        "sorted" not in known
        and offset + limit <= _known(known, "all", lambda: count(store, query)) - missing
    ):
        return _sorted_rows(store, query, offset, limit, known)
    sorted_total = _known(known, "sorted", lambda: sorted_count(store, query))
    rows = []
    if offset < sorted_total:
        rows = _sorted_rows(store, query, offset, min(limit, sorted_total - offset), known)
    if offset + limit > sorted_total:
        missing = _known(known, "all", lambda: count(store, query)) - sorted_total
        rows += _missing_rows(store, query, max(0, offset - sorted_total), limit - len(rows), missing)
    return rows


def _missing_rows(store: Store, query: RunQuery, offset: int, limit: int, missing: int) -> list[dict]:
    """Rows of the `missing` runs without a sort value, by id. No index holds them (the
    metric indexes are partial), so they are found by walking the id index from the nearer
    end of their order: a jump to the last page stops after a page of them too."""
    if offset >= missing:
        return []
    where, params = query.where_missing()
    if offset <= missing // 2:
        order, skip, take = query.id_order(), offset, limit
    else:
        order = "id ASC" if query.descending else "id DESC"
        skip, take = max(0, missing - offset - limit), min(limit, missing - offset)
    rows = store.rows(
        f"SELECT {LIST_COLUMNS} FROM runs WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, take, skip],
    )
    return rows if order == query.id_order() else rows[::-1]


def _sorted_rows(
    store: Store, query: RunQuery, offset: int, limit: int, known: dict[str, int]
) -> list[dict[str, Any]]:
    """Rows of the runs with a sort value."""
    where, params = query.where()
    total = _known(known, "sorted", lambda: sorted_count(store, query)) if offset > 5000 else None
    if total is not None and offset >= total:
        return []  # past the end (a negative LIMIT below would mean "no limit" to SQLite)
    if total is not None and offset > total // 2:
        back = max(0, total - offset - limit)
        rows = store.rows(
            f"SELECT {LIST_COLUMNS} FROM runs WHERE {where} "
            f"ORDER BY {query.order(reverse=True)} LIMIT ? OFFSET ?",
            [*params, min(limit, total - offset), back],
        )
        return rows[::-1]
    sql = f"SELECT {LIST_COLUMNS} FROM runs WHERE {where} ORDER BY {query.order()} LIMIT ? OFFSET ?"
    if query.filters_other_columns and offset + limit <= WALK_MAX_ROWS:
        walked = _walk_sort_index(store, query, offset, limit, sql, params)
        if walked is not None:
            return walked
    return store.rows(sql, [*params, limit, offset])


@dataclass(frozen=True, slots=True)
class Listing:
    """One query over a workspace's runs, for a table that reads it a page at a time. It keeps
    the counts it found: make a new one when the store changes."""

    store: Store
    query: RunQuery
    _known: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def count(self) -> int:
        return _known(self._known, "all", lambda: count(self.store, self.query))

    def page(self, offset: int, limit: int) -> list[RunRow]:
        return page(self.store, self.query, offset, limit, self._known)

    def position(self, run_id: int) -> int | None:
        return position(self.store, self.query, run_id)


def listing(ws: Workspace, query: RunQuery) -> Listing:
    return Listing(ws.store, query)


WALK_FACTOR = 20  # rows of the sort order read per row wanted, before giving up
WALK_MAX_ROWS = 1000  # deeper pages go straight to the planner's choice
_missing: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _walk_sort_index(
    store: Store, query: RunQuery, offset: int, limit: int, sql: str, params: list[Any]
) -> list[dict] | None:
    """A filter on one column sorted by another: SQLite reads the filter's index and sorts
    every match, which costs a row lookup per match (20,000 for recall>0.8 at 100,000 runs).
    When matches are common, walking the sort column's index and keeping the matches stops
    after a page. So read at most WALK_FACTOR rows per row wanted in sort order; if they held
    the page, it is the answer (the first matches in sort order are among them); else None,
    and the planner's own plan (few matches: a small sort) is used."""
    if not any(
        "TEMP B-TREE" in row[3]
        for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", [*params, limit, offset])
    ):
        return None  # the planner already reads an index in the sort order
    budget = WALK_FACTOR * (offset + limit)
    sorted_where, sorted_params = query.where(conditions=False)
    filter_where, filter_params = query.where(sort_not_null=False)
    # The subquery is a co-routine yielding rows in its ORDER BY; the outer scan keeps that
    # order and stops at its LIMIT (an outer ORDER BY would make it read the whole budget).
    rows = store.rows(
        f"SELECT * FROM (SELECT {LIST_COLUMNS}, project_id FROM runs WHERE {sorted_where} "
        f"ORDER BY {query.order()} LIMIT ?) WHERE {filter_where} LIMIT ? OFFSET ?",
        [*sorted_params, budget, *filter_params, limit, offset],
    )
    if len(rows) < limit:
        return None
    for row in rows:
        del row["project_id"]
    return rows


def _missing_sort_values(store: Store, query: RunQuery) -> int:
    """How many of the project's runs have no value in the sort column: two counts over
    covering indexes, remembered until anything writes to the store."""
    column = FIELDS[query.sort]
    version = (store.data_version(), store.conn.total_changes)
    known = _missing.setdefault(store, {})
    cached = known.get((query.project_id, column))
    if cached is None or cached[0] != version:
        missing = store.scalar(
            f"SELECT (SELECT count(*) FROM runs WHERE project_id = ?) - "
            f"(SELECT count(*) FROM runs WHERE project_id = ? AND {column} IS NOT NULL)",
            [query.project_id, query.project_id],
        )
        cached = known[(query.project_id, column)] = (version, int(missing))
    return cached[1]


PREDICT_THRESHOLD = 0.5
THRESHOLD_METRICS = frozenset({"accuracy", "balanced_accuracy", "precision", "recall", "f1"})


def recorded_threshold(task: str, metric: str) -> float | None:
    """The decision threshold behind a run's recorded validation `metric`: a binary run is
    scored on the estimator's own predictions (P(positive) > 0.5), while Evaluation uses the
    threshold it tunes for the run from the spec's costs, so the two numbers differ. None
    when no threshold is involved (roc_auc, regression, multiclass' arg-max)."""
    return PREDICT_THRESHOLD if task == "binary" and metric in THRESHOLD_METRICS else None


SHORT_METRICS = {"precision": "prec", "accuracy": "acc", "balanced_accuracy": "bal_acc"}


def threshold_label(task: str, metric: str, *, short: bool = False) -> str:
    """A metric's name with the decision threshold its recorded value used: recall at 0.5
    is "recall@.5" (Evaluation shows the run's tuned threshold instead). `short` names fit
    a table column: "prec@.5", at most 8 cells for a metric without a threshold."""
    at = recorded_threshold(task, metric)
    room = 8 if at is None else 6
    name = metric if not short or len(metric) <= room else SHORT_METRICS.get(metric, metric[:room])
    return name if at is None else name + threshold_mark(at)


def threshold_mark(at: float) -> str:
    """ "@.5" for a threshold of 0.5."""
    return "@" + f"{at:g}".removeprefix("0")


def position(store: Store, query: RunQuery, run_id: int) -> int | None:
    """Where a run is in the query's result (0 first); None when the filter leaves it out."""
    where, params = query.where(sort_not_null=False)
    column = FIELDS[query.sort]
    row = store.one(f"SELECT {column} AS value FROM runs WHERE {where} AND id = ?", [*params, run_id])
    if row is None:
        return None
    after = ">" if query.descending else "<"
    if column == "id":
        before, before_params = f"{where} AND id {after} ?", [*params, run_id]
    elif row["value"] is None:
        where, params = query.where_missing()
        ahead = sorted_count(store, query)
        return ahead + int(
            store.scalar(f"SELECT count(*) FROM runs WHERE {where} AND id {after} ?", [*params, run_id])
        )
    else:
        where, params = query.where()
        before, before_params = f"{where} AND ({column}, id) {after} (?, ?)", [*params, row["value"], run_id]
    return int(store.scalar(f"SELECT count(*) FROM runs WHERE {before}", before_params))


def best_run_id(ws: Workspace, project_id: int, metric: str, split_id: int | None = None) -> int | None:
    """The finished run with the best validation `metric` (among the runs on `split_id` when
    given); on a tie, the oldest."""
    column = FIELDS.get(metric)
    if column is None:
        return None
    direction = "ASC" if metric in LOWER_IS_BETTER else "DESC"
    on_split = " AND split_id = ?" if split_id is not None else ""
    return ws.store.scalar(
        f"SELECT id FROM runs WHERE project_id = ? AND status = 'finished' AND "
        f"{column} IS NOT NULL{on_split} ORDER BY {column} {direction}, id LIMIT 1",
        [project_id, *([split_id] if split_id is not None else [])],
    )


def run_splits(ws: Workspace, project_id: int) -> list[int]:
    """The splits the project's finished runs were validated on, newest first: validation
    scores from two splits are on different rows, so they do not rank against each other.
    A project with one split gives it (runs or not): more than one means runs span splits."""
    splits = ws.store.rows(
        "SELECT id FROM splits WHERE project_id = ? ORDER BY id DESC LIMIT 2", [project_id]
    )
    if len(splits) < 2:  # one split (or none): no need to read every run (100,000 of them, say)
        return [r["id"] for r in splits]
    rows = ws.store.rows(
        "SELECT DISTINCT split_id FROM runs WHERE project_id = ? AND status = 'finished' "
        "AND split_id IS NOT NULL ORDER BY split_id DESC",
        [project_id],
    )
    return [r["split_id"] for r in rows]


def ranked_split(splits: list[int]) -> int | None:
    """The split whose runs are ranked when runs span several (`run_splits`): the newest."""
    return splits[0] if len(splits) > 1 else None


def best_run_metric(ws: Workspace, project: Project) -> tuple[str, int | None]:
    """The spec's metric and the finished run with the best validation score on it (among
    the newest split's runs when runs span several): the run the Experiments screen marks
    best, the Evaluation screen opens on and next steps name."""
    from cockpit.evaluation import metrics
    from cockpit.problem import current_spec

    metric = metrics.primary_metric(project.task, current_spec(ws, project).metric)
    return metric, best_run_id(ws, project.id, metric, ranked_split(run_splits(ws, project.id)))


def best_run(ws: Workspace, project: Project) -> int | None:
    """The best finished run on the spec's metric (best_run_metric)."""
    return best_run_metric(ws, project)[1]


def metrics_present(ws: Workspace, project_id: int, names: list[str]) -> list[str]:
    """The metric columns among `names` that some run of the project has a value in (one
    seek each in the column's partial index): what an imported run logged, for one."""
    return [
        name
        for name in names
        if ws.store.scalar(
            f"SELECT EXISTS (SELECT 1 FROM runs WHERE project_id = ? AND {NUMERIC_FIELDS[name]} IS NOT NULL)",
            [project_id],
        )
    ]


def run_count(ws: Workspace, project_id: int) -> int:
    """All the project's runs, whatever their status."""
    return int(ws.store.scalar("SELECT count(*) FROM runs WHERE project_id = ?", [project_id]))


def sweep_points(ws: Workspace, sweep_id: int) -> list[tuple[dict[str, Any], float]]:
    """(params, score) of each scored trial of a sweep in the order they were recorded (the
    order trials came back), for a plot of score against a param or trial by trial."""
    rows = ws.store.rows(
        "SELECT params, score FROM runs WHERE sweep_id = ? AND score IS NOT NULL ORDER BY id", [sweep_id]
    )
    return [(json.loads(r["params"]), r["score"]) for r in rows]


PARENT_TAG = "mlflow.parentRunId"  # MLflow's tag on a child run (a tuning library's trial)


def imported_group(run: Run) -> tuple[str, str] | None:
    """What groups an imported MLflow run with others as a sweep groups trials: its parent
    run (MLflow's nested runs: hyperopt's, Optuna's trials), else its MLflow experiment, as
    (kind, MLflow id); None for a run not imported from MLflow."""
    origin = run.origin or {}
    if run.source != "mlflow" or not origin.get("experiment_id"):
        return None
    parent = (origin.get("tags") or {}).get(PARENT_TAG)
    return ("parent", parent) if parent else ("experiment", str(origin["experiment_id"]))


def imported_points(
    ws: Workspace, project_id: int, group: tuple[str, str]
) -> list[tuple[dict[str, Any], float]]:
    """(params, score) of each scored run of an imported group (imported_group), for the
    sweep plot of imported runs."""
    kind, mlflow_id = group
    path = '$.tags."mlflow.parentRunId"' if kind == "parent" else "$.experiment_id"
    rows = ws.store.rows(
        "SELECT params, score FROM runs WHERE project_id = ? AND source = 'mlflow' "
        "AND score IS NOT NULL AND CAST(json_extract(origin, ?) AS TEXT) = ?",
        [project_id, path, mlflow_id],
    )
    return [(json.loads(r["params"]), r["score"]) for r in rows]
