"""Reading CSV and Parquet files, with one clear message for each way a file can be bad."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.errors import CockpitError

if TYPE_CHECKING:
    import pandas as pd

DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
OTHER_DELIMITERS = {";": "';'", "\t": "a tab", "|": "'|'"}
SNIFF_BYTES = 1 << 16
WIDE_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32",
             codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16"}


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

    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise CockpitError(f"{path}: the delimiter must be one character other than a quote or "
                           f"a line break, got {delimiter!r}")
    try:
        wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        raise CockpitError(f"{path}: unknown text encoding {encoding!r}") from None
    raw = path.read_bytes()
    if not wide:
        # UTF-32 first: its little-endian BOM starts with UTF-16's.
        found = next((name for bom, name in WIDE_BOMS.items() if raw.startswith(bom)), None)
        if found:
            raise CockpitError(f"{path}: {found} text; re-save it as UTF-8 or pass "
                               f"--encoding {found.lower()}")
        if b"\x00" in raw[:SNIFF_BYTES]:
            raise CockpitError(f"{path}: binary data, not a text CSV file")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CockpitError(
            f"{path}: not {encoding} text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "re-save it as UTF-8 or pass --encoding latin-1"
        ) from None
    except LookupError:  # a codec that is not a text encoding (rot13, hex, ...)
        raise CockpitError(f"{path}: unknown text encoding {encoding!r}") from None
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
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=False,
                            engine=engine, **options)
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise CockpitError(f"{path}: cannot be parsed as CSV ({exc})") from None
    if len(frame.columns) != len(header):
        raise CockpitError(f"{path}: the header has {len(header)} columns but the rows were read "
                           f"as {len(frame.columns)}; check the quoting")
    frame.columns = header
    return frame


def _check_rows(path: Path, text: str, delimiter: str) -> list[str]:
    """The header, after checking the file is delimited as said and every row fits it."""
    # newline="": the csv module sees \r, \n and \r\n line ends alike (and quoted ones).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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
                raise CockpitError(f"{path}: the columns look separated by {label}, not "
                                   f"{delimiter!r}; pass --delimiter {other!r}")
    _check_header(path, header)
    try:
        for row in reader:
            if row and len(row) != len(header):  # line_num: where the row ends in the file
                raise CockpitError(f"{path}: line {reader.line_num} has {len(row)} fields but the "
                                   f"header has {len(header)}; fix that row (a stray delimiter "
                                   "or a missing quote?)")
    except csv.Error as exc:
        raise CockpitError(f"{path}: line {reader.line_num} is not valid CSV ({exc}); "
                           "an unterminated quote?") from None
    return header


def _check_header(path: Path, header: list[str]) -> None:
    if any(not name for name in header):
        position = header.index("") + 1
        raise CockpitError(f"{path}: column {position} of the header has no name")
    if sum(_looks_like_value(name) for name in header) * 2 > len(header):
        raise CockpitError(f"{path}: the first line ({', '.join(header[:4])}...) looks like data, "
                           "not column names; add a header line")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CockpitError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)


def _looks_like_value(name: str) -> bool:
    try:
        float(name)
        return True
    except ValueError:
        return bool(DATE_LIKE.match(name))
