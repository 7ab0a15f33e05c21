"""Content-addressed artifacts: pickle files (readable by joblib too) named by their sha256.

The hash and size are recorded in the store when a file is written and checked
before every load: a pickle runs code when loaded, so a file that changed since
cockpit wrote it is refused, never opened.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import clock, faults
from storage.disk import disk_full, is_disk_full
from storage.errors import ArtifactError
from storage.processes import process_alive
from storage.store import FILE_MODE, Store

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ARTIFACT_NAME_RE = re.compile(r"^([0-9a-f]{64})(\.[A-Za-z0-9]+)$")
TEMP_PREFIX = ".tmp-"
TEMP_NAME_RE = re.compile(r"^\.tmp-(\d+)-")  # .tmp-PID-RANDOM.suffix: PID is the writer's
STALE_AFTER_S = 60.0
DIR_MODE = 0o700
CHUNK = 1 << 20


class ArtifactVersionWarning(UserWarning):
    """A model pickled by another scikit-learn version than the one loading it."""


@functools.lru_cache(maxsize=1)
def installed_sklearn() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class ArtifactRef:
    sha256: str
    size: int
    kind: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def dump_bytes(obj: Any) -> bytes:
    """Canonical pickle bytes: equal objects give equal bytes, wherever they were built.

    Pickle's memo writes a string once per *object*, so two equal models whose
    strings were shared differently (data read from Parquet in one process, sent
    through a process pool in another) serialise differently. With the memo off
    ("fast" mode) each value is written in full: `reproduce` can compare sha256.
    Objects that refer to themselves cannot be written that way and fall back to
    an ordinary pickle. The files load with pickle or joblib.
    """
    import io
    import pickle

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True
    try:
        pickler.dump(obj)
    except (RecursionError, ValueError):
        return pickle.dumps(obj, protocol=5)
    return buffer.getvalue()


@dataclass
class IntegrityReport:
    """Every recorded artifact checked against its file: what is missing or changed."""

    recorded: int = 0
    verified: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unrecorded: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.changed

    def as_dict(self) -> dict[str, Any]:
        return {
            "recorded": self.recorded,
            "verified": self.verified,
            "ok": self.ok,
            "missing": self.missing,
            "changed": self.changed,
            "unrecorded": self.unrecorded,
            "temporary": self.temporary,
        }


class ArtifactStore:
    """Files are written with `file_mode` (0600: owner only, unless a workspace is shared)."""

    def __init__(
        self, root: Path, store: Store, file_mode: int = FILE_MODE, dir_mode: int = DIR_MODE
    ) -> None:
        self.root = Path(root)
        self.store = store
        self.file_mode = file_mode
        self.dir_mode = dir_mode
        self._swept = False  # stale temporary files are removed at this store's first write

    def _ensure_root(self) -> None:
        if not self.root.is_dir():
            self.root.mkdir(mode=self.dir_mode & 0o777, parents=True, exist_ok=True)
            os.chmod(self.root, self.dir_mode)  # exactly, whatever the umask (and setgid)

    def _temp_file(self, suffix: str) -> tuple[int, Path]:
        """A new file to write into, created with the store's mode, renamed when complete. Its
        name holds this process's id, so a file left by a writer that was killed is known."""
        self._ensure_root()
        if not self._swept:
            self._swept = True
            self.remove_stale_temporary()
        handle, tmp_name = tempfile.mkstemp(
            dir=self.root, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix
        )
        os.fchmod(handle, self.file_mode)
        return handle, Path(tmp_name)

    def stale_temporary(self, older_than_s: float = STALE_AFTER_S) -> list[Path]:
        """Temporary files whose writer is gone (killed mid-write): older than a minute and
        no live process of the id in their name (or no id at all: an older cockpit's)."""
        if not self.root.is_dir():
            return []
        now = time.time()
        stale = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if not entry.name.startswith(TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                except FileNotFoundError:  # its writer finished meanwhile
                    continue
                owner = TEMP_NAME_RE.match(entry.name)
                if age > older_than_s and not (owner and process_alive(int(owner.group(1)))):
                    stale.append(Path(entry.path))
        return sorted(stale)

    def remove_stale_temporary(self, older_than_s: float = STALE_AFTER_S) -> list[tuple[str, int]]:
        """Remove the stale temporary files; (name, size) of each one removed."""
        removed = []
        for path in self.stale_temporary(older_than_s):
            try:
                size = path.stat().st_size
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append((path.name, size))
        return removed

    def path_for(self, sha256: str, suffix: str = ".joblib") -> Path:
        if not SHA256_RE.match(sha256):
            raise ArtifactError(f"not an artifact id: {sha256!r}")
        return self.root / f"{sha256}{suffix}"

    def put(self, obj: Any, kind: str, library_versions: dict[str, str] | None = None) -> ArtifactRef:
        """Write `obj` with joblib and record it. Same content, same file, one row."""
        return self.put_bytes(dump_bytes(obj), kind, library_versions)

    def put_bytes(
        self, data: bytes, kind: str, library_versions: dict[str, str] | None = None
    ) -> ArtifactRef:
        """Record an object already serialised with `dump_bytes` (e.g. by a remote worker)."""

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as out:
                out.write(data)

        return self._put(write, kind, ".joblib", library_versions, needed=len(data))

    def put_file(self, source: Path, kind: str, suffix: str) -> ArtifactRef:
        """Copy a finished file into the store by its hash."""

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as out, open(source, "rb") as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)

        return self._put(write, kind, suffix, None, needed=Path(source).stat().st_size)

    def put_written(
        self,
        write: Callable[[Path], None],
        kind: str,
        suffix: str,
        what: str = "",
        needed: int | None = None,
        sha256: str | None = None,
    ) -> ArtifactRef:
        """Record a file that `write(path)` writes (e.g. `frame.to_parquet`) straight into the
        artifacts folder: no copy in $TMPDIR, and a writer killed midway leaves a temporary file
        the next write removes. `needed`: its size, when known (a full disk says it). `sha256`:
        the content's, computed (and the file synced) by the caller before its transaction,
        so a big file is not read again under the write lock (loading checks it anyway)."""
        return self._put(write, kind, suffix, None, needed=needed, what=what, sha256=sha256)

    def _put(
        self,
        write: Callable[[Path], None],
        kind: str,
        suffix: str,
        versions: dict[str, str] | None,
        needed: int | None = None,
        what: str = "",
        sha256: str | None = None,
    ) -> ArtifactRef:
        try:
            handle, tmp = self._temp_file(suffix)
        except OSError as exc:
            if is_disk_full(exc):
                raise disk_full(self.root, needed, what or f"a {kind} artifact") from None
            raise
        os.close(handle)
        try:
            faults.disk_full("artifacts.write")
            write(tmp)
            faults.point("artifacts:written")
            return self._adopt(tmp, kind, suffix, versions, sha256)
        except OSError as exc:
            if is_disk_full(exc):
                tmp.unlink(missing_ok=True)  # first: the space it took is free again
                raise disk_full(self.root, needed, what or f"a {kind} artifact") from None
            raise
        finally:
            tmp.unlink(missing_ok=True)

    def _adopt(
        self, tmp: Path, kind: str, suffix: str, versions: dict | None, known: str | None = None
    ) -> ArtifactRef:
        sha = known or sha256_of(tmp)
        size = tmp.stat().st_size
        final = self.path_for(sha, suffix)
        created = not final.exists()
        if created:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        with self.store.transaction():
            if created:  # a rolled-back action leaves no file behind it
                self.store.on_rollback(lambda: self._unlink_unrecorded(final, sha))
            self.store.conn.execute(
                "INSERT OR IGNORE INTO artifacts (sha256, size, kind, created_at, library_versions)"
                " VALUES (?, ?, ?, ?, ?)",
                [sha, size, kind, clock.now_iso(), json.dumps(versions or {}, sort_keys=True)],
            )
        return ArtifactRef(sha, size, kind)

    def _unlink_unrecorded(self, path: Path, sha256: str) -> None:
        if self.store.one("SELECT 1 FROM artifacts WHERE sha256 = ?", [sha256]) is None:
            path.unlink(missing_ok=True)

    @property
    def archive_root(self) -> Path:
        return self.root / "archive"

    def archive(self, sha256: str, suffix: str = ".joblib") -> Path | None:
        """Move an artifact's file out of the live folder into archive/ (retired models):
        still recorded, verified and loadable for audits. None when it is archived already."""
        live = self.path_for(sha256, suffix)
        if not live.exists():
            return None
        if not self.archive_root.is_dir():
            self.archive_root.mkdir(mode=self.dir_mode & 0o777, exist_ok=True)
            os.chmod(self.archive_root, self.dir_mode)
        target = self.archive_root / live.name
        os.replace(live, target)
        return target

    def _located(self, sha256: str, suffix: str) -> tuple[Path, int]:
        """(file, recorded size) of a recorded artifact, live or archived."""
        path = self.path_for(sha256, suffix)
        if not path.exists() and (self.archive_root / path.name).exists():
            path = self.archive_root / path.name
        row = self.store.one("SELECT size FROM artifacts WHERE sha256 = ?", [sha256])
        if row is None:
            raise ArtifactError(f"artifact {sha256[:12]} is not recorded in this workspace")
        if not path.exists():
            raise ArtifactError(f"artifact file {path} is missing")
        return path, row["size"]

    @staticmethod
    def _changed(path: Path) -> ArtifactError:
        return ArtifactError(
            f"artifact file {path} was changed after cockpit wrote it "
            "(sha256 does not match); refusing to load it"
        )

    def verified_path(self, sha256: str, suffix: str = ".joblib") -> Path:
        """The file of a recorded artifact (live or archived), after checking its size and
        sha256."""
        path, size = self._located(sha256, suffix)
        if path.stat().st_size != size or sha256_of(path) != sha256:
            raise self._changed(path)
        return path

    def verify_all(self) -> IntegrityReport:
        """Check the size and sha256 of every recorded artifact (reads every file)."""
        report = IntegrityReport()
        files: dict[str, Path] = {}
        for folder in (self.archive_root, self.root):  # a live copy wins over an archived one
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                match = ARTIFACT_NAME_RE.match(path.name)
                if match:
                    files[match.group(1)] = path
                elif path.name.startswith(TEMP_PREFIX):
                    report.temporary.append(path.name)
        rows = self.store.rows("SELECT sha256, size FROM artifacts ORDER BY created_at, sha256")
        report.recorded = len(rows)
        for row in rows:
            found = files.pop(row["sha256"], None)
            if found is None:
                report.missing.append(row["sha256"])
            elif found.stat().st_size != row["size"] or sha256_of(found) != row["sha256"]:
                report.changed.append(found.name)
            else:
                report.verified += 1
        report.unrecorded = sorted(path.name for path in files.values())
        return report

    def load(self, sha256: str) -> Any:
        """Unpickle exactly the bytes that were hashed: read once, so a file swapped between
        a check and a second read cannot slip through. A pickle written by another
        scikit-learn is loaded with a warning saying so, or refused saying which version
        wrote it when this one cannot read it."""
        import pickle

        path, size = self._located(sha256, ".joblib")
        data = path.read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            raise self._changed(path)
        written_by = self.written_by(sha256)
        installed = installed_sklearn()
        if written_by is None or installed is None or written_by == installed:
            return pickle.loads(data)
        what = f"artifact {sha256[:12]} was written by scikit-learn {written_by}; this is {installed}"
        retrain = (
            f"retrain it with scikit-learn {installed} (`cockpit doctor` names its runs and the "
            f"command), or install scikit-learn=={written_by} to use it as it was"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's own warning: this one says it all
            try:
                loaded = pickle.loads(data)
            except Exception as exc:
                raise ArtifactError(
                    f"{what}, which cannot load it ({type(exc).__name__}: {exc}); {retrain}"
                ) from None
        warnings.warn(f"{what}: its answers may differ; {retrain}", ArtifactVersionWarning, stacklevel=2)
        return loaded

    def written_by(self, sha256: str) -> str | None:
        """The scikit-learn version that wrote an artifact, when it was recorded."""
        text = self.store.scalar("SELECT library_versions FROM artifacts WHERE sha256 = ?", [sha256])
        try:
            return json.loads(text or "{}").get("scikit-learn")
        except (ValueError, AttributeError):
            return None

    def other_sklearn(self) -> list[dict[str, Any]]:
        """Recorded artifacts written by another scikit-learn than the installed one: sha256,
        kind, created_at and the version that wrote them."""
        installed = installed_sklearn()
        rows = self.store.rows(
            "SELECT sha256, kind, created_at, json_extract(library_versions, '$.\"scikit-learn\"') AS version"
            " FROM artifacts WHERE json_valid(library_versions) AND version IS NOT NULL"
            " ORDER BY created_at, sha256"
        )
        return [row for row in rows if row["version"] != installed]
