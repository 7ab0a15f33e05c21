"""A split's finding (a leakage check's result) and the id a person names it by when accepting it."""

from __future__ import annotations

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
