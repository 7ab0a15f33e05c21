"""Alerts reach people: a rule's webhook is posted Slack-compatible JSON (`{"text": ...}`) once
when one of its alerts fires and once when it resolves.

A post is queued (a `notifications` row) in the very transaction that records the alert, and
sent after the commit, so a slow or dead endpoint never holds the store's write lock and a
crash between the two leaves the post queued for the next check. Each post is tried
ATTEMPTS times (a timeout, a connection error, HTTP 429 or 5xx is retried after a growing
pause; any other HTTP error is final) and its outcome is recorded on its row: delivered, or
failed with the last error. A failure is reported, never raised: the alert is recorded either
way.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

ATTEMPTS = 4  # the first post and three retries
BACKOFF_S = 0.5  # the pause before the first retry; doubled before each next one
TIMEOUT_S = 5.0  # per attempt: connecting and reading the answer
EVENTS = ("fired", "resolved")
STALE_CLAIM = timedelta(minutes=10)  # far longer than ATTEMPTS posts with their timeouts and pauses


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one post: delivered or not, after how many attempts, the last error."""

    notification_id: int
    alert_id: int
    event: str
    url: str
    delivered: bool
    attempts: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "notification": self.notification_id,
            "alert": self.alert_id,
            "event": self.event,
            "url": self.url,
            "delivered": self.delivered,
            "attempts": self.attempts,
            "error": self.error,
        }


def check_url(url: str) -> str:
    """A webhook must be an http(s) URL with a host; anything else is refused before a rule
    is stored."""
    parts = urlsplit(url.strip())
    try:
        _ = parts.port  # urllib checks the port only when it is read
    except ValueError:
        parts = parts._replace(netloc="")  # out of range or not a number: refused below
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CockpitError(f"--notify {url!r}: a webhook is an http:// or https:// URL with a host")
    return url.strip()


def queue(ws: Workspace, project_id: int, alert_id: int, event: str, url: str, text: str) -> None:
    """Record a post to send after the commit; call inside the alert's transaction. Once per
    alert and event: a second queue of the same is ignored."""
    assert event in EVENTS
    ws.store.conn.execute(
        "INSERT OR IGNORE INTO notifications (project_id, alert_id, event, url, text, status, queued_at) "
        "VALUES (?, ?, ?, ?, ?, 'pending', ?)",
        [project_id, alert_id, event, url, text, clock.now_iso()],
    )


def deliver_pending(ws: Workspace, project: Project) -> list[Delivery]:
    """Send the project's queued posts, oldest first, each claimed first (so two checks at
    once never post one twice), and record each outcome. A post claimed by a check that died
    while sending (claimed longer ago than STALE_CLAIM) is sent again: a warning twice rather
    than never."""
    if ws.store.conn.in_transaction:  # called inside a caller's transaction: posts wait for a check outside
        return []
    done = []
    stale = (clock.now() - STALE_CLAIM).isoformat(timespec="seconds")
    with ws.store.transaction():
        ws.store.conn.execute(
            "UPDATE notifications SET status = 'pending' WHERE project_id = ? AND status = 'sending' "
            "AND sent_at < ?",
            [project.id, stale],
        )
    pending = ws.store.rows(
        "SELECT id, alert_id, event, url, text FROM notifications WHERE project_id = ? "
        "AND status = 'pending' ORDER BY id",
        [project.id],
    )
    for row in pending:
        with ws.store.transaction():
            claimed = ws.store.conn.execute(
                "UPDATE notifications SET status = 'sending', sent_at = ? "
                "WHERE id = ? AND status = 'pending'",
                [clock.now_iso(), row["id"]],
            ).rowcount
        if not claimed:
            continue
        attempts, error = post(row["url"], {"text": row["text"]})
        with ws.store.transaction():
            ws.store.update(
                "notifications",
                {"id": row["id"]},
                {
                    "status": "failed" if error else "delivered",
                    "attempts": attempts,
                    "error": error,
                    "sent_at": clock.now_iso(),
                },
            )
        done.append(
            Delivery(row["id"], row["alert_id"], row["event"], row["url"], not error, attempts, error)
        )
    return done


def post(url: str, payload: dict[str, Any]) -> tuple[int, str | None]:
    """POST `payload` as JSON: (attempts made, None when delivered else the last error)."""
    body = json.dumps(payload).encode()
    error: str | None = None
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > 1:
            time.sleep(BACKOFF_S * 2 ** (attempt - 2))
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                answer.read()
            return attempt, None
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                return attempt, error  # the endpoint refuses this post: trying again will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{type(reason).__name__}: {reason}"
    return ATTEMPTS, error


def fired_text(project: Project, alert_id: int, severity: str, message: str) -> str:
    return f"[{severity}] {project.name}: alert {alert_id} fired: {message}"


def resolved_text(project: Project, alert_id: int, severity: str, condition: str, fired_at: str) -> str:
    return (
        f"[{severity}] {project.name}: alert {alert_id} resolved: {condition} no longer holds "
        f"(fired {fired_at})"
    )


def shown(url: str) -> str:
    """A webhook as printed: scheme and host only (a Slack webhook's path is its secret)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname  # IPv6
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/…"
