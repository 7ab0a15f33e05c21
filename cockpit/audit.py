"""The audit log: every lifecycle action appends one event in its own transaction."""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass
from typing import Any

from storage import Store, clock

USER_ENV = "COCKPIT_USER"


def current_user() -> str:
    name = os.environ.get(USER_ENV)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    user: str
    project: str | None
    stage: str
    action: str
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": self.at, "user": self.user, "project": self.project,
            "stage": self.stage, "action": self.action, "details": self.details,
        }

    def summary(self) -> str:
        """One line for tables: the details that say what happened."""
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                 for k, v in self.details.items() if not isinstance(v, (dict, list))]
        return ", ".join(parts)


def record_event(
    store: Store,
    stage: str,
    action: str,
    project_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append an event. Call it inside the action's transaction so both land together."""
    return store.insert(
        "events",
        {
            "at": clock.now_iso(),
            "user": current_user(),
            "project_id": project_id,
            "stage": stage,
            "action": action,
            "details": json.dumps(details or {}, sort_keys=True, default=str),
        },
    )


def recent_events(
    store: Store, project_id: int | None = None, limit: int = 50, text: str = ""
) -> list[Event]:
    """Newest first. `text` filters on stage, action, user or details (case-insensitive)."""
    where, params = [], []
    if project_id is not None:
        where.append("e.project_id = ?")
        params.append(project_id)
    if text:
        where.append("(e.stage || ' ' || e.action || ' ' || e.user || ' ' || e.details) LIKE ?")
        params.append(f"%{text}%")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.rows(
        "SELECT e.id, e.at, e.user, p.name AS project, e.stage, e.action, e.details "
        f"FROM events e LEFT JOIN projects p ON p.id = e.project_id {clause} "
        "ORDER BY e.id DESC LIMIT ?",
        [*params, limit],
    )
    return [
        Event(
            id=r["id"], at=r["at"], user=r["user"], project=r["project"], stage=r["stage"],
            action=r["action"], details=json.loads(r["details"] or "{}"),
        )
        for r in rows
    ]
