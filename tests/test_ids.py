"""m028: ids are never given again. On a copy of the demo workspace brought back to its schema
before m028 (each id table rebuilt without AUTOINCREMENT, foreign keys off), opening it
migrates every table keyed by an id to AUTOINCREMENT and keeps every row, column, index,
trigger and foreign key; ids the audit log says were deleted are not given again."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path

from cockpit.workspace import Workspace

DB = Path(".cockpit") / "cockpit.db"


def schema_and_rows(path: Path) -> dict[str, dict]:
    """Per table: a hash of its rows, its columns, foreign keys, indexes and triggers (m029's
    alert_rules.notify left out: the store before m028 has no m029 either)."""
    db = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT IN ('_sqlite_migrations', 'notifications') ORDER BY name"
            )
        ]
        found = {}
        for table in tables:
            columns = [c for c in db.execute(f'PRAGMA table_xinfo("{table}")') if c[1] != "notify"]
            names = ", ".join(f'"{c[1]}"' for c in columns)
            rows = db.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid').fetchall()
            found[table] = {
                "rows": hashlib.sha256(repr(rows).encode()).hexdigest(),
                "columns": columns,
                "foreign_keys": db.execute(f'PRAGMA foreign_key_list("{table}")').fetchall(),
                "indexes": sorted(
                    (r[0], r[1] or "")
                    for r in db.execute(
                        "SELECT name, sql FROM sqlite_master WHERE tbl_name = ? "
                        "AND type IN ('index', 'trigger')",
                        [table],
                    )
                ),
            }
        return found
    finally:
        db.close()


def id_tables(path: Path) -> dict[str, bool]:
    """Each table keyed by an integer id, and whether it is AUTOINCREMENT."""
    db = sqlite3.connect(path)
    try:
        return {
            name: "AUTOINCREMENT" in sql.upper()
            for name, sql in db.execute(
                "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type = 'table' "
                "AND m.name NOT LIKE 'sqlite_%' AND m.name != '_sqlite_migrations' AND "
                "(SELECT group_concat(p.name) FROM pragma_table_info(m.name) p WHERE p.pk > 0) = 'id'"
            )
        }
    finally:
        db.close()


def before_m028(path: Path) -> None:
    """Rebuild each AUTOINCREMENT table as it was before m028, with a trigger added to one
    (m028 must keep triggers too), and forget m028 and m029 (m029's column and table go)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("PRAGMA legacy_alter_table = ON")  # other tables keep naming the table, not old_*
    db.execute("BEGIN")
    db.execute("DROP TABLE notifications")
    db.execute("ALTER TABLE alert_rules DROP COLUMN notify")
    for table, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"
    ).fetchall():
        extras = [
            r[0]
            for r in db.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL AND type != 'table'",
                [table],
            )
        ]
        db.execute(f'ALTER TABLE "{table}" RENAME TO "old_{table}"')
        db.execute(re.sub(r"\s+AUTOINCREMENT", "", sql, flags=re.IGNORECASE))
        db.execute(f'INSERT INTO "{table}" SELECT * FROM "old_{table}"')
        db.execute(f'DROP TABLE "old_{table}"')
        for extra in extras:
            db.execute(extra)
    db.execute(
        "CREATE TRIGGER runs_touched AFTER UPDATE ON runs BEGIN SELECT 1; END"  # a trigger to keep
    )
    db.execute("DELETE FROM sqlite_sequence")
    db.execute(
        "DELETE FROM _sqlite_migrations WHERE name IN ('m028_ids_never_reused', 'm029_alert_webhooks')"
    )
    newest = db.execute("SELECT max(id) FROM runs").fetchone()[0]
    db.execute(  # a run deleted before the migration: its id is not given again either
        "INSERT INTO events (at, user, stage, action, details) VALUES "
        "('2026-09-01T00:00:00+00:00', 'ann', 'experiments', 'delete run', ?)",
        [json.dumps({"run": newest + 2})],
    )
    db.execute("COMMIT")
    db.close()


def test_m028_keeps_every_row_index_and_foreign_key_of_the_demo(demo_path: Path) -> None:
    path = demo_path / DB
    assert all(id_tables(path).values()), "a table keyed by an id is not AUTOINCREMENT"
    before_m028(path)
    assert not any(id_tables(path).values())
    old = schema_and_rows(path)
    newest = max(r for (r,) in sqlite3.connect(path).execute("SELECT id FROM runs"))
    with Workspace(demo_path / ".cockpit") as ws:
        assert ws.store.applied_migrations()[-2:] == ["m028_ids_never_reused", "m029_alert_webhooks"]
        assert ws.store.integrity_check() == "ok"
        assert ws.store.scalar("PRAGMA foreign_key_check") is None
        assert ws.store.scalar("SELECT seq FROM sqlite_sequence WHERE name = 'runs'") == newest + 2
    assert schema_and_rows(path) == old
    assert all(id_tables(path).values())
