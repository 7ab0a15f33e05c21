"""Status functions for the stages built so far (plain SQL, no heavy imports)."""

from __future__ import annotations

import json

from cockpit.lifecycle import STAGE_BY_KEY, StageState, Status, status_function
from storage import Store


@status_function("problem")
def problem_status(store: Store, project_id: int) -> StageState:
    from cockpit.grader import grade
    from cockpit.problem import ProblemSpec

    stage = STAGE_BY_KEY["problem"]
    row = store.one("SELECT version, spec FROM problem_specs WHERE project_id = ? "
                    "ORDER BY version DESC LIMIT 1", [project_id])
    if row is None:
        return StageState(stage, Status.NOT_STARTED, "no spec yet",
                          "write the problem spec: press 1, or cockpit problem set --file spec.toml")
    spec = ProblemSpec(**json.loads(row["spec"]))
    result = grade(spec)
    detail = f"spec v{row['version']} · {result.score}% ready"
    if spec.metric_goal():
        detail += f" · {spec.metric_goal()}"
    if result.score < 80:
        fields = ", ".join(f.field for f in result.problems[:3])
        return StageState(stage, Status.ATTENTION, detail, f"fix the spec: {fields}")
    return StageState(stage, Status.DONE, detail)
