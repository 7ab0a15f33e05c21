"""Batch work in bounded memory (issue 26, part 3): `predict`, `monitor ingest` and `monitor
check` read files and stored batches in chunks, and give what one chunk gives; bad input in
a later chunk leaves nothing behind; performance leaves out the fallback rule's rows (issue
27); `predict --scheduler` scores the chunks on a Dask LocalCluster with the same result.

Breast cancer (scikit-learn's copy) with a 50% canary, and palmerpenguins' gaps and labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.monitoring_helpers import counts, penguins, run, stored_outputs
from tests.test_batch_fallback import break_file, model_file, with_fallback

pytestmark = pytest.mark.xdist_group("dask_cluster")  # never two LocalClusters at once

SEVEN = "7"  # rows per chunk: 60 rows arrive in 9 chunks


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chunked") / "ws"
    data = with_fallback(
        root, ("deploy", "2", "--strategy", "canary", "--percent", "50", "--reason", "a chunk test")
    )
    data.iloc[400:460].to_csv(root / "labels.csv", index=False)
    return root


@pytest.fixture
def root(built: Path, private_copy) -> Path:
    return private_copy(built)


def test_a_file_read_in_chunks_is_the_file_read_whole(tmp_path: Path) -> None:
    """Types pandas infers per chunk differ from the whole file's: a gap only in the third
    chunk (integers become floats), text only in a later chunk, booleans with a gap."""
    from cockpit.data.chunks import open_table
    from cockpit.data.reading import read_table

    frame = penguins().head(40).copy()
    frame["count"] = pd.array(range(40), dtype="Int64")
    frame.loc[17, "count"] = pd.NA
    frame["code"] = [str(i) for i in range(40)]
    frame.loc[30, "code"] = "B-30"
    frame["flag"] = pd.array([i % 3 == 0 for i in range(40)], dtype="boolean")
    frame.loc[22, "flag"] = pd.NA
    frame.to_csv(tmp_path / "p.csv", index=False)
    whole = read_table(tmp_path / "p.csv")
    for size in (7, 1000):
        chunked = pd.concat(list(open_table(tmp_path / "p.csv", size=size)), ignore_index=True)
        pd.testing.assert_frame_equal(chunked, whole)
    assert whole["count"].dtype == "float64" and whole["code"].iloc[0] == "0"
    pq_frame = penguins().head(40)
    pq_frame.assign(count=frame["count"]).to_parquet(tmp_path / "p.parquet", row_group_size=5)
    whole = read_table(tmp_path / "p.parquet")
    chunked = pd.concat(list(open_table(tmp_path / "p.parquet", size=7)), ignore_index=True)
    pd.testing.assert_frame_equal(chunked, whole.reset_index(drop=True))


def test_import_in_chunks_records_what_the_whole_file_gives(workspace, tmp_path: Path, monkeypatch) -> None:
    """The same content hash (so the same file imported whole is recognised), profile and
    rows; the Parquet is written before the transaction."""
    from cockpit.data import datasets
    from cockpit.data.profile import profile_frame
    from cockpit.data.reading import read_table
    from cockpit.projects import create_project

    frame = penguins()
    frame.loc[100:120, "bill_length_mm"] = None  # gaps in the 15th to 18th chunks only
    frame.to_csv(tmp_path / "penguins.csv", index=False)
    whole = read_table(tmp_path / "penguins.csv")
    project = create_project(workspace, "p", "multiclass", "species")
    monkeypatch.setenv("COCKPIT_CHUNK_ROWS", SEVEN)
    version, created = datasets.import_dataset(workspace, project, tmp_path / "penguins.csv")
    assert created and version.rows == len(whole) == 344
    assert version.content_sha256 == datasets.content_hash(whole)
    assert datasets.load_profile(workspace, version) == json.loads(
        json.dumps(profile_frame(whole), default=str)
    )
    pd.testing.assert_frame_equal(datasets.load_frame(workspace, version), whole)
    monkeypatch.delenv("COCKPIT_CHUNK_ROWS")
    again, created = datasets.import_dataset(workspace, project, tmp_path / "penguins.csv")
    assert again.id == version.id and not created


def _check(root: Path, monkeypatch, rows: str | None) -> dict:
    if rows:
        monkeypatch.setenv("COCKPIT_CHUNK_ROWS", rows)
    else:
        monkeypatch.delenv("COCKPIT_CHUNK_ROWS", raising=False)
    result = run(root, "monitor", "check", "--json", "--now", "2026-07-01")
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_chunks_of_seven_rows_give_what_one_chunk_gives(root: Path, monkeypatch) -> None:
    arrived = str(root / "arrived.csv")
    one = run(root, "predict", arrived, "-o", str(root / "one.csv"), "--at", "2026-05-04")
    monkeypatch.setenv("COCKPIT_CHUNK_ROWS", SEVEN)
    seven = run(root, "predict", arrived, "-o", str(root / "seven.csv"), "--at", "2026-06-08")
    assert one.exit_code == 0 and seven.exit_code == 0, (one.stderr, seven.stderr)
    # the same rows and answers; a model's scores may differ in the last bit with the
    # number of rows it is given at once (BLAS blocking): floats within 1e-12
    pd.testing.assert_frame_equal(pd.read_csv(root / "seven.csv"), pd.read_csv(root / "one.csv"), rtol=1e-12)
    parquet = run(root, "predict", arrived, "-o", str(root / "seven.parquet"), "--at", "2026-06-08")
    assert parquet.exit_code == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(root / "seven.parquet"), pd.read_csv(root / "one.csv"), check_dtype=False
    )
    first, second = (stored_outputs(root, int(r.stdout.strip())) for r in (one, seven))
    pd.testing.assert_frame_equal(first, second, rtol=1e-12)
    assert set(first["route"]) == {"production", "canary"}
    ingested = run(root, "monitor", "ingest", arrived, "--at", "2026-06-09")
    assert ingested.exit_code == 0, ingested.stderr
    pd.testing.assert_frame_equal(stored_outputs(root, int(ingested.stdout.strip())), first, rtol=1e-12)
    assert run(root, "monitor", "labels", str(root / "labels.csv")).exit_code == 0
    by_seven = _check(root, monkeypatch, SEVEN)
    whole = _check(root, monkeypatch, None)
    # the first check judges both windows, the second (the same figures) none: not a count
    assert by_seven.pop("judged") == ["2026-05", "2026-06"] and whole.pop("judged") == []
    assert_close(by_seven, whole)
    may, june = (next(w for w in whole["windows"] if w["window"] == name) for name in ("2026-05", "2026-06"))
    assert may["rows"] == 60 and june["rows"] == 180 and june["labelled"] == 180
    assert may["routes"] == {k: v // 3 for k, v in june["routes"].items()}
    for figure in ("prediction_psi", "max_psi", "missing_rate", "metric_value"):
        assert may[figure] == pytest.approx(june[figure], rel=1e-12), figure


def assert_close(found, expected, where: str = "") -> None:
    """Equal, floats within 1e-12 relative (counts, names and structure exactly)."""
    if isinstance(expected, dict):
        assert isinstance(found, dict) and found.keys() == expected.keys(), where
        for key in expected:
            assert_close(found[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(found, list) and len(found) == len(expected), where
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            assert_close(a, b, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert found == pytest.approx(expected, rel=1e-12, abs=1e-15), where
    else:
        assert found == expected, where


@pytest.mark.parametrize("command", ["predict", "ingest"])
def test_a_bad_row_in_the_third_chunk_leaves_nothing(root: Path, monkeypatch, command: str) -> None:
    frame = pd.read_csv(root / "arrived.csv")
    frame["mean_radius"] = frame["mean_radius"].astype(object)
    frame.loc[16, "mean_radius"] = "n/a?"
    frame.to_csv(root / "bad.csv", index=False)
    monkeypatch.setenv("COCKPIT_CHUNK_ROWS", SEVEN)
    before = counts(root)
    out = root / "scored.parquet"
    args = (
        ("predict", str(root / "bad.csv"), "-o", str(out))
        if command == "predict"
        else ("monitor", "ingest", str(root / "bad.csv"))
    )
    result = run(root, *args)
    assert result.exit_code == 2, result.stderr
    assert "column 'mean_radius' must be numeric" in result.stderr and "'n/a?'" in result.stderr
    assert counts(root) == before
    assert not out.exists() and not list(root.glob(".scored.parquet*"))
    assert not [p for p in (root / ".cockpit" / "artifacts").iterdir() if p.name.startswith(".tmp-")]


def test_performance_leaves_out_the_rows_the_fallback_answered(root: Path) -> None:
    break_file(model_file(root, 2), "truncated")  # the canary: its rows go to the fallback rule
    ingested = run(
        root, "monitor", "ingest", str(root / "arrived.csv"), "--at", "2026-05-04", "--allow-fallback"
    )
    assert ingested.exit_code == 0, ingested.stderr
    routes = stored_outputs(root, int(ingested.stdout.strip()))["route"].value_counts().to_dict()
    assert set(routes) == {"production", "fallback"}
    assert run(root, "monitor", "labels", str(root / "labels.csv")).exit_code == 0
    result = run(root, "monitor", "check", "--json", "--now", "2026-07-01")
    may = json.loads(result.stdout)["windows"][0]
    assert may["labelled"] == routes["production"]
    assert may["fallback_excluded"] == routes["fallback"]
    assert f"{routes['fallback']} labelled rows answered by the fallback rule left out" in " ".join(
        may["notes"]
    )
    assert may["by_version"] == {"1": {"rows": routes["production"], "value": may["metric_value"]}}


@pytest.fixture
def cluster(local_cluster) -> str:
    return local_cluster.scheduler_address


def test_predict_on_a_dask_cluster_equals_predict_here(root: Path, cluster: str, monkeypatch) -> None:
    """The chunks are scored on the workers, merged here: the scored file and the batch are
    the same (counts exactly, scores within 1e-12)."""
    monkeypatch.setenv("COCKPIT_CHUNK_ROWS", SEVEN)
    arrived = str(root / "arrived.csv")
    here = run(root, "predict", arrived, "-o", str(root / "here.parquet"), "--json")
    there = run(root, "predict", arrived, "-o", str(root / "there.parquet"), "--scheduler", cluster, "--json")
    assert here.exit_code == 0 and there.exit_code == 0, there.stderr
    ours, theirs = json.loads(here.stdout), json.loads(there.stdout)
    assert theirs["routes"] == ours["routes"] and theirs["rows"] == ours["rows"] == 60
    pd.testing.assert_frame_equal(
        pd.read_parquet(root / "there.parquet"), pd.read_parquet(root / "here.parquet"), rtol=1e-12
    )
    pd.testing.assert_frame_equal(
        stored_outputs(root, theirs["id"]), stored_outputs(root, ours["id"]), rtol=1e-12
    )
    assert np.isclose(pd.read_parquet(root / "there.parquet")["score"].sum(), 0) is np.False_
    break_file(model_file(root, 2), "truncated")  # the canary cannot load: its rows fall back
    here = run(root, "predict", arrived, "-o", str(root / "here.csv"), "--allow-fallback")
    there = run(
        root, "predict", arrived, "-o", str(root / "there.csv"), "--allow-fallback", "--scheduler", cluster
    )
    assert here.exit_code == 0 and there.exit_code == 0, there.stderr
    assert there.stderr.replace("there.csv", "here.csv") == here.stderr
    assert "rows answered by the fallback rule" in here.stderr
    pd.testing.assert_frame_equal(pd.read_csv(root / "there.csv"), pd.read_csv(root / "here.csv"), rtol=1e-12)
    monkeypatch.setenv("COCKPIT_SCHEDULER", cluster)
    bad = pd.read_csv(root / "arrived.csv").astype({"mean_radius": object})
    bad.loc[16, "mean_radius"] = "n/a?"
    bad.to_csv(root / "bad.csv", index=False)
    before = counts(root)
    refused = run(root, "predict", str(root / "bad.csv"), "-o", str(root / "bad_out.csv"), "--allow-fallback")
    assert refused.exit_code == 2 and "'n/a?'" in refused.stderr and "Traceback" not in refused.stderr
    assert counts(root) == before and not (root / "bad_out.csv").exists()


def test_ingest_writes_its_files_outside_the_write_lock(root: Path, monkeypatch) -> None:
    """The transaction only records what is written: no Parquet is encoded while it holds
    SQLite's write lock (it was, for 4.6 s on a big file)."""
    from contextlib import contextmanager

    import pyarrow.parquet as pq

    from storage.store import Store

    locked, under_lock = [False], []
    transaction, to_parquet, write_table = (
        Store.transaction,
        pd.DataFrame.to_parquet,
        pq.ParquetWriter.write_table,
    )

    @contextmanager
    def watched(self):
        outer = not self.conn.in_transaction
        with transaction(self) as store:
            locked[0] = locked[0] or outer
            try:
                yield store
            finally:
                locked[0] = locked[0] and not outer

    def spied(original):
        def spy(*args, **kwargs):
            under_lock.append(locked[0])
            return original(*args, **kwargs)

        return spy

    monkeypatch.setattr(Store, "transaction", watched)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", spied(to_parquet))
    monkeypatch.setattr(pq.ParquetWriter, "write_table", spied(write_table))
    result = run(root, "monitor", "ingest", str(root / "arrived.csv"))
    assert result.exit_code == 0, result.stderr
    assert under_lock and not any(under_lock)
