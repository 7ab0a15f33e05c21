"""The audit log: every lifecycle action appends one event in its own transaction.

Each event records the OS account of the process's real uid (`os_user`, which a user
cannot set) and the name the user goes by (`user`: COCKPIT_USER when set, else the same
account). In a shared workspace COCKPIT_USER is only a claim, so the log shows both when
they differ: "alice (as bob)".
"""

from __future__ import annotations

import functools
import json
import os
import pwd
from dataclasses import dataclass
from typing import Any

from cockpit.text import short_number
from storage import Store, clock

USER_ENV = "COCKPIT_USER"


def login_user() -> str:
    """The account of the real uid (not $USER or $LOGNAME, which anyone can set)."""
    return _account(os.getuid())


@functools.lru_cache(maxsize=8)
def _account(uid: int) -> str:
    # Cached: every event asks, and a passwd lookup costs more than the event's INSERT.
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def current_user() -> str:
    """The name the user goes by: COCKPIT_USER when set, else the OS account."""
    return os.environ.get(USER_ENV) or login_user()


def who(os_user: str | None, claimed: str) -> str:
    """Who acted as the system knows it (the OS account), with the name they claimed beside
    it when it differs: "alice (as bob)". Records from before cockpit kept the account show
    the claimed name alone."""
    if not os_user or os_user == claimed:
        return claimed
    return f"{os_user} (as {claimed})"


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    user: str
    project: str | None
    stage: str
    action: str
    details: dict[str, Any]
    os_user: str | None = None  # None on events recorded before cockpit kept it

    @property
    def who(self) -> str:
        """The OS account, and the claimed name when it differs: "alice (as bob)"."""
        return who(self.os_user, self.user)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "user": self.user,
            "os_user": self.os_user,
            "who": self.who,
            "project": self.project,
            "stage": self.stage,
            "action": self.action,
            "details": self.details,
        }

    def summary(self) -> str:
        """One line for tables: the details that say what happened."""
        parts = [
            f"{k}={short_number(v)}" if isinstance(v, float) else f"{k}={v}"
            for k, v in self.details.items()
            if not isinstance(v, (dict, list))
        ]
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
            "os_user": login_user(),
            "project_id": project_id,
            "stage": stage,
            "action": action,
            "details": json.dumps(details or {}, sort_keys=True, default=str),
        },
    )


def recent_events(
    store: Store, project_id: int | None = None, limit: int = 50, text: str = ""
) -> list[Event]:
    """Newest first. `text` filters on stage, action, users or details (case-insensitive)."""
    where: list[str] = []
    params: list[Any] = []
    if project_id is not None:
        where.append("e.project_id = ?")
        params.append(project_id)
    if text:
        where.append(
            "(e.stage || ' ' || e.action || ' ' || e.user || ' ' || "
            "coalesce(e.os_user, '') || ' ' || e.details) LIKE ?"
        )
        params.append(f"%{text}%")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.rows(
        "SELECT e.id, e.at, e.user, e.os_user, p.name AS project, e.stage, e.action, e.details "
        f"FROM events e LEFT JOIN projects p ON p.id = e.project_id {clause} "
        "ORDER BY e.id DESC LIMIT ?",
        [*params, limit],
    )
    return [
        Event(
            id=r["id"],
            at=r["at"],
            user=r["user"],
            project=r["project"],
            stage=r["stage"],
            action=r["action"],
            details=json.loads(r["details"] or "{}"),
            os_user=r["os_user"],
        )
        for r in rows
    ]
