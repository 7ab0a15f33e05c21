"""Status functions, one per stage. Each reads its facts through the same core functions
the stage's own screen and CLI read (the spec and its grade, the newest data version and
its report, the aliases, the open alerts, the review's verdict), so the overview never
says something else than the stage. Only the runs use indexed SQL of their own: the
overview paints fast with 100,000 runs. What a stage asks for next is a NextAction: words
and CLI command lines with the ids the core knows filled in; the screens say which key."""

from __future__ import annotations

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
from cockpit.projects import Project
from cockpit.text import counted, short_number

if TYPE_CHECKING:
    from cockpit.workspace import Workspace


@status_function("problem")
def problem_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.problem import current
    from cockpit.problem.grader import grade

    stage = STAGE_BY_KEY["problem"]
    found = current(ws, project)
    if found is None:
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no spec yet",
            NextAction("write the problem spec", commands=("cockpit problem set --file spec.toml",)),
        )
    spec = found.spec
    result = grade(spec)
    detail = f"spec v{found.version} · {result.score}% ready"
    if spec.metric_goal():
        detail += f" · {spec.metric_goal()}"
    if result.score < 80:
        fields = ", ".join(f.field for f in result.problems[:3])
        return StageState(stage, Status.ATTENTION, detail, NextAction(f"fix the spec: {fields}"))
    return StageState(stage, Status.DONE, detail)


@status_function("data")
def data_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.data.checks import latest_report
    from cockpit.data.datasets import get_version
    from cockpit.data.splits import list_splits

    stage = STAGE_BY_KEY["data"]
    if not ws.store.scalar("SELECT 1 FROM dataset_versions WHERE project_id = ?", [project.id]):
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no data yet",
            NextAction("import data", "import", ("cockpit data import FILE",)),
        )
    version = get_version(ws, project)
    report = latest_report(ws, version)
    detail = f"v{version.id} {version.rows:,} rows"
    if report is None:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{detail} · not validated",
            NextAction("validate the data", "validate", ("cockpit data validate",)),
        )
    errors, warnings = report.count("error"), report.count("warning")
    if errors:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{detail} · {counted(errors, 'error')}",
            NextAction("fix the validation errors with a cleaning recipe", tab="Recipe"),
        )
    split = max(
        (s for s in list_splits(ws, project) if s.version_id == version.id), key=lambda s: s.id, default=None
    )
    warned = f" · {counted(warnings, 'warning')}" if warnings else " · valid"
    if split is None:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            detail + warned,
            NextAction("split the data", "split", ("cockpit data split",)),
        )
    if split.leaks:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{detail} · split {split.id} leaks",
            NextAction("fix the leak the split found", tab="Splits"),
        )
    return StageState(stage, Status.DONE, f"{detail} · {split.strategy}{warned}")


@status_function("features")
def features_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.features import current_spec, entity_column

    stage = STAGE_BY_KEY["features"]
    if not ws.store.scalar("SELECT 1 FROM dataset_versions WHERE project_id = ?", [project.id]):
        return StageState(stage, Status.NOT_STARTED, "no data yet")
    version, columns = current_spec(ws, project)
    if version is None:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            "defaults inferred from the profile",
            NextAction("review the feature spec", note="saved by the first run"),
        )
    used = sum(c.role == "feature" for c in columns)
    entity = entity_column(columns) or "no entity id"
    return StageState(stage, Status.DONE, f"spec v{version} · {used} features · {entity}")


@status_function("experiments")
def experiments_status(ws: Workspace, project: Project) -> StageState:
    """Indexed queries only: the overview paints fast with 100,000 runs."""
    from cockpit.training.query import FIELDS, best_run_metric

    stage = STAGE_BY_KEY["experiments"]
    store, project_id = ws.store, project.id
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
    detail = counted(runs, "run") + (f" ({running} running)" if running else "")
    metric, best = best_run_metric(ws, project)
    missed = ""
    if best is not None:
        value = store.scalar(f"SELECT {FIELDS[metric]} FROM runs WHERE id = ?", [best])
        missed = _missed_target(ws, project, metric, value)
        shown = f"{value:.3f}" if abs(value) < 1000 else short_number(value)  # mae 41,650
        # missed: "recall 0.727 < 0.75 (run 23)", short enough for 80 columns
        detail += f" · {'' if missed else 'best '}{metric} {shown}{missed} (run {best})"
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
            NextAction("train a real model", "new", (f"cockpit train --model {_real_family(project)}",)),
        )
    if missed:
        return StageState(
            stage,
            Status.ATTENTION,
            detail,
            NextAction(
                "search for a better model, or revisit the target",
                "sweep",
                (f"cockpit sweep --model {_real_family(project)} --random 20",),
            ),
        )
    return StageState(stage, Status.DONE, detail)


def _missed_target(ws: Workspace, project: Project, metric: str, value: float) -> str:
    """ " < 0.75" when the best run's validation score misses the spec's target (" > 40,000"
    for an error), else "": the stage is not done while no run reaches what the problem asks."""
    from cockpit.evaluation import metrics
    from cockpit.problem import current_spec

    spec = current_spec(ws, project)
    target = spec.metric_target
    if target is None or metrics.primary_metric(project.task, spec.metric) != metric:
        return ""
    if not metrics.better(metric, target, value):
        return ""
    return f" {'>' if metric in metrics.LOWER_IS_BETTER else '<'} {short_number(target)}"


def _real_family(project: Project) -> str:
    """A catalogue family that fits the task, for the command that trains a first real model."""
    return "ridge" if project.task == "regression" else "logistic_regression"


@status_function("evaluation")
def evaluation_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.evaluation.gate import latest_gate
    from cockpit.training.query import best_run

    stage = STAGE_BY_KEY["evaluation"]
    gated = ws.store.scalar(
        "SELECT run_id FROM gates WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project.id]
    )
    gate = latest_gate(ws, gated) if gated is not None else None
    if gate is None:
        best = best_run(ws, project)
        gate_best = (
            NextAction("run the gate on the best run", "evaluate", (f"cockpit gate {best}",))
            if best
            else None
        )
        evaluated = ws.store.scalar("SELECT count(*) FROM evaluations WHERE project_id = ?", [project.id])
        if evaluated:
            return StageState(stage, Status.IN_PROGRESS, f"{evaluated} evaluations, no gate yet", gate_best)
        return StageState(stage, Status.NOT_STARTED, "no evaluation yet", gate_best)
    if gate.passed:
        return StageState(stage, Status.DONE, f"run {gate.run_id} passes the gate")
    failed = [r.name for r in gate.rules if not r.passed]
    return StageState(
        stage,
        Status.ATTENTION,
        f"run {gate.run_id} fails: {', '.join(failed)}",
        NextAction("improve the model or the spec, then gate again"),
    )


@status_function("deployment")
def deployment_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.deployment import registry
    from cockpit.deployment.rules import get_fallback
    from cockpit.training.query import best_run

    stage = STAGE_BY_KEY["deployment"]
    versions = registry.list_versions(ws, project)
    if not versions:
        best = best_run(ws, project)
        return StageState(
            stage,
            Status.NOT_STARTED,
            "no model registered",
            NextAction(
                "register the best run", commands=(f"cockpit register {best or 'RUN'}",), on_screen=False
            ),
        )
    number = {v.id: v.version for v in versions}
    aliases = registry.aliases(ws, project)
    if "production" not in aliases:
        from cockpit.deployment.standing import standing

        version = versions[-1].version
        if standing(ws, project, versions[-1]).passed:
            deploy = NextAction("deploy", commands=(f"cockpit deploy {version} --strategy blue-green",))
        else:  # a version whose gate did not pass becomes production only with an override
            deploy = NextAction(
                "deploy", commands=(f"cockpit deploy {version} --strategy blue-green --override 'REASON'",)
            )
        return StageState(
            stage, Status.IN_PROGRESS, f"{counted(len(versions), 'version')}, none in production", deploy
        )
    detail = f"v{number[aliases['production'].version_id]} in production"
    if "canary" in aliases:
        detail += f" · canary v{number[aliases['canary'].version_id]} {aliases['canary'].percent or 0:g}%"
    if "shadow" in aliases:
        detail += f" · shadow v{number[aliases['shadow'].version_id]}"
    if get_fallback(ws, project) is None:
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
def monitoring_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.monitoring.attention import alert_state

    stage = STAGE_BY_KEY["monitoring"]
    batches = ws.store.scalar("SELECT count(*) FROM batches WHERE project_id = ?", [project.id])
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
    windows = ws.store.scalar("SELECT count(*) FROM monitor_windows WHERE project_id = ?", [project.id])
    if not windows:
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{counted(batches, 'batch', 'batches')}, not checked",
            NextAction("check drift and decay", commands=("cockpit monitor check",)),
        )
    alerts = alert_state(ws, project)
    if alerts.firing:
        return StageState(
            stage,
            Status.ATTENTION,
            f"{counted(len(alerts.firing), 'alert')} firing: {', '.join(alerts.metrics)}"
            + (f" · {len(alerts.acknowledged)} acked" if alerts.acknowledged else ""),
            NextAction("act on the alerts", note="retrain, roll back, or acknowledge"),
        )
    if alerts.acknowledged:
        acked = f"{counted(windows, 'window')} watched · {counted(len(alerts.acknowledged), 'alert')} acked"
        return StageState(stage, Status.IN_PROGRESS, acked)
    return StageState(stage, Status.DONE, f"{counted(windows, 'window')} watched, no alert")


@status_function("retrain")
def retrain_status(ws: Workspace, project: Project) -> StageState:
    from cockpit.monitoring.attention import alert_state
    from cockpit.retraining import rollout
    from cockpit.retraining.cycle import list_retrains

    stage = STAGE_BY_KEY["retrain"]
    last = next(iter(list_retrains(ws, project)), None)
    if last is None:
        if not ws.store.scalar("SELECT 1 FROM model_versions WHERE project_id = ?", [project.id]):
            return StageState(stage, Status.NOT_STARTED, "nothing deployed to replace yet")
        return StageState(
            stage,
            Status.ATTENTION if alert_state(ws, project).firing else Status.IN_PROGRESS,
            "no retrain yet",
            NextAction("retrain", "run", ("cockpit retrain",)),
        )
    waiting = rollout.pending(ws, project)
    if waiting is not None:  # the same fact stage 8's duel and `retrain deploy` read
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"candidate v{waiting.version} failed its gate ({', '.join(waiting.failed)})",
            NextAction(
                "improve the candidate and retrain, or deploy it anyway with a reason",
                commands=(rollout.DEPLOY_ANYWAY,),
            ),
        )
    return StageState(stage, Status.DONE, f"retrain {last.window}: {last.decision}")


@status_function("review")
def review_status(ws: Workspace, project: Project) -> StageState:
    """The verdict of the version the Review screen opens on (production, else the newest),
    read by the same function the screen and `cockpit review` use."""
    from cockpit.review import STEPS, review, review_subject

    stage = STAGE_BY_KEY["review"]
    subject = review_subject(ws, project)
    if subject is None:
        return StageState(stage, Status.NOT_STARTED, "no model version to review")
    result = review(ws, project, subject.version)
    if result.ready and result.signed == len(STEPS):
        return StageState(stage, Status.DONE, f"{result.verdict()} · signed off")
    if result.ready:
        pending = next(step.name for step in result.steps if step.decision is None)
        return StageState(
            stage,
            Status.IN_PROGRESS,
            f"{result.verdict()} · {result.signed}/{len(STEPS)} steps signed",
            NextAction(
                f"sign off the review's {pending} step",
                commands=(f"cockpit review sign {subject.version} --step {pending} --decision approve",),
            ),
        )
    held = any(step.held or step.decision == "block" for step in result.steps)
    return StageState(
        stage,
        Status.ATTENTION if held else Status.IN_PROGRESS,
        result.verdict(),
        NextAction(
            "resolve what holds the version back" if held else "fix or waive the failing steps",
            commands=(f"cockpit review {subject.version}",),
        ),
    )


def stage_states(ws: Workspace, project: Project | int) -> list[StageState]:
    """Every stage's status for a project (or its id), in lifecycle order (a stage without
    a function has not started)."""
    if isinstance(project, int):
        project = _project_by_id(ws, project)
    states = []
    for stage in STAGES:
        fn = STATUS_FUNCTIONS.get(stage.key)
        states.append(fn(ws, project) if fn else StageState(stage, Status.NOT_STARTED))
    return states


def _project_by_id(ws: Workspace, project_id: int) -> Project:
    from cockpit.errors import CockpitError

    row = ws.store.one("SELECT * FROM projects WHERE id = ?", [project_id])
    if row is None:
        raise CockpitError(f"no project with id {project_id}")
    return Project(**row)
