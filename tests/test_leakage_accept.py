"""Issue 22: a person accepts a leakage finding with a reason (m022); the acceptance is
audited, counts for every split of the project, and review honours it."""

from __future__ import annotations

from pathlib import Path

from storage import Store, migrations


def test_m022_adds_leakage_acceptances_on_an_empty_and_the_previous_schema(
        tmp_path: Path) -> None:
    import sqlite_utils

    Store(tmp_path / "fresh.db", create=True).close()
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.build().apply(db, stop_before="m022_leakage_acceptances")
    assert "leakage_acceptances" not in db.table_names()
    project = db["projects"].insert({"name": "old", "task": "binary", "target": "y",
                                     "created_at": "2026-01-01"}).last_pk
    db.close()
    store = Store(path)
    assert store.applied_migrations() == migrations.KNOWN_NAMES
    assert store.rows("SELECT name FROM projects WHERE id = ?", [project]) == [{"name": "old"}]
    assert store.scalar("SELECT count(*) FROM leakage_acceptances") == 0
    store.close()
    db = sqlite_utils.Database(tmp_path / "fresh.db")
    assert set(db["leakage_acceptances"].columns_dict) == {
        "id", "project_id", "split_id", "finding", "reason", "accepted_by", "at"}
    assert any(index.unique and index.columns == ["project_id", "finding"]
               for index in db["leakage_acceptances"].indexes)
    db.close()
