"""Files written chunk by chunk, outside the store's transaction: a Parquet file whose
columns may widen as chunks arrive (a later chunk's answers may be text where the first
chunk's were integers: the fallback rule answered), a CSV file with its header once, and
the scratch files in the artifacts folder a transaction then records by a rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from cockpit.workspace import Workspace


@contextlib.contextmanager
def disk_full_told(folder: Path, what: str) -> Iterator[None]:
    """A full disk while chunks are written is told as one (storage.disk), not a traceback."""
    from storage.disk import disk_full, is_disk_full

    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise disk_full(folder, None, what) from None
        raise


def scratch_file(ws: Workspace, suffix: str) -> Path:
    """A new file in the artifacts folder (so recording it is a rename), named as the store
    names its temporary files: one a killed process leaves is removed later."""
    from storage.artifacts import TEMP_PREFIX

    ws.artifacts._ensure_root()
    handle, name = tempfile.mkstemp(
        dir=ws.artifacts.root, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix
    )
    os.close(handle)
    return Path(name)


def sealed(path: Path) -> str:
    """A prepared file synced to disk, and its sha256: done before the transaction, so
    recording it under the write lock is a rename."""
    from storage.artifacts import sha256_of

    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    return sha256_of(path)


class ParquetChunks:
    """Chunks appended to one Parquet file (one row group each). The file's schema is the
    first chunk's; a later chunk is cast to it, a column missing from it is null, and a
    column whose values no longer fit (or a new column) widens the file: the row groups
    written so far are copied, one at a time, into a file of the widened schema."""

    def __init__(self, path: Path, handle: IO[bytes] | None = None) -> None:
        self.path = Path(path)
        self.handle = handle
        self.writer: Any = None
        self.schema: pa.Schema | None = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.handle or self.path, self.schema)
        fitted = _fit(table, self.schema)
        if fitted is None:
            self._widen(table.schema)
            fitted = _fit(table, self.schema)
        assert fitted is not None  # the widened schema takes every column as text
        self.writer.write_table(fitted)
        self.rows += len(frame)

    def _widen(self, other: pa.Schema) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert self.schema is not None
        fields = []
        for found in self.schema:
            theirs = other.field(found.name) if found.name in other.names else None
            fields.append(
                found if theirs is None or theirs.type == found.type else pa.field(found.name, pa.string())
            )
        fields += [f for f in other if f.name not in self.schema.names]
        widened = pa.schema(fields)  # no pandas metadata: it names the old types
        self.writer.close()
        if self.handle is not None:
            self.handle.flush()
        old = self.path.with_name(self.path.name + ".widening")
        os.replace(self.path, old)
        try:
            if self.handle is not None:
                self.handle.close()
                self.handle = open(self.path, "wb")  # noqa: SIM115 (kept open for the next chunks)
                os.chmod(self.path, os.stat(old).st_mode & 0o7777)
            self.writer = pq.ParquetWriter(self.handle or self.path, widened)
            written = pq.ParquetFile(old)
            for group in range(written.num_row_groups):
                copied = _fit(written.read_row_group(group), widened)
                assert copied is not None
                self.writer.write_table(copied)
        finally:
            old.unlink(missing_ok=True)
        self.schema = widened

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.handle is not None:
            self.handle.close()


def _fit(table: pa.Table, schema: pa.Schema) -> pa.Table | None:
    """`table` with exactly `schema`'s columns and types, or None when a value cannot be
    cast or a column is not in the schema."""
    import pyarrow as pa

    if any(name not in schema.names for name in table.column_names):
        return None
    columns = []
    for found in schema:
        if found.name not in table.column_names:
            columns.append(pa.nulls(len(table), type=found.type))
            continue
        column = table.column(found.name)
        if column.type != found.type:
            if pa.types.is_string(found.type) or pa.types.is_large_string(found.type):
                column = _as_text(column)
            try:
                column = column.cast(found.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _as_text(column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type):
        return column.cast(pa.string())
    return pc.cast(column, pa.string(), safe=False)


class CsvChunks:
    """Chunks appended to one CSV text file, the header written with the first."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self.handle, index=False, header=self.rows == 0)
        self.rows += len(frame)

    def close(self) -> None:
        self.handle.close()
