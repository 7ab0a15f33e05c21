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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage import clock
from storage.errors import ArtifactError
from storage.store import Store

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
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


class ArtifactStore:
    def __init__(self, root: Path, store: Store) -> None:
        self.root = Path(root)
        self.store = store

    def path_for(self, sha256: str, suffix: str = ".joblib") -> Path:
        if not SHA256_RE.match(sha256):
            raise ArtifactError(f"not an artifact id: {sha256!r}")
        return self.root / f"{sha256}{suffix}"

    def put(self, obj: Any, kind: str, library_versions: dict[str, str] | None = None) -> ArtifactRef:
        """Write `obj` with joblib and record it. Same content, same file, one row."""
        return self.put_bytes(dump_bytes(obj), kind, library_versions)

    def put_bytes(self, data: bytes, kind: str,
                  library_versions: dict[str, str] | None = None) -> ArtifactRef:
        """Record an object already serialised with `dump_bytes` (e.g. by a remote worker)."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".joblib")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            return self._adopt(tmp, kind, ".joblib", library_versions)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, source: Path, kind: str, suffix: str) -> ArtifactRef:
        """Copy a finished file (e.g. a Parquet dataset) into the store by its hash."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=suffix)
        tmp = Path(tmp_name)
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

    def verified_path(self, sha256: str, suffix: str = ".joblib") -> Path:
        """The file of a recorded artifact, after checking its size and sha256."""
        path = self.path_for(sha256, suffix)
        row = self.store.one("SELECT size FROM artifacts WHERE sha256 = ?", [sha256])
        if row is None:
            raise ArtifactError(f"artifact {sha256[:12]} is not recorded in this workspace")
        if not path.exists():
            raise ArtifactError(f"artifact file {path} is missing")
        if path.stat().st_size != row["size"] or sha256_of(path) != sha256:
            raise ArtifactError(
                f"artifact file {path} was changed after cockpit wrote it "
                "(sha256 does not match); refusing to load it"
            )
        return path

    def load(self, sha256: str) -> Any:
        import pickle

        return pickle.loads(self.verified_path(sha256).read_bytes())
