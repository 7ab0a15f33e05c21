"""`monitor check --scheduler` (issue 26): the stored batches' chunks counted on a 2-process
LocalCluster give the one-process windows (integer counts exactly, float sums within 1e-12
relative); the counters' merge is their chunk-by-chunk sum past the exact-KS size. Work sent
chunk by chunk (check, predict) goes only to workers whose versions were checked, late
joiners too, and finishes when every worker dies mid-run.

palmerpenguins (categories, gaps, three classes), segments by island, labels joined."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit import cluster as clusters
from cockpit.monitoring import drift
from tests.monitoring_helpers import build, penguins, run

pytestmark = pytest.mark.xdist_group("dask_cluster")  # never two LocalClusters at once


@pytest.fixture
def cluster(local_cluster) -> str:
    return local_cluster.scheduler_address


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from cockpit import problem
    from cockpit.projects import list_projects
    from cockpit.workspace import Workspace

    root = tmp_path_factory.mktemp("check_dask") / "ws"
    data = penguins()
    build(root, "multiclass", "species", data.iloc[:250])
    with Workspace(root / ".cockpit") as ws:
        project = list_projects(ws)[0]
        spec = problem.current_spec(ws, project)
        problem.save_spec(ws, project, dataclasses.replace(spec, segments=["island"]))
    rest = data.iloc[250:]
    rest.drop(columns=["species"]).to_csv(root / "may.csv", index=False)
    rest.iloc[:60].drop(columns=["species"]).to_csv(root / "may_again.csv", index=False)
    rest[rest["island"] != "Biscoe"].drop(columns=["species"]).to_csv(root / "june.csv", index=False)
    rest.to_csv(root / "labels.csv", index=False)
    for step in (
        ("monitor", "ingest", str(root / "may.csv"), "--at", "2026-05-04"),
        ("monitor", "ingest", str(root / "may_again.csv"), "--at", "2026-05-20"),
        ("monitor", "ingest", str(root / "june.csv"), "--at", "2026-06-10"),
        ("monitor", "labels", str(root / "labels.csv")),
    ):
        result = run(root, *step)
        assert result.exit_code == 0, (step, result.stderr)
    return root


@pytest.fixture
def root(built: Path, private_copy) -> Path:
    return private_copy(built)


def _same(here, there, where: str = "") -> None:
    """Integers, text and None exactly; floats within 1e-12 relative."""
    if isinstance(here, dict):
        assert here.keys() == there.keys(), where
        for key in here:
            _same(here[key], there[key], f"{where}.{key}")
    elif isinstance(here, list):
        assert len(here) == len(there), where
        for i, (a, b) in enumerate(zip(here, there, strict=True)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(here, float) and not isinstance(there, bool):
        assert isinstance(there, float) and math.isclose(here, there, rel_tol=1e-12, abs_tol=0), where
    else:
        assert type(here) is type(there) and here == there, (where, here, there)


def _windows(root: Path, *args: str) -> list[dict]:
    result = run(root, "monitor", "check", "--json", "--now", "2026-07-01", *args)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)["windows"]


def _stored(root: Path) -> list[dict]:
    """The windows as stored, drift figures of every feature included."""
    from cockpit.workspace import Workspace

    with Workspace(root / ".cockpit") as ws:
        rows = ws.store.rows("SELECT stats FROM monitor_windows ORDER BY window")
    return [{k: v for k, v in json.loads(r["stats"]).items() if k != "newest"} for r in rows]


def test_check_on_a_dask_cluster_equals_the_check_here(root: Path, cluster: str, monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_CHUNK_ROWS", "7")  # 94 + 60 + 55 rows: 31 chunks, each a task
    here, stored_here = _windows(root), _stored(root)
    there, stored_there = _windows(root, "--scheduler", cluster), _stored(root)
    _same(here, there)
    _same(stored_here, stored_there)
    may, june = stored_there
    # real figures, not blanks: drift of numbers and categories, answers, performance, segments
    assert may["rows"] == 154 and may["batches"] == 2 and may["labelled"] == 154
    assert june["rows"] == int((penguins().iloc[250:]["island"] != "Biscoe").sum())
    assert may["features"]["bill_length_mm"]["ks_p"] is not None
    assert may["features"]["island"]["js"] is not None and june["prediction_psi"] is not None
    assert set(may["by_segment"]["island"]) == {"Biscoe", "Dream", "Torgersen"}
    assert "Biscoe" not in june["by_segment"]["island"] and 0 < may["metric_value"] <= 1
    assert may["missing_rate"] > 0  # penguins' gaps, counted on the workers


def test_a_bad_scheduler_choice_is_one_line(root: Path) -> None:
    result = run(root, "monitor", "check", "--scheduler", "tcp://x:1", "--dask-local", "2")
    assert result.exit_code == 2 and result.stderr.strip().endswith("not both")


@pytest.mark.parametrize("rows", [9_000, 45_000])
def test_counters_merged_from_parts_equal_counters_fed_chunk_by_chunk(rows: int) -> None:
    """What a worker sends back (`state`) merged in the chunks' order is what adding the
    chunks one by one gives: below and past the size up to which KS is exact."""
    rng = np.random.default_rng(5)
    reference = drift.numeric_reference(pd.Series(rng.normal(0, 1, 20_000)))
    values = pd.Series(rng.normal(0.3, 1.2, rows)).mask(rng.random(rows) < 0.05)
    categories = pd.Series(rng.choice(["a", "b", "c", None], rows)).astype(object)
    known = drift.categorical_reference(pd.Series(rng.choice(["a", "b"], 500)))
    fed, merged = drift.NumericCounts(reference), drift.NumericCounts(reference)
    fed_categories, merged_categories = drift.CategoricalCounts(known), drift.CategoricalCounts(known)
    for part in np.array_split(np.arange(rows), 7):
        fed.add(values.iloc[part])
        fed_categories.add(categories.iloc[part])
        one, one_category = drift.NumericCounts(reference), drift.CategoricalCounts(known)
        one.add(values.iloc[part])
        one_category.add(categories.iloc[part])
        merged.merge(one.state())
        merged_categories.merge(one_category.state())
    assert merged.result() == fed.result() and merged_categories.result() == fed_categories.result()
    assert merged.result()["ks_p"] is not None


def test_a_worker_that_joins_with_other_versions_gets_no_work(local_cluster, monkeypatch, caplog) -> None:
    from distributed import Client, get_worker

    def where(shared, index: int) -> tuple[int, str]:
        return index, get_worker().address

    with Client(local_cluster.scheduler_address) as client:
        clusters.check_versions(client)
        checked = clusters.usable_workers(client)
        real = clusters.local_versions()
        monkeypatch.setattr(clusters, "local_versions", lambda: {**real, "scikit-learn": "1.0.0"})
        local_cluster.scale(3)  # a third worker joins; to this process it now runs another version
        client.wait_for_workers(3, timeout=60)
        try:
            with caplog.at_level(logging.WARNING, logger="cockpit.cluster"):
                done = list(clusters.ordered_map(client, where, None, [(i,) for i in range(12)]))
            assert [index for index, _ in done] == list(range(12))
            assert {worker for _, worker in done} <= set(checked) and len(checked) == 2
            (joined,) = set(client.nthreads()) - set(checked)
            warned = caplog.text.splitlines()
            assert any("joined with other versions" in line for line in warned)
            assert any(
                line.split() == [joined, "scikit-learn", "1.0.0", real["scikit-learn"]] for line in warned
            )
        finally:
            local_cluster.scale(2)


def test_work_sent_chunk_by_chunk_finishes_when_every_worker_dies(local_cluster) -> None:
    """The shared value (a router, a reference) was on the killed workers only: it is sent
    again to the workers their nannies start, with every task lost with it, in order."""
    import os
    import signal
    import time

    from distributed import Client

    def slow(shared, index: int) -> int:
        time.sleep(0.2)
        return shared[index]

    with Client(local_cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)
        pids = list(client.run(os.getpid).values())
        results = clusters.ordered_map(client, slow, list(range(100, 110)), [(i,) for i in range(10)])
        got = [next(results)]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        got += list(results)
        assert got == list(range(100, 110))
        client.wait_for_workers(2, timeout=60)  # the cluster as the other tests expect it
        assert not set(client.run(os.getpid).values()) & set(pids)
