"""The demo build's parallel parts (cockpit/demo/): runs trained in its two processes keep
the order of their ids and are the models `cockpit train` makes, a failed step in the second
process stops the build with its error, and the thread variables are shared out and put back."""

from __future__ import annotations

import os

import pytest

from cockpit import demo
from cockpit.demo import steps
from cockpit.demo.lane import Lane


def test_threads_are_shared_between_the_builds_processes_and_put_back(monkeypatch) -> None:
    for name in demo.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # the user's own choice is kept
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    with demo._threads_per_process(2):
        assert os.environ["OMP_NUM_THREADS"] == os.environ["OPENBLAS_NUM_THREADS"] == "2"
        assert os.environ["MKL_NUM_THREADS"] == "3"
    assert "OMP_NUM_THREADS" not in os.environ and "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["MKL_NUM_THREADS"] == "3"
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    with demo._threads_per_process(2):
        assert os.environ["OMP_NUM_THREADS"] == "1"


@pytest.fixture
def penguins(workspace):
    from palmerpenguins import load_penguins

    from cockpit.data.datasets import import_dataset
    from cockpit.data.splits import make_split
    from cockpit.projects import create_project

    path = workspace.root / "penguins.csv"
    load_penguins().to_csv(path, index=False)
    project = create_project(workspace, "penguins", "multiclass", "species")
    import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified", seed=1)
    return project


def test_runs_trained_in_both_processes_keep_their_ids_and_are_cockpit_trains_models(
    workspace, penguins
) -> None:
    from cockpit.training.runs import get_run, list_runs, train

    wanted = [("logistic_regression", ["C=0.5"]), ("decision_tree", ["max_depth=3"]), ("dummy", [])]
    created = [demo._create_run(workspace, penguins, family, params)[1] for family, params in wanted]
    said: list[str] = []
    lane = Lane(workspace.dir, said.append)
    try:
        lane.start("train", [[penguins.id, created[1]]])
        for run_id in (created[0], created[2]):
            steps.train_here(workspace, penguins, run_id, said.append)
        lane.close()
    finally:
        lane.stop()
    runs = sorted(list_runs(workspace, penguins), key=lambda r: r.id)
    assert [r.id for r in runs] == created
    assert [(r.family, r.status) for r in runs] == [(family, "finished") for family, _ in wanted]
    assert sorted(line.split(" (")[0] for line in said) == [f"penguins: run {i}" for i in created]
    # the same rows, seed and code as a training process: the same model, to the byte
    by_child = train(workspace, penguins, *wanted[1])
    there = get_run(workspace, penguins, created[1])
    assert by_child.artifact_sha256 == there.artifact_sha256
    assert by_child.validation_metrics == there.validation_metrics


def test_a_step_that_fails_in_the_second_process_stops_the_build_with_its_error(workspace, penguins) -> None:
    from cockpit.errors import CockpitError

    lane = Lane(workspace.dir, lambda line: None)
    try:
        lane.start("reproduce_production", penguins.id)  # nothing in production to reproduce
        failed = (
            "the demo build's step reproduce_production failed: "
            "CockpitError: no model has the alias 'production' .*registry.py"
        )
        with pytest.raises(CockpitError, match=failed):
            lane.wait("reproduce_production")
    finally:
        lane.stop()
    assert lane.process.returncode is not None  # the process has ended


def test_the_own_script_starts_once_the_retrains_challenger_has_its_run_id(
    workspace, penguins, tmp_path, monkeypatch
) -> None:
    """Its run must take the id after the challenger's, as in a one-step-at-a-time build."""
    import subprocess
    import sys
    import time

    from cockpit.workspace import Workspace

    seen: list[int] = []

    def start(folder):  # the script's own process, with the newest run id when it started
        with Workspace(workspace.dir) as mine:  # in the thread that starts it
            seen.append(demo._last_run(mine))
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr(steps, "start_own_script", start)
    script = demo._ScriptAfterRun(workspace, tmp_path)
    time.sleep(0.3)
    assert seen == []  # no run yet
    _, challenger = demo._create_run(workspace, penguins, "dummy", [])
    for _ in range(100):
        if seen:
            break
        time.sleep(0.05)
    assert seen == [challenger]  # started by the thread, before anyone asked for it
    assert script.started().wait() == 0
    stopped = demo._ScriptAfterRun(workspace, tmp_path)
    stopped.stop()  # the build failed before the retrain made its run
    assert seen == [challenger] and stopped.process is None


def test_a_build_killed_in_its_last_steps_is_built_again_not_opened(tmp_path, monkeypatch) -> None:
    """The last steps run in the demo's own folder; a build killed there (-9: nothing runs to
    clean up) leaves its mark, and the next `cockpit demo` builds again instead of opening it."""
    finished: list[str] = []
    monkeypatch.setattr(demo, "_fill_in_order", lambda workspace, folder, progress: None)
    monkeypatch.setattr(demo, "_finish_in_place", lambda workspace, folder, progress: finished.append("x"))
    workspace, built = demo.build_demo(tmp_path, jobs=1)
    workspace.close()
    marker = tmp_path / ".cockpit" / demo.UNFINISHED
    assert built and finished == ["x"] and not marker.exists()
    workspace, built = demo.build_demo(tmp_path, jobs=1)
    workspace.close()
    assert not built and finished == ["x"]  # a finished demo is opened as it is

    marker.touch()  # what a build killed during its last steps leaves
    workspace, built = demo.build_demo(tmp_path, jobs=1)
    workspace.close()
    assert built and finished == ["x", "x"] and not marker.exists()
