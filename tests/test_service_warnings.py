"""Issue 22: a value outside the training domain is answered, but the row says so.

The warning is defined once (cockpit/deployment/domain.py) from the model's input schema:
an unseen category, a number far outside the training range, a missing value in a column
that never had one; never about the id column. The service puts them in the answer's
`"warnings"` and its request log (m021), monitoring counts warned rows per window, batch
scoring lists them per column, and the bundle server answers them too."""

from __future__ import annotations

from pathlib import Path

from storage import Store, migrations


def test_m021_adds_request_warnings_on_an_empty_and_the_previous_schema(tmp_path: Path) -> None:
    import sqlite_utils

    Store(tmp_path / "fresh.db", create=True).close()
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.build().apply(db, stop_before="m021_request_warnings")
    assert "warnings" not in db["requests"].columns_dict
    project = db["projects"].insert({"name": "old", "task": "binary", "target": "y",
                                     "created_at": "2026-01-01"}).last_pk
    db["requests"].insert({"project_id": project, "request_id": "r1", "at": "2026-05-01",
                           "status": 200, "entity": "E1", "route": "production"})
    db.close()
    store = Store(path)
    assert store.applied_migrations() == migrations.KNOWN_NAMES
    assert store.rows("SELECT request_id, entity, warnings FROM requests") == [
        {"request_id": "r1", "entity": "E1", "warnings": None}]
    store.close()
    db = sqlite_utils.Database(tmp_path / "fresh.db")
    assert db["requests"].columns_dict["warnings"] is str
    db.close()
