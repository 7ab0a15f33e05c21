"""`cockpit demo`: a complete workspace built from sample_data.

It goes through the same stage functions the CLI uses, never by writing rows
directly, and is built in a scratch folder that is moved into place only when
complete, so an interrupted build leaves nothing behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sample_data
from cockpit import problem
from cockpit.data import checks, datasets, recipes, splits
from cockpit.projects import create_project, get_project
from cockpit.training import runs as training
from cockpit.training import spaces, sweeps
from cockpit.workspace import WORKSPACE_DIRNAME, Workspace

DEMO_PROJECT = "learner-support"
DEMO_PROJECTS = [
    (DEMO_PROJECT, "binary", "needs_support", "learner_support.toml", "learner_support/reference.csv"),
    ("churn", "binary", "churned", "churn.toml", "churn/customers.csv"),
    ("house-prices", "regression", "price", "house_prices.toml", "house_prices/houses.csv"),
]
DEMO_SPLITS: dict[str, dict[str, Any]] = {
    DEMO_PROJECT: {"strategy": "stratified", "seed": 42},
    "churn": {"strategy": "group", "group": "customer_id", "seed": 42},
    "house-prices": {"strategy": "time", "time": "sale_date"},
}
DEMO_RUNS = [
    (DEMO_PROJECT, "dummy", []),
    (DEMO_PROJECT, "logistic_regression", ["class_weight=balanced"]),
    (DEMO_PROJECT, "hist_gradient_boosting", ["max_iter=100", "class_weight=balanced"]),
    (DEMO_PROJECT, "random_forest", ["n_estimators=60", "min_samples_leaf=5"]),
    ("churn", "logistic_regression", ["class_weight=balanced"]),
    ("house-prices", "dummy", []),
    ("house-prices", "ridge", []),
    ("house-prices", "hist_gradient_boosting", ["max_iter=80"]),
]
DEMO_SWEEPS = [(DEMO_PROJECT, "logistic_regression", 8), ("house-prices", "ridge", 6)]
Progress = Callable[[str], None]
# The demo's retrain deploys its challenger even if the gate fails, and says why: the ledger
# keeps this reason with the failed rules (cockpit retrain --override REASON).
RETRAIN_OVERRIDE = (
    "demo: the drift months need a model trained on them; its canary share is small "
    "and mentors review its weak regions by hand"
)


def build_demo(
    path: Path, rebuild: bool = False, progress: Progress = lambda _: None, jobs: int = 2
) -> tuple[Workspace, bool]:
    """Build the demo in `path` (unless it is there already). Returns (workspace, built).

    `jobs` > 1 trains that many runs at once and builds house-prices' gate and review in
    its own process beside learner-support's deployment: the same content, but ids of
    runs, evaluations and events may then take another order. `jobs=1` builds one step
    at a time, always in the same order (the tests' cached demo)."""
    folder = Path(path).expanduser().resolve()
    final = folder / WORKSPACE_DIRNAME
    if final.exists() and not rebuild:
        return Workspace(final), False
    scratch = folder / ".cockpit-demo-build"
    shutil.rmtree(scratch, ignore_errors=True)
    with _threads_per_process(jobs):
        try:
            workspace, _ = Workspace.init(scratch)
            _fill(workspace, folder, progress, jobs)
            workspace.close()
            if final.exists():
                shutil.rmtree(final)
            (scratch / WORKSPACE_DIRNAME).rename(final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        workspace = Workspace(final)
        try:
            # run in place: the paths it records are then inside the demo folder, which the
            # store keeps relative ('.'), so they hold when the folder is moved or copied
            script = _start_own_script(folder)
            if jobs > 1:  # learner-support's review meanwhile (with one job, _fill did it)
                try:
                    _review(workspace, get_project(workspace, DEMO_PROJECT), progress, reproduced=True)
                except BaseException:
                    script.kill()
                    script.communicate()
                    raise
            _finish_own_script(script, get_project(workspace, "house-prices"), folder, progress)
        except BaseException:
            workspace.close()
            shutil.rmtree(final, ignore_errors=True)
            raise
    return workspace, True


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _threads_per_process(jobs: int) -> Iterator[None]:
    """The cores shared out between the build's processes (unless the user set the thread
    variables): with more BLAS / OpenMP threads than cores, they spin-wait on each other
    (a boosting run of the demo took 3x longer on 2 cores with 2 processes of 2 threads)."""
    import os

    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    unset = [name for name in THREAD_VARIABLES if name not in os.environ]
    os.environ.update(dict.fromkeys(unset, threads))
    try:
        with threadpool_limits(int(os.environ["OMP_NUM_THREADS"])):
            yield
    finally:
        for name in unset:
            os.environ.pop(name, None)


def _fill(workspace: Workspace, folder: Path, progress: Progress, jobs: int = 1) -> None:
    data_dir = _copy_sample_data(folder)
    progress(f"sample data copied to {data_dir}")
    if _commit_demo_folder(folder):
        progress("demo folder committed to git, so runs record a clean code commit")
    projects = {}
    for name, task, target, spec_file, data_file in DEMO_PROJECTS:
        project = projects[name] = create_project(workspace, name, task, target)
        spec = problem.load_spec_file(sample_data.SAMPLE_DIR / "specs" / spec_file)
        problem.save_spec(workspace, project, spec, comment="demo spec")
        version, _ = datasets.import_dataset(workspace, project, data_dir / data_file)
        report = checks.validate(workspace, project, version)
        progress(
            f"{name}: spec, data v{version.id} ({version.rows:,} rows, {report.count('warning')} warnings)"
        )
    _clean_churn(workspace, projects["churn"], progress)
    for name, options in DEMO_SPLITS.items():
        made = splits.make_split(workspace, projects[name], **options)
        progress(f"{name}: {made.label}, {made.leaks} leaks")
    _train_runs(workspace, projects, progress, jobs)
    for name, family, trials in DEMO_SWEEPS:
        result = sweeps.run_sweep(
            workspace, projects[name], family, spaces.random_trials(family, trials, seed=7), "random"
        )
        progress(
            f"{name}: sweep {result.sweep_id} of {trials} {family} trials, best run {result.best_run_id}"
        )
    helpers = [] if jobs == 1 else [_start_helper(workspace, "_house_prices_review")]
    try:
        _gate_best(workspace, projects[DEMO_PROJECT], progress)
        if jobs == 1:
            _gate_best(workspace, projects["house-prices"], progress)
        _deploy_learner_model(workspace, projects[DEMO_PROJECT], data_dir, progress)
        if jobs > 1:  # the production model's refit, for its review, beside its monitoring
            helpers.append(_start_helper(workspace, "_reproduce_production"))
        _serve_learner_lookups(workspace, projects[DEMO_PROJECT], data_dir, progress)
        _monitor_learner_model(workspace, projects[DEMO_PROJECT], data_dir, progress, review=jobs == 1)
    except BaseException:
        for helper in helpers:
            helper.kill()
            helper.communicate()
        raise
    if jobs == 1:
        _blocked_candidate(workspace, projects["house-prices"], progress)
    for helper in helpers:  # before the build is moved into place: they write to its store
        _finish_helper(helper, progress)


def _train_runs(workspace: Workspace, projects: dict, progress: Progress, jobs: int) -> None:
    """DEMO_RUNS, `jobs` training at once. Each is created (its id taken) in the list's order;
    with one job, each is waited for before the next starts, as `cockpit train` does."""
    from collections import deque

    running: deque[tuple[str, training.RunHandle]] = deque()

    def wait_oldest() -> None:
        name, handle = running[0]
        handle.wait()
        running.popleft()
        run = training.get_run(workspace, projects[name], handle.run_id)
        score = f"{run.metric} {run.score:.3f}" if run.score is not None else run.error
        progress(f"{name}: {run.label} {run.status}, {score}")

    try:
        for name, family, params in DEMO_RUNS:
            if len(running) >= jobs:
                wait_oldest()
            running.append((name, training.start_run(workspace, projects[name], family, params)))
        while running:
            wait_oldest()
    except BaseException:  # Ctrl-C or a failed step: no training process is left behind
        for _, handle in running:
            handle.cancel("the demo build stopped")
        raise


def _start_helper(workspace: Workspace, function: str):
    """`function(workspace_dir)` of this module in its own process, beside the build: its
    progress lines on stdout."""
    import subprocess
    import sys

    code = f"import sys; from cockpit.demo import {function}; {function}(sys.argv[1])"
    return subprocess.Popen(  # args[2] names the step in its error (_finish_helper)
        [sys.executable, "-c", code, str(workspace.dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish_helper(process, progress: Progress) -> None:
    from cockpit.errors import CockpitError

    out, err = process.communicate()
    for line in out.splitlines():
        progress(line)
    if process.returncode:
        step = process.args[2].rsplit("; ", 1)[-1].split("(")[0]
        raise CockpitError(f"the demo build's step {step} failed: {err.strip()[-500:]}")


def _say(line: str) -> None:
    print(line, flush=True)


def _house_prices_review(workspace_dir: str) -> None:
    """House-prices' gate and blocked candidate (they share nothing with learner-support's
    deployment, which goes on meanwhile)."""
    with Workspace(Path(workspace_dir)) as workspace:
        project = get_project(workspace, "house-prices")
        _gate_best(workspace, project, _say)
        _blocked_candidate(workspace, project, _say)


def _reproduce_production(workspace_dir: str) -> None:
    """The learner-support production model refitted from its pinned inputs (its review
    reads the verdict)."""
    from cockpit.deployment import registry
    from cockpit.training.reproduce import reproduce

    with Workspace(Path(workspace_dir)) as workspace:
        project = get_project(workspace, DEMO_PROJECT)
        assert project is not None  # the build made it
        production = registry.get_version(workspace, project, "production")
        result = reproduce(workspace, project, production.run_id)
        _say(f"{project.name}: run {production.run_id} reproduced, identical: {result.identical}")


OWN_SCRIPT = "scripts/train_house_prices.py"


def _start_own_script(folder: Path):
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


def _finish_own_script(process, project, folder: Path, progress: Progress) -> None:
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


def _blocked_candidate(workspace: Workspace, project, progress: Progress) -> None:
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


def _monitor_learner_model(
    workspace: Workspace, project, data_dir: Path, progress: Progress, review: bool = True
) -> None:
    """Months 4-8 arrive as production files, labels a month late; the check finds the drift
    from month 4 and, once labels arrive, the decayed recall; then the review (unless
    `review` is False: the caller does it)."""
    from cockpit.monitoring import alerts, batches, labels

    folder = data_dir / "learner_support"
    for path in sorted((folder / "batches").glob("*.csv"))[3:]:
        batches.ingest(workspace, project, path, at=f"{path.stem}-28T06:00:00+00:00")
    for path in sorted((folder / "labels").glob("*.csv")):
        labels.ingest_labels(workspace, project, path)
    result = alerts.check(workspace, project)
    progress(f"{project.name}: monitored {result.coverage()}; {len(result.firing)} alerts firing")
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
    if review:
        _review(workspace, project, progress)


def _review(workspace: Workspace, project, progress: Progress, reproduced: bool = False) -> None:
    """The production model's review, signed off (its known gap waived with a reason); its
    model is reproduced first unless `reproduced` (_reproduce_production did it)."""
    from cockpit.deployment import registry
    from cockpit.review import review, sign
    from cockpit.training.reproduce import reproduce

    production = registry.get_version(workspace, project, "production")
    if not reproduced:
        reproduce(workspace, project, production.run_id)
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


def _commit_demo_folder(folder: Path) -> bool:
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


def _deploy_learner_model(workspace: Workspace, project, data_dir: Path, progress: Progress) -> None:
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
    registry.deploy(workspace, project, first.version, "blue-green", reason="first production model")
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


def _serve_learner_lookups(workspace: Workspace, project, data_dir: Path, progress: Progress) -> None:
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


def _gate_best(workspace: Workspace, project, progress: Progress) -> None:
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


def _clean_churn(workspace: Workspace, project, progress: Progress) -> None:
    """The churn data's planted problems, caught by validation and fixed by its suggested recipe."""
    report = checks.latest_report(workspace, datasets.get_version(workspace, project))
    assert report is not None  # every imported version was validated first
    child, results = recipes.clean_version(workspace, project, recipes.suggest_recipe(report.findings))
    after = checks.validate(workspace, project, child)
    progress(
        f"churn: cleaned into v{child.id} by {len(results)} steps ({after.count('warning')} warnings left)"
    )


def _copy_sample_data(folder: Path) -> Path:
    target = folder / "data"
    for name in ("learner_support", "churn", "house_prices", "specs", "scripts"):
        shutil.copytree(sample_data.SAMPLE_DIR / name, target / name, dirs_exist_ok=True)
    return target
