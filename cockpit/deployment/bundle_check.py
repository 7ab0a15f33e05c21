"""Reading a bundle (`cockpit serve --bundle`), checked whole before anything is served.

The manifest must list exactly a bundle's files, each with its sha256; only those files
are read, each once: its hash is of the bytes then parsed or unpickled, so a file swapped
after the check is never loaded, and a file the manifest does not list is never opened.
The config and schema are checked for everything serving reads from them, so a bad bundle
is one line at start, never a 500 on every request.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

MANIFEST = "manifest.json"
BUNDLE_FILES = ("model.pkl", "schema.json", "config.json", "requirements.txt", "Dockerfile", "MODEL_CARD.md")
TASKS = ("binary", "multiclass", "regression")
MAX_JSON = 1 << 20  # the manifest, config and schema are a few kB
SHA256 = re.compile(r"^[0-9a-f]{64}$")
AGAIN = "package it again with `cockpit package VERSION --out DIR`"


@dataclass(frozen=True)
class Bundle:
    """A bundle whose every file matched its manifest."""

    folder: Path
    pipeline: Any
    config: dict[str, Any]
    schema: dict[str, Any]
    warnings: list[str]  # libraries installed here that differ from training


def read_bundle(folder: Path) -> Bundle:
    """The bundle in `folder`, or CockpitError naming the file and what is wrong with it;
    the model is unpickled last, once everything else was checked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CockpitError(f"{folder}: no such folder (give the folder `cockpit package` wrote)")
    version, listed = _manifest(folder)
    content = {name: _verified(folder / name, sha256) for name, sha256 in listed.items()}
    config = _config(folder / "config.json", content["config.json"], version)
    schema = _schema(folder / "schema.json", content["schema.json"])
    pipeline = _unpickle(folder / "model.pkl", content["model.pkl"])
    return Bundle(folder, pipeline, config, schema, library_warnings(config))


def _manifest(folder: Path) -> tuple[int, dict[str, str]]:
    """(version, file name -> sha256): exactly the bundle's files, each with a sha256."""
    path = folder / MANIFEST
    if not path.exists():
        raise CockpitError(f"{folder}: not a cockpit bundle (no {MANIFEST})")
    found = _json(path, _read(path, MAX_JSON), "manifest")
    files = found.get("files")
    version = found.get("version")
    if not isinstance(files, dict):
        raise CockpitError(f"{path}: not a bundle manifest (no 'files' object naming each file's sha256)")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CockpitError(f"{path}: not a bundle manifest ('version' is not a model version number)")
    extra = [str(name) for name in files if name not in BUNDLE_FILES]
    if extra:
        raise CockpitError(
            f"{path} lists {', '.join(map(repr, extra))}, which no bundle holds "
            f"(a bundle is exactly {', '.join(BUNDLE_FILES)}); refusing to load it"
        )
    missing = [name for name in BUNDLE_FILES if name not in files]
    if missing:
        raise CockpitError(
            f"{path} does not list {', '.join(missing)}: a file the manifest does not vouch for "
            f"is never loaded; {AGAIN}"
        )
    bad = [name for name, value in files.items() if not (isinstance(value, str) and SHA256.match(value))]
    if bad:
        raise CockpitError(f"{path}: the sha256 of {', '.join(bad)} is not 64 hex digits; {AGAIN}")
    return version, files


def _read(path: Path, limit: int | None = None) -> bytes:
    if not path.is_file():
        what = "is missing" if not path.exists() else "is not a file"
        raise CockpitError(f"bundle file {path} {what}")
    try:
        with open(path, "rb") as handle:
            data = handle.read() if limit is None else handle.read(limit + 1)
    except OSError as exc:
        raise CockpitError(f"bundle file {path} cannot be read ({exc.strerror or exc})") from None
    if limit is not None and len(data) > limit:
        raise CockpitError(f"bundle file {path} is larger than {limit // 1024} kB: not a cockpit bundle file")
    return data


def _verified(path: Path, sha256: str) -> bytes:
    """The file's bytes, read once, after their hash matched the manifest."""
    data = _read(path)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise CockpitError(
            f"bundle file {path} was changed (sha256 does not match the manifest); refusing to load it"
        )
    return data


def _json(path: Path, data: bytes, what: str) -> dict[str, Any]:
    try:
        found = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise CockpitError(f"{path}: not a bundle {what} (not UTF-8 text)") from None
    except ValueError as exc:
        raise CockpitError(f"{path}: not a bundle {what} (not JSON: {exc})") from None
    if not isinstance(found, dict):
        raise CockpitError(
            f"{path}: not a bundle {what} (a JSON object is expected, not {type(found).__name__})"
        )
    return found


def _config(path: Path, data: bytes, version: int) -> dict[str, Any]:
    """The config with every field serving reads, each of the right type."""
    config = _json(path, data, "config")
    problems = []
    for key in ("project", "target"):
        if not isinstance(config.get(key), str) or not config[key]:
            problems.append(f"{key!r} is not a name")
    if config.get("task") not in TASKS:
        problems.append(f"'task' is {config.get('task')!r}, not one of {', '.join(TASKS)}")
    if config.get("version") != version or isinstance(config.get("version"), bool):
        problems.append(f"'version' is {config.get('version')!r}, the manifest's is {version}")
    if "threshold" not in config:
        problems.append("'threshold' is missing (null when the model has none)")
    elif not _threshold(config["threshold"]):
        problems.append(f"'threshold' is {config['threshold']!r}, not a number from 0 to 1 or null")
    libraries = config.get("libraries", {})
    if not isinstance(libraries, dict) or not all(isinstance(v, str | None) for v in libraries.values()):
        problems.append("'libraries' is not an object of library versions")
    if problems:
        raise CockpitError(f"{path}: {'; '.join(problems)}; {AGAIN}")
    return config


def _threshold(value: Any) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def _schema(path: Path, data: bytes) -> dict[str, Any]:
    """The input schema: named columns, each an object with its kind; the entity one of them."""
    schema = _json(path, data, "schema")
    columns = schema.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise CockpitError(f"{path}: no 'columns' object naming the model's input columns; {AGAIN}")
    bad = [
        str(name)
        for name, spec in columns.items()
        if not (isinstance(spec, dict) and isinstance(spec.get("kind"), str))
    ]
    if bad:
        raise CockpitError(f"{path}: the columns {', '.join(bad[:5])} have no kind; {AGAIN}")
    entity = schema.get("entity")
    if entity is not None and entity not in columns:
        raise CockpitError(f"{path}: the entity column {entity!r} is not one of its columns; {AGAIN}")
    return schema


def _unpickle(path: Path, data: bytes) -> Any:
    import pickle

    try:
        model = pickle.loads(data)
    except ModuleNotFoundError as exc:
        raise CockpitError(
            f"bundle file {path}: the model needs the module {exc.name!r}, not installed here; "
            "install the bundle's requirements.txt"
        ) from None
    except Exception as exc:  # any unpickling failure: the file is not a model
        raise CockpitError(
            f"bundle file {path} cannot be loaded ({type(exc).__name__}: {exc})"[:300]
        ) from None
    if not callable(getattr(model, "predict", None)):
        raise CockpitError(
            f"bundle file {path} holds a {type(model).__name__}, not a model (no predict method)"
        )
    return model


def library_warnings(config: dict[str, Any]) -> list[str]:
    """The libraries installed here whose version differs from the one the model was trained with."""
    from importlib import metadata

    warnings = []
    for name, wanted in config.get("libraries", {}).items():
        if name == "python":
            continue
        try:
            have = metadata.version(name)
        except (metadata.PackageNotFoundError, ValueError):
            have = None
        if have != wanted:
            warnings.append(f"{name} {have or 'missing'} here, {wanted} when trained")
    return warnings
