"""Content-addressed artifacts: pickle files (readable by joblib too) named by their sha256.

The hash and size are recorded in the store when a file is written and checked
before every load: a pickle runs code when loaded, so a file that changed since
cockpit wrote it is refused, never opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import clock
from storage.errors import ArtifactError
from storage.store import FILE_MODE, Store

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ARTIFACT_NAME_RE = re.compile(r"^([0-9a-f]{64})(\.[A-Za-z0-9]+)$")
TEMP_PREFIX = ".tmp-"
DIR_MODE = 0o700
CHUNK = 1 << 20


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

    def _ensure_root(self) -> None:
        if not self.root.is_dir():
            self.root.mkdir(mode=self.dir_mode & 0o777, parents=True, exist_ok=True)
            os.chmod(self.root, self.dir_mode)  # exactly, whatever the umask (and setgid)

    def _temp_file(self, suffix: str) -> tuple[int, Path]:
        """A new file to write into, created with the store's mode, renamed when complete."""
        self._ensure_root()
        handle, tmp_name = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX, suffix=suffix)
        os.fchmod(handle, self.file_mode)
        return handle, Path(tmp_name)

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
        handle, tmp = self._temp_file(".joblib")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            return self._adopt(tmp, kind, ".joblib", library_versions)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, source: Path, kind: str, suffix: str) -> ArtifactRef:
        """Copy a finished file (e.g. a Parquet dataset) into the store by its hash."""
        handle, tmp = self._temp_file(suffix)
        try:
            with os.fdopen(handle, "wb") as out, open(source, "rb") as src:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
            return self._adopt(tmp, kind, suffix, None)
        finally:
            tmp.unlink(missing_ok=True)

    def _adopt(self, tmp: Path, kind: str, suffix: str, versions: dict | None) -> ArtifactRef:
        sha = sha256_of(tmp)
        size = tmp.stat().st_size
        final = self.path_for(sha, suffix)
        if not final.exists():
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, final)
        with self.store.transaction():
            self.store.conn.execute(
                "INSERT OR IGNORE INTO artifacts (sha256, size, kind, created_at, library_versions)"
                " VALUES (?, ?, ?, ?, ?)",
                [sha, size, kind, clock.now_iso(), json.dumps(versions or {}, sort_keys=True)],
            )
        return ArtifactRef(sha, size, kind)

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
        a check and a second read cannot slip through."""
        import pickle

        path, size = self._located(sha256, ".joblib")
        data = path.read_bytes()
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
            raise self._changed(path)
        return pickle.loads(data)
