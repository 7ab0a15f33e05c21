"""Reading CSV and Parquet files, with one clear message for each way a file can be bad."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.errors import CockpitError

if TYPE_CHECKING:
    import pandas as pd

DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
YEAR_LIKE = re.compile(r"^(1[89]|2[01])\d\d$")
HEADER_SAMPLE = 50  # rows compared with the first line to tell names from data
OTHER_DELIMITERS = {";": "';'", "\t": "a tab", "|": "'|'"}
SNIFF_BYTES = 1 << 16
WIDE_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


def read_table(path: Path, delimiter: str = ",", encoding: str = "utf-8") -> pd.DataFrame:
    """A DataFrame from a .csv (or .txt/.tsv) or .parquet file; CockpitError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CockpitError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CockpitError(f"{path}: the file is empty (0 bytes)")
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = _read_parquet(path)
    else:
        frame = _read_csv(path, delimiter, encoding)
    if len(frame.columns) == 0:
        raise CockpitError(f"{path}: no columns found")
    if len(frame) == 0:
        raise CockpitError(f"{path}: a header but no rows of data")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"PAR1":
        raise CockpitError(f"{path}: not a Parquet file (it does not start with PAR1)")
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for broken files
        raise CockpitError(f"{path}: a broken Parquet file ({type(exc).__name__}: {exc})") from None


def _read_csv(path: Path, delimiter: str, encoding: str) -> pd.DataFrame:
    import pandas as pd

    raw = path.read_bytes()
    check_csv_start(path, raw[:SNIFF_BYTES], delimiter, encoding)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise not_text(path, encoding, exc.start, raw[exc.start]) from None
    except LookupError:  # a codec that is not a text encoding (rot13, hex, ...)
        raise unknown_encoding(path, encoding) from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise CockpitError(f"{path}: binary data (a NUL character), not a text CSV file")
    header = _check_rows(path, text, delimiter)
    # low_memory=False: the type of a column is inferred from all of it, not chunk by chunk
    # (which gives a column of mixed ints and strings that Parquet cannot store).
    # The C parser takes only a one-byte separator.
    engine = "c" if len(delimiter.encode("utf-8")) == 1 else "python"
    options = {"low_memory": False} if engine == "c" else {}
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, skipinitialspace=False, engine=engine, **options
        )
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise CockpitError(f"{path}: cannot be parsed as CSV ({exc})") from None
    if len(frame.columns) != len(header):
        raise CockpitError(
            f"{path}: the header has {len(header)} columns but the rows were read "
            f"as {len(frame.columns)}; check the quoting"
        )
    frame.columns = header
    return frame


def not_text(path: Path, encoding: str, offset: int, byte: int) -> CockpitError:
    """The refusal of a file that is not text in `encoding` (read whole or line by line)."""
    return CockpitError(
        f"{path}: not {encoding} text (byte 0x{byte:02x} at offset {offset}); "
        "re-save it as UTF-8 or pass --encoding latin-1"
    )


def unknown_encoding(path: Path, encoding: str) -> CockpitError:
    return CockpitError(f"{path}: unknown text encoding {encoding!r}")


def check_csv_start(path: Path, head: bytes, delimiter: str, encoding: str) -> None:
    """The delimiter and encoding are usable, and the file's first bytes (`head`) are not
    wide or binary text read with a narrow encoding."""
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise CockpitError(
            f"{path}: the delimiter must be one character other than a quote or "
            f"a line break, got {delimiter!r}"
        )
    try:
        wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise unknown_encoding(path, encoding) from None
    if not wide:
        # UTF-32 first: its little-endian BOM starts with UTF-16's.
        found = next((name for bom, name in WIDE_BOMS.items() if head.startswith(bom)), None)
        if found:
            raise CockpitError(
                f"{path}: {found} text; re-save it as UTF-8 or pass --encoding {found.lower()}"
            )
        if b"\x00" in head:
            raise CockpitError(f"{path}: binary data, not a text CSV file")


def _check_rows(path: Path, text: str, delimiter: str) -> list[str]:
    """The header, after checking the file is delimited as said and every row fits it."""
    # newline="": the csv module sees \r, \n and \r\n line ends alike (and quoted ones).
    return scan_rows(path, io.StringIO(text, newline=""), delimiter)[0]


def scan_rows(path: Path, lines: Iterable[str], delimiter: str) -> tuple[list[str], int]:
    """(header, rows of data) of CSV text read line by line (a file opened with newline=""
    streams it in bounded memory), after the checks `read_table` makes on every row."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CockpitError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise CockpitError(f"{path}: line 1 is not valid CSV ({exc})") from None
    header = [name.strip() for name in header]
    if len(header) == 1:
        for other, label in OTHER_DELIMITERS.items():
            if other != delimiter and other in header[0]:
                raise CockpitError(
                    f"{path}: the columns look separated by {label}, not "
                    f"{delimiter!r}; pass --delimiter {other!r}"
                )
    if any(not name for name in header):
        position = header.index("") + 1
        raise CockpitError(f"{path}: column {position} of the header has no name")
    sample: list[list[str]] = []
    rows = 0
    try:
        for row in reader:
            rows += bool(row)
            if row and len(row) != len(header):  # line_num: where the row ends in the file
                raise CockpitError(
                    f"{path}: line {reader.line_num} has {len(row)} fields but the "
                    f"header has {len(header)}; fix that row (a stray delimiter "
                    "or a missing quote?)"
                )
            if row and len(sample) < HEADER_SAMPLE:
                sample.append(row)
    except csv.Error as exc:
        raise CockpitError(
            f"{path}: line {reader.line_num} is not valid CSV ({exc}); an unterminated quote?"
        ) from None
    if _looks_like_data(header, sample):
        raise CockpitError(
            f"{path}: the first line ({', '.join(header[:4])}...) looks like data, "
            "not column names; add a header line"
        )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CockpitError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    return header, rows


def _looks_like_data(header: list[str], sample: list[list[str]]) -> bool:
    """Whether the first line is a row of data: most of its cells are values (numbers, years,
    dates) of the kind at least half the rows below hold in that column. So years over a
    column of other numbers ("2019", "2020" over amounts) are names, as text always is; with
    no rows below, any value counts."""
    like_data = 0
    for i, name in enumerate(header):
        kind = _kind(name)
        cells = [row[i].strip() for row in sample if row[i].strip()]
        same = sum(_kind(cell) == kind for cell in cells)
        like_data += kind != "text" and (not cells or same * 2 >= len(cells))
    return like_data * 2 > len(header)


def _looks_like_value(cell: str) -> bool:
    return _kind(cell) != "text"


def _kind(cell: str) -> str:
    """year (a four-digit integer 1800-2199), number, date or text."""
    if YEAR_LIKE.match(cell):
        return "year"
    try:
        float(cell)
        return "number"
    except ValueError:
        return "date" if DATE_LIKE.match(cell) else "text"
