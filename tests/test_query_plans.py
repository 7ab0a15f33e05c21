"""The runs query's shortcuts (cockpit/training/query.py) for a filter on one column sorted by
another: the same rows and counts as the plain SQL, read through an index, not a scan."""

import random

import pytest

from cockpit.training import query
from cockpit.workspace import Workspace

RUNS = 4_000


def _plain_page(store, made, offset: int, limit: int) -> list[int]:
    where, params = made.where()
    return [
        r["id"]
        for r in store.rows(
            f"SELECT id FROM runs WHERE {where} ORDER BY {made.order()} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    ]


def _plain_count(store, made) -> int:
    where, params = made.where()
    return store.scalar(f"SELECT count(*) FROM runs WHERE {where}", params)


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
    for offset, limit in ((0, 100), (100, 100), (37, 5), (900, 100)):
        got = [r.id for r in query.page(store, made, offset, limit)]
        assert got == _plain_page(store, made, offset, limit)


def test_a_dense_filter_walks_the_sort_index(store, monkeypatch) -> None:
    store, project = store
    made = query.make_query(project, "roc_auc", "recall>0.2")
    statements = []
    store.conn.set_trace_callback(statements.append)
    try:
        query.page(store, made, 0, 100)
    finally:
        store.conn.set_trace_callback(None)
    assert any("FROM (SELECT" in s for s in statements)
    walk = next(s for s in statements if "FROM (SELECT" in s and "EXPLAIN" not in s)
    plan = " / ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + walk))
    assert "idx_runs_project_id_m_roc_auc_id" in plan and "TEMP B-TREE" not in plan


def test_runs_without_the_sort_value_are_counted_from_indexes(store) -> None:
    store, project = store
    made = query.make_query(project, "roc_auc", "recall>0.5")
    assert query._missing_sort_values(store, made) == RUNS // 50  # the failed runs
    where, params = made.where(sort_not_null=False)  # what count uses when none is missing
    assert query._plan_is_covering(store, where, params)
