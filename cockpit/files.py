"""One reader for every TOML or JSON file the CLI takes (problem spec, feature spec, grid,
cleaning recipe): the same clear, one-line errors naming the file for each way it can fail."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

SUFFIXES = (".toml", ".json")
MAX_BYTES = 10_000_000


def read_structured(path: Path, what: str = "file") -> Any:
    """The parsed content of a .toml or .json file; CockpitError (naming `path`) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CockpitError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CockpitError(f"{path}: a {what} ends in .toml or .json")
    if path.stat().st_size > MAX_BYTES:
        raise CockpitError(f"{path}: larger than {MAX_BYTES // 1_000_000} MB; is it the right file?")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CockpitError(
            f"{path}: not UTF-8 text (byte {exc.start + 1} is 0x{raw[exc.start]:02x}); save it as UTF-8"
        ) from None
    try:
        return json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except RecursionError:
        raise CockpitError(f"{path}: nested too deeply to be a {what}") from None
    except ValueError as exc:
        # JSONDecodeError and TOMLDecodeError are ValueErrors, as is an integer too long to convert
        raise CockpitError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
