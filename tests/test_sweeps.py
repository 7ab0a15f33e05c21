"""Sweeps, the runs query, compare and reproduce."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.errors import CockpitError
from cockpit.projects import create_project
from cockpit.training import query, runs, spaces, sweeps
from cockpit.training.compare import compare
from cockpit.training.reproduce import reproduce

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


@pytest.fixture
def ready(workspace, tmp_path: Path):
    project = create_project(workspace, "subs", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 300)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(0, 1, 300),
            "plan": rng.choice(["a", "b"], 300),
            "left": (x + rng.normal(0, 1, 300) > 0.5).astype(int),
        }
    )
    path = tmp_path / "subs.csv"
    frame.to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified")
    return project


def test_a_20_trial_random_sweep_records_20_runs(workspace, ready) -> None:
    trials = spaces.random_trials("logistic_regression", 20, seed=1)
    assert trials == spaces.random_trials("logistic_regression", 20, seed=1)  # seeded
    result = sweeps.run_sweep(workspace, ready, "logistic_regression", trials, "random", n_jobs=2)
    assert result.status == "finished" and len(result.run_ids) == 20
    recorded = workspace.store.rows("SELECT status, params, sweep_id FROM runs")
    assert len(recorded) == 20 and {r["status"] for r in recorded} == {"finished"}
    assert {r["sweep_id"] for r in recorded} == {result.sweep_id}
    assert sorted(json.loads(r["params"])["C"] for r in recorded) == sorted(t["C"] for t in trials)
    best = workspace.store.one("SELECT id FROM runs ORDER BY score DESC, id LIMIT 1")
    sweep = sweeps.list_sweeps(workspace, ready)[0]
    assert sweep["best_run_id"] == best["id"] == result.best_run_id
    assert sweep["finished_trials"] == 20 and sweep["status"] == "finished"


def test_grid_sweep_tries_every_combination(workspace, ready, tmp_path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('max_depth = [2, 4, "none"]\nmin_samples_leaf = [1, 10]\n')
    trials = spaces.grid_trials(spaces.load_grid(grid))
    assert len(trials) == 6 and {"max_depth": None, "min_samples_leaf": 10} in trials
    result = sweeps.run_sweep(workspace, ready, "decision_tree", trials, "grid", n_jobs=2)
    assert len(result.run_ids) == 6


def test_bad_grid_is_refused_before_any_trial(workspace, ready, tmp_path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text("max_dept = [2, 4]\n")
    with pytest.raises(CockpitError, match="takes no parameter max_dept"):
        sweeps.run_sweep(
            workspace, ready, "decision_tree", spaces.grid_trials(spaces.load_grid(grid)), "grid"
        )
    assert workspace.store.scalar("SELECT count(*) FROM sweeps") == 0


def test_time_budget_and_target_stop_new_trials(workspace, ready) -> None:
    trials = spaces.random_trials("logistic_regression", 8, seed=2)
    spent = sweeps.run_sweep(workspace, ready, "logistic_regression", trials, "random", time_budget_s=0.0)
    assert spent.status == "stopped" and "time budget" in spent.reason and not spent.run_ids

    problem.save_spec(workspace, ready, problem.ProblemSpec(metric="roc_auc", metric_target=0.5))
    met = sweeps.run_sweep(
        workspace, ready, "logistic_regression", trials, "random", n_jobs=1, stop_on_target=True
    )
    assert met.status == "stopped" and "target roc_auc >= 0.5 met" in met.reason
    assert 1 <= len(met.run_ids) < 8


def test_interrupt_keeps_finished_trials_and_cancels_the_rest(workspace, ready) -> None:
    trials = spaces.random_trials("random_forest", 6, seed=3)
    seen = []

    def progress(done, total, message):
        seen.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(sweeps.SweepInterrupted) as stopped:
        sweeps.run_sweep(workspace, ready, "random_forest", trials, "random", n_jobs=2, progress=progress)
    statuses = [r["status"] for r in workspace.store.rows("SELECT status FROM runs ORDER BY id")]
    assert statuses.count("finished") == 2 and set(statuses) <= {"finished", "cancelled"}
    assert stopped.value.result.status == "cancelled"
    assert sweeps.list_sweeps(workspace, ready)[0]["status"] == "cancelled"


def test_a_sweep_after_an_interrupted_one_is_not_stopped_by_its_leftovers(workspace, ready) -> None:
    """An interrupted sweep stops its joblib workers itself. What it left behind used to stop
    joblib's shared worker pool whenever the garbage collector freed it: here, on purpose,
    while the next sweep's trials run on that pool (this failed a shuffled suite run)."""

    def interrupt(done, total, message):
        raise KeyboardInterrupt

    def collect(done, total, message):
        if done == 1:  # the other trials are running
            gc.collect()

    gc.disable()  # nothing is collected before `collect` asks
    try:
        with pytest.raises(sweeps.SweepInterrupted) as stopped:
            trials = spaces.random_trials("random_forest", 4, seed=3)
            sweeps.run_sweep(
                workspace, ready, "random_forest", trials, "random", n_jobs=2, progress=interrupt
            )
        left_behind = [stopped]  # the interrupted sweep, reachable only through a cycle
        left_behind.append(left_behind)
        del stopped, left_behind
        trials = spaces.random_trials("random_forest", 8, seed=1)
        result = sweeps.run_sweep(
            workspace, ready, "random_forest", trials, "random", n_jobs=2, progress=collect
        )
    finally:
        gc.enable()
    assert result.status == "finished" and len(result.run_ids) == 8


def test_query_sorts_filters_and_pages_in_sql(workspace, ready) -> None:
    trials = spaces.random_trials("logistic_regression", 6, seed=4)
    sweeps.run_sweep(workspace, ready, "logistic_regression", trials, "random")
    store = workspace.store
    by_auc = query.make_query(ready.id, "roc_auc")
    rows = query.page(store, by_auc, 0, 100)
    scores = [r.metrics["roc_auc"] for r in rows]
    assert scores == sorted(scores, reverse=True) and query.count(store, by_auc) == 6
    low_c = query.make_query(ready.id, "id", "family=logistic_regression roc_auc>0")
    assert query.count(store, low_c) == 6
    assert query.count(store, query.make_query(ready.id, "id", "status=failed")) == 0
    assert query.page(store, by_auc, 5, 10)[0].id == rows[-1].id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rocauc>1", "did you mean 'roc_auc'"),
        ("recall", "write FIELD OP VALUE"),
        ("recall>high", "takes a number"),
        ("family>forest", "takes = or !="),
    ],
)
def test_bad_filters_say_why(text: str, message: str) -> None:
    with pytest.raises(CockpitError, match=message):
        query.parse_filter(text)


def test_compare_and_reproduce(workspace, ready) -> None:
    first = runs.train(workspace, ready, "random_forest", ["n_estimators=20"], seed=5)
    second = runs.train(workspace, ready, "random_forest", ["n_estimators=40"], seed=5)
    diff = compare(workspace, ready, [first.id, second.id], differences_only=True)
    fields = {row.field for row in diff.rows}
    assert "param n_estimators" in fields and "model" not in fields and "seed" not in fields
    everything = compare(workspace, ready, [first.id, second.id])
    assert any(row.field == "seed" and not row.differs for row in everything.rows)

    same = reproduce(workspace, ready, first.id)
    assert same.identical and same.artifact_match and same.predictions_match
    assert not same.libraries_differ

    tampered = dict(first.params, n_estimators=21)
    workspace.store.update("runs", {"id": first.id}, {"params": json.dumps(tampered)})
    differs = reproduce(workspace, ready, first.id)
    assert not differs.identical and not differs.artifact_match
    rows = workspace.store.rows(
        "SELECT identical FROM reproductions WHERE run_id = ? ORDER BY id", [first.id]
    )
    assert [r["identical"] for r in rows] == [1, 0]


def test_cli_sweep_runs_compare_reproduce(run_cli, workspace, ready, tmp_path) -> None:
    folder = workspace.root
    made = run_cli("sweep", "--model", "logistic_regression", "--random", "3", "--json", workspace=folder)
    assert made.exit_code == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["id"] == 1 and len(result["runs"]) == 3
    listed = json.loads(
        run_cli("runs", "--sort", "roc_auc", "--filter", "sweep=1", "--json", workspace=folder).stdout
    )
    assert [r["metrics"]["roc_auc"] for r in listed] == sorted(
        (r["metrics"]["roc_auc"] for r in listed), reverse=True
    )
    assert run_cli("runs", "--filter", "bogus=1", workspace=folder).exit_code == 2
    diff = json.loads(run_cli("compare", "1", "2", "--json", workspace=folder).stdout)
    assert any(row["field"] == "param C" for row in diff["rows"])
    assert run_cli("compare", "1", workspace=folder).exit_code == 2
    again = run_cli("reproduce", "1", workspace=folder)
    assert again.exit_code == 0 and "identical" in again.stdout
    neither = run_cli("sweep", "--model", "ridge", workspace=folder)
    assert neither.exit_code == 2


def test_a_failing_refit_reports_its_error_on_the_channel(workspace, ready) -> None:
    """A refit that fails in the child (the stored params no longer fit the family) says why
    in the parent, and nothing is recorded."""
    run = runs.train(workspace, ready, "random_forest", ["n_estimators=10"], seed=5)
    broken = dict(run.params, n_estimators="many")
    workspace.store.update("runs", {"id": run.id}, {"params": json.dumps(broken)})
    with pytest.raises(
        CockpitError, match=rf"reproducing run {run.id} \(random_forest\) failed: TypeError: "
    ):
        reproduce(workspace, ready, run.id)
    assert workspace.store.scalar("SELECT count(*) FROM reproductions WHERE run_id = ?", [run.id]) == 0
