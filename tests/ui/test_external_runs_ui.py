"""Runs from outside the catalogue, as a user sees them by keys: a LightGBM model trained in a
script sits in the runs table beside a catalogue run, named by its class, its source shown;
its detail says where it came from and draws the metric steps it logged, live while it runs;
the evaluation run picker names it by its class too."""

from __future__ import annotations

import io
import os
from pathlib import Path

import lightgbm
import pytest
from rich.console import Console
from sklearn.datasets import load_breast_cancer

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.projects import create_project, get_project
from cockpit.training import detail, external, runs, steps
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.experiments import ExperimentsScreen
from screens.run_dialogs import RunDetail
from screens.run_picker import RunPicker
from screens.runs_table import RunsTable
from tests.training_here import trained_here

SCRIPT = "/home/ana/train_lgbm.py"


def _lightgbm(data: external.RunData) -> lightgbm.LGBMClassifier:
    model = lightgbm.LGBMClassifier(n_estimators=12, num_leaves=7, n_jobs=1, verbose=-1, random_state=0)
    return model.fit(data.train[data.columns], data.train[data.target])


def _log_script_run(ws: Workspace, project, losses: list[float]) -> int:
    """What a user's script does through the tracking API: a run started, a loss per
    boosting round, the fitted model logged and scored on the split."""
    data = external.run_data(ws, project)
    origin = {"script": SCRIPT, "argv": ["--trees", "12"], "cwd": "/home/ana"}
    run_id = external.start(ws, project, "script", origin, {"num_leaves": 7}, 0, data)
    steps.append_steps(ws, run_id, [("train_loss", i, v) for i, v in enumerate(losses)])
    model = _lightgbm(data)
    external.finish_with_model(ws, project, run_id, model, data.train[data.columns], data, 0.5)
    return run_id


@pytest.fixture(scope="module")
def cancer(tmp_path_factory) -> Path:
    """Breast cancer (malignant = 1): run 1 a catalogue logistic regression, run 2 LightGBM
    logged from a script with 12 loss steps, run 3 LightGBM from `--model` (an estimator)."""
    folder = tmp_path_factory.mktemp("cancer") / "w"
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "cancer", "binary", "malignant")
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["malignant"] = 1 - frame.pop("target")
    path = folder / "cancer.csv"
    frame.to_csv(path, index=False)
    datasets.import_dataset(ws, project, path)
    make_split(ws, project, "stratified")
    trained_here(ws, project, "logistic_regression", {"max_iter": 300})
    _log_script_run(ws, project, [0.6 / (i + 1) for i in range(12)])
    lgbm = {"n_estimators": 12, "num_leaves": 7, "n_jobs": 1, "verbose": -1}
    trained_here(ws, project, "lightgbm.LGBMClassifier", lgbm)
    ws.close()
    return folder


async def _wait_for(pilot, condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


def _lines(table: RunsTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.rows_total + 1)]


def screen_text(app) -> str:
    """What the terminal shows, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_the_runs_table_names_the_class_and_the_source(cancer, private_copy) -> None:
    ws = Workspace.open(private_copy(cancer))
    app = CockpitApp(ws, "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        table = screen.query_one(RunsTable)
        header, estimator_row, script_row, catalogue_row = _lines(table)
        assert header.split()[:5] == ["Run↓", "Model", "Source", "Status", "roc_auc"]
        assert estimator_row.split()[:4] == ["3", "LGBMClassifier", "estimator", "✓"]
        assert "max_depth=-1 n_est" in estimator_row  # the params people tune, as for the catalogue
        assert script_row.split()[:4] == ["2", "LGBMClassifier", "script", "✓"]
        assert "num_leaves=7" in script_row  # the params the script logged
        assert catalogue_row.split()[:5] == ["★", "1", "logistic", "catalog", "✓"]  # the best
        assert max(len(line.rstrip()) for line in _lines(table)) <= 80

        await pilot.press("slash", *"family=lightgbm.LGBMClassifier", "enter")
        await pilot.pause()
        assert table.rows_total == 2 and table.current.id == 3
        await pilot.press("enter")
        shown = app.screen
        assert isinstance(shown, RunDetail)
        head = _text(shown, "#run-head")
        assert "class      lightgbm.LGBMClassifier" in head
        assert "source     trained by cockpit (the estimator class named with --model)" in head
        await pilot.press("escape", "down")
        assert table.current.id == 2

        await pilot.press("enter")
        shown = app.screen
        assert isinstance(shown, RunDetail)
        await shown.workers.wait_for_complete()
        await pilot.pause()
        head = _text(shown, "#run-head")
        assert "model      LGBMClassifier   seed 0" in head and "class      lightgbm.LGBMClassifier" in head
        assert f"source     trained by the script {SCRIPT} --trees 12\n           in /home/ana" in head
        assert "train_loss 0.0500 (step 11)" in _text(shown, "#steps-latest")
        assert "12 points logged" in _text(shown, "#steps-latest")
        record = _text(shown, "#run-record")
        assert "params     num_leaves=7" in record and "inputs     30 columns: mean_radius," in record
        assert shown.timer is None  # a finished run is read once, never again
        await pilot.press("escape")
        assert app.screen is screen
    ws.close()


async def test_a_running_script_run_grows_live_then_shows_it_finished(cancer, private_copy) -> None:
    ws = Workspace.open(private_copy(cancer))
    project = get_project(ws, "cancer")
    script = ws.reopen()  # the user's script: its own connection, as in its own process
    data = external.run_data(script, project)
    run_id = external.start(script, project, "script", {"script": SCRIPT, "argv": []}, {}, 0, data)
    app = CockpitApp(ws, "cancer")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            screen = app.screen
            table = screen.query_one(RunsTable)
            row = _lines(table)[1]
            assert row.split()[:5] == [str(run_id), "-", "script", "▶", "running"]  # no model yet

            steps.append_steps(script, run_id, [("loss", i, 1 / (i + 1)) for i in range(4)])
            screen._poll()  # what the 2 s timer does
            await pilot.pause()
            assert "step 3: loss 0.25" in _lines(table)[1]

            await pilot.press("enter")
            shown = app.screen
            assert isinstance(shown, RunDetail) and shown.timer is not None
            await _wait_for(pilot, lambda: "loss 0.2500 (step 3)" in _text(shown, "#steps-latest"))
            assert "(script, no model yet) · ▶ running" in _text(shown, "#run-title")
            assert "model      not logged yet" in _text(shown, "#run-head")

            # more steps, a second metric: the detail reads them without a key pressed
            more = [(k, i, v) for i in range(4, 8) for k, v in (("loss", 1 / (i + 1)), ("auc", 0.9))]
            steps.append_steps(script, run_id, more)
            await _wait_for(pilot, lambda: "loss 0.1250 (step 7)" in _text(shown, "#steps-latest"))
            assert "auc 0.9000 (step 7)" in _text(shown, "#steps-latest")
            assert "12 points logged" in _text(shown, "#steps-latest")
            assert "m metric" in _text(shown, "#run-title")
            assert "loss · auc by step" in screen_text(app)
            await pilot.press("m")  # one metric at a time, then all again
            assert "loss by step" in screen_text(app) and "loss · auc" not in screen_text(app)
            await pilot.press("m", "m")
            assert "loss · auc by step" in screen_text(app)

            external.finish_with_model(
                script, project, run_id, _lightgbm(data), data.train[data.columns], data, 1.0
            )
            await _wait_for(pilot, lambda: shown.timer is None)  # it ended: the reads stop
            assert "run " + str(run_id) + " (LGBMClassifier) · finished" in _text(shown, "#run-title")
            assert "class      lightgbm.LGBMClassifier" in _text(shown, "#run-head")
            record = _text(shown, "#run-record")
            assert "\nvalidation " in record and " roc_auc 0.9" in record  # scored on the split

            await pilot.press("escape")
            await pilot.pause()
            row = _lines(table)[1]
            assert row.split()[:4] == [str(run_id), "LGBMClassifier", "script", "✓"]
            assert "step" not in row  # a finished run shows its params, not its last steps
    finally:
        script.close()
        ws.close()


async def test_a_dead_script_run_is_shown_interrupted_in_its_detail(cancer, private_copy) -> None:
    ws = Workspace.open(private_copy(cancer))
    project = get_project(ws, "cancer")
    run_id = external.start(ws, project, "script", {"script": SCRIPT, "argv": []}, {}, 0, None)
    app = CockpitApp(ws, "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await pilot.press("enter")
        shown = app.screen
        assert isinstance(shown, RunDetail) and shown.timer is not None
        assert "steps      none logged yet" in _text(shown, "#steps-latest")
        assert "data       none named yet" in _text(shown, "#run-record")
        other = ws.reopen()  # its process ends without closing the run
        try:
            other.store.update("runs", {"id": run_id}, {"owner_pid": _gone_pid()})
        finally:
            other.close()
        await _wait_for(pilot, lambda: shown.timer is None)
        assert "· interrupted" in _text(shown, "#run-title")
        assert "error      the process running it stopped" in _text(shown, "#run-record")
    ws.close()


async def test_cancelling_a_script_run_says_the_script_stops_itself(cancer, private_copy) -> None:
    """cockpit holds no process of a script run: x records it cancelled, and says the user's
    code stops at its next logged metric rather than claiming to kill it."""
    from screens.confirm import ConfirmReason

    ws = Workspace.open(private_copy(cancer))
    project = get_project(ws, "cancer")
    run_id = external.start(ws, project, "script", {"script": SCRIPT, "argv": []}, {}, 0, None)
    app = CockpitApp(ws, "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "x")
        confirm = app.screen
        assert isinstance(confirm, ConfirmReason)
        assert confirm.question.startswith(f"Cancel run {run_id} (script)? It is recorded as cancelled")
        assert "next logged metric" in confirm.question and "Kill" not in confirm.question
        await pilot.press(*"wrong split", "enter")
        await pilot.pause()
        assert f"Run {run_id} cancelled: wrong split" in [n.message for n in app._notifications]
        run = runs.get_run(ws, project, run_id)
        assert (run.status, run.error) == ("cancelled", "cancelled by the user: wrong split")
    ws.close()


def _gone_pid() -> int:
    """The id of a process that has ended."""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    return int(child.stdout)


async def test_the_evaluation_run_picker_names_the_class(cancer, private_copy) -> None:
    ws = Workspace.open(private_copy(cancer))
    app = CockpitApp(ws, "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await app.screen.workers.wait_for_complete()
        await pilot.press("r")
        picker = app.screen
        assert isinstance(picker, RunPicker)
        table = picker.query_one("#run-choices")
        models = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert models == {"1": "logistic_regression", "2": "LGBMClassifier", "3": "LGBMClassifier"}
    ws.close()


# -- a user's script in its own process, through cockpit.start_run ------------------------

USER_SCRIPT = """\
import sys
import time
from pathlib import Path

import lightgbm

import cockpit

gate, workspace = Path(sys.argv[1]), sys.argv[2]


def wait(name):  # the test says when to go on
    while not (gate / name).exists():
        time.sleep(0.02)


with cockpit.start_run(project="cancer", workspace=workspace) as run:
    X, y = run.train_frame()
    run.log_params({"num_leaves": 7})
    for step in range(3):
        wait(f"go{step}")
        run.log_metric("loss", 1 / (step + 1), step=step)
        (gate / f"logged{step}").touch()
    model = lightgbm.LGBMClassifier(n_estimators=12, num_leaves=7, n_jobs=1, verbose=-1, random_state=0)
    run.log_model(model.fit(X, y))
    wait("finish")
"""


async def test_a_script_logging_steps_in_its_own_process_is_watched_live(
    cancer, private_copy, tmp_path
) -> None:
    """The script logs a step each time the test creates its go file, at least the tracking
    buffer's EVERY_S after the last point was written, so each point is written at once (its
    documented rule): the test controls the pace, nothing waits on luck."""
    import subprocess
    import sys
    import time

    from cockpit.tracking.buffer import EVERY_S

    folder = private_copy(cancer)
    gate = tmp_path / "gate"
    gate.mkdir()
    script = tmp_path / "train_mine.py"
    script.write_text(USER_SCRIPT)
    ws = Workspace.open(folder)
    app = CockpitApp(ws, "cancer")
    child = subprocess.Popen(
        [sys.executable, str(script), str(gate), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("4")
            screen = app.screen
            table = screen.query_one(RunsTable)

            async def shown(condition) -> None:
                def check() -> bool:
                    screen._poll()  # what its 2 s timer does, sooner
                    return condition()

                await _wait_for(pilot, check, 60.0)

            await shown(lambda: table.rows_total == 4)
            await pilot.press("home")
            run_id = table.current.id
            assert _lines(table)[1].split()[:5] == [str(run_id), "-", "script", "▶", "running"]
            last_write = time.monotonic()  # no later than this, the run's start

            async def step(k: int) -> float:
                while time.monotonic() - last_write <= EVERY_S:
                    await pilot.pause(0.05)
                (gate / f"go{k}").touch()
                await _wait_for(pilot, (gate / f"logged{k}").exists, 60.0)
                return time.monotonic()

            for k in range(2):
                last_write = await step(k)
                await shown(lambda k=k: f"step {k}: loss {1 / (k + 1):.3g}" in _lines(table)[1])

            await pilot.press("enter")
            detail_screen = app.screen
            assert isinstance(detail_screen, RunDetail) and detail_screen.timer is not None
            await _wait_for(pilot, lambda: "loss 0.5000 (step 1)" in _text(detail_screen, "#steps-latest"))
            # the store writes the workspace's own folder as "."
            assert f"source     trained by the script {script} {gate} ." in _text(detail_screen, "#run-head")
            last_write = await step(2)
            await _wait_for(pilot, lambda: "loss 0.3333 (step 2)" in _text(detail_screen, "#steps-latest"))
            assert "3 points logged" in _text(detail_screen, "#steps-latest")
            assert "· ▶ running" in _text(detail_screen, "#run-title")

            (gate / "finish").touch()
            assert child.wait(timeout=60) == 0, child.stdout.read() if child.stdout else ""
            await _wait_for(pilot, lambda: detail_screen.timer is None, 30.0)
            assert f"run {run_id} (LGBMClassifier) · finished" in _text(detail_screen, "#run-title")
            assert "params     num_leaves=7" in _text(detail_screen, "#run-record")
            await pilot.press("escape")
            await shown(
                lambda: _lines(table)[1].split()[:4] == [str(run_id), "LGBMClassifier", "script", "✓"]
            )
            assert "num_leaves=7" in _lines(table)[1]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        ws.close()


# -- the core the screens read ------------------------------------------------------------


def test_models_are_named_by_class_and_a_long_series_is_thinned(cancer, private_copy) -> None:
    ws = Workspace.open(private_copy(cancer))
    project = get_project(ws, "cancer")
    assert detail.model_label("random_forest") == "forest"
    assert detail.model_label("random_forest", short=False) == "random_forest"
    assert detail.model_label("lightgbm.LGBMClassifier") == "LGBMClassifier"
    assert detail.model_label("mypkg.pipes:make_pipeline", "LGBMClassifier") == "LGBMClassifier"
    assert detail.model_label("script") == detail.NO_MODEL

    seen = detail.models_seen(ws, project.id)
    assert seen == detail.ModelsSeen(("LGBMClassifier", "logistic"), catalog_only=False)

    run_id = external.start(ws, project, "notebook", {"kernel": "ipykernel"}, {}, 0, None)
    steps.append_steps(ws, run_id, [(k, i, float(i)) for i in range(5000) for k in ("b", "a")])
    assert detail.model_labels(ws, [1, 2, run_id], short=False) == {
        1: "logistic_regression",
        2: "LGBMClassifier",
        run_id: detail.NO_MODEL,
    }
    found = detail.latest_points(ws, [1, 2, run_id])  # keys in name order, a run without steps left out
    assert found[2] == (detail.Latest("train_loss", 11, pytest.approx(0.05)),)
    assert found[run_id] == (detail.Latest("a", 4999, 4999.0), detail.Latest("b", 4999, 4999.0))
    assert 1 not in found
    shown = detail.run_detail(ws, project, run_id)
    assert shown.points == 10_000 and [s.key for s in shown.series] == ["b", "a"]
    assert all(len(s.steps) <= detail.PLOT_POINTS and s.steps[-1] == 4999 for s in shown.series)
    assert os.getpid() == shown.run.owner_pid and shown.live
    ws.close()


async def test_the_picker_offers_only_runs_with_a_model_and_a_failed_evaluate_resets_the_header(
    cancer, private_copy, monkeypatch
) -> None:
    from cockpit.errors import CockpitError
    from cockpit.evaluation import gate as gating

    ws = Workspace.open(private_copy(cancer))
    project = get_project(ws, "cancer")
    bare = external.start(
        ws, project, "script", {"script": SCRIPT, "argv": []}, {}, 0, external.run_data(ws, project)
    )
    runs.finish(ws, project, bare, "finished", extra={"duration_s": 0.2})  # params and curves only
    app = CockpitApp(ws, "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await app.screen.workers.wait_for_complete()
        await pilot.press("r")
        picker = app.screen
        assert isinstance(picker, RunPicker)
        table = picker.query_one("#run-choices")
        assert {str(table.get_row_at(i)[1]) for i in range(table.row_count)} == {"1", "2", "3"}
        await pilot.press("escape")
        await pilot.pause()
        screen = app.screen

        def refused(*args, **kwargs):
            raise CockpitError("the test split cannot be read")

        monkeypatch.setattr(gating, "gate", refused)
        await pilot.press("v")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert "Evaluating" not in _text(screen, "#verdict")
    ws.close()


def test_the_detail_says_how_long_a_run_has_run_and_a_model_that_was_not_scored(cancer, private_copy) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from screens.run_detail import describe_head

    ws = Workspace.open(private_copy(cancer))
    project = get_project(ws, "cancer")
    running = external.start(
        ws, project, "script", {"script": SCRIPT, "argv": []}, {}, 0, external.run_data(ws, project)
    )
    run = runs.get_run(ws, project, running)
    started = (datetime.now(UTC) - timedelta(seconds=90)).isoformat(timespec="seconds")
    head = describe_head(replace(run, created_at=started))
    assert "0.00 s" not in head and ("90 s so far" in head or "91 s so far" in head)
    runs.finish(
        ws,
        project,
        running,
        "failed",
        error="ValueError: Input X contains NaN.",
        extra={"duration_s": 1.5, "family": "lightgbm.LGBMClassifier", "model_class": "LGBMClassifier"},
    )
    head = describe_head(runs.get_run(ws, project, running))
    assert "model      LGBMClassifier logged, not scored: ValueError: Input X contains NaN." in head
    assert "1.50 s" in head
    ws.close()
