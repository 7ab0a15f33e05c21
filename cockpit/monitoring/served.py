"""What one model version answered: the production batches and service requests whose rows
it scored, and the monitoring windows they fall in. The review reads a version's own traffic
here, so an alert about another version's traffic does not hold it, and "batches watched"
counts the batches it served. A batch's rows name the version that answered each of them
(its outputs' model_version column); a shadow's answers are not served, so not counted.

Those rows per version are counted when the batch is written (batch_versions, m030), so no
batch's outputs file is read here; only a batch m030 could not count (its file was missing or
changed then) is read from its file, which fails, naming it, while it stays so."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.projects import Project
from cockpit.workspace import Workspace

# a batch's outputs never change (content-addressed): an uncounted batch's file is read once
_ANSWERED: dict[tuple[str, str], dict[int, int]] = {}


@dataclass(frozen=True, slots=True)
class Served:
    """A version's traffic: `batches` it answered rows of (of `project_batches`), the rows
    of them, the service `requests` it answered and their `request_rows` (a request may
    carry many rows), the `windows` they fall in, the newest."""

    version: int
    batches: int
    rows: int
    requests: int
    windows: frozenset[str]
    newest: str | None
    project_batches: int
    request_rows: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.batches or self.requests)


def served(ws: Workspace, project: Project, version: int) -> Served:
    """The traffic version number `version` answered, batches and service requests."""
    from cockpit.monitoring.service import window_of, window_size

    size = window_size(ws, project)
    found = ws.store.rows(
        "SELECT b.at, b.outputs_sha256, b.versions_counted, v.rows AS answered FROM batches b "
        "LEFT JOIN batch_versions v ON v.batch_id = b.id AND v.version = ? WHERE b.project_id = ?",
        [version, project.id],
    )
    windows: set[str] = set()
    batches = rows = 0
    newest: str | None = None
    for batch in found:
        if batch["versions_counted"]:
            answered = batch["answered"] or 0
        else:
            answered = _answered(ws, batch["outputs_sha256"]).get(version, 0)
        if answered and batch["at"]:
            batches, rows, newest = batches + 1, rows + answered, max(newest or "", batch["at"])
            windows.add(window_of(batch["at"], size))
    days = ws.store.rows(
        "SELECT substr(at, 1, 10) AS day, count(DISTINCT request_id) AS requests, count(*) AS rows, "
        "max(at) AS last FROM requests WHERE project_id = ? AND model_version = ? GROUP BY day",
        [project.id, version],
    )
    days += _kept_days(ws, project, version)
    windows |= {window_of(d["day"], size) for d in days}
    newest = max([newest or "", *(d["last"] for d in days)]) or None
    requests = sum(d["requests"] for d in days)
    request_rows = sum(d["rows"] for d in days)
    return Served(version, batches, rows, requests, frozenset(windows), newest, len(found), request_rows)


def _kept_days(ws: Workspace, project: Project, version: int) -> list[dict]:
    """The days whose request log rows retention removed (`serve --keep-days`), as the
    figures it kept of what `version` answered on each (days pruned before it kept them per
    version name none). Only that entry is read out of each day's figures, not its latencies."""
    import json

    kept = ws.store.rows(
        "SELECT day, json_extract(figures, ?) AS answered FROM request_days "
        "WHERE project_id = ? AND answered IS NOT NULL",
        [f'$.versions."{version}"', project.id],
    )
    return [{"day": row["day"], **json.loads(row["answered"])} for row in kept]


def _answered(ws: Workspace, sha256: str | None) -> dict[int, int]:
    """Rows per model version number in the outputs file of a batch not counted when it was
    stored ({} for a batch without outputs); ArtifactError naming the file while it is
    missing or changed."""
    if not sha256:
        return {}
    key = (str(ws.artifacts.root), sha256)
    if key not in _ANSWERED:
        import pyarrow.parquet as pq

        from cockpit.deployment.batch import version_rows

        stored = pq.ParquetFile(ws.artifacts.verified_path(sha256, ".parquet"))
        columns = [c for c in ("model_version",) if c in stored.schema_arrow.names]
        _ANSWERED[key] = version_rows(stored.read(columns=columns).to_pandas())
    return _ANSWERED[key]
