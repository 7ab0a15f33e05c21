"""Projects: one problem each. A workspace holds several."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass

from cockpit.errors import CockpitError
from cockpit.workspace import PROJECT_ENV, Workspace
from storage import clock, faults

TASKS = ("binary", "multiclass", "regression")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    task: str
    target: str
    created_at: str
    created_by: str | None

    def as_dict(self) -> dict:
        return asdict(self)


# a workspace setting: the project the cockpit showed last, which it opens on next time
LAST_SHOWN_PROJECT = "ui.last_project"


def list_projects(ws: Workspace) -> list[Project]:
    return [Project(**row) for row in ws.store.rows("SELECT * FROM projects ORDER BY name")]


def get_project(ws: Workspace, name: str) -> Project | None:
    row = ws.store.one("SELECT * FROM projects WHERE name = ?", [name])
    return Project(**row) if row else None


def create_project(ws: Workspace, name: str, task: str, target: str) -> Project:
    if not NAME_RE.match(name or ""):
        raise CockpitError(
            f"project name {name!r} is not usable: use 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    if task not in TASKS:
        raise CockpitError(f"task {task!r} is not one of {', '.join(TASKS)}")
    if not (target or "").strip():
        raise CockpitError("the target column name is empty: pass --target COLUMN")
    if get_project(ws, name):
        raise CockpitError(f"a project named {name!r} already exists in this workspace")
    from cockpit.audit import current_user

    with ws.store.transaction():
        project_id = ws.store.insert(
            "projects",
            {
                "name": name,
                "task": task,
                "target": target.strip(),
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("project.new:after_insert")
        ws.record("project", "create", project_id, {"name": name, "task": task, "target": target})
    project = get_project(ws, name)
    assert project is not None
    return project


def resolve_project(ws: Workspace, name: str | None = None) -> Project:
    """The project a command acts on: named, from COCKPIT_PROJECT, or the only one.

    With several projects and none named this refuses, listing them: a cron job
    must never act on the wrong project.
    """
    name = name or os.environ.get(PROJECT_ENV)
    projects = list_projects(ws)
    if name:
        for project in projects:
            if project.name == name:
                return project
        known = ", ".join(p.name for p in projects) or "none yet"
        raise CockpitError(f"no project named {name!r} in this workspace (projects: {known})")
    if len(projects) == 1:
        return projects[0]
    if not projects:
        raise CockpitError(
            "this workspace has no project yet; create one with "
            "`cockpit project new NAME --task binary|multiclass|regression --target COLUMN`"
        )
    names = ", ".join(p.name for p in projects)
    raise CockpitError(
        f"this workspace holds several projects ({names}); name one with --project NAME or COCKPIT_PROJECT"
    )
