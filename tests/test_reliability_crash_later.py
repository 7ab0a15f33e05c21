"""Crash safety of the later stages: `kill -9` inside the transaction of a monitoring ingest,
of the registration a retrain makes, and of the retrain's own record. The database stays
intact, nothing half-written is visible, and the next command works."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.test_reliability_crash import _cockpit, _counts, _killed
from tests.test_retraining import _workspace, month


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A production model, three months scored and labelled (the relation flips): built once."""
    folder = tmp_path_factory.mktemp("crash_later") / "w"
    folder.mkdir()
    ws, _ = _workspace(folder, [month(800, n, shifted=True) for n in (1, 2, 3)])
    ws.close()
    return folder


@pytest.fixture
def deployed(built: Path, private_copy) -> Path:
    """This test's own copy of the build."""
    return private_copy(built)


def _rows(folder: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(folder / ".cockpit" / "cockpit.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_kill_inside_a_monitoring_ingest_leaves_no_batch(deployed: Path, run_cli) -> None:
    month(200, 9).drop(columns=["churned"]).to_csv(deployed / "m9.csv", index=False)
    before = _counts(deployed)
    _killed(
        _cockpit(
            deployed,
            "monitor",
            "ingest",
            str(deployed / "m9.csv"),
            "--at",
            "2026-04-15",
            fault="predict:after_batch",
        )
    )
    after = _counts(deployed)
    assert after["batches"] == before["batches"] == 3
    assert after["events"] == before["events"]
    # the next commands (in this process: only the killed one needs a process of its own)
    again = run_cli(
        "monitor", "ingest", str(deployed / "m9.csv"), "--at", "2026-04-15", "--json", workspace=deployed
    )
    assert again.exit_code == 0, again.stderr
    assert _counts(deployed)["batches"] == 4
    checked = run_cli("monitor", "check", "--json", workspace=deployed)
    assert checked.exit_code in (0, 1), checked.stderr
    assert [w["window"] for w in json.loads(checked.stdout)["windows"]] == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
    ]


@pytest.mark.parametrize("fault", ["registry.register:after_insert", "retrain:after_record"])
def test_kill_inside_a_retrain_leaves_production_and_no_half_record(
    deployed: Path, fault: str, run_cli
) -> None:
    _killed(_cockpit(deployed, "retrain", fault=fault))
    counts = _counts(deployed)  # integrity_check is ok
    assert counts["retrains"] == 0
    # a retrain's outcome (register, deploy or alert, its record) is one transaction: killed
    # anywhere inside it, there is no v2
    versions = _rows(deployed, "SELECT version FROM model_versions ORDER BY version")
    assert versions == [(1,)]
    assert _rows(
        deployed,
        "SELECT v.version FROM aliases a JOIN model_versions v ON "
        "v.id = a.version_id WHERE a.alias = 'production'",
    ) == [(1,)]
    statuses = {s for (s,) in _rows(deployed, "SELECT status FROM runs")}
    assert statuses <= {"finished"}  # the challenger's run is a whole, normal run
    # the challenger fails its gate (tests/test_retrain_gate.py): deployed by an override
    again = run_cli("retrain", "--override", "after the crash", "--json", workspace=deployed)
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["decision"] == "deployed (override)"
    assert _counts(deployed)["retrains"] == 1
