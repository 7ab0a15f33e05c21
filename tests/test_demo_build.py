"""The demo build's parallel parts (cockpit/demo.py): runs trained side by side keep the
order of their ids, and the thread variables are shared out and put back."""

from __future__ import annotations

import os

from cockpit import demo


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


def test_runs_trained_side_by_side_take_ids_in_the_lists_order(workspace, monkeypatch) -> None:
    from palmerpenguins import load_penguins

    from cockpit.data.datasets import import_dataset
    from cockpit.data.splits import make_split
    from cockpit.projects import create_project
    from cockpit.training.runs import list_runs

    path = workspace.root / "penguins.csv"
    load_penguins().to_csv(path, index=False)
    project = create_project(workspace, "penguins", "multiclass", "species")
    import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified", seed=1)
    wanted = [
        ("penguins", "dummy", []),
        ("penguins", "logistic_regression", ["C=0.5"]),
        ("penguins", "decision_tree", ["max_depth=3"]),
    ]
    monkeypatch.setattr(demo, "DEMO_RUNS", wanted)
    said: list[str] = []
    demo._train_runs(workspace, {"penguins": project}, said.append, jobs=2)  # the third waits
    runs = sorted(list_runs(workspace, project), key=lambda r: r.id)
    assert [(r.family, r.status) for r in runs] == [(f, "finished") for _, f, _ in wanted]
    assert [line.split(" (")[0] for line in said] == [f"penguins: run {r.id}" for r in runs]


def test_a_helper_process_that_fails_stops_the_build_with_its_error(workspace) -> None:
    import pytest

    from cockpit.errors import CockpitError

    helper = demo._start_helper(workspace, "_reproduce_production")  # no project to reproduce
    failed = "(?s)the demo build's step _reproduce_production failed: Traceback.*AssertionError"
    with pytest.raises(CockpitError, match=failed):
        demo._finish_helper(helper, lambda line: None)
