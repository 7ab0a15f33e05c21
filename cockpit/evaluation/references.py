"""Which run is the reference a new model must not be worse than."""

from __future__ import annotations

from cockpit.projects import Project
from cockpit.training.runs import Run, get_run
from cockpit.workspace import Workspace


def production_run(ws: Workspace, project: Project) -> Run | None:
    """The run behind the production model version, once the registry has one."""
    if not ws.store.table_exists("model_versions"):
        return None
    row = ws.store.one(
        "SELECT v.run_id FROM model_versions v JOIN aliases a ON a.version_id = v.id "
        "WHERE v.project_id = ? AND a.alias = 'production'",
        [project.id],
    )
    return get_run(ws, project, row["run_id"]) if row else None
