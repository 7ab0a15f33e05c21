"""Audited deletion of a run, a dataset version or a project, for good.

Each is one transaction: the rows that belong to it (found through the schema's foreign keys,
so a table added later is not forgotten), the rows of the artifacts no row names any more,
and one audit event saying who deleted what and why; after the commit, those artifacts'
files (gc.remove_files), so a deleted dataset version's rows file is gone from the disk too.
Nothing is deleted while anything live depends on it: the refusal names what does, and what
to do.

A deleted project's own events go with it (they may name entities: overrides, labels); the
event of its deletion stays, with no project, naming it. A project whose production (canary,
shadow) model nothing serves any more can be deleted: its aliases go with it and the event
names the versions they held; while its prediction service runs, the refusal says how to stop
it.

Ids are never given again (m028: AUTOINCREMENT); model version numbers are counted per project
from the highest ever registered, so deleting a run with a retired v3 keeps the next one v4
(registry.MODEL_VERSION_FLOOR).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit import gc
from cockpit.deployment.registry import MODEL_VERSION_FLOOR
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import faults
from storage.processes import same_process

LIVE_ALIASES = ("production", "canary", "shadow")


class DeletionRefused(CockpitError):
    """Something live depends on what was to be deleted."""


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back."""


@dataclass(frozen=True, slots=True)
class Deletion:
    what: str  # "run 3", "dataset version v2 train", "project churn"
    removed: dict[str, int]  # rows deleted per table
    dry_run: bool
    event_id: int | None = None
    artifacts: gc.Collection | None = None  # what the gc after the commit removed
    freed: tuple[str, ...] = field(default=())  # sha256s the deleted rows named

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.what,
            "dry_run": self.dry_run,
            "removed": dict(self.removed),
            "event": self.event_id,
            "artifacts": self.artifacts.as_dict() if self.artifacts else None,
        }


def delete_run(ws: Workspace, project: Project, run_id: int, reason: str, dry_run: bool = False) -> Deletion:
    from cockpit.training.runs import get_run, mark_interrupted

    _need_reason(reason)
    mark_interrupted(ws, project)  # a run whose process is gone is not running
    run = get_run(ws, project, run_id)
    blockers = []
    if run.status == "running":
        blockers.append(f"it is running (stop it with `cockpit cancel {run.id}`)")
    for row in ws.store.rows(
        "SELECT v.version, v.status, group_concat(a.alias, ', ') AS aliases FROM model_versions v "
        "LEFT JOIN aliases a ON a.version_id = v.id WHERE v.run_id = ? AND v.status != 'retired' "
        "GROUP BY v.id ORDER BY v.version",
        [run.id],
    ):
        held = f", alias {row['aliases']}" if row["aliases"] else ""
        blockers.append(
            f"model version v{row['version']} ({row['status']}{held}) is its model: retire it first "
            f"(`cockpit retire {row['version']} --reason ...`)"
        )
    looks = ws.store.scalar(
        "SELECT group_concat(DISTINCT split_id) FROM evaluations WHERE run_id = ? AND part = 'test'", [run.id]
    )
    if looks:
        blockers.append(
            f"it looked at the test part of split {looks}, and every later evaluation on that split "
            "counts that look; only deleting the project removes it"
        )
    _refuse(f"run {run.id}", blockers)
    versions = [
        r["version"]
        for r in ws.store.rows(
            "SELECT version FROM model_versions WHERE run_id = ? ORDER BY version", [run.id]
        )
    ]

    def keep_numbers_forget_best() -> None:
        if versions:
            _raise_version_floor(ws, project.id, max(versions))
        # no foreign key names the run there: the sweep stays, without a best it no longer has
        ws.store.conn.execute("UPDATE sweeps SET best_run_id = NULL WHERE best_run_id = ?", [run.id])

    details: dict[str, Any] = {"run": run.id, "status": run.status, "reason": reason}
    if versions:
        details["model_versions"] = versions
    return _delete(
        ws,
        project.id,
        f"run {run.id}",
        "runs",
        "id = ?",
        [run.id],
        dry_run,
        ("experiments", "delete run"),
        details,
        before=keep_numbers_forget_best,
    )


def delete_data(
    ws: Workspace, project: Project, version_id: int, reason: str, dry_run: bool = False
) -> Deletion:
    from cockpit.data.datasets import get_version

    _need_reason(reason)
    version = get_version(ws, project, version_id)
    blockers = []
    for table, what, hint in (
        ("dataset_versions", "child version(s)", "delete them first"),
        ("splits", "split(s)", "delete the project, or keep the version"),
        ("runs", "run(s)", "delete those runs first (`cockpit delete run N`)"),
    ):
        column = "parent_id" if table == "dataset_versions" else "version_id"
        ids = [r["id"] for r in ws.store.rows(f"SELECT id FROM {table} WHERE {column} = ?", [version.id])]
        if ids:
            blockers.append(f"{what} {', '.join(map(str, ids))} are built on it: {hint}")
    _refuse(f"dataset version {version.label}", blockers)
    return _delete(
        ws,
        project.id,
        f"dataset version {version.label}",
        "dataset_versions",
        "id = ?",
        [version.id],
        dry_run,
        ("data", "delete version"),
        {"version": version.id, "name": version.name, "rows": version.rows, "reason": reason},
    )


def delete_project(ws: Workspace, project: Project, reason: str, dry_run: bool = False) -> Deletion:
    from cockpit.training.runs import mark_interrupted

    _need_reason(reason)
    mark_interrupted(ws, project)
    blockers = []
    running = [
        r["id"]
        for r in ws.store.rows(
            "SELECT id FROM runs WHERE project_id = ? AND status = 'running'", [project.id]
        )
    ]
    if running:
        blockers.append(f"run(s) {', '.join(map(str, running))} are running (`cockpit cancel N`)")
    sweeps = ws.store.rows("SELECT id FROM sweeps WHERE project_id = ? AND status = 'running'", [project.id])
    if sweeps:
        blockers.append(f"sweep(s) {', '.join(str(r['id']) for r in sweeps)} are running")
    service = running_service(ws, project)
    if service:
        blockers.append(service)
    _refuse(f"project {project.name!r}", blockers)
    details: dict[str, Any] = {"project": project.name, "project_id": project.id, "reason": reason}
    live = live_aliases(ws, project)
    if live:  # nothing serves them (refused above): they go with the project, named here
        details["aliases"] = live
    return _delete(
        ws,
        None,
        f"project {project.name}",
        "projects",
        "id = ?",
        [project.id],
        dry_run,
        ("project", "delete"),
        details,
        settings=(
            f"monitor_window:{project.id}",
            f"data.recipe_draft.{project.id}",
            MODEL_VERSION_FLOOR.format(project_id=project.id),
        ),
    )


def live_aliases(ws: Workspace, project: Project) -> dict[str, int]:
    """The project's production, canary and shadow aliases and the version each names."""
    rows = ws.store.rows(
        "SELECT a.alias, v.version FROM aliases a JOIN model_versions v ON v.id = a.version_id "
        f"WHERE a.project_id = ? AND a.alias IN ({', '.join('?' * len(LIVE_ALIASES))}) ORDER BY a.alias",
        [project.id, *LIVE_ALIASES],
    )
    return {r["alias"]: r["version"] for r in rows}


def _raise_version_floor(ws: Workspace, project_id: int, version: int) -> None:
    key = MODEL_VERSION_FLOOR.format(project_id=project_id)
    ws.store.conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
        "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        [key, str(version)],
    )


def running_service(ws: Workspace, project: Project) -> str | None:
    """A prediction service of the project that recorded its start and not its stop, unless the
    process it names (when its event names one) is gone."""
    import json

    last = ws.store.one(
        "SELECT id, at, action, details FROM events WHERE project_id = ? AND stage = 'deployment' "
        "AND action IN ('serve start', 'serve stop') ORDER BY id DESC LIMIT 1",
        [project.id],
    )
    if last is None or last["action"] != "serve start":
        return None
    details = json.loads(last["details"] or "{}")
    pid, started = details.get("pid"), details.get("pid_started")
    where = f" on {details['address']}" if details.get("address") else ""
    if isinstance(pid, int):
        if not same_process(pid, started if isinstance(started, int) else None):
            return None
        return (
            f"its prediction service{where} (pid {pid}, started at {last['at']}) is running: stop it "
            f"first (Ctrl-C where it runs, or `kill {pid}`)"
        )
    return (
        f"its prediction service{where} started at {last['at']} (event {last['id']}) has not recorded "
        f"its stop: stop it first (one that was killed records its stop once `cockpit serve --project "
        f"{project.name}` is started and stopped again)"
    )


def _need_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise CockpitError("deleting takes a reason (--reason TEXT): it is kept in the audit log")


def _refuse(what: str, blockers: list[str]) -> None:
    if blockers:
        raise DeletionRefused(f"cannot delete {what}: " + "; ".join(blockers) + ". Nothing was deleted.")


def _delete(
    ws: Workspace,
    project_id: int | None,
    what: str,
    table: str,
    where: str,
    params: list[Any],
    dry_run: bool,
    event: tuple[str, str],
    details: dict[str, Any],
    settings: tuple[str, ...] = (),
    before: Callable[[], None] | None = None,
) -> Deletion:
    counts: Counter[str] = Counter()
    freed: set[str] = set()
    removed: dict[str, int] = {}
    garbage: list[gc.Garbage] = []
    event_id = None
    try:
        with ws.store.transaction():
            if before is not None:
                before()
            _remove(ws, _foreign_keys(ws), table, where, params, counts, freed)
            faults.point("delete:after_rows")
            for key in settings:
                ws.store.conn.execute("DELETE FROM settings WHERE key = ?", [key])
            # the artifacts no row names any more lose their rows in this same transaction
            garbage = gc.forget_unreferenced(ws, freed)
            removed = {name: n for name, n in sorted(counts.items()) if n}
            event_id = ws.record(event[0], event[1], project_id, {**details, "removed": removed})
            if dry_run:
                raise _DryRun
    except _DryRun:
        planned = gc.Collection(tuple(garbage), dry_run=True)
        return Deletion(what, removed, True, None, planned, tuple(sorted(freed)))
    faults.point("delete:after_commit")
    collected = gc.remove_files(ws, garbage)  # after the commit: a crash before leaves files gc removes
    return Deletion(what, removed, False, event_id, collected, tuple(sorted(freed)))


def _foreign_keys(ws: Workspace) -> dict[str, list[tuple[str, str, str]]]:
    """For each table, the (table, column, its column) of every foreign key that names it."""
    graph: dict[str, list[tuple[str, str, str]]] = {}
    tables = ws.store.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    for row in tables:
        for fk in ws.store.rows(f'PRAGMA foreign_key_list("{row["name"]}")'):
            graph.setdefault(fk["table"], []).append((row["name"], fk["from"], fk["to"] or "id"))
    return graph


def _remove(
    ws: Workspace,
    graph: dict[str, list[tuple[str, str, str]]],
    table: str,
    where: str,
    params: list[Any],
    counts: Counter[str],
    freed: set[str],
) -> None:
    """Delete the rows of `table` matching `where`, the rows that refer to them first. A table's
    reference to itself (a version's parent) is deleted in the same statement."""
    for child, column, parent_column in graph.get(table, []):
        if child != table:
            inner = f'"{column}" IN (SELECT "{parent_column}" FROM "{table}" WHERE {where})'
            _remove(ws, graph, child, inner, params, counts, freed)
    for ref_table, ref_column in gc.REFERENCES:
        if ref_table == table:
            rows = ws.store.conn.execute(f'SELECT "{ref_column}" FROM "{table}" WHERE {where}', params)
            freed.update(r[0] for r in rows if r[0])
    counts[table] += ws.store.conn.execute(f'DELETE FROM "{table}" WHERE {where}', params).rowcount
