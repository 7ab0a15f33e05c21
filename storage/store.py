"""The SQLite store behind a workspace.

Reads use a plain `sqlite3` connection so the first screen paints without
importing sqlite-utils (which pulls in pandas). sqlite-utils is loaded lazily,
for migrations and for stage code that wants its table helpers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from storage import faults, migrations
from storage.disk import NEARLY_FULL_BYTES, disk_full, free_bytes, is_disk_full, where_full
from storage.errors import NewerSchemaError, StoreError

if TYPE_CHECKING:
    from sqlite_utils import Database

JOURNAL_ENV = "COCKPIT_JOURNAL"
NETWORK_FILESYSTEMS = {
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "fuse.sshfs",
    "9p",
    "afs",
    "ceph",
    "glusterfs",
    "fuse.glusterfs",
    "lustre",
    "gpfs",
    "beegfs",
    "fuse.gcsfuse",
}
BUSY_TIMEOUT_S = 30.0
WAL_CHECKPOINT_PAGES = 10_000  # ~40 MB of WAL between checkpoints
FILE_MODE = 0o600  # the store's file; SQLite gives its -wal, -shm and -journal files the same


def filesystem_type(path: Path, mounts_file: Path = Path("/proc/mounts")) -> str | None:
    """The type of the file system holding `path`, from the longest matching mount."""
    try:
        lines = mounts_file.read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    best, best_type = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, best_type = mount, parts[2]
    return best_type


def journal_choice(path: Path) -> tuple[str, str]:
    """The journal mode wanted for the store at `path`, and why."""
    forced = os.environ.get(JOURNAL_ENV, "").lower()
    if forced in {"wal", "delete"}:
        return forced, f"forced by {JOURNAL_ENV}={forced}"
    fs_type = filesystem_type(path.parent)
    if fs_type in NETWORK_FILESYSTEMS:
        return "delete", (f"{fs_type} is a network file system, where WAL's shared memory is unsafe")
    return "wal", f"local file system ({fs_type or 'type unknown'})"


def wanted_journal_mode(path: Path) -> str:
    return journal_choice(path)[0]


def create_private_file(path: Path, mode: int = FILE_MODE) -> bool:
    """Create an empty `path` with exactly `mode` (whatever the umask). False if it existed."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return True


class Redactor:
    """Replaces path prefixes (a home folder, the workspace's folder) in text bound for the
    store, so exception messages and details never record where a user's files live."""

    def __init__(self, replacements: Sequence[tuple[str, str]] = ()) -> None:
        pairs = []
        for prefix, placeholder in replacements:
            prefix = prefix.rstrip("/")
            if len(prefix) < 2:  # never "/" or ""
                continue
            for variant in {prefix, json.dumps(prefix)[1:-1]}:
                pairs.append((variant, placeholder))
        pairs.sort(key=lambda pair: -len(pair[0]))  # the longest (most specific) first
        self.pattern = (
            re.compile("|".join(f"({re.escape(p)})(?![\\w.-])" for p, _ in pairs)) if pairs else None
        )
        self.placeholders = [placeholder for _, placeholder in pairs]
        self.prefixes = tuple(prefix for prefix, _ in pairs)

    def touches(self, text: str) -> bool:
        """Whether `text` holds a prefix to replace (a cheap test before redacting many values)."""
        return any(prefix in text for prefix in self.prefixes)

    def __call__(self, text: str) -> str:
        # A substring test first: most text holds no path, and `in` is far cheaper than the regex.
        if self.pattern is None:
            return text
        for prefix in self.prefixes:
            if prefix in text:
                return self.pattern.sub(self._placeholder, text)
        return text

    def _placeholder(self, match: re.Match[str]) -> str:
        assert match.lastindex is not None  # every alternative of the pattern is one group
        return self.placeholders[match.lastindex - 1]


class Store:
    """One connection to a workspace's `cockpit.db`, migrated on open."""

    def __init__(self, path: Path, *, create: bool = False, file_mode: int = FILE_MODE) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no store at {self.path}")
        if create:
            # SQLite would create the file with 0644 less the umask; made here first, its
            # mode is also the one SQLite gives the -wal, -shm and -journal files.
            create_private_file(self.path, file_mode)
        self.redact = Redactor()
        self._on_rollback: list[Callable[[], None]] = []
        self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        self.conn.row_factory = sqlite3.Row
        self._db: Database | None = None
        self._writer: sqlite3.Cursor | None = None  # insert_rows' own cursor (no new one per row)
        try:
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._refuse_newer()  # before anything writes to the file, journal mode included
            wanted, self.journal_reason = journal_choice(self.path)
            self.journal_mode = self._set_journal_mode(wanted)
            if self.journal_mode != wanted:
                self.journal_reason = f"SQLite could not use {wanted} here"
            self.conn.execute("PRAGMA synchronous = NORMAL")
            # A WAL checkpoint fsyncs; at SQLite's default (every 1,000 pages, ~50 recorded
            # runs) checkpoints were half the cost of recording a run (issue 16).
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            self._migrate()
            faults.limit_store(self.conn)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            if self._full_disk(exc):
                raise disk_full(self.path.parent, doing=f"opening {self.path.name} ({exc})") from exc
            raise StoreError(f"{self.path} is not a usable cockpit store: {exc}") from exc
        except BaseException:
            self.conn.close()
            raise

    def _full_disk(self, exc: sqlite3.Error) -> bool:
        """SQLite says "disk I/O error" when it cannot create its -wal or -shm file: on a disk
        with (nearly) no space left that is a full disk, not a damaged store."""
        if is_disk_full(exc):
            return True
        free = free_bytes(self.path.parent)
        return "disk I/O error" in str(exc) and free is not None and free < NEARLY_FULL_BYTES

    def _set_journal_mode(self, wanted: str) -> str:
        mode = self.conn.execute(f"PRAGMA journal_mode = {wanted}").fetchone()[0].lower()
        if wanted == "wal" and mode != "wal":
            mode = self.conn.execute("PRAGMA journal_mode = delete").fetchone()[0].lower()
        return mode

    # -- schema -------------------------------------------------------------

    def applied_migrations(self) -> list[str]:
        if not self.table_exists("_sqlite_migrations"):
            return []
        rows = self.conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
            [migrations.MIGRATION_SET],
        )
        return [row[0] for row in rows]

    def _refuse_newer(self) -> None:
        unknown = [name for name in self.applied_migrations() if name not in migrations.KNOWN_NAMES]
        if unknown:
            raise NewerSchemaError(
                f"{self.path} was written by a newer cockpit (unknown schema steps: "
                f"{', '.join(unknown)}); upgrade cockpit to open it. Nothing was changed."
            )

    def _migrate(self) -> None:
        applied = self.applied_migrations()
        if len(applied) == len(migrations.KNOWN_NAMES):
            return
        with self.transaction():
            # Re-read inside the write lock: another process may have migrated.
            migrations.build().apply(self.db)

    # -- transactions -------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One lifecycle action: all of it is written, or none of it.

        The outermost level takes the write lock at once (BEGIN IMMEDIATE), so
        two writers queue on the busy timeout instead of failing on upgrade.
        Nested levels are savepoints.
        """
        if self.conn.in_transaction:
            name = f"sp_{id(object()):x}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._rolled_back()
                raise
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self._rolled_back()
                raise
        except sqlite3.Error as exc:
            if self._full_disk(exc):
                raise disk_full(self.path.parent, what=f"{self.path.name} ({exc})") from None
            raise
        except OSError as exc:  # e.g. a Parquet file written in $TMPDIR during the action
            if is_disk_full(exc):
                raise disk_full(where_full(exc, self.path.parent)) from None
            raise
        finally:
            self._on_rollback.clear()

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Run `undo` if the current transaction is rolled back (e.g. remove a file it wrote)."""
        if self.conn.in_transaction:
            self._on_rollback.append(undo)

    def _rolled_back(self) -> None:
        if self.conn.in_transaction:
            self.conn.rollback()
        for undo in reversed(self._on_rollback):
            with contextlib.suppress(OSError):
                undo()

    # -- reads and writes ---------------------------------------------------

    @property
    def db(self) -> Database:
        """A sqlite-utils Database over the same connection (imported on first use)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def table_exists(self, name: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]
        ).fetchone()
        return row is not None

    def rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict]:
        return [dict(row) for row in self.conn.execute(sql, params)]

    def one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def insert(self, table: str, record: Mapping[str, Any]) -> int:
        """Insert one row; dicts and lists are stored as JSON text. Returns the rowid."""
        columns = tuple(record)
        cursor = self._write(_insert_sql(table, columns), [self._encode(record[c]) for c in columns])
        assert cursor.lastrowid is not None  # an INSERT always sets it
        return cursor.lastrowid

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert rows given as values in `columns`' order (encoded as `insert` encodes them),
        one prepared statement for all; their rowids in order. For a hot path (a sweep's
        trials): no dict per row, no column list to read back."""
        if not self.conn.in_transaction:
            with self.transaction():
                return self.insert_rows(table, columns, rows)
        if self._writer is None:
            self._writer = self.conn.cursor()
        sql, encode, execute = _insert_sql(table, columns), self._encode_row, self._writer.execute
        return cast(list[int], [execute(sql, encode(row)).lastrowid for row in rows])  # INSERT sets it

    def _encode_row(self, row: Sequence[Any]) -> list[Any]:
        """A row's values as `_encode` gives them one by one, the redactor asked once for all
        of its text: a run's row holds ~18 strings and JSON values and, nearly always, no path."""
        # None, numbers and text (most of a run's columns) without a call
        values = [v if type(v) in _AS_IS else _encode(v) for v in row]
        if self.redact.pattern is None:
            return values
        texts = [v for v in values if isinstance(v, str)]
        if texts and self.redact.touches("\n".join(texts)):
            return [self.redact(v) if isinstance(v, str) else v for v in values]
        return values

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> int:
        sets = ", ".join(f"{_quote(c)} = ?" for c in values)
        where = " AND ".join(f"{_quote(c)} = ?" for c in key)
        params = [self._encode(v) for v in values.values()] + list(key.values())
        cursor = self._write(f"UPDATE {_quote(table)} SET {sets} WHERE {where}", params)
        return cursor.rowcount

    def _write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """One statement, atomic on its own: inside a transaction no savepoint is needed
        (SQLite undoes a failed statement and leaves the transaction as it was)."""
        if self.conn.in_transaction:
            return self.conn.execute(sql, params)
        with self.transaction():
            return self.conn.execute(sql, params)

    def data_version(self) -> int:
        """Changes whenever another connection commits to the store (this one's own commits
        do not move it): a cheap "did anything change?" for pollers."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def _encode(self, value: Any) -> Any:
        if type(value) in _PLAIN:  # most columns of a run: one test, not two
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, (dict, list, tuple)):
            return self.redact(_encode(value))
        return value

    def integrity_check(self) -> str:
        return self.scalar("PRAGMA integrity_check")

    def close(self) -> None:
        self.conn.close()


# stored as they are (exact types: a str subclass is text)
_PLAIN = frozenset({type(None), int, float, bool, bytes})
_AS_IS = _PLAIN | {str}  # before redaction


@functools.lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return (
        f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# json.dumps(value, sort_keys=True, default=str) without making an encoder at every call
to_json = json.JSONEncoder(sort_keys=True, default=str).encode


def _encode(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return to_json(value)
    return value
