"""Stage 8's triggers: when a retrain is due (schedule, a firing alert, new labels,
human feedback) and the settings that decide it."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock


@dataclass(frozen=True, slots=True)
class Triggers:
    """When a retrain is due (every `schedule_days`, while an alert fires, after
    `new_labels` labelled rows; 0 turns one off) and how a winner starts."""

    schedule_days: float = 30.0
    on_alert: int = 1
    new_labels: int = 1000
    strategy: str = "canary"  # or shadow
    canary_percent: float = 10.0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SETTINGS}


SETTINGS = tuple(f.name for f in fields(Triggers))


def triggers(ws: Workspace, project: Project) -> Triggers:
    row = ws.store.one("SELECT * FROM retrain_triggers WHERE project_id = ?", [project.id])
    return Triggers(**{k: v for k, v in row.items() if k in SETTINGS}) if row else Triggers()


def set_triggers(ws: Workspace, project: Project, **changes: Any) -> Triggers:
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise CockpitError(f"unknown trigger setting(s): {', '.join(sorted(unknown))}")
    if changes.get("strategy") not in (None, "canary", "shadow"):
        raise CockpitError("strategy is canary or shadow")
    merged = replace(triggers(ws, project), **{k: v for k, v in changes.items() if v is not None})
    with ws.store.transaction():
        ws.store.conn.execute("DELETE FROM retrain_triggers WHERE project_id = ?", [project.id])
        ws.store.insert(
            "retrain_triggers",
            {
                "project_id": project.id,
                **merged.as_dict(),
                "updated_at": clock.now_iso(),
                "updated_by": current_user(),
            },
        )
        ws.record("retrain", "triggers set", project.id, merged.as_dict())
    return merged


def add_feedback(ws: Workspace, project: Project, verdict: str, comment: str) -> int:
    """A verdict from the people who act on predictions; 'not-useful' triggers a retrain
    and proposes retirement."""
    if verdict not in ("useful", "not-useful"):
        raise CockpitError("the verdict is useful or not-useful")
    with ws.store.transaction():
        feedback_id = ws.store.insert(
            "feedback",
            {
                "project_id": project.id,
                "verdict": verdict,
                "comment": comment,
                "user": current_user(),
                "at": clock.now_iso(),
            },
        )
        ws.record("retrain", "feedback", project.id, {"verdict": verdict, "comment": comment})
    return feedback_id


def due(ws: Workspace, project: Project, now: str | None = None) -> list[str]:
    """Why a retrain is due now: schedule, a firing alert, new labels, human feedback."""
    settings = triggers(ws, project)
    reasons = []
    last = ws.store.scalar(
        "SELECT max(created_at) FROM retrains WHERE project_id = ?", [project.id]
    ) or ws.store.scalar("SELECT min(created_at) FROM model_versions WHERE project_id = ?", [project.id])
    moment = datetime.fromisoformat((now or clock.now_iso())[:19])
    if last and settings.schedule_days:
        age = (moment - datetime.fromisoformat(last[:19])).days
        if age >= settings.schedule_days:
            reasons.append(f"schedule: {age} days since the last training")
    if settings.on_alert:  # not the retrain's own alerts: retraining on the same data again
        firing = ws.store.rows(  # would only register the same challenger again
            "SELECT r.metric FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE "
            "a.project_id = ? AND a.status != 'resolved' AND r.metric != 'retrain'",
            [project.id],
        )
        if firing:
            reasons.append("alert: " + ", ".join(sorted({f["metric"] for f in firing})))
    labelled = (
        ws.store.scalar(
            "SELECT count(*) FROM labels WHERE project_id = ? AND labelled_at >= ?", [project.id, last or ""]
        )
        or 0
    )
    if settings.new_labels and labelled >= settings.new_labels:
        reasons.append(f"data: {labelled} new labelled rows")
    unhappy = ws.store.scalar(
        "SELECT count(*) FROM feedback WHERE project_id = ? AND verdict = 'not-useful' AND at >= ?",
        [project.id, last or ""],
    )
    if unhappy:
        reasons.append(f"feedback: {unhappy} 'not useful' verdict(s) (consider retiring)")
    return reasons
