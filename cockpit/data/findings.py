"""A split's finding (a leakage check's result) and the id a person names it by when accepting it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def make_finding(
    check: str,
    severity: str,
    message: str,
    column: str | None = None,
    value: float | None = None,
    evidence: list[str] | None = None,
) -> dict:
    finding: dict[str, Any] = {
        "check": check,
        "severity": severity,
        "column": column,
        "message": message,
        "value": value,
    }
    if evidence:
        finding["evidence"] = evidence
    finding["id"] = finding_id(finding)
    return finding


def finding_id(finding: dict) -> str:
    """How a person names a finding: `check:column`, or the check alone."""
    column = finding.get("column")
    return f"{finding['check']}:{column}" if column else finding["check"]


@dataclass(frozen=True, slots=True)
class Finding:
    """A stored finding as a split shows it, with who accepted it if someone did."""

    id: str
    check: str
    severity: str  # ok, info, warning or error
    message: str
    column: str | None = None
    value: float | None = None
    evidence: list[str] = field(default_factory=list)
    accepted_by: str | None = None  # set when an acceptance covers the finding

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Finding:
        accepted = entry.get("accepted")
        return cls(
            id=entry.get("id") or finding_id(entry),
            check=entry["check"],
            severity=entry["severity"],
            message=entry["message"],
            column=entry.get("column"),
            value=entry.get("value"),
            evidence=list(entry.get("evidence") or []),
            accepted_by=accepted["accepted_by"] if accepted else None,
        )
