"""The demo's steps: each goes through the stage functions the CLI uses."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sample_data
from cockpit import problem
from cockpit.data import checks, datasets, recipes
from cockpit.projects import Project
from cockpit.training import runs as training
from cockpit.training import spaces, sweeps
from cockpit.workspace import Workspace

Progress = Callable[[str], None]
# The demo's retrain deploys its challenger even if the gate fails, and says why: the ledger
# keeps this reason with the failed rules (cockpit retrain --override REASON).
RETRAIN_OVERRIDE = (
    "demo: the drift months need a model trained on them; its canary share is small "
    "and mentors review its weak regions by hand"
)
OWN_SCRIPT = "scripts/train_house_prices.py"


def gate_best(workspace: Workspace, project, progress: Progress) -> None:
    """Gate the run that is best on validation: the test split is looked at once."""
    from cockpit.evaluation import metrics
    from cockpit.evaluation.gate import gate
    from cockpit.training.query import best_run_id

    metric = metrics.primary_metric(project.task, problem.current_spec(workspace, project).metric)
    best_id = best_run_id(workspace, project.id, metric)
    assert best_id is not None  # the demo trained finished runs first
    best = training.get_run(workspace, project, best_id)
    verdict = gate(workspace, project, best)
    failed = ", ".join(r.name for r in verdict.rules if not r.passed)
    progress(f"{project.name}: {best.label} gate {'PASS' if verdict.passed else 'FAIL: ' + failed}")


def clean_churn(workspace: Workspace, project, progress: Progress) -> None:
    """The churn data's planted problems, caught by validation and fixed by its suggested recipe."""
    report = checks.latest_report(workspace, datasets.get_version(workspace, project))
    assert report is not None  # every imported version was validated first
    child, results = recipes.clean_version(workspace, project, recipes.suggest_recipe(report.findings))
    after = checks.latest_report(workspace, child)  # the clean step validated it
    assert after is not None
    progress(
        f"churn: cleaned into v{child.id} by {len(results)} steps ({after.count('warning')} warnings left)"
    )


def copy_sample_data(folder: Path) -> Path:
    target = folder / "data"
    for name in ("learner_support", "churn", "house_prices", "specs", "scripts"):
        shutil.copytree(sample_data.SAMPLE_DIR / name, target / name, dirs_exist_ok=True)
    return target


def commit_demo_folder(folder: Path) -> bool:
    import subprocess

    if shutil.which("git") is None:
        return False
    (folder / ".gitignore").write_text(".cockpit/\n.cockpit-demo-build/\ndata/scored/\n")
    commands = [
        ["init", "-q"],
        ["add", "data", ".gitignore"],
        [
            "-c",
            "user.name=cockpit demo",
            "-c",
            "user.email=demo@localhost",
            "commit",
            "-q",
            "-m",
            "demo data and specs",
        ],
    ]
    for args in commands:
        if subprocess.run(["git", "-C", str(folder), *args], capture_output=True).returncode:
            return False
    return True


def deploy_learner_model(workspace: Workspace, project, data_dir: Path, progress: Progress) -> None:
    """The gated model goes to production (its known weak region recorded as the override
    reason), boosting as a 20% canary, a fallback rule, one human override, three months of
    batches scored."""
    from cockpit.deployment import batch, registry, rules
    from cockpit.evaluation.gate import latest_gate

    gated = workspace.store.scalar(
        "SELECT run_id FROM gates WHERE project_id = ? ORDER BY id DESC", [project.id]
    )
    verdict = latest_gate(workspace, gated)
    assert verdict is not None  # _gate_best gated this run
    reason = (
        None
        if verdict.passed
        else (
            "known gap: "
            + "; ".join(r.detail for r in verdict.rules if not r.passed)
            + " — mentors review that region by hand until the next retrain"
        )
    )
    first = registry.register(workspace, project, gated, reason)
    registry.deploy(
        workspace, project, first.version, "blue-green", reason="first production model", override=reason
    )
    boosting = workspace.store.scalar(
        "SELECT id FROM runs WHERE project_id = ? AND family = "
        "'hist_gradient_boosting' AND status = 'finished'",
        [project.id],
    )
    second = registry.register(
        workspace, project, boosting, "canary on live traffic before a full gate on fresh data"
    )
    registry.deploy(
        workspace, project, second.version, "canary", percent=20, reason="try boosting on a fifth of learners"
    )
    rules.set_fallback(workspace, project, "days_since_last_activity > 14 -> 1 else 0")
    rules.add_override(workspace, project, "L069533", "1", "mentor asked to keep in touch")
    scored = data_dir / "scored"
    scored.mkdir(exist_ok=True)
    for path in sorted((data_dir / "learner_support" / "batches").glob("*.csv"))[:3]:
        summary = batch.predict_file(
            workspace, project, path, scored / path.name, at=f"{path.stem}-28T06:00:00+00:00"
        )
        progress(f"{project.name}: scored {path.name}: {summary['routes']}")


def serve_learner_lookups(workspace: Workspace, project, data_dir: Path, progress: Progress) -> None:
    """Mentors look learners up on the real prediction service (loopback, a background
    thread): 38 requests, most of one learner, some of a page of eight, one malformed, all in
    the request log."""
    import json
    import urllib.error
    import urllib.request

    import pandas as pd

    from cockpit.deployment.serving import running_service

    frame = pd.read_csv(data_dir / "learner_support" / "batches" / "2026-03.csv")
    rows = json.loads(frame.drop(columns=["scored_at"]).head(121).to_json(orient="records"))
    bodies = [rows[i] for i in range(25)]
    bodies += [{"rows": rows[25 + 8 * i : 33 + 8 * i]} for i in range(12)]
    bodies.append({**rows[0], "avg_score": "n/a"})  # answered 422
    answered = 0
    with running_service(workspace.dir, project.name) as url:
        for body in bodies:
            request = urllib.request.Request(
                f"{url}/predict", json.dumps(body).encode(), {"content-type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answered += response.status == 200
            except urllib.error.HTTPError as refused:
                refused.close()
    progress(f"{project.name}: the service answered {answered} of {len(bodies)} lookups")


def monitor_learner_model(workspace: Workspace, project, data_dir: Path, progress: Progress) -> None:
    """Months 4-8 arrive as production files, labels a month late; the check finds the drift
    from month 4 and, once labels arrive, the decayed recall."""
    ingest_learner_months(workspace, project, data_dir)
    check_learner_model(workspace, project, progress)


def ingest_learner_months(workspace: Workspace, project, data_dir: Path) -> None:
    """Months 4-8's production files and the labels, a month late."""
    from cockpit.monitoring import batches, labels

    folder = data_dir / "learner_support"
    for path in sorted((folder / "batches").glob("*.csv"))[3:]:
        batches.ingest(workspace, project, path, at=f"{path.stem}-28T06:00:00+00:00")
    for path in sorted((folder / "labels").glob("*.csv")):
        labels.ingest_labels(workspace, project, path)


def check_learner_model(workspace: Workspace, project, progress: Progress) -> None:
    """The check: the drift from month 4 and, with the labels, the decayed recall."""
    from cockpit.monitoring import alerts

    result = alerts.check(workspace, project)
    progress(f"{project.name}: monitored {result.coverage()}; {len(result.firing)} alerts firing")


def retrain_learner_model(workspace: Workspace, project, progress: Progress) -> None:
    """Retrain triggers set, and the retrain the drift months call for."""
    from cockpit.retraining.cycle import retrain
    from cockpit.retraining.policy import set_triggers

    set_triggers(
        workspace,
        project,
        schedule_days=30,
        on_alert=1,
        new_labels=1000,
        strategy="canary",
        canary_percent=10,
    )
    outcome = retrain(workspace, project, override=RETRAIN_OVERRIDE)
    judged = [s for s in outcome.steps if s.startswith(("on ", "gate ", "the override"))]
    progress(f"{project.name}: retrain after the drift months: {outcome.decision} ({'; '.join(judged)})")


def reproduce_production(workspace: Workspace, project, progress: Progress) -> None:
    """The production model refitted from its pinned inputs (its review reads the verdict)."""
    from cockpit.deployment import registry
    from cockpit.training.reproduce import reproduce

    production = registry.get_version(workspace, project, "production")
    result = reproduce(workspace, project, production.run_id)
    progress(f"{project.name}: run {production.run_id} reproduced, identical: {result.identical}")


def review_production(workspace: Workspace, project, progress: Progress) -> None:
    """The production model's review, signed off (its known gap waived with a reason), once
    reproduce_production has refitted it."""
    from cockpit.deployment import registry
    from cockpit.review import review, sign

    production = registry.get_version(workspace, project, "production")
    for step in review(workspace, project, production.version).steps:
        if step.passed:
            sign(
                workspace,
                project,
                production.version,
                step.name,
                "approve",
                "evidence checked",
                reviewer="demo-lead",
            )
        else:
            missing = "; ".join(text for ok, text in step.evidence if not ok)
            sign(
                workspace,
                project,
                production.version,
                step.name,
                "waive",
                f"accepted for launch with a plan: {missing}",
                reviewer="demo-lead",
            )
    final = review(workspace, project, production.version)
    progress(f"{project.name}: review of v{production.version}: {'ready' if final.ready else 'not ready'}")


def blocked_candidate(workspace: Workspace, project, progress: Progress) -> None:
    """A house-price candidate registered past a failed gate, then blocked in review."""
    from cockpit.deployment import registry
    from cockpit.review import review, sign

    gated = workspace.store.scalar(
        "SELECT run_id FROM gates WHERE project_id = ? ORDER BY id DESC", [project.id]
    )
    candidate = registry.register(
        workspace, project, gated, "to show the agents a first estimate; MAE target not met yet"
    )
    sign(
        workspace,
        project,
        candidate.version,
        "evaluated",
        "block",
        "MAE misses the 35,000 target; no monitoring or fallback yet",
        reviewer="demo-lead",
    )
    found = review(workspace, project, candidate.version)
    progress(
        f"{project.name}: candidate v{candidate.version} blocked in review "
        f"({'; '.join(found.failure_modes) or 'no failure mode'})"
    )


def start_own_script(folder: Path):
    """A model trained in the user's own script, tracked through `cockpit.start_run`: run as
    a user would, in its own process from the demo folder."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COCKPIT_WORKSPACE": str(folder), "COCKPIT_PROJECT": "house-prices"}
    return subprocess.Popen(
        [sys.executable, str(folder / "data" / OWN_SCRIPT)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def finish_own_script(process, project, folder: Path, progress: Progress) -> None:
    import subprocess

    from cockpit.errors import CockpitError

    script = folder / "data" / OWN_SCRIPT
    try:
        out, err = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise CockpitError(f"the demo's own training script {script} took over 10 minutes") from None
    if process.returncode:
        raise CockpitError(f"the demo's own training script {script} failed: {err.strip()[-500:]}")
    progress(f"{project.name}: python {script.relative_to(folder)} -> {out.strip()}")


def train_here(workspace: Workspace, project: Project, run_id: int, progress: Progress) -> None:
    """A started run trained in this process by the function a training process runs
    (cockpit.training.child.main): the same model and record, without an interpreter to
    start and scikit-learn to import for it."""
    from cockpit.training import child

    child.main(str(workspace.dir), project.id, run_id, progress=lambda fraction, message: None)
    said_run(workspace, project, run_id, progress)


def said_run(workspace: Workspace, project: Project, run_id: int, progress: Progress) -> None:
    run = training.get_run(workspace, project, run_id)
    score = f"{run.metric} {run.score:.3f}" if run.score is not None else run.error
    progress(f"{project.name}: {run.label} {run.status}, {score}")


def sweep(
    workspace: Workspace, project: Project, family: str, trials: int, progress: Progress, **options: Any
) -> None:
    result = sweeps.run_sweep(
        workspace, project, family, spaces.random_trials(family, trials, seed=7), "random", **options
    )
    progress(
        f"{project.name}: sweep {result.sweep_id} of {trials} {family} trials, best run {result.best_run_id}"
    )
