"""The runs query's shortcuts (cockpit/training/query.py) for a filter on one column sorted by
another, and for runs without a value in the sort column (listed last, issue 23): the same
rows and counts as the plain SQL, read through an index, not a scan."""

import random

import pytest

from cockpit.training import query
from cockpit.workspace import Workspace

RUNS = 4_000


def _plain_page(store, made, offset: int, limit: int) -> list[int]:
    where, params = made.where(sort_not_null=False)
    return [
        r["id"]
        for r in store.rows(
            f"SELECT id FROM runs WHERE {where} ORDER BY {made.whole_order()} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    ]


def _plain_count(store, made) -> int:
    where, params = made.where(sort_not_null=False)
    return store.scalar(f"SELECT count(*) FROM runs WHERE {where}", params)


def _plan(store, sql: str, params) -> str:
    return " / ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql, params))


def _traced(store, call) -> list[str]:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        call()
    finally:
        store.conn.set_trace_callback(None)
    return [s for s in statements if s.startswith("SELECT")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    ws, _ = Workspace.init(tmp_path_factory.mktemp("plans"))
    with ws.store.transaction():
        project = ws.store.insert(
            "projects", {"name": "p", "task": "binary", "target": "y", "created_at": "2026-05-01"}
        )
        rng = random.Random(1)
        for i in range(RUNS):
            failed = i % 50 == 0  # a failed run has no metrics
            values = {
                f"m_{m}": None if failed else round(rng.random(), 3)
                for m in ("roc_auc", "recall", "precision", "f1")
            }
            ws.store.insert(
                "runs",
                {
                    "project_id": project,
                    "family": rng.choice(["a", "b"]),
                    "params": {},
                    "seed": i,
                    "created_at": "2026-05-01",
                    "status": "failed" if failed else "finished",
                    "score": values["m_roc_auc"],
                    **values,
                },
            )
    yield ws.store, project
    ws.close()


@pytest.mark.parametrize(
    "text", ["recall>0.2", "recall>0.99", "family=a recall<0.5", "status=finished", "precision>0.1 f1<0.9"]
)
@pytest.mark.parametrize("sort", ["roc_auc", "score", "id"])
def test_shortcuts_give_the_plain_rows_and_counts(store, text, sort) -> None:
    store, project = store
    made = query.make_query(project, sort, text)
    assert query.count(store, made) == _plain_count(store, made)
    total = query.count(store, made)
    for offset, limit in ((0, 100), (100, 100), (37, 5), (900, 100), (total - 90, 100), (total - 3, 10)):
        got = [r.id for r in query.page(store, made, offset, limit)]
        assert got == _plain_page(store, made, offset, limit)
        listed = query.Listing(store, made)
        assert [r.id for r in listed.page(offset, limit)] == got


@pytest.mark.parametrize("descending", [True, False])
def test_sorting_by_a_metric_lists_the_runs_without_it_last(store, descending) -> None:
    """The metric indexes are partial (only runs with a value): sorting read them alone and
    the failed runs dropped out of the table ("3,920 shown" of 4,000)."""
    store, project = store
    made = query.make_query(project, "recall", descending=descending)
    assert query.count(store, made) == RUNS
    assert query.sorted_count(store, made) == RUNS - RUNS // 50
    rows = query.page(store, made, RUNS - RUNS // 50 - 2, 10)
    assert [r.metrics.get("recall") is None for r in rows] == [False] * 2 + [True] * 8
    missing = [r.id for r in rows[2:]]
    assert missing == sorted(missing, reverse=descending)
    assert all(r.status == "failed" for r in rows[2:])
    recalls = [r.metrics["recall"] for r in query.page(store, made, 0, 50)]
    assert recalls == sorted(recalls, reverse=descending)


def test_both_parts_of_a_metric_sort_are_read_from_indexes(store) -> None:
    store, project = store
    made = query.make_query(project, "recall")
    statements = _traced(store, lambda: query.page(store, made, RUNS - RUNS // 50 - 50, 100))
    assert len(statements) >= 2
    for sql in statements:
        plan = _plan(store, sql, [])
        assert "TEMP B-TREE" not in plan and "INDEX" in plan, plan
    plans = [_plan(store, sql, []) for sql in statements]
    assert any("idx_runs_project_id_m_recall_id" in p for p in plans)  # the runs with a value
    assert any("idx_runs_project_id_id" in p for p in plans)  # the runs without, by id


def test_a_dense_filter_walks_the_sort_index(store, monkeypatch) -> None:
    store, project = store
    made = query.make_query(project, "roc_auc", "recall>0.2")
    statements = _traced(store, lambda: query.page(store, made, 0, 100))
    walk = next(s for s in statements if "FROM (SELECT" in s)
    plan = _plan(store, walk, [])
    assert "idx_runs_project_id_m_roc_auc_id" in plan and "TEMP B-TREE" not in plan


def test_runs_without_the_sort_value_are_counted_from_indexes(store) -> None:
    store, project = store
    made = query.make_query(project, "roc_auc", "recall>0.5")
    assert query._missing_sort_values(store, made) == RUNS // 50  # the failed runs
    listed = query.Listing(store, made)
    statements = _traced(store, lambda: (listed.count(), listed.page(0, 100), listed.page(100, 100)))
    counts = [sql for sql in statements if sql.startswith("SELECT count(*)")]
    assert counts and all("COVERING INDEX" in _plan(store, sql, []) for sql in counts), counts
    # Only the last rows need where the runs without a value begin: one more count, once.
    last = listed.count() - 10
    statements = _traced(store, lambda: (listed.page(last, 100), listed.page(last - 100, 100)))
    assert len([s for s in statements if s.startswith("SELECT count(*)")]) == 1


@pytest.mark.parametrize("text", ["", "family=a", "recall>0.5"])
@pytest.mark.parametrize("sort,descending", [("roc_auc", True), ("recall", False), ("id", True)])
def test_a_runs_position_is_its_index_in_the_result(store, text, sort, descending) -> None:
    """The table keeps its cursor on a run across refreshes by asking where the run is now."""
    store, project = store
    made = query.make_query(project, sort, text, descending)
    ids = _plain_page(store, made, 0, RUNS)
    for index in (0, 1, len(ids) // 2, len(ids) - RUNS // 100, len(ids) - 1):
        assert query.position(store, made, ids[index]) == index
    left_out = set(range(1, RUNS + 1)) - set(ids)
    if left_out:
        assert query.position(store, made, min(left_out)) is None


def test_a_position_among_the_sorted_runs_is_counted_on_the_index(store) -> None:
    store, project = store
    made = query.make_query(project, "roc_auc")
    some = _plain_page(store, made, 2000, 1)[0]
    statements = _traced(store, lambda: query.position(store, made, some))
    counts = [sql for sql in statements if sql.startswith("SELECT count(*)")]
    assert counts and all(
        "COVERING INDEX idx_runs_project_id_m_roc_auc_id" in _plan(store, s, []) for s in counts
    )


def test_the_last_runs_without_a_value_are_read_from_their_end(store) -> None:
    """No index holds the runs without a sort value: the last page of them is found walking
    the id index up from the oldest run, not down through every newer one."""
    store, project = store
    made = query.make_query(project, "recall")  # newest first among the runs without recall
    listed = query.Listing(store, made)
    last = listed.count() - 5
    statements = _traced(store, lambda: listed.page(last, 100))
    walk = [s for s in statements if "m_recall IS NULL" in s]
    assert len(walk) == 1 and "ORDER BY id ASC" in walk[0]
    assert [r.id for r in listed.page(last, 100)] == _plain_page(store, made, last, 100)
