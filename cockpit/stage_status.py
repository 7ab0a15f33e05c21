"""Status functions for the stages built so far (plain SQL, no heavy imports)."""

from __future__ import annotations

import json

from cockpit.lifecycle import STAGE_BY_KEY, STAGES, STATUS_FUNCTIONS, StageState, Status, status_function
from storage import Store


@status_function("problem")
def problem_status(store: Store, project_id: int) -> StageState:
    from cockpit.problem import ProblemSpec
    from cockpit.problem.grader import grade

    stage = STAGE_BY_KEY["problem"]
    row = store.one(
        "SELECT version, spec FROM problem_specs WHERE project_id = ? ORDER BY version DESC LIMIT 1",
        [project_id],
    )
    if row is None:
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no spec yet",
            "write the problem spec: press 1, or cockpit problem set --file spec.toml",
        )
    spec = ProblemSpec(**json.loads(row["spec"]))
    result = grade(spec)
    detail = f"spec v{row['version']} · {result.score}% ready"
    if spec.metric_goal():
        detail += f" · {spec.metric_goal()}"
    if result.score < 80:
        fields = ", ".join(f.field for f in result.problems[:3])
        return StageState(stage, Status.ATTENTION, detail, f"fix the spec: {fields}")
    return StageState(stage, Status.DONE, detail)


@status_function("data")
def data_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["data"]
    version = store.one(
        "SELECT id, rows FROM dataset_versions WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project_id]
    )
    if version is None:
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no data yet",
            "import data: press 2 then i, or cockpit data import FILE",
        )
    report = store.one(
        "SELECT errors, warnings FROM validations WHERE version_id = ? ORDER BY id DESC LIMIT 1",
        [version["id"]],
    )
    detail = f"v{version['id']} {version['rows']:,} rows"
    if report is None:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{detail} · not validated",
            "validate the data: press 2 then v, or cockpit data validate",
        )
    if report["errors"]:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{detail} · {report['errors']} errors",
            "fix the validation errors with a cleaning recipe (2, Recipe tab)",
        )
    split = store.one(
        "SELECT id, strategy, leaks FROM splits WHERE version_id = ? ORDER BY id DESC LIMIT 1",
        [version["id"]],
    )
    warned = f" · {report['warnings']} warnings" if report["warnings"] else " · valid"
    if split is None:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            detail + warned,
            "split the data: press 2 then s, or cockpit data split",
        )
    if split["leaks"]:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{detail} · split {split['id']} leaks",
            "fix the leak the split found (2, Splits tab)",
        )
    return StageState(stage, Status.DONE, f"{detail} · {split['strategy']}{warned}")


@status_function("features")
def features_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["features"]
    spec = store.one(
        "SELECT version, spec FROM feature_specs WHERE project_id = ? ORDER BY version DESC LIMIT 1",
        [project_id],
    )
    if spec is None:
        has_data = store.scalar("SELECT 1 FROM dataset_versions WHERE project_id = ?", [project_id])
        if not has_data:
            return StageState(stage, Status.NOT_STARTED, "no data yet")
        return StageState(
            stage,
            Status.IN_PROGRESS,
            "defaults inferred from the profile",
            "review the feature spec: press 3 (saved by the first run)",
        )
    columns = json.loads(spec["spec"])
    used = sum(c["role"] == "feature" for c in columns)
    entity = next((c["column"] for c in columns if c["role"] == "id"), "no entity id")
    return StageState(stage, Status.DONE, f"spec v{spec['version']} · {used} features · {entity}")


@status_function("experiments")
def experiments_status(store: Store, project_id: int) -> StageState:
    """Indexed queries only: the overview paints fast with 100,000 runs."""
    from cockpit.evaluation.metrics import LOWER_IS_BETTER
    from storage.migrations import RUN_METRICS

    stage = STAGE_BY_KEY["experiments"]
    runs = store.scalar("SELECT count(*) FROM runs WHERE project_id = ?", [project_id])
    if not runs:
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no runs yet",
            "train a baseline: press 4 then n, or cockpit train --model dummy",
        )
    running = store.scalar(
        "SELECT count(*) FROM runs WHERE project_id = ? AND status = 'running'", [project_id]
    )
    metric = store.scalar(
        "SELECT metric FROM runs WHERE project_id = ? AND metric IS NOT NULL ORDER BY id DESC LIMIT 1",
        [project_id],
    )
    detail = f"{runs:,} runs" + (f" ({running} running)" if running else "")
    if metric in RUN_METRICS:
        order = "ASC" if metric in LOWER_IS_BETTER else "DESC"
        best = store.scalar(
            f"SELECT m_{metric} FROM runs WHERE project_id = ? AND "
            f"m_{metric} IS NOT NULL ORDER BY m_{metric} {order} LIMIT 1",
            [project_id],
        )
        if best is not None:
            detail += f" · best {metric} {best:.3f}"
    real = store.scalar(
        "SELECT EXISTS (SELECT 1 FROM runs WHERE project_id = ? AND family != "
        "'dummy' AND status = 'finished')",
        [project_id],
    )
    if not real:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            detail,
            "train a real model: press 4 then n, or cockpit train --model ...",
        )
    return StageState(stage, Status.DONE, detail)


@status_function("evaluation")
def evaluation_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["evaluation"]
    gate = store.one(
        "SELECT run_id, passed, rules FROM gates WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project_id]
    )
    if gate is None:
        evaluated = store.scalar("SELECT count(*) FROM evaluations WHERE project_id = ?", [project_id])
        if evaluated:
            return StageState(
                stage,
                Status.IN_PROGRESS,
                f"{evaluated} evaluations, no gate yet",
                "run the gate on the best run: press 5 then v, or cockpit gate RUN",
            )
        has_runs = store.scalar(
            "SELECT 1 FROM runs WHERE project_id = ? AND status = 'finished'", [project_id]
        )
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no evaluation yet",
            "evaluate the best run: press 5 then v, or cockpit gate RUN" if has_runs else "",
        )
    if gate["passed"]:
        return StageState(stage, Status.DONE, f"run {gate['run_id']} passes the gate")
    failed = [r["name"] for r in json.loads(gate["rules"]) if not r["passed"]]
    return StageState(
        stage,
        Status.ATTENTION,
        f"run {gate['run_id']} fails: {', '.join(failed)}",
        "improve the model or the spec, then gate again (5)",
    )


@status_function("deployment")
def deployment_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["deployment"]
    versions = store.scalar("SELECT count(*) FROM model_versions WHERE project_id = ?", [project_id])
    if not versions:
        return StageState(
            stage, Status.NOT_STARTED, "no model registered", "register the best run: cockpit register RUN"
        )
    aliases = {
        r["alias"]: r
        for r in store.rows(
            "SELECT a.alias, a.percent, v.version FROM aliases a JOIN model_versions v ON "
            "v.id = a.version_id WHERE a.project_id = ?",
            [project_id],
        )
    }
    if "production" not in aliases:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{versions} versions, none in production",
            "deploy: press 6, or cockpit deploy V --strategy blue-green",
        )
    detail = f"v{aliases['production']['version']} in production"
    if "canary" in aliases:
        detail += f" · canary v{aliases['canary']['version']} {aliases['canary']['percent']:g}%"
    if "shadow" in aliases:
        detail += f" · shadow v{aliases['shadow']['version']}"
    if not store.scalar("SELECT 1 FROM fallbacks WHERE project_id = ?", [project_id]):
        return StageState(
            stage,
            Status.IN_PROGRESS,
            detail,
            "set a fallback rule: cockpit fallback set 'COLUMN > X -> A else B'",
        )
    return StageState(stage, Status.DONE, detail)


@status_function("monitoring")
def monitoring_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["monitoring"]
    batches = store.scalar("SELECT count(*) FROM batches WHERE project_id = ?", [project_id])
    if not batches:
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no production batches",
            "score production data: cockpit predict FILE -o OUT, or monitor ingest",
        )
    windows = store.scalar("SELECT count(*) FROM monitor_windows WHERE project_id = ?", [project_id])
    if not windows:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{batches} batches, not checked",
            "check drift and decay: press 7, or cockpit monitor check",
        )
    firing = store.rows(
        "SELECT a.id, r.metric FROM alerts a JOIN alert_rules r ON r.id = "
        "a.rule_id WHERE a.project_id = ? AND a.status != 'resolved'",
        [project_id],
    )
    if firing:
        names = ", ".join(sorted({f["metric"] for f in firing}))
        return StageState(
            stage,
            Status.ATTENTION,
            f"{len(firing)} alerts: {names}",
            "act on the alerts: press 7 (retrain, roll back, or acknowledge)",
        )
    return StageState(stage, Status.DONE, f"{windows} windows watched, no alert")


@status_function("retrain")
def retrain_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["retrain"]
    last = store.one(
        "SELECT decision, window FROM retrains WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project_id]
    )
    firing = store.scalar(
        "SELECT count(*) FROM alerts WHERE project_id = ? AND status != 'resolved'", [project_id]
    )
    if last is None:
        if not store.scalar("SELECT 1 FROM model_versions WHERE project_id = ?", [project_id]):
            return StageState(stage, Status.NOT_STARTED, "nothing deployed to replace yet")
        return StageState(
            stage,
            Status.ATTENTION if firing else Status.IN_PROGRESS,
            "no retrain yet",
            "retrain: press 8 then R, or cockpit retrain",
        )
    return StageState(stage, Status.DONE, f"last retrain on {last['window']}: {last['decision']}")


@status_function("review")
def review_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["review"]
    production = store.one(
        "SELECT v.id, v.version FROM aliases a JOIN model_versions v ON "
        "v.id = a.version_id WHERE a.project_id = ? AND a.alias = 'production'",
        [project_id],
    )
    if production is None:
        return StageState(stage, Status.NOT_STARTED, "nothing in production to review")
    signed = {
        r["step"]: r["decision"]
        for r in store.rows(
            "SELECT step, decision FROM signoffs WHERE version_id = ? ORDER BY id", [production["id"]]
        )
    }
    if "block" in signed.values():
        return StageState(
            stage,
            Status.ATTENTION,
            f"v{production['version']} blocked in review",
            "resolve the blocked step (9)",
        )
    if len(signed) < 5:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"v{production['version']}: {len(signed)}/5 steps signed",
            "sign off the review: press 9, or cockpit review sign",
        )
    return StageState(stage, Status.DONE, f"v{production['version']} signed off")


def stage_states(store: Store, project_id: int) -> list[StageState]:
    """Every stage's status for a project, in lifecycle order (a stage without a function has not started)."""
    states = []
    for stage in STAGES:
        fn = STATUS_FUNCTIONS.get(stage.key)
        states.append(fn(store, project_id) if fn else StageState(stage, Status.NOT_STARTED))
    return states
