"""A CSV or Parquet file read in chunks of rows, in bounded memory, with the checks and the
column types `read_table` gives the whole file: a chunk is a slice of what `read_table`
returns (same columns, same dtypes), so work done chunk by chunk adds up to the same result.

Parquet is read batch by batch (pyarrow); an integer or boolean column with a gap anywhere
in the file is widened in every chunk as pandas widens it for the whole file. A CSV file is
read three times, each in bounded memory: every line is checked as `read_table` checks it
(field counts, header, encoding), then each column's type is found over all chunks (pandas
infers a type per chunk: a blank in the third chunk makes an integer column float there
only), then the chunks are read with those types.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.data import reading
from cockpit.errors import CockpitError

if TYPE_CHECKING:
    import pandas as pd

CHUNK_ROWS = 50_000  # 2M rows x 31 columns scored under 700 MB (docs/benchmarks.md)
CHUNK_ENV = "COCKPIT_CHUNK_ROWS"  # rows per chunk (tests and benchmarks set it)


def chunk_rows() -> int:
    """Rows per chunk: COCKPIT_CHUNK_ROWS, else CHUNK_ROWS."""
    text = os.environ.get(CHUNK_ENV, "").strip()
    if not text:
        return CHUNK_ROWS
    try:
        rows = int(text)
    except ValueError:
        rows = 0
    if rows < 1:
        raise CockpitError(f"{CHUNK_ENV}={text!r}: rows per chunk must be a positive integer")
    return rows


@dataclass
class TableChunks:
    """An opened, checked table: its columns, row count, and its rows chunk by chunk."""

    path: Path
    columns: list[str]
    rows: int
    size: int  # rows per chunk
    delimiter: str = ","
    encoding: str = "utf-8"
    dtypes: dict[str, Any] = field(default_factory=dict)  # CSV: each column's whole-file type
    widen: dict[str, str] = field(default_factory=dict)  # Parquet: columns cast in every chunk

    @property
    def parquet(self) -> bool:
        return is_parquet(self.path)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        return self._parquet_chunks() if self.parquet else self._csv_chunks()

    def _parquet_chunks(self) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            source = pq.ParquetFile(self.path, pre_buffer=False)  # pre-buffered ranges stay held
            for part in source.iter_batches(batch_size=self.size):
                frame = pa.Table.from_batches([part], schema=source.schema_arrow).to_pandas()
                yield frame.reset_index(drop=True).astype(self.widen)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise CockpitError(f"{self.path}: a broken Parquet file ({type(exc).__name__}: {exc})") from None

    def _csv_chunks(self) -> Iterator[pd.DataFrame]:
        typed = {c: t for c, t in self.dtypes.items() if t != "object"}
        booleans = [c for c, t in self.dtypes.items() if t == "object"]
        for chunk in _pandas_chunks(self, typed):
            yield chunk.astype(dict.fromkeys(booleans, "object")) if booleans else chunk


def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() in (".parquet", ".pq")


def open_table(
    path: Path, delimiter: str = ",", encoding: str = "utf-8", size: int | None = None
) -> TableChunks:
    """The file checked and ready to read in chunks of `size` rows (default: chunk_rows());
    CockpitError, before any chunk is handed out, where `read_table` would refuse it."""
    path = Path(path)
    size = size or chunk_rows()
    if not path.is_file():
        raise CockpitError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CockpitError(f"{path}: the file is empty (0 bytes)")
    table = _open_parquet(path, size) if is_parquet(path) else _open_csv(path, delimiter, encoding, size)
    if not table.columns:
        raise CockpitError(f"{path}: no columns found")
    if table.rows == 0:
        raise CockpitError(f"{path}: a header but no rows of data")
    return table


def _open_parquet(path: Path, size: int) -> TableChunks:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(path, "rb") as handle:
        if handle.read(4) != b"PAR1":
            raise CockpitError(f"{path}: not a Parquet file (it does not start with PAR1)")
    try:
        source = pq.ParquetFile(path)
        first = pa.Table.from_batches([], schema=source.schema_arrow).to_pandas()
        widen = {}
        for column in first.columns:
            dtype = first[column].dtype  # numpy's: extension types (Int64) hold gaps as they are
            kind = dtype.kind if isinstance(dtype, np.dtype) else ""
            if kind in "iub" and kind and _has_gaps(source, str(column)):
                widen[str(column)] = "float64" if kind in "iu" else "object"
        return TableChunks(path, [str(c) for c in first.columns], source.metadata.num_rows, size, widen=widen)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise CockpitError(f"{path}: a broken Parquet file ({type(exc).__name__}: {exc})") from None


def _has_gaps(source: Any, column: str) -> bool:
    """Whether a column holds a null anywhere (the row groups' statistics, else the column
    itself, read alone)."""
    meta = source.metadata
    index = source.schema_arrow.get_field_index(column)
    counts = []
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(index).statistics
        if stats is None or not stats.has_null_count:
            return source.read(columns=[column]).column(0).null_count > 0
        counts.append(stats.null_count)
    return sum(counts) > 0


def _open_csv(path: Path, delimiter: str, encoding: str, size: int) -> TableChunks:
    with open(path, "rb") as handle:
        head = handle.read(reading.SNIFF_BYTES)
    reading.check_csv_start(path, head, delimiter, encoding)
    header, rows = _scan(path, delimiter, encoding)
    table = TableChunks(path, header, rows, size, delimiter, encoding)
    table.dtypes = _whole_file_types(table)
    return table


def _scan(path: Path, delimiter: str, encoding: str) -> tuple[list[str], int]:
    """Every line checked as `read_table` checks it, one line in memory at a time."""
    try:
        with open(path, encoding=encoding, newline="") as handle:
            return reading.scan_rows(path, _text_lines(path, handle), delimiter)
    except UnicodeDecodeError:
        raise reading.not_text(path, encoding, *_bad_byte(path, encoding)) from None
    except LookupError:  # a codec that is not a text encoding (rot13, hex, ...)
        raise reading.unknown_encoding(path, encoding) from None


def _text_lines(path: Path, handle: Any) -> Iterator[str]:
    first = True
    for line in handle:
        if first:
            line, first = line.removeprefix("\ufeff"), False
        if "\x00" in line:
            raise CockpitError(f"{path}: binary data (a NUL character), not a text CSV file")
        yield line


def _bad_byte(path: Path, encoding: str) -> tuple[int, int]:
    """Where a file stops being `encoding` text (read again block by block, on that error
    only)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0  # of the block in the file
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            pending = len(decoder.getstate()[0])  # bytes of a character the last block cut
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start, exc.object[exc.start]
            offset += len(block)
    return offset, 0


def _pandas_chunks(table: TableChunks, dtypes: dict[str, Any]) -> Iterator[pd.DataFrame]:
    import csv

    import pandas as pd

    engine = "c" if len(table.delimiter.encode("utf-8")) == 1 else "python"
    options: dict[str, Any] = {"low_memory": False} if engine == "c" else {}
    try:
        with pd.read_csv(
            table.path,
            sep=table.delimiter,
            encoding=table.encoding,
            skipinitialspace=False,
            engine=engine,
            chunksize=table.size,
            header=0,
            names=table.columns,
            dtype=dtypes or None,
            **options,
        ) as reader:
            for chunk in reader:
                yield chunk.reset_index(drop=True)
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise CockpitError(f"{table.path}: cannot be parsed as CSV ({exc})") from None


def _whole_file_types(table: TableChunks) -> dict[str, Any]:
    """The dtype pandas gives each column when it reads the whole file, from the dtypes it
    gives each chunk: integers with a gap anywhere are floats, text anywhere makes a
    column text (read as text in every chunk, so "1.50" stays "1.50"), booleans with a gap
    are objects."""
    import pandas as pd

    seen: dict[str, set[str]] = {c: set() for c in table.columns}
    gaps: set[str] = set()
    for chunk in _pandas_chunks(table, {}):
        for column in table.columns:
            values = chunk[column]
            if values.isna().any():
                gaps.add(column)
            if values.isna().all():
                continue
            kind = values.dtype.kind
            if kind in "iu":
                seen[column].add("int")
            elif kind == "f":
                seen[column].add("float")
            elif kind == "b" or pd.api.types.infer_dtype(values, skipna=True) == "boolean":
                seen[column].add("bool")
            else:
                seen[column].add("text")
    types: dict[str, Any] = {}
    for column, kinds in seen.items():
        if not kinds or kinds <= {"int", "float"} and ("float" in kinds or column in gaps):
            types[column] = "float64"
        elif kinds == {"bool"} and column in gaps:
            types[column] = "object"
        elif len(kinds) > 1 or kinds == {"text"}:
            types[column] = "str"
    return types
