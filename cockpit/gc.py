"""`cockpit gc`: remove the artifacts nothing refers to any more.

An artifact is referenced by the rows that name its sha256 (REFERENCES). One that no row
names — the model of a deleted run, the file of a model whose run was cancelled before it was
recorded, a dataset version's rows once the version is deleted — only takes room. The
artifacts' rows go in one transaction, holding the write lock while it decides, so nothing can
start to refer to one in between; the files are deleted after the commit (a crash in between
leaves files no row records, which the next gc removes). Archived files (retired models) are
looked for in archive/ too. The audit log is no reference: it records what happened, it does
not need the file.

An artifact is written, and recorded, a moment before the row that refers to it: those
younger than `min_age` are kept (`kept_recent`), so a gc never races a run being recorded.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.workspace import Workspace
from storage import Store, clock, faults
from storage.artifacts import ARTIFACT_NAME_RE, ArtifactStore

# Every column that names an artifact by its sha256. tests/test_gc.py checks that each column
# of the schema whose name holds "sha256" is here or in DIGESTS, so a new one cannot be missed.
REFERENCES = (
    ("runs", "artifact_sha256"),
    ("dataset_versions", "artifact_sha256"),
    ("splits", "assignment_sha256"),
    ("model_versions", "artifact_sha256"),
    ("batches", "inputs_sha256"),
    ("batches", "outputs_sha256"),
    ("reproductions", "artifact_sha256"),
)
# sha256 columns that are digests of content, not names of artifacts.
DIGESTS = (("dataset_versions", "content_sha256"),)
MIN_AGE = timedelta(minutes=60)
CHUNK = 500  # SQLite's bound variables per statement stay well under its limit


@dataclass(frozen=True, slots=True)
class Garbage:
    """One unreferenced artifact: its recorded row (if any) and its files."""

    sha256: str
    kind: str  # the recorded kind, or "unrecorded" for a file the artifacts table has no row for
    size: int  # bytes on disk
    files: tuple[str, ...]  # relative to the artifacts folder: "<sha>.joblib", "archive/<sha>.joblib"

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "kind": self.kind, "size": self.size, "files": list(self.files)}


@dataclass(frozen=True, slots=True)
class Collection:
    removed: tuple[Garbage, ...]
    dry_run: bool
    kept_recent: int = 0  # unreferenced, but younger than the minimum age
    failed: tuple[str, ...] = ()  # files that could not be deleted, and why

    @property
    def bytes_freed(self) -> int:
        return sum(g.size for g in self.removed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "removed": [g.as_dict() for g in self.removed],
            "artifacts": len(self.removed),
            "bytes_freed": self.bytes_freed,
            "kept_recent": self.kept_recent,
            "failed": list(self.failed),
        }


def referenced(store: Store) -> set[str]:
    """Every sha256 a row of the store names."""
    found: set[str] = set()
    for table, column in REFERENCES:
        rows = store.conn.execute(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
        found.update(row[0] for row in rows)
    return found


def artifact_files(artifacts: ArtifactStore) -> dict[str, list[Path]]:
    """The artifact files on disk by sha256, live and archived."""
    files: dict[str, list[Path]] = {}
    for folder in (artifacts.root, artifacts.archive_root):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            match = ARTIFACT_NAME_RE.match(path.name)
            if match and path.is_file():
                files.setdefault(match.group(1), []).append(path)
    return files


def collect(
    ws: Workspace,
    *,
    dry_run: bool = False,
    min_age: timedelta = MIN_AGE,
    only: set[str] | None = None,
    record: bool = True,
) -> Collection:
    """Remove (or with `dry_run` list) the unreferenced artifacts. `only`: consider just these
    (a deletion's own, of any age; files no row records are left to a full gc)."""
    lock = contextlib.nullcontext() if dry_run else ws.store.transaction()
    with lock:
        garbage, kept = _find(ws, min_age, only)
        if not dry_run and garbage:
            _forget(ws, garbage)
            if record:
                ws.record(
                    "workspace",
                    "gc",
                    details={"artifacts": len(garbage), "bytes_freed": sum(g.size for g in garbage)},
                )
    if dry_run:
        return Collection(tuple(garbage), True, kept)
    return remove_files(ws, garbage, kept)


def forget_unreferenced(ws: Workspace, among: set[str]) -> list[Garbage]:
    """Inside the caller's transaction (a deletion's): the artifacts among `among` that no row
    names any more, of any age, lose their rows, in that same transaction. Their files are for
    `remove_files` once it has committed."""
    assert ws.store.conn.in_transaction, "forget_unreferenced runs inside the deletion's transaction"
    garbage, _ = _find(ws, MIN_AGE, among)
    _forget(ws, garbage)
    return garbage


def remove_files(ws: Workspace, garbage: list[Garbage], kept: int = 0) -> Collection:
    """After the commit that removed their rows: delete the artifacts' files (a crash before
    leaves files no row records, which the next gc removes)."""
    if garbage:
        faults.point("gc:after_commit")
    failed = _unlink(ws.artifacts.root, garbage)
    return Collection(tuple(garbage), False, kept, tuple(failed))


def _forget(ws: Workspace, garbage: list[Garbage]) -> None:
    shas = [g.sha256 for g in garbage if g.kind != "unrecorded"]
    for start in range(0, len(shas), CHUNK):
        part = shas[start : start + CHUNK]
        marks = ", ".join("?" * len(part))
        ws.store.conn.execute(f"DELETE FROM artifacts WHERE sha256 IN ({marks})", part)


def _find(ws: Workspace, min_age: timedelta, only: set[str] | None) -> tuple[list[Garbage], int]:
    named = referenced(ws.store)
    files = artifact_files(ws.artifacts)
    cutoff = clock.now() - min_age
    garbage: list[Garbage] = []
    kept = 0
    recorded = ws.store.rows("SELECT sha256, kind, created_at FROM artifacts ORDER BY created_at, sha256")
    for row in recorded:
        sha = row["sha256"]
        if sha in named or (only is not None and sha not in only):
            continue
        if only is None and datetime.fromisoformat(row["created_at"]) > cutoff:
            kept += 1
            continue
        garbage.append(_garbage(ws.artifacts.root, sha, row["kind"], files.get(sha, [])))
    if only is None:
        known = {row["sha256"] for row in recorded}
        file_cutoff = time.time() - min_age.total_seconds()
        for sha, paths in sorted(files.items()):
            if sha in known or sha in named:
                continue
            if max(p.stat().st_mtime for p in paths) > file_cutoff:
                kept += 1
                continue
            garbage.append(_garbage(ws.artifacts.root, sha, "unrecorded", paths))
    return garbage, kept


def _garbage(root: Path, sha: str, kind: str, paths: list[Path]) -> Garbage:
    return Garbage(
        sha,
        kind,
        sum(p.stat().st_size for p in paths),
        tuple(p.relative_to(root).as_posix() for p in paths),
    )


def _unlink(root: Path, garbage: list[Garbage]) -> list[str]:
    failed = []
    for item in garbage:
        for name in item.files:
            try:
                (root / name).unlink(missing_ok=True)
            except OSError as exc:
                failed.append(f"{root / name}: {exc.strerror or exc}")
    return failed
