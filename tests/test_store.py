import hashlib
import sqlite3
from pathlib import Path

import pytest

from storage import NewerSchemaError, Store, StoreError, migrations
from storage.store import filesystem_type, wanted_journal_mode


def test_fresh_store_applies_every_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db", create=True)
    assert store.applied_migrations() == migrations.KNOWN_NAMES
    assert store.table_exists("projects") and store.table_exists("artifacts")
    assert store.journal_mode == "wal"
    assert store.scalar("PRAGMA foreign_keys") == 1


def test_store_from_previous_schema_is_migrated_and_keeps_rows(tmp_path: Path) -> None:
    import sqlite_utils

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.build().apply(db, stop_before=migrations.KNOWN_NAMES[-1])
    db["projects"].insert({"name": "old", "task": "binary", "target": "y", "created_at": "2026-01-01"})
    db.close()

    store = Store(path)
    assert store.applied_migrations() == migrations.KNOWN_NAMES
    assert store.scalar("SELECT name FROM projects") == "old"
    assert store.table_exists("artifacts")


def test_store_from_newer_cockpit_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
        [migrations.MIGRATION_SET, "m999_from_the_future", "2030-01-01"],
    )
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(NewerSchemaError, match="m999_from_the_future"):
        Store(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_missing_and_garbage_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        Store(tmp_path / "absent.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable cockpit store"):
        Store(junk)


def _project(name: str) -> dict:
    return {"name": name, "task": "binary", "target": "y", "created_at": "2026-01-01"}


def test_transaction_rolls_back_everything_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db", create=True)
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("projects", _project("a"))
        store.insert("projects", _project("b"))
        raise RuntimeError("boom")
    assert store.scalar("SELECT count(*) FROM projects") == 0
    assert not store.conn.in_transaction


def test_nested_transaction_rolls_back_only_inner_part(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.db", create=True)
    with store.transaction():
        store.insert("projects", _project("outer"))
        with pytest.raises(ValueError), store.transaction():
            store.insert("projects", _project("inner"))
            raise ValueError
    assert [r["name"] for r in store.rows("SELECT name FROM projects")] == ["outer"]


def test_second_connection_sees_only_committed_work(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer, reader = Store(path, create=True), Store(path)
    with writer.transaction():
        writer.insert("projects", _project("pending"))
        assert reader.scalar("SELECT count(*) FROM projects") == 0
    assert reader.scalar("SELECT count(*) FROM projects") == 1


def test_journal_mode_falls_back_on_network_file_systems(tmp_path: Path, monkeypatch) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"rootfs / ext4 rw 0 0\nserver:/home {tmp_path} nfs4 rw 0 0\n")
    assert filesystem_type(tmp_path / "sub" / "c.db", mounts) == "nfs4"
    assert filesystem_type(Path("/usr"), mounts) == "ext4"
    monkeypatch.setattr("storage.store.filesystem_type", lambda path: "nfs4")
    assert wanted_journal_mode(tmp_path / "c.db") == "delete"
    store = Store(tmp_path / "c.db", create=True)
    assert store.journal_mode == "delete"
    store.insert("projects", _project("works"))
    assert store.scalar("SELECT count(*) FROM projects") == 1


def test_journal_mode_can_be_forced(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_JOURNAL", "delete")
    assert Store(tmp_path / "c.db", create=True).journal_mode == "delete"
