"""The rule-based fallback (used when the model cannot answer) and per-entity human overrides."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

RULE = re.compile(r"^\s*(\w+)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*->\s*(\S+)\s+else\s+(\S+)\s*$")
CONSTANT = re.compile(r"^\s*constant\s+(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class Fallback:
    """The project's fallback: the parsed rule `apply_fallback` reads, and who set it."""

    rule: dict[str, Any]  # kind (rule or constant), text, and the rule's column, op, value...
    updated_at: str
    updated_by: str

    @property
    def text(self) -> str:
        return self.rule["text"]

    @property
    def column(self) -> str | None:
        """The input column a rule reads; None for a constant."""
        return self.rule.get("column") if self.rule["kind"] == "rule" else None

    def as_dict(self) -> dict[str, Any]:
        """As `cockpit fallback show --json` prints it."""
        return {**self.rule, "updated_at": self.updated_at, "updated_by": self.updated_by}


@dataclass(frozen=True, slots=True)
class Override:
    """A person's answer for one entity, given instead of the model's until removed or expired."""

    id: int
    project_id: int
    entity: str
    prediction: str
    reason: str
    created_by: str | None
    created_at: str
    expires_at: str | None
    removed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text.strip("'\"")


def parse_fallback(text: str) -> dict[str, Any]:
    """'days_since_last_activity > 14 -> 1 else 0' or 'constant 0'."""
    match = CONSTANT.match(text)
    if match:
        rule = {"kind": "constant", "value": _value(match.group(1)), "text": text.strip()}
        _check_finite(rule, text)
        return rule
    match = RULE.match(text)
    if not match:
        raise CockpitError(f"fallback {text!r}: write 'COLUMN > VALUE -> A else B' or 'constant A'")
    column, op, value, then, otherwise = match.groups()
    rule = {
        "kind": "rule",
        "column": column,
        "op": op,
        "value": _value(value),
        "then": _value(then),
        "else": _value(otherwise),
        "text": text.strip(),
    }
    _check_finite(rule, text)
    return rule


def _check_finite(rule: dict[str, Any], text: str) -> None:
    """nan compares false with everything and inf is no answer: neither makes a rule."""
    import math

    for key in ("value", "then", "else"):
        if isinstance(rule.get(key), float) and not math.isfinite(rule[key]):
            raise CockpitError(f"fallback {text!r}: {rule[key]} is not a finite number")


def apply_fallback(rule: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    import numpy as np

    if rule["kind"] == "constant":
        return np.full(len(frame), rule["value"], dtype=object)
    if rule["column"] not in frame.columns:
        raise CockpitError(f"the fallback rule needs column {rule['column']!r}, not in the input")
    values = frame[rule["column"]]
    ops = {">": values.gt, ">=": values.ge, "<": values.lt, "<=": values.le, "==": values.eq, "!=": values.ne}
    hit = ops[rule["op"]](rule["value"]).fillna(False).to_numpy()
    return np.where(hit, rule["then"], rule["else"]).astype(object)


def set_fallback(ws: Workspace, project: Project, text: str) -> dict[str, Any]:
    rule = parse_fallback(text)
    with ws.store.transaction():
        ws.store.conn.execute(
            "INSERT INTO fallbacks (project_id, rule, updated_at, updated_by) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (project_id) DO UPDATE SET rule = excluded.rule, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [project.id, ws.store.redact(json.dumps(rule)), clock.now_iso(), current_user()],
        )
        ws.record("deployment", "fallback set", project.id, {"rule": rule["text"]})
    return rule


def get_fallback(ws: Workspace, project: Project) -> Fallback | None:
    row = ws.store.one(
        "SELECT rule, updated_at, updated_by FROM fallbacks WHERE project_id = ?", [project.id]
    )
    if row is None:
        return None
    return Fallback(json.loads(row["rule"]), row["updated_at"], row["updated_by"])


def add_override(
    ws: Workspace, project: Project, entity: str, prediction: str, reason: str, expires_at: str | None = None
) -> int:
    if not reason.strip():
        raise CockpitError("an override needs a reason (--reason): who asked for it, and why")
    if expires_at is not None and expires_at[:19] <= clock.now_iso()[:19]:
        raise CockpitError(
            f"--expires {expires_at}: that moment has passed; an override "
            "expires in the future (or give no --expires)"
        )
    if project.task == "regression" and not _is_finite_number(prediction):
        raise CockpitError(
            f"override {prediction!r}: project {project.name!r} predicts a number; give a finite number"
        )
    with ws.store.transaction():
        ws.store.conn.execute(
            "UPDATE overrides SET removed_at = ? WHERE project_id = ? AND entity = ? AND removed_at IS NULL",
            [clock.now_iso(), project.id, entity],
        )
        override_id = ws.store.insert(
            "overrides",
            {
                "project_id": project.id,
                "entity": str(entity),
                "prediction": str(prediction),
                "reason": reason,
                "created_by": current_user(),
                "created_at": clock.now_iso(),
                "expires_at": expires_at,
            },
        )
        ws.record(
            "deployment",
            "override add",
            project.id,
            {"override": override_id, "entity": entity, "prediction": prediction, "reason": reason},
        )
    return override_id


def _is_finite_number(text: str) -> bool:
    import math

    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def active_overrides(ws: Workspace, project: Project) -> dict[str, Override]:
    """The overrides in force now, by entity."""
    rows = ws.store.rows(
        "SELECT * FROM overrides WHERE project_id = ? AND removed_at IS NULL AND "
        "(expires_at IS NULL OR expires_at > ?) ORDER BY id",
        [project.id, clock.now_iso()],
    )
    return {r["entity"]: Override(**r) for r in rows}


def remove_override(ws: Workspace, project: Project, override_id: int) -> None:
    row = ws.store.one(
        "SELECT id FROM overrides WHERE id = ? AND project_id = ? AND removed_at IS NULL",
        [override_id, project.id],
    )
    if row is None:
        raise CockpitError(f"no active override {override_id}")
    with ws.store.transaction():
        ws.store.update("overrides", {"id": override_id}, {"removed_at": clock.now_iso()})
        ws.record("deployment", "override remove", project.id, {"override": override_id})
