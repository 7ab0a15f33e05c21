"""`cockpit demo`: a complete workspace built from sample_data.

It goes through the same stage functions the CLI uses, never by writing rows
directly, and is built in a scratch folder moved into place for its last steps (the
user's own script, which records paths inside the demo folder, and with two processes
learner-support's retrain and review beside it); a failed or interrupted build removes it,
so it leaves nothing behind, and one killed outright in its last steps is marked unfinished,
so the next `cockpit demo` builds it again.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sample_data
from cockpit import problem
from cockpit.data import checks, datasets, splits
from cockpit.demo import steps
from cockpit.demo.steps import RETRAIN_OVERRIDE, Progress
from cockpit.projects import LAST_SHOWN_PROJECT, Project, create_project, get_project
from cockpit.training import runs as training
from cockpit.workspace import WORKSPACE_DIRNAME, Workspace

__all__ = ["DEMO_PROJECT", "RETRAIN_OVERRIDE", "Progress", "build_demo"]

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
# With two build processes, the second trains these of DEMO_RUNS (by position), then both
# sweeps, while the first trains the others: about the same time each (the boosting run on
# learner-support is most of the first's).
SECOND_PROCESS_RUNS = (3, 7)
DEMO_SWEEPS = [(DEMO_PROJECT, "logistic_regression", 8), ("house-prices", "ridge", 6)]


def build_demo(
    path: Path, rebuild: bool = False, progress: Progress = lambda _: None, jobs: int = 2
) -> tuple[Workspace, bool]:
    """Build the demo in `path` (unless it is there already). Returns (workspace, built).

    `jobs` > 1 builds in two processes (cockpit.demo.lane), each training its runs itself:
    the same content, and runs, sweeps, data and model versions numbered as with one job,
    but evaluations, gates and events may take another order. `jobs=1` builds one step at a
    time, each run in its own training process as `cockpit train` does, always in the same
    order (the tests' cached demo)."""
    from cockpit.demo.lane import Lane

    folder = Path(path).expanduser().resolve()
    final = folder / WORKSPACE_DIRNAME
    unfinished = final / UNFINISHED
    if final.exists() and not rebuild and not unfinished.exists():
        return Workspace(final), False
    scratch = folder / ".cockpit-demo-build"
    shutil.rmtree(scratch, ignore_errors=True)
    with _threads_per_process(jobs):
        # started first: it imports the libraries while this process copies and imports the data
        lane = Lane(scratch / WORKSPACE_DIRNAME, progress) if jobs > 1 else None
        try:
            workspace, _ = Workspace.init(scratch)
            if lane is None:
                _fill_in_order(workspace, folder, progress)
            else:
                _fill_side_by_side(workspace, folder, progress, lane)
            workspace.close()
            # a build killed (-9) in its last steps leaves this mark: the next `cockpit demo`
            # builds again instead of opening half a demo
            (scratch / WORKSPACE_DIRNAME / UNFINISHED).touch()
            if final.exists():
                shutil.rmtree(final)
            (scratch / WORKSPACE_DIRNAME).rename(final)
        except BaseException:
            if lane is not None:
                lane.stop()
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        workspace = Workspace(final)
        try:
            if lane is None:
                _finish_in_place(workspace, folder, progress)
            else:
                _finish_side_by_side(workspace, folder, progress)
        except BaseException:
            workspace.close()
            shutil.rmtree(final, ignore_errors=True)
            raise
        # the cockpit opens on the demo's story, not on the first project by name
        workspace.set_setting(LAST_SHOWN_PROJECT, DEMO_PROJECT)
        unfinished.unlink()
    return workspace, True


UNFINISHED = "demo-unfinished"  # in the workspace folder while the build's last steps run there

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


def _setup(workspace: Workspace, folder: Path, progress: Progress) -> tuple[dict[str, Project], Path]:
    """Sample data copied and committed; each project's spec, data (validated; churn's
    cleaned) and split."""
    data_dir = steps.copy_sample_data(folder)
    progress(f"sample data copied to {data_dir}")
    if steps.commit_demo_folder(folder):
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
    steps.clean_churn(workspace, projects["churn"], progress)
    for name, options in DEMO_SPLITS.items():
        made = splits.make_split(workspace, projects[name], **options)
        progress(f"{name}: {made.label}, {made.leaks} leaks")
    return projects, data_dir


def _fill_in_order(workspace: Workspace, folder: Path, progress: Progress) -> None:
    projects, data_dir = _setup(workspace, folder, progress)
    learners, houses = projects[DEMO_PROJECT], projects["house-prices"]
    _train_runs(workspace, projects, progress)
    for name, family, trials in DEMO_SWEEPS:
        steps.sweep(workspace, projects[name], family, trials, progress)
    steps.gate_best(workspace, learners, progress)
    steps.gate_best(workspace, houses, progress)
    steps.deploy_learner_model(workspace, learners, data_dir, progress)
    steps.serve_learner_lookups(workspace, learners, data_dir, progress)
    steps.monitor_learner_model(workspace, learners, data_dir, progress)
    steps.retrain_learner_model(workspace, learners, progress)
    steps.reproduce_production(workspace, learners, progress)
    steps.review_production(workspace, learners, progress)
    steps.blocked_candidate(workspace, houses, progress)


def _fill_side_by_side(workspace: Workspace, folder: Path, progress: Progress, lane) -> None:
    """Learner-support through every stage but the retrain here; the second process (`lane`)
    trains its share of the runs, then runs the sweeps (one trial after another: the two
    processes are the build's parallelism), serves the mentors' lookups, gates house-prices'
    best run and reproduces the production model for its review. Whatever takes an id is
    created in the order of `_fill_in_order` (events aside): each run before it is trained,
    the sweeps one after the other, house-prices' gate after learner-support's, and its
    blocked candidate after the retrain (_finish_side_by_side)."""
    projects, data_dir = _setup(workspace, folder, progress)
    learners, houses = projects[DEMO_PROJECT], projects["house-prices"]
    created = [_create_run(workspace, projects[name], family, params) for name, family, params in DEMO_RUNS]
    lane.start("train", [(created[i][0].id, created[i][1]) for i in SECOND_PROCESS_RUNS])
    for name, family, trials in DEMO_SWEEPS:  # there, in this order: their trials' run ids too
        lane.start("sweep", projects[name].id, family, trials)
    for i, (project, run_id) in enumerate(created):
        if i not in SECOND_PROCESS_RUNS:
            steps.train_here(workspace, project, run_id, progress)
    lane.wait("sweep")  # learner-support's gate picks the best of all its runs
    steps.gate_best(workspace, learners, progress)
    steps.deploy_learner_model(workspace, learners, data_dir, progress)
    # the mentors' lookups there while the month files arrive here: the check reads both
    lane.start("serve", learners.id, str(data_dir))
    lane.start("gate", houses.id)  # after learner-support's: the evaluations' ids in order
    lane.start("reproduce_production", learners.id)
    steps.ingest_learner_months(workspace, learners, data_dir)
    lane.wait("serve")
    steps.check_learner_model(workspace, learners, progress)
    lane.close()  # every step done: it wrote to this store, which is then moved


def _finish_in_place(workspace: Workspace, folder: Path, progress: Progress) -> None:
    """The house-prices script run in the demo folder: the paths it records are then inside
    it, which the store keeps relative ('.'), so they hold when the folder is moved or copied."""
    script = steps.start_own_script(folder)
    steps.finish_own_script(script, get_project(workspace, "house-prices"), folder, progress)


def _finish_side_by_side(workspace: Workspace, folder: Path, progress: Progress) -> None:
    """In place: learner-support's retrain, with the house-prices script (_finish_in_place)
    beside it from the moment the retrain's challenger has its run id, so the script's run
    takes the next one as in `_fill_in_order`; then learner-support's review and
    house-prices' blocked candidate."""
    learners, houses = get_project(workspace, DEMO_PROJECT), get_project(workspace, "house-prices")
    script = _ScriptAfterRun(workspace, folder)
    try:
        steps.retrain_learner_model(workspace, learners, progress)
        process = script.started()
        steps.review_production(workspace, learners, progress)
        steps.blocked_candidate(workspace, houses, progress)
    except BaseException:
        script.stop()
        raise
    steps.finish_own_script(process, houses, folder, progress)


class _ScriptAfterRun:
    """The demo's own script (steps.start_own_script), started by a thread as soon as a run
    newer than the workspace's last one exists, or when `started` is called."""

    def __init__(self, workspace: Workspace, folder: Path) -> None:
        self.folder = folder
        self.last = _last_run(workspace)
        self.now, self.cancelled = threading.Event(), False
        self.process: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._watch, args=(workspace.dir,), daemon=True)
        self.thread.start()

    def _watch(self, dot_dir: Path) -> None:
        with Workspace(dot_dir) as workspace:  # its own connection: this is another thread
            while not self.now.is_set() and _last_run(workspace) <= self.last:
                self.now.wait(0.05)
        if not self.cancelled:
            self.process = steps.start_own_script(self.folder)

    def started(self) -> subprocess.Popen:
        """The script's process, started now if the thread has not started it yet."""
        self.now.set()
        self.thread.join()
        assert self.process is not None
        return self.process

    def stop(self) -> None:
        """Never started, or killed."""
        self.cancelled = True
        self.now.set()
        self.thread.join()
        if self.process is not None:
            self.process.kill()
            self.process.communicate()


def _last_run(workspace: Workspace) -> int:
    return workspace.store.scalar("SELECT max(id) FROM runs") or 0


def _create_run(
    workspace: Workspace, project: Project, family: str, params: list[str]
) -> tuple[Project, int]:
    """A run planned and recorded as started (its id taken), as `cockpit train` does first."""
    plan = training.plan_run(workspace, project, family, params)
    return project, training.create_run(workspace, project, plan)


def _train_runs(workspace: Workspace, projects: dict[str, Project], progress: Progress) -> None:
    """DEMO_RUNS one at a time, each in its own training process, as `cockpit train` does."""
    for name, family, params in DEMO_RUNS:
        run = training.train(workspace, projects[name], family, params)
        steps.said_run(workspace, projects[name], run.id, progress)
