"""Sweeps on a Dask cluster (issue 26): one LocalCluster of 2 worker processes for the module,
the same runs as loky, the worker version check, an unreachable scheduler, and cancel.

The module's tests share one xdist group, so `pytest -n 2` never runs two clusters at once.
"""

from __future__ import annotations

import json
import statistics
import sys

import pytest

from cockpit import cluster as clusters
from cockpit.errors import CockpitError
from cockpit.projects import list_projects
from cockpit.training import spaces, sweeps
from cockpit.workspace import Workspace
from tests import cli_workspaces

pytestmark = pytest.mark.xdist_group("dask_cluster")

# 12 trials; a random subset of features at each split, so each tree depends on its seed
GRID = {"max_depth": [2, 4, None], "min_samples_leaf": [1, 5], "max_features": ["sqrt", 0.5]}


@pytest.fixture
def dask_cluster(local_cluster) -> clusters.ClusterChoice:
    return clusters.ClusterChoice(address=local_cluster.scheduler_address)


@pytest.fixture(scope="module")
def cancer_build(tmp_path_factory):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return cli_workspaces.build(tmp_path_factory.mktemp("cancer"), frame, "binary", "target")


@pytest.fixture
def cancer(cancer_build, tmp_path):
    built = cli_workspaces.copy(cancer_build, tmp_path / "copy")
    ws = Workspace(built.root / ".cockpit")
    yield ws, list_projects(ws)[0]
    ws.close()


def _recorded(ws: Workspace, sweep_id: int) -> list[tuple]:
    rows = ws.store.rows("SELECT * FROM runs WHERE sweep_id = ? ORDER BY id", [sweep_id])
    metric_columns = sorted(c for c in rows[0] if c.startswith("val_"))
    return [
        (
            json.dumps(json.loads(r["params"]), sort_keys=True),
            r["status"],
            r["seed"],
            r["score"],
            tuple(r[c] for c in metric_columns),
            r["artifact_sha256"],
        )
        for r in rows
    ]


def test_a_12_trial_sweep_on_dask_records_the_same_runs_as_loky(dask_cluster, cancer, tmp_path) -> None:
    ws, project = cancer
    trials = spaces.grid_trials(GRID)
    on_loky = sweeps.run_sweep(ws, project, "decision_tree", trials, "grid", seed=7, n_jobs=2)
    on_dask = sweeps.run_sweep(ws, project, "decision_tree", trials, "grid", seed=7, cluster=dask_cluster)
    assert on_loky.status == on_dask.status == "finished"
    on_loky_runs = _recorded(ws, on_loky.sweep_id)
    assert len(on_dask.run_ids) == 12 and len(set(on_loky_runs)) == 12
    # params, seed, every validation metric and the fitted model's bytes, trial by trial
    assert sorted(_recorded(ws, on_dask.sweep_id)) == sorted(on_loky_runs)
    sweep = sweeps.list_sweeps(ws, project)[0]  # newest first
    assert sweep["backend"] == f"dask {dask_cluster.address}" and sweep["n_jobs"] == 2


def test_workers_with_another_scikit_learn_are_refused_before_anything_is_written(
    dask_cluster, cancer, monkeypatch
) -> None:
    ws, project = cancer
    real = clusters.local_versions()
    monkeypatch.setattr(clusters, "local_versions", lambda: {**real, "scikit-learn": "1.0.0"})
    before = ws.store.scalar("SELECT count(*) FROM events")
    with pytest.raises(CockpitError) as refused:
        sweeps.run_sweep(ws, project, "decision_tree", [{}], "grid", cluster=dask_cluster)
    lines = str(refused.value).splitlines()
    assert "same versions" in lines[0]
    assert lines[1].split() == ["worker", "package", "here", "worker", "has"]
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == 2  # both workers
    assert all(row[1:] == ["scikit-learn", "1.0.0", real["scikit-learn"]] for row in rows)
    assert ws.store.scalar("SELECT count(*) FROM sweeps") == 0
    assert ws.store.scalar("SELECT count(*) FROM events") == before


def test_an_unreachable_scheduler_is_one_line_and_exit_2(cancer_build, tmp_path, monkeypatch) -> None:
    built = cli_workspaces.copy(cancer_build, tmp_path / "copy")
    monkeypatch.setattr(clusters, "CONNECT_TIMEOUT_S", 0.5)
    monkeypatch.setenv(clusters.SCHEDULER_ENV, "tcp://127.0.0.1:1")
    result = built.cli("sweep", "--model", "decision_tree", "--random", "3")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in (
        result.stderr
    )
    listed = built.cli("runs", "--json")
    assert json.loads(listed.stdout) == []


def test_cancel_stops_a_dask_sweep(dask_cluster, cancer) -> None:
    ws, project = cancer
    trials = spaces.random_trials("decision_tree", 10, seed=3)

    def progress(done, total, message):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(sweeps.SweepInterrupted) as stopped:
        sweeps.run_sweep(
            ws, project, "decision_tree", trials, "random", n_jobs=2, progress=progress, cluster=dask_cluster
        )
    statuses = [r["status"] for r in ws.store.rows("SELECT status FROM runs ORDER BY id")]
    # the trials in flight (at most 2) are cancelled on the cluster, no new one is sent
    assert statuses[:2] == ["finished", "finished"] and set(statuses[2:]) <= {"cancelled"}
    assert len(statuses) <= 4
    assert stopped.value.result.status == "cancelled"
    assert sweeps.list_sweeps(ws, project)[0]["status"] == "cancelled"
    from distributed import Client

    with Client(dask_cluster.address) as client:  # the cluster holds nothing of the sweep
        left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
    assert left == 0


def _scores(ws: Workspace, sweep_id: int) -> list[float]:
    return [
        r["score"] for r in ws.store.rows("SELECT score FROM runs WHERE sweep_id = ? ORDER BY id", [sweep_id])
    ]


def test_optuna_beats_random_search_on_the_same_space_and_seed(cancer) -> None:
    """20 trials each over the decision tree's default space, one at a time (so Optuna's
    choices do not depend on which trial comes back first)."""
    pytest.importorskip("optuna")
    from cockpit.training.search import OptunaSearch

    ws, project = cancer
    space = spaces.DEFAULT_SPACES["decision_tree"]
    drawn = sweeps.run_sweep(
        ws,
        project,
        "decision_tree",
        spaces.random_trials("decision_tree", 20, 5),
        "random",
        5,
        1,
        "threading",
    )
    chosen = sweeps.run_sweep(
        ws, project, "decision_tree", OptunaSearch(space, 20, 5, "roc_auc"), "optuna", 5, 1, "threading"
    )
    random_scores, optuna_scores = _scores(ws, drawn.sweep_id), _scores(ws, chosen.sweep_id)
    assert len(random_scores) == len(optuna_scores) == 20
    assert statistics.median(optuna_scores) > statistics.median(random_scores)
    assert max(optuna_scores) >= max(random_scores)
    assert sweeps.list_sweeps(ws, project)[0]["kind"] == "optuna"


def test_optuna_on_dask_prunes_trials_worse_than_the_median_at_a_stage(dask_cluster, cancer) -> None:
    """Stumps against deep trees in a forest grown in stages: once 5 trials are finished, a
    trial below their median at a stage stops there, on the worker."""
    pytest.importorskip("optuna")
    from cockpit.training.search import OptunaSearch

    ws, project = cancer
    space = {"n_estimators": ("choice", [4]), "max_depth": ("choice", [1, None])}
    result = sweeps.run_sweep(
        ws,
        project,
        "random_forest",
        OptunaSearch(space, 8, 3, "roc_auc"),
        "optuna",
        3,
        1,
        cluster=dask_cluster,
    )
    rows = ws.store.rows(
        "SELECT params, status, error FROM runs WHERE sweep_id = ? ORDER BY id", [result.sweep_id]
    )
    pruned = [r for r in rows if r["status"] == "cancelled"]
    assert result.status == "finished" and len(rows) == 8
    assert pruned and all(r["error"].startswith("pruned by optuna at n_estimators ") for r in pruned)
    assert all(json.loads(r["params"])["max_depth"] == 1 for r in pruned)
    assert all(r["status"] == "finished" for r in rows[:5])  # nothing is pruned before 5 are done


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("optuna", ("--search", "optuna", "--trials", "3"), "cockpit[optuna]"),
        ("distributed", ("--random", "3", "--dask-local", "2"), "cockpit[dask]"),
    ],
)
def test_a_missing_extra_is_named(cancer_build, tmp_path, monkeypatch, module, args, extra) -> None:
    built = cli_workspaces.copy(cancer_build, tmp_path / "copy")
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it fails
    result = built.cli("sweep", "--model", "decision_tree", *args)
    assert result.exit_code == 2 and f"pip install '{extra}'" in result.stderr
    assert json.loads(built.cli("runs", "--json").stdout) == []


def test_the_uis_stop_cancels_a_sweep_on_dask(dask_cluster, cancer) -> None:
    """The UI's sweep (a child process) on the scheduler its dialog names; its stop key."""
    ws, project = cancer
    handle = sweeps.SweepHandle(ws, project, "decision_tree", 30, n_jobs=2, scheduler=dask_cluster.address)
    result = handle.wait(lambda done, total, message: handle.stop())
    assert result.status == "cancelled"
    statuses = [r["status"] for r in ws.store.rows("SELECT status FROM runs ORDER BY id")]
    assert "finished" in statuses and len(statuses) < 30
    assert sweeps.list_sweeps(ws, project)[0]["backend"] == f"dask {dask_cluster.address}"


def test_a_ctrl_c_amid_trials_that_came_back_together_records_each_once(cancer, monkeypatch) -> None:
    """Trials back at the same moment are recorded together; Ctrl-C while the first of them
    is reported leaves each recorded once (finished), none again as cancelled."""
    pytest.importorskip("optuna")
    import concurrent.futures

    from cockpit.training import sweep_pools
    from cockpit.training.search import OptunaSearch

    def wait_all(self, futures):
        return list(concurrent.futures.wait(futures).done)  # every trial in flight: a burst

    monkeypatch.setattr(sweep_pools.ExecutorPool, "wait_first", wait_all)
    ws, project = cancer

    def interrupt(done, total, message):
        raise KeyboardInterrupt

    search = OptunaSearch(spaces.DEFAULT_SPACES["decision_tree"], 6, 1, "roc_auc")
    with pytest.raises(sweeps.SweepInterrupted):
        sweeps.run_sweep(
            ws, project, "decision_tree", search, "optuna", 1, 2, "threading", progress=interrupt
        )
    assert [r["status"] for r in ws.store.rows("SELECT status FROM runs")] == ["finished", "finished"]


def test_time_budget_and_target_stop_sending_trials_to_the_cluster(dask_cluster, cancer) -> None:
    from cockpit import problem

    ws, project = cancer
    trials = spaces.random_trials("decision_tree", 8, seed=2)
    spent = sweeps.run_sweep(
        ws, project, "decision_tree", trials, "random", time_budget_s=0.0, cluster=dask_cluster
    )
    assert spent.status == "stopped" and "time budget" in spent.reason and not spent.run_ids

    problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.5))
    met = sweeps.run_sweep(
        ws, project, "decision_tree", trials, "random", n_jobs=1, stop_on_target=True, cluster=dask_cluster
    )
    assert met.status == "stopped" and met.reason == "target roc_auc >= 0.5 met by trial 1"
    assert len(met.run_ids) == 1  # one trial in flight at a time: none sent after the first


def test_a_sweep_finishes_when_every_worker_dies_mid_run(dask_cluster, cancer) -> None:
    """Both worker processes killed after the first trial: the frames they held are lost to
    the cluster, so they are sent again to the workers the nannies start (checked first), and
    the trials lost with them go again. Every trial is recorded as on threads, none failed."""
    import os
    import signal

    from distributed import Client

    ws, project = cancer
    trials = spaces.grid_trials(GRID)[:4]
    with Client(dask_cluster.address) as client:
        pids = list(client.run(os.getpid).values())
        killed: list[int] = []

        def progress(done, total, message):
            if not killed:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                killed.append(done)

        on_dask = sweeps.run_sweep(
            ws, project, "decision_tree", trials, "grid", seed=7, progress=progress, cluster=dask_cluster
        )
        client.wait_for_workers(2, timeout=60)  # the cluster as the other tests expect it
        assert not set(client.run(os.getpid).values()) & set(pids)
    assert killed == [1] and on_dask.status == "finished"
    on_threads = sweeps.run_sweep(ws, project, "decision_tree", trials, "grid", 7, 2, "threading")
    assert sorted(_recorded(ws, on_dask.sweep_id)) == sorted(_recorded(ws, on_threads.sweep_id))
    assert {row[1] for row in _recorded(ws, on_dask.sweep_id)} == {"finished"}
