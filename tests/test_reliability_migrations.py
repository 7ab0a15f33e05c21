"""Schema migrations on real workspace files: a workspace made at every earlier schema opens,
is migrated and keeps its rows; one from a newer cockpit is refused untouched; and without
WAL (the rollback journal, as on network file systems) the whole lifecycle still works."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from cockpit.workspace import Workspace
from storage import migrations

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")

SHA = "a" * 64
# One representative row per table, as an older cockpit could have written it. Only the
# columns a table has at that schema are used; tables not listed get a generic row.
ROWS = {
    "projects": {
        "id": 1,
        "name": "old",
        "task": "binary",
        "target": "y",
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "ann",
    },
    "events": {
        "id": 1,
        "at": "2026-01-01T00:00:00+00:00",
        "user": "ann",
        "project_id": 1,
        "stage": "project",
        "action": "create",
        "details": "{}",
    },
    "artifacts": {
        "sha256": SHA,
        "size": 3,
        "kind": "dataset",
        "created_at": "2026-01-01T00:00:00+00:00",
        "library_versions": "{}",
    },
    "problem_specs": {
        "id": 1,
        "project_id": 1,
        "version": 1,
        "spec": json.dumps(
            {"statement": "predict whether y", "task": "binary", "target": "y", "metric": "recall"}
        ),
        "score": 20,
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "ann",
        "comment": "",
    },
    "settings": {"key": "last_project", "value": "old"},
    "dataset_versions": {
        "id": 1,
        "project_id": 1,
        "name": "d",
        "content_sha256": "b" * 64,
        "artifact_sha256": SHA,
        "source": "d.csv",
        "rows": 3,
        "n_columns": 2,
        "schema": json.dumps({"x": "int64", "y": "int64"}),
        "profile": "[]",
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "ann",
    },
    "validations": {
        "id": 1,
        "version_id": 1,
        "created_at": "2026-01-01T00:00:00+00:00",
        "errors": 0,
        "warnings": 0,
        "infos": 0,
        "findings": "[]",
    },
    "column_ranges": {"project_id": 1, "column": "x", "min": 0.0, "max": 9.0},
    "splits": {
        "id": 1,
        "project_id": 1,
        "version_id": 1,
        "strategy": "random",
        "seed": 42,
        "val_fraction": 0.2,
        "test_fraction": 0.2,
        "assignment_sha256": SHA,
        "sizes": json.dumps({"train": 1, "validation": 1, "test": 1}),
        "balance": "{}",
        "distributions": "{}",
        "leakage": "[]",
        "leaks": 0,
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "ann",
    },
    "feature_specs": {
        "id": 1,
        "project_id": 1,
        "version": 1,
        "spec": "[]",
        "created_at": "2026-01-01T00:00:00+00:00",
        "created_by": "ann",
    },
    "runs": {
        "id": 1,
        "project_id": 1,
        "family": "dummy",
        "params": "{}",
        "seed": 42,
        "version_id": 1,
        "split_id": 1,
        "status": "finished",
        "metric": "roc_auc",
        "score": 0.5,
        "m_roc_auc": 0.5,
        "created_at": "2026-01-01T00:00:00+00:00",
    },
    "sweeps": {
        "id": 1,
        "project_id": 1,
        "family": "dummy",
        "kind": "random",
        "space": "[]",
        "status": "finished",
        "created_at": "2026-01-01T00:00:00+00:00",
    },
    "reproductions": {"id": 1, "run_id": 1, "identical": 1, "created_at": "2026-01-01T00:00:00+00:00"},
}


def _old_workspace(folder: Path, stop_before: str | None) -> dict[str, int]:
    """A workspace folder whose store stopped before `stop_before` (None: no schema at all,
    an empty cockpit.db), with a row in each table it has. Returns the rows written."""
    import sqlite_utils

    dot = folder / ".cockpit"
    (dot / "artifacts").mkdir(parents=True)
    path = dot / "cockpit.db"
    if stop_before is None:
        path.touch()
        return {}
    db = sqlite_utils.Database(path)
    migrations.build().apply(db, stop_before=stop_before)
    written: dict[str, int] = {}
    keys: dict[str, object] = {}  # table -> the primary key of its row, for foreign keys
    tables = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND "
            "name NOT LIKE '\\_%' ESCAPE '\\' AND "
            "name NOT LIKE 'sqlite%' ORDER BY rowid"
        )
    ]
    for table in _parents_first(db, tables):
        row = _row_for(db, table, keys)
        db[table].insert(row)
        pk = [c.name for c in db[table].columns if c.is_pk]
        keys[table] = row.get(pk[0]) if len(pk) == 1 else None
        written[table] = 1
    db.close()
    return written


def _parents_first(db, tables: list[str]) -> list[str]:
    """The tables, each after those its foreign keys name (m028 rebuilt tables, so the order
    of sqlite_master is no longer the order they were made in)."""
    ordered: list[str] = []

    def visit(table: str) -> None:
        if table in ordered:
            return
        for fk in db[table].foreign_keys:
            if fk.other_table != table:
                visit(fk.other_table)
        ordered.append(table)

    for table in tables:
        visit(table)
    return ordered


def _row_for(db, table: str, keys: dict[str, object]) -> dict:
    """ROWS' row for the table, or (for a table newer than this test) a row filling every
    NOT NULL column, with foreign keys pointing at the rows already written."""
    columns = {c.name: c for c in db[table].columns}
    if table in ROWS:
        return {k: v for k, v in ROWS[table].items() if k in columns}
    references = {fk.column: fk.other_table for fk in db[table].foreign_keys}
    row: dict = {}
    for name, column in columns.items():
        if name in references:
            row[name] = keys.get(references[name])
        elif column.is_pk:
            row[name] = 1 if column.type.upper() == "INTEGER" else f"{table}-1"
        elif column.notnull:
            kind = column.type.upper()
            row[name] = 1 if kind == "INTEGER" else 0.5 if kind in ("REAL", "FLOAT") else "{}"
    return row


@pytest.mark.parametrize("stop_before", [None, *migrations.KNOWN_NAMES])
def test_a_workspace_from_every_earlier_schema_opens_migrated(
    run_cli, tmp_path: Path, stop_before: str | None
) -> None:
    folder = tmp_path / "old"
    written = _old_workspace(folder, stop_before)
    with Workspace.open(folder) as ws:
        assert ws.store.applied_migrations() == migrations.KNOWN_NAMES
        for table, count in written.items():
            assert ws.store.scalar(f'SELECT count(*) FROM "{table}"') == count, table
        assert ws.store.integrity_check() == "ok"
        assert ws.store.scalar("PRAGMA foreign_key_check") is None
    listed = run_cli("projects", "--json", workspace=folder)
    assert listed.exit_code == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)] == (["old"] if written else [])
    if not written:
        made = run_cli("project", "new", "old", "--task", "binary", "--target", "y", workspace=folder)
        assert made.exit_code == 0, made.stderr
    for command in (["problem", "show", "--json"], ["data", "list", "--json"], ["runs", "--json"], ["log"]):
        shown = run_cli(*command, workspace=folder)
        assert shown.exit_code == 0, (command, shown.stderr)
    saved = run_cli("problem", "set", "--set", "baseline=the current rule", workspace=folder)
    assert saved.exit_code == 0, saved.stderr
    if "problem_specs" in written:
        assert saved.stdout.strip() == "2"
        spec = json.loads(run_cli("problem", "show", "--json", workspace=folder).stdout)["spec"]
        assert spec["metric"] == "recall" and spec["baseline"] == "the current rule"


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_workspace_from_a_newer_cockpit_is_refused_at_the_cli_untouched(
    run_cli, tmp_path: Path, journal: str
) -> None:
    folder = tmp_path / "new"
    Workspace.init(folder)[0].close()
    db = folder / ".cockpit" / "cockpit.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
        [migrations.MIGRATION_SET, "m999_from_the_future", "2030-01-01"],
    )
    conn.commit()
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for command in (
        ["projects"],
        ["problem", "show"],
        ["project", "new", "x", "--task", "binary", "--target", "y"],
    ):
        result = run_cli(*command, workspace=folder)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "newer cockpit" in lines[0] and "m999" in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not list(db.parent.glob("cockpit.db-*"))  # no journal or WAL left behind


def test_without_wal_the_whole_lifecycle_works(run_cli, tmp_path: Path, monkeypatch) -> None:
    """COCKPIT_JOURNAL=delete is what a network file system gets: no -wal file, ever."""
    import numpy as np
    import pandas as pd

    monkeypatch.setenv("COCKPIT_JOURNAL", "delete")
    folder = tmp_path / "nfs"
    assert run_cli("init", str(folder)).exit_code == 0
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    rng = np.random.default_rng(0)
    x = rng.normal(size=150)
    path = tmp_path / "d.csv"
    pd.DataFrame(
        {
            "id": range(150),
            "x": x.round(3),
            "c": rng.choice(["a", "b"], 150),
            "y": (x + rng.normal(scale=0.7, size=150) > 0).astype(int),
        }
    ).to_csv(path, index=False)
    assert run_cli("data", "import", str(path), workspace=folder).exit_code == 0
    assert run_cli("data", "validate", workspace=folder).exit_code == 0
    assert run_cli("data", "split", "--seed", "3", workspace=folder).exit_code == 0
    trained = run_cli("train", "--model", "logistic_regression", "--json", workspace=folder)
    assert trained.exit_code == 0, trained.stderr
    assert json.loads(trained.stdout)["status"] == "finished"
    listed = json.loads(run_cli("runs", "--json", workspace=folder).stdout)
    assert [r["status"] for r in listed] == ["finished"]
    dot = folder / ".cockpit"
    with Workspace.open(folder) as ws:
        assert ws.store.journal_mode == "delete"
        assert ws.store.scalar("PRAGMA journal_mode") == "delete"
        assert ws.store.integrity_check() == "ok"
    assert not list(dot.glob("*-wal")) and not list(dot.glob("*-shm"))
