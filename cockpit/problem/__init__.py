"""Stage 1: the problem spec — what is predicted, for whom, judged how.

A spec is versioned: every change is a new version, history is kept and
diffable, and later stages read the current version (metric and target, mistake
costs, segments, latency budget, human path). The spec's fields live in `spec`,
its grading in `grader`; this module keeps the versions.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError
from cockpit.problem.grader import grade
from cockpit.problem.spec import (
    FIELD_TYPES,
    LOWER_IS_BETTER,
    METRICS,
    MISTAKES,
    USAGES,
    ProblemSpec,
    check_choices,
    load_spec_file,
    spec_from_mapping,
)
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock, faults

__all__ = [
    "FIELD_TYPES",
    "LOWER_IS_BETTER",
    "METRICS",
    "MISTAKES",
    "USAGES",
    "ProblemSpec",
    "SpecVersion",
    "current",
    "current_spec",
    "diff",
    "history",
    "load_spec_file",
    "save_spec",
    "spec_from_mapping",
]


# -- versions ------------------------------------------------------------------


@dataclass(frozen=True)
class SpecVersion:
    version: int
    spec: ProblemSpec
    score: int
    created_at: str
    created_by: str
    comment: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "score": self.score,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "comment": self.comment,
            "spec": self.spec.as_dict(),
        }


def _version_from_row(row: dict) -> SpecVersion:
    return SpecVersion(
        row["version"],
        ProblemSpec(**json.loads(row["spec"])),
        row["score"],
        row["created_at"],
        row["created_by"],
        row["comment"] or "",
    )


def history(ws: Workspace, project: Project) -> list[SpecVersion]:
    rows = ws.store.rows("SELECT * FROM problem_specs WHERE project_id = ? ORDER BY version", [project.id])
    return [_version_from_row(r) for r in rows]


def current(ws: Workspace, project: Project) -> SpecVersion | None:
    row = ws.store.one(
        "SELECT * FROM problem_specs WHERE project_id = ? ORDER BY version DESC LIMIT 1", [project.id]
    )
    return _version_from_row(row) if row else None


def current_spec(ws: Workspace, project: Project) -> ProblemSpec:
    """The spec later stages read: the current version, or the project's bare facts."""
    found = current(ws, project)
    return found.spec if found else ProblemSpec(task=project.task, target=project.target)


def save_spec(ws: Workspace, project: Project, spec: ProblemSpec, comment: str = "") -> SpecVersion | None:
    """Store `spec` as the next version. Returns None when nothing changed."""
    from cockpit.audit import current_user

    spec = ProblemSpec(
        **{**spec.as_dict(), "task": spec.task or project.task, "target": spec.target or project.target}
    )
    if spec.task != project.task:
        raise CockpitError(
            f"project {project.name!r} predicts a {project.task} target; a "
            f"{spec.task} problem needs its own project (cockpit project new)"
        )
    if spec.target != project.target:
        raise CockpitError(
            f"project {project.name!r} predicts {project.target!r}; its data, splits, features "
            f"and runs are built around it. To predict {spec.target!r}, make a new project: "
            f"cockpit project new NAME --task {project.task} --target {shlex.quote(spec.target)}"
        )
    check_choices(spec, "spec")
    latest = current(ws, project)
    if latest and latest.spec == spec:
        return None
    version = (latest.version if latest else 0) + 1
    score = grade(spec).score
    with ws.store.transaction():
        ws.store.insert(
            "problem_specs",
            {
                "project_id": project.id,
                "version": version,
                "spec": spec.as_dict(),
                "score": score,
                "created_at": clock.now_iso(),
                "created_by": current_user(),
                "comment": comment,
            },
        )
        faults.point("problem.set:after_insert")
        changed = diff(latest.spec if latest else ProblemSpec(), spec)
        ws.record(
            "problem", "set", project.id, {"version": version, "score": score, "changed": ", ".join(changed)}
        )
    result = current(ws, project)
    assert result is not None
    return result


def diff(old: ProblemSpec, new: ProblemSpec) -> dict[str, tuple[Any, Any]]:
    """Field -> (old, new) for every field that differs."""
    a, b = old.as_dict(), new.as_dict()
    return {name: (a[name], b[name]) for name in a if a[name] != b[name]}
