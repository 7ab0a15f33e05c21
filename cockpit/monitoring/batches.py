"""Production batches for monitoring: ingest a file (scored with the live routing, each row
keyed by its entity key), list them, and drop one with a reason.

A file's content is recorded with its batch (sha256 in the audit event), so the same file
ingested twice is refused unless asked for (`again`); a dropped batch no longer counts.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.deployment import batch, registry
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd


def parse_moment(text: str, what: str) -> datetime:
    """An ISO 8601 date or date-time (years 1900-9999); CockpitError naming `what`."""
    try:
        moment = datetime.fromisoformat(str(text).strip())
    except (TypeError, ValueError):
        raise CockpitError(
            f"{what} {text!r} is not a date (use ISO 8601: 2026-05-01 or 2026-05-01T12:00)"
        ) from None
    if not 1900 <= moment.year <= 9999:
        raise CockpitError(f"{what} {text!r} is out of range (years 1900-9999)")
    return moment


def version_keys(version: registry.ModelVersion, frame: pd.DataFrame) -> pd.Series:
    """The entity key of each row (cockpit.entity) as the model version defines it: its id
    column, or a hash of its feature columns when it has none. KeyError names missing
    key columns."""
    from cockpit.entity import schema_keys

    return schema_keys(frame, version.input_schema)


def integral_ids(values: pd.Series) -> pd.Series:
    """An integer id column read as floats because of a blank cell (1042.0) back to its
    integers, so its keys are the production rows' keys ("1042", not "1042.0")."""
    import numpy as np

    if values.dtype.kind != "f":
        return values
    present = values.dropna().to_numpy(dtype=float)
    if len(present) and np.all(present == np.round(present)) and np.all(np.abs(present) < 2**53):
        return values.astype("Int64")
    return values


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def earlier_ingest(ws: Workspace, project: Project, sha256: str) -> dict[str, Any] | None:
    """The batch (still kept) an earlier ingest of the same file content made, if any. A
    dropped batch's id can be given to a new batch, so the batch must also hold the inputs
    that ingest stored."""
    return ws.store.one(
        "SELECT b.id, b.at, b.source FROM events e JOIN batches b "
        "ON b.id = json_extract(e.details, '$.batch') AND b.project_id = e.project_id "
        "AND b.inputs_sha256 = json_extract(e.details, '$.inputs_sha256') "
        "WHERE e.project_id = ? AND e.stage = 'monitoring' AND e.action = 'ingest' "
        "AND json_extract(e.details, '$.sha256') = ? ORDER BY b.id LIMIT 1",
        [project.id, sha256],
    )


def ingest(
    ws: Workspace,
    project: Project,
    path: Path,
    at: str | None = None,
    again: bool = False,
    allow_fallback: bool = False,
) -> dict[str, Any]:
    """A production file arrives: score it with the live routing and log it as a batch.
    Each row's entity is its entity key, so labels that arrive later join it. Refused
    before anything is written: a bad `at`, an unreadable file, content already ingested
    (unless `again`), a routed model that cannot answer (unless `allow_fallback`: then
    the fallback rule answers its rows, each stored with route "fallback")."""
    from cockpit.data.chunks import open_table
    from cockpit.deployment.routing import Router

    path = Path(path)
    if at is not None:
        parse_moment(at, "--at")
    table = open_table(path)
    digest = file_sha256(path)
    _refuse_repeat(ws, project, path, digest, again)
    router = Router(ws, project)
    production = registry.get_version(ws, project, "production")
    # read, checked, scored (each row's entity is its key: cockpit.entity) and written
    # chunk by chunk, outside the write lock: the transaction records only what is written
    prepared = batch.score_chunks(ws, router, table, production.input_schema, str(path), allow_fallback)
    details = prepared.guarded.details()
    try:
        with ws.store.transaction():
            _refuse_repeat(ws, project, path, digest, again)  # again under the write lock: two
            # ingests of one file at once must not both pass the check made before scoring
            batch_id = batch.record_batch(ws, project, prepared, path.name, "ingest", at, details=details)
            stored = ws.store.scalar("SELECT inputs_sha256 FROM batches WHERE id = ?", [batch_id])
            ws.record(
                "monitoring",
                "ingest",
                project.id,
                {
                    "batch": batch_id,
                    "sha256": digest,
                    "inputs_sha256": stored,
                    "rows": prepared.rows,
                    "source": path.name,
                    "again": again,
                    **details,
                },
            )
    finally:
        prepared.discard()
    return {
        "id": batch_id,
        "rows": prepared.rows,
        "warnings": prepared.warnings,
        "fallback": prepared.guarded.notes,
    }


def _refuse_repeat(ws: Workspace, project: Project, path: Path, digest: str, again: bool) -> None:
    earlier = None if again else earlier_ingest(ws, project, digest)
    if earlier:
        raise CockpitError(
            f"{path}: the same content was ingested already as batch {earlier['id']} "
            f"({earlier['source']}, at {earlier['at']}); pass --again to ingest it once more, "
            f"or drop it first: cockpit monitor drop {earlier['id']} --reason TEXT"
        )


def batch_rows(ws: Workspace, project: Project, limit: int = 1000) -> list[dict[str, Any]]:
    """The project's batches, newest first: id, at, kind, source, rows, routes."""
    import json

    return [
        {
            "id": b["id"],
            "at": b["at"],
            "kind": b["kind"],
            "source": b["source"],
            "rows": b["rows"],
            "routes": json.loads(b["routes"] or "{}"),
            "created_by": b["created_by"],
        }
        for b in batch.list_batches(ws, project, limit)
    ]


def drop(ws: Workspace, project: Project, batch_id: int, reason: str) -> dict[str, Any]:
    """Remove a batch from monitoring (and from what retraining learns from), with a reason,
    in one transaction. The stored windows are cleared: the next check recomputes them."""
    if not reason.strip():
        raise CockpitError("dropping a batch takes a reason (--reason TEXT)")
    found = ws.store.one("SELECT * FROM batches WHERE id = ? AND project_id = ?", [batch_id, project.id])
    if found is None:
        known = [str(b["id"]) for b in batch.list_batches(ws, project, 10)]
        raise CockpitError(
            f"no batch {batch_id} in project {project.name!r}"
            + (
                f" (newest: {', '.join(known)}; see cockpit monitor batches)"
                if known
                else " (it has no batches)"
            )
        )
    with ws.store.transaction():
        ws.store.conn.execute("DELETE FROM batch_versions WHERE batch_id = ?", [batch_id])
        ws.store.conn.execute("DELETE FROM batches WHERE id = ?", [batch_id])
        ws.store.conn.execute("DELETE FROM monitor_windows WHERE project_id = ?", [project.id])
        ws.record(
            "monitoring",
            "batch dropped",
            project.id,
            {
                "batch": batch_id,
                "reason": reason,
                "source": found["source"],
                "rows": found["rows"],
                "at": found["at"],
                "kind": found["kind"],
                "inputs_sha256": found["inputs_sha256"],
                "outputs_sha256": found["outputs_sha256"],
            },
        )
    return {"id": batch_id, "rows": found["rows"], "source": found["source"]}
