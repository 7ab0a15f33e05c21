"""Status functions for the stages built so far (plain SQL, no heavy imports). What a stage
asks for next is a NextAction: words and CLI command lines; the screens say which key."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from cockpit.lifecycle import (
    STAGE_BY_KEY,
    STAGES,
    STATUS_FUNCTIONS,
    NextAction,
    StageState,
    Status,
    status_function,
)
from storage import Store

if TYPE_CHECKING:
    from cockpit.workspace import Workspace


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
            NextAction("write the problem spec", commands=("cockpit problem set --file spec.toml",)),
        )
    spec = ProblemSpec(**json.loads(row["spec"]))
    result = grade(spec)
    detail = f"spec v{row['version']} · {result.score}% ready"
    if spec.metric_goal():
        detail += f" · {spec.metric_goal()}"
    if result.score < 80:
        fields = ", ".join(f.field for f in result.problems[:3])
        return StageState(stage, Status.ATTENTION, detail, NextAction(f"fix the spec: {fields}"))
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
            NextAction("import data", "import", ("cockpit data import FILE",)),
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
            NextAction("validate the data", "validate", ("cockpit data validate",)),
        )
    if report["errors"]:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{detail} · {report['errors']} errors",
            NextAction("fix the validation errors with a cleaning recipe", tab="Recipe"),
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
            NextAction("split the data", "split", ("cockpit data split",)),
        )
    if split["leaks"]:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{detail} · split {split['id']} leaks",
            NextAction("fix the leak the split found", tab="Splits"),
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
            NextAction("review the feature spec", note="saved by the first run"),
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
            NextAction("train a baseline", "new", ("cockpit train --model dummy",)),
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
            NextAction("train a real model", "new", ("cockpit train --model ...",)),
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
                NextAction("run the gate on the best run", "evaluate", ("cockpit gate RUN",)),
            )
        has_runs = store.scalar(
            "SELECT 1 FROM runs WHERE project_id = ? AND status = 'finished'", [project_id]
        )
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no evaluation yet",
            NextAction("evaluate the best run", "evaluate", ("cockpit gate RUN",)) if has_runs else None,
        )
    if gate["passed"]:
        return StageState(stage, Status.DONE, f"run {gate['run_id']} passes the gate")
    failed = [r["name"] for r in json.loads(gate["rules"]) if not r["passed"]]
    return StageState(
        stage,
        Status.ATTENTION,
        f"run {gate['run_id']} fails: {', '.join(failed)}",
        NextAction("improve the model or the spec, then gate again"),
    )


@status_function("deployment")
def deployment_status(store: Store, project_id: int) -> StageState:
    stage = STAGE_BY_KEY["deployment"]
    versions = store.scalar("SELECT count(*) FROM model_versions WHERE project_id = ?", [project_id])
    if not versions:
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no model registered",
            NextAction("register the best run", commands=("cockpit register RUN",), on_screen=False),
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
            NextAction("deploy", commands=("cockpit deploy V --strategy blue-green",)),
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
            NextAction(
                "set a fallback rule",
                commands=("cockpit fallback set 'COLUMN > X -> A else B'",),
                on_screen=False,
            ),
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
            NextAction(
                "score production data",
                commands=("cockpit predict FILE -o OUT", "cockpit monitor ingest FILE"),
                on_screen=False,
            ),
        )
    windows = store.scalar("SELECT count(*) FROM monitor_windows WHERE project_id = ?", [project_id])
    if not windows:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{batches} batches, not checked",
            NextAction("check drift and decay", commands=("cockpit monitor check",)),
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
            NextAction("act on the alerts", note="retrain, roll back, or acknowledge"),
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
            NextAction("retrain", "run", ("cockpit retrain",)),
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
            NextAction("resolve the blocked step"),
        )
    if len(signed) < 5:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"v{production['version']}: {len(signed)}/5 steps signed",
            NextAction("sign off the review", commands=("cockpit review sign",)),
        )
    return StageState(stage, Status.DONE, f"v{production['version']} signed off")


def stage_states(ws: Workspace, project_id: int) -> list[StageState]:
    """Every stage's status for a project, in lifecycle order (a stage without a function has not started)."""
    store = ws.store
    states = []
    for stage in STAGES:
        fn = STATUS_FUNCTIONS.get(stage.key)
        states.append(fn(store, project_id) if fn else StageState(stage, Status.NOT_STARTED))
    return states
