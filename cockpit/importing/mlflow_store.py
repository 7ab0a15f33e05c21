"""An MLflow tracking store opened read-only through MLflow's own client (the `mlflow` extra).

A `sqlite:` store is never opened in place: MLflow's store writes as it opens (a missing
default experiment, the migrations of an empty file) and refuses a database of an older
schema. cockpit copies it with SQLite's backup API (a consistent snapshot, even while MLflow
writes), upgrades the copy with MLflow's own upgrade when its schema is older, and reads the
copy. A `file:` folder (MLflow's file store, in maintenance mode) is read where it is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

MISSING = "install cockpit[mlflow] to read MLflow stores"
PAGE = 1000
# MLflow's own switches: the file store is refused unless allowed, and the client would
# otherwise report usage over the network while cockpit only reads a store
# MLflow's artifact downloads draw a progress bar on stderr (no final newline), which ran into
# the import's own summary lines
ENVIRONMENT = {
    "MLFLOW_ALLOW_FILE_STORE": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class MlflowMissing(CockpitError):
    """The `mlflow` extra is not installed."""


@dataclass(frozen=True, slots=True)
class StoreInfo:
    uri: str  # as the user named it (or as found)
    kind: str  # sqlite | file
    path: Path  # the database file or the mlruns folder
    upgraded_from: str | None = None  # the schema revision of an older database, read from an upgraded copy

    @property
    def resolved(self) -> str:
        """The store by its absolute path (what an imported run records as its store)."""
        return f"sqlite:///{self.path}" if self.kind == "sqlite" else str(self.path)


def require_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
        import mlflow.tracking  # noqa: F401
    except ImportError:
        raise MlflowMissing(MISSING) from None


def resolve_uri(uri: str | None, cwd: Path | None = None) -> StoreInfo:
    """The store to read: `uri`, else MLFLOW_TRACKING_URI, else ./mlflow.db, else ./mlruns."""
    cwd = cwd or Path.cwd()
    if not uri:
        uri = os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not uri:
        if (cwd / "mlflow.db").is_file():
            uri = "sqlite:///mlflow.db"
        elif (cwd / "mlruns").is_dir():
            uri = "./mlruns"
        else:
            raise CockpitError(
                f"no MLflow store in {cwd} (no mlflow.db, no mlruns/): name one "
                "(cockpit import mlflow sqlite:///path/mlflow.db or ./mlruns), or set MLFLOW_TRACKING_URI"
            )
    if uri.startswith("sqlite:///"):
        path, kind = Path(uri.removeprefix("sqlite:///")), "sqlite"
    elif uri.startswith("file:"):
        path, kind = Path(uri.removeprefix("file://").removeprefix("file:")), "file"
    elif "://" in uri:
        raise CockpitError(
            f"{uri}: cockpit imports a sqlite:/// database or a file: folder (mlruns); "
            "for a tracking server, copy its store here or run cockpit where it is"
        )
    else:
        path = Path(uri)
        kind = "file" if path.is_dir() else "sqlite"
    path = (cwd / path.expanduser()).resolve()
    if kind == "sqlite" and not path.is_file():
        raise CockpitError(f"{uri}: no such MLflow database ({path})")
    if kind == "file" and not path.is_dir():
        raise CockpitError(f"{uri}: no such MLflow folder ({path})")
    return StoreInfo(uri, kind, path)


@contextlib.contextmanager
def quiet_environment(uri: str) -> Iterator[None]:
    """MLflow's switches set for the import, and its INFO logging (migrations, store
    creation) kept off the terminal; everything is put back afterwards. The store's URI is
    MLflow's default too: its file registry opens a client of the default URI internally,
    which would otherwise make a new ./mlflow.db in the working folder."""
    values = {**ENVIRONMENT, "MLFLOW_TRACKING_URI": uri, "MLFLOW_REGISTRY_URI": uri}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def snapshot(database: Path, copy: Path) -> None:
    """A consistent copy of a SQLite database, read through a read-only connection."""
    try:
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(copy)
            with target:
                source.backup(target)
            target.close()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise CockpitError(f"{database}: not a readable SQLite database ({exc})") from None


def upgrade_copy(copy: Path) -> str | None:
    """Bring a copied database to the schema this MLflow reads (MLflow's own upgrade, as
    `mlflow db upgrade` does); returns the revision it had when it was older, else None."""
    from mlflow.store.db import utils

    engine = utils.create_sqlalchemy_engine_with_retry(f"sqlite:///{copy}")
    try:
        if utils._is_empty_database(engine):
            raise CockpitError("not an MLflow database: it holds no tables")
        current, head = utils._get_schema_version(engine), utils._get_latest_schema_revision()
        if current == head:
            return None
        known = _known_revisions()
        if current not in known:
            raise CockpitError(
                f"the MLflow database has schema {current}, which this MLflow does not know "
                "(written by a newer MLflow?): upgrade the mlflow package"
            )
        utils._upgrade_db(engine)
        return current
    finally:
        engine.dispose()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config

    script = ScriptDirectory.from_config(_get_alembic_config(db_url=""))
    return {rev.revision for rev in script.walk_revisions()}


@contextlib.contextmanager
def open_store(info: StoreInfo) -> Iterator[tuple[Any, StoreInfo]]:
    """(MlflowClient, info) on the store: a copy of a database, the folder of a file store."""
    require_mlflow()
    with tempfile.TemporaryDirectory(prefix="cockpit-mlflow-") as tmp:
        copy = Path(tmp) / "mlflow.db"
        uri = f"sqlite:///{copy}" if info.kind == "sqlite" else info.path.as_uri()
        with quiet_environment(uri):
            from mlflow.tracking import MlflowClient

            if info.kind == "sqlite":
                snapshot(info.path, copy)
                info = StoreInfo(info.uri, info.kind, info.path, upgrade_copy(copy))
            try:
                yield MlflowClient(tracking_uri=uri, registry_uri=uri), info
            finally:
                if info.kind == "sqlite":
                    release_engines(uri)


def release_engines(uri: str) -> None:
    """MLflow keeps one SQLAlchemy engine per database URI for the life of the process; the
    copy's is closed when the copy is deleted, so `--watch` holds no file of an old pass open."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    for store in (TrackingStore, RegistryStore):
        engines = getattr(store, "_engine_map", None)
        engine = engines.pop(uri, None) if isinstance(engines, dict) else None
        if engine is not None:
            engine.dispose()


def paged(call, **kwargs) -> Iterator[Any]:
    """Every item of one of the client's paged searches."""
    token = None
    while True:
        page = call(max_results=PAGE, page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return
