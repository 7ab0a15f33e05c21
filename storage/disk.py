"""A full disk, told as one: where, how much space was needed and how much is free.

SQLite reports a full disk as "database or disk is full" (SQLITE_FULL) while writing, and
as "disk I/O error" when it cannot even create its -wal or -shm file; the file system
raises OSError(ENOSPC) or, past a quota, OSError(EDQUOT).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

from storage.errors import DiskFullError

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
NEARLY_FULL_BYTES = 1 << 20  # below this, an I/O error opening the store is taken as a full disk
MB = 1 << 20


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the file system holding `path`."""
    path = Path(path)
    for folder in (path, *path.parents):
        try:
            info = os.statvfs(folder)
        except OSError:
            continue
        return info.f_bavail * info.f_frsize
    return None


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(exc)
        )
    return False


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB" if size < 10 * MB else f"{size / MB:,.0f} MB"


def disk_full(path: Path, needed: int | None = None, what: str = "", doing: str = "") -> DiskFullError:
    """The one message for a full disk. `needed`: the bytes the write needed, when known."""
    free = free_bytes(Path(path))
    facts = []
    if needed is not None:
        facts.append(f"{_mb(needed)} needed")
    if free is not None:
        facts.append(f"{_mb(free)} free")
    doing = f" while {doing}" if doing else f" while writing {what}" if what else ""
    return DiskFullError(
        f"disk full at {path}{doing}"
        + (f" ({', '.join(facts)})" if facts else "")
        + "; nothing was written. Free some space there (or move the workspace) and try again"
    )


def where_full(exc: OSError, near: Path) -> Path:
    """The folder a failed write was in: its file's, else of the places a write goes (the
    workspace `near`, the temporary folder) the one with the least space left."""
    if exc.filename:
        return Path(os.fsdecode(exc.filename)).parent
    places = [Path(near), Path(tempfile.gettempdir())]
    return min(places, key=lambda place: free_bytes(place) or 0)
