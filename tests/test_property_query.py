"""Property-based tests for the runs filter language (cockpit/training/query.py).

Any string is either parsed or refused with CockpitError; a parsed filter becomes SQL that
runs on a real store and selects exactly the runs a plain Python reading of it selects;
and a page of the result is exactly that slice of the whole ordered result.
"""

from __future__ import annotations

import json
import operator
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.errors import CockpitError
from cockpit.training import query
from cockpit.workspace import Workspace
from storage.migrations import RUN_METRICS

FAST = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
FAMILIES = ["dummy", "logistic_regression", "random_forest", "Random_Forest"]
STATUSES = ["running", "finished", "failed", "cancelled", "interrupted"]
RUN_SOURCES = [None, "catalog", "mlflow", "script", "estimator"]  # None: recorded before sources were
RUNS = 6_200  # past 5,000, so paging also reads the far half backwards


def _make_runs(store, project_id: int, n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        metrics = {f"m_{m}": (None if rng.random() < 0.2 else round(rng.random(), 2)) for m in RUN_METRICS}
        rows.append(
            {
                "project_id": project_id,
                "family": rng.choice(FAMILIES),
                "params": "{}",
                "seed": rng.randrange(5),
                "status": rng.choice(STATUSES),
                "source": rng.choice(RUN_SOURCES),
                "sweep_id": rng.choice([None, 1, 2]),
                "metric": rng.choice(["recall", "f1"]),
                "score": metrics["m_recall"],
                "duration_s": round(rng.random() * 9, 1),
                "created_at": "2026-05-01T09:00:00Z",
                **metrics,
            }
        )
    columns = list(rows[0])
    with store.transaction():
        store.conn.executemany(
            f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [[row[c] for c in columns] for row in rows],
        )
    return [{**row, "id": i + 1} for i, row in enumerate(rows)]


@pytest.fixture(scope="module")
def runs_store(tmp_path_factory):
    ws, _ = Workspace.init(tmp_path_factory.mktemp("query"))
    with ws.store.transaction():
        project_id = ws.store.insert(
            "projects", {"name": "p", "task": "binary", "target": "y", "created_at": "2026-05-01"}
        )
        other = ws.store.insert(
            "projects", {"name": "q", "task": "binary", "target": "y", "created_at": "2026-05-01"}
        )
    rows = _make_runs(ws.store, project_id, RUNS)
    _make_runs(ws.store, other, 50, seed=4)  # never seen through project p's queries
    yield ws.store, project_id, rows
    ws.close()


VALUES = st.sampled_from(
    [
        "0.5",
        "0",
        "1",
        "-1",
        "1e3",
        "inf",
        "-inf",
        "nan",
        "NaN",
        "2",
        "0.25",
        "finished",
        "running",
        "random_forest",
        "Random_Forest",
        "x'; DROP TABLE runs;--",
        "'",
        '"',
        "1_0",
        "0x10",
        "\u0130",
        "%",
        "_",
    ]
) | st.text(max_size=5)
FIELD = st.sampled_from(sorted(query.FIELDS)) | st.sampled_from(
    ["Recall", "FAMILY", "bogus", "", "m_recall", "rowid"]
)
TOKENS = st.builds(lambda f, o, v: f + o + v, FIELD, st.sampled_from([*OPS, "==", "=>", "", "!"]), VALUES)
FILTERS = st.lists(TOKENS, max_size=4).map(" ".join) | st.text(max_size=30)


NUMBERS = st.sampled_from(
    ["0.5", "0", "1", "-1", "1e3", "inf", "-inf", "2", "0.25", "3", "0.75", "4.0", "6200", "3100"]
) | st.floats(-2, 7000, allow_nan=False).map(str)
TEXTS = st.sampled_from([*FAMILIES, *STATUSES, "recall", "f1", "nope", "x';DROP_TABLE_runs;--"])
NUMERIC_TOKENS = st.builds(
    lambda f, o, v: f + o + v,
    st.sampled_from(sorted(query.NUMERIC_FIELDS)).map(lambda f: f.upper() if len(f) % 3 == 0 else f),
    st.sampled_from(list(OPS)),
    NUMBERS,
)
TEXT_TOKENS = st.builds(
    lambda f, o, v: f + o + v,
    st.sampled_from(sorted(set(query.TEXT_FIELDS) - {"source"})),
    st.sampled_from(["=", "!="]),
    TEXTS,
) | st.builds(lambda o, v: "source" + o + v, st.sampled_from(["=", "!="]), st.sampled_from(query.SOURCES))
WELL_FORMED = st.lists(NUMERIC_TOKENS | TEXT_TOKENS, max_size=3).map(" ".join)


def _matches(row: dict, conditions) -> bool:
    for name, op, value in conditions:
        cell = row[query.FIELDS[name]]
        if cell is None:
            cell = query.NULL_MEANS.get(name)  # a run without a source is a catalogue run
        if cell is None or not OPS[op](cell, value):
            return False
    return True


@FAST
@given(text=FILTERS, sort=st.sampled_from([*query.FIELDS, "bogus", "Recall"]))
def test_any_string_is_a_filter_or_a_cockpit_error(runs_store, text: str, sort: str) -> None:
    store, project_id, _ = runs_store
    try:
        made = query.make_query(project_id, sort, text)
    except CockpitError as exc:
        assert "\n" not in str(exc)
        return
    query.count(store, made)
    query.page(store, made, 0, 5)


@FAST
@given(
    text=WELL_FORMED,
    sort=st.sampled_from(sorted(query.NUMERIC_FIELDS)),
    descending=st.sampled_from([None, True, False]),
)
def test_a_filter_selects_exactly_the_runs_it_says(runs_store, text: str, sort: str, descending) -> None:
    store, project_id, rows = runs_store
    made = query.make_query(project_id, sort, text, descending)
    assert len(made.conditions) == len(text.split())
    expected = [r for r in rows if _matches(r, made.conditions)]  # with a sort value or not
    assert query.count(store, made) == len(expected)
    first = query.page(store, made, 0, 20)
    expected_ids = {e["id"] for e in expected}  # once, not once for each row of the page
    assert all(r.id in expected_ids for r in first)
    assert len(first) == min(20, len(expected))
    for _, op, value in made.conditions:
        assert op in OPS and (isinstance(value, str) or value == value)  # never NaN


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    sort=st.sampled_from(["id", "score", "recall", "duration", "seed"]),
    descending=st.booleans(),
    offset=st.integers(0, RUNS + 100),
    limit=st.integers(1, 120),
    text=st.sampled_from(["", "status=finished", "recall>0.5 family!=dummy"]),
)
def test_a_page_is_exactly_that_slice_of_the_whole_result(
    runs_store, sort: str, descending: bool, offset: int, limit: int, text: str
) -> None:
    store, project_id, rows = runs_store
    made = query.make_query(project_id, sort, text, descending)
    where, params = made.where(sort_not_null=False)
    everything = [
        r["id"]
        for r in store.rows(f"SELECT id FROM runs WHERE {where} ORDER BY {made.whole_order()}", params)
    ]
    got = [r.id for r in query.page(store, made, offset, limit)]
    assert got == everything[offset : offset + limit]


def test_a_page_past_the_end_is_empty_not_everything(runs_store) -> None:
    """Past 5,000 rows the far half is read backwards; a page beyond the end asked SQLite
    for a negative LIMIT, which means no limit: every row came back."""
    store, project_id, _ = runs_store
    made = query.make_query(project_id, "id")
    total = query.count(store, made)
    assert query.page(store, made, total + 10, 50) == []


def test_field_names_are_read_in_any_case_and_values_as_written(runs_store) -> None:
    store, project_id, rows = runs_store
    assert query.parse_filter("Recall>0.5 FAMILY=Random_Forest") == (
        ("recall", ">", 0.5),
        ("family", "=", "Random_Forest"),
    )
    made = query.make_query(project_id, filter_text="family=Random_Forest")
    assert query.count(store, made) == sum(r["family"] == "Random_Forest" for r in rows)
    assert query.parse_filter("r2>=0.1") == (("r2", ">=", 0.1),)  # a digit in a field name
    with pytest.raises(CockpitError, match="not NaN"):
        query.parse_filter("recall>nan")


def test_source_catalog_takes_the_runs_recorded_before_sources_were(runs_store) -> None:
    store, project_id, rows = runs_store
    for value in ("catalog", "mlflow"):
        made = query.make_query(project_id, filter_text=f"source={value}")
        assert query.count(store, made) == sum((r["source"] or "catalog") == value for r in rows)
    made = query.make_query(project_id, filter_text="source!=catalog")
    assert query.count(store, made) == sum(r["source"] not in (None, "catalog") for r in rows)
    with pytest.raises(CockpitError, match="source is one of catalog, estimator"):
        query.parse_filter("source=mlfow")


def test_a_filter_never_reaches_the_sql_text(runs_store) -> None:
    store, project_id, _ = runs_store
    made = query.make_query(project_id, filter_text="family=x';DROP_TABLE_runs;-- status!=')")
    where, params = made.where()
    assert "DROP" not in where and "'" not in where
    assert query.count(store, made) == 0
    assert store.scalar("SELECT count(*) FROM runs") == RUNS + 50
    assert json.dumps(params) and store.integrity_check() == "ok"
