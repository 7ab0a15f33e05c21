"""Monitoring on data of our own: drift from a known month, decay once labels arrive,
alerts that fire, are acknowledged and resolve; nothing fires on the quiet months."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, registry
from cockpit.monitoring import alerts, batches, checks, labels
from cockpit.monitoring.drift import psi
from cockpit.projects import create_project
from tests.training_here import trained_here


def month(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(1.5 if shifted else 0, 1, n)
    channel = rng.choice(["web", "app"], n, p=[0.2, 0.8] if shifted else [0.7, 0.3])
    noise = rng.normal(0, 0.8, n)
    label = ((x if not shifted else -x) + noise > 0.5).astype(int)  # the relation flips
    return pd.DataFrame(
        {"user_id": [f"U{seed}-{i}" for i in range(n)], "x": x.round(3), "channel": channel, "churned": label}
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A production model and five months of batches (drift from month 4), built once;
    the labels files are written beside it, not ingested."""
    from cockpit.workspace import Workspace

    folder = tmp_path_factory.mktemp("mon")
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "svc", "binary", "churned")
    month(1500, 0, False).to_csv(folder / "ref.csv", index=False)
    datasets.import_dataset(ws, project, folder / "ref.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="recall", metric_target=0.6))
    run = trained_here(ws, project, "logistic_regression")
    registry.register(ws, project, run.id, "test model")
    registry.deploy(ws, project, 1, "blue-green", reason="test", override="test")
    for number in range(1, 6):
        frame = month(400, number, shifted=number >= 4)
        frame.drop(columns=["churned"]).to_csv(folder / f"m{number}.csv", index=False)
        frame[["user_id", "churned"]].to_csv(folder / f"labels{number}.csv", index=False)
        if number <= 2:
            batch.predict_file(
                ws,
                project,
                folder / f"m{number}.csv",
                folder / f"o{number}.csv",
                at=f"2026-0{number}-15T00:00:00+00:00",
            )
        else:
            batches.ingest(ws, project, folder / f"m{number}.csv", at=f"2026-0{number}-15")
    ws.close()
    return folder, project


@pytest.fixture
def monitored(built, private_copy):
    """A private copy of `built`: (workspace, project, folder)."""
    from cockpit.workspace import Workspace

    folder = private_copy(built[0])
    ws = Workspace(folder / ".cockpit")
    yield ws, built[1], folder
    ws.close()


@pytest.fixture
def alerting(monitored):
    """`monitored` after one check: the drift alerts are open."""
    ws, project, _ = monitored
    alerts.check(ws, project)
    return monitored


def test_quiet_months_raise_nothing(monitored) -> None:
    ws, project, folder = monitored
    windows = checks.compute_windows(ws, project)
    assert [w.window for w in windows] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    for w in windows[:3]:
        assert w.max_psi < 0.1
    for w in windows[3:]:
        assert w.features["x"].psi > 0.2 and w.features["channel"].psi > 0.2


def test_drift_fires_then_decay_once_labels_arrive(monitored) -> None:
    ws, project, folder = monitored
    first = alerts.check(ws, project)
    assert {a.metric for a in first.firing} >= {"max_psi"}
    assert "metric_value" not in {a.metric for a in first.firing}  # no labels yet
    for number in range(1, 6):
        labels.ingest_labels(ws, project, folder / f"labels{number}.csv")
    second = alerts.check(ws, project)
    windows = second.windows
    assert all(w.metric_value >= 0.6 for w in windows[:3])
    assert all(w.metric_value < 0.6 for w in windows[3:])
    decay = next(a for a in second.firing if a.metric == "metric_value")
    assert "since 2026-04" in decay.message and decay.severity == "critical"


def test_acknowledge_is_recorded_and_alerts_resolve(alerting) -> None:
    ws, project, _ = alerting
    alert = alerts.open_alerts(ws, project)[0]
    alerts.acknowledge(ws, project, alert.id, "retraining this week")
    found = ws.store.one("SELECT status, comment, acknowledged_by FROM alerts WHERE id = ?", [alert.id])
    assert found == {"status": "acknowledged", "comment": "retraining this week", "acknowledged_by": "tester"}
    event = ws.store.one("SELECT details FROM events WHERE action = 'alert acknowledged'")
    assert json.loads(event["details"])["alert"] == alert.id
    rule = ws.store.one("SELECT id FROM alert_rules WHERE metric = 'max_psi'")
    ws.store.update("alert_rules", {"id": rule["id"]}, {"threshold": 100.0})
    alerts.check(ws, project)
    assert ws.store.scalar("SELECT status FROM alerts WHERE rule_id = ?", [rule["id"]]) == "resolved"


def test_drift_is_judged_by_the_lowest_rising_max_psi_rule(monitored, run_cli) -> None:
    ws, project, folder = monitored
    assert alerts.drift_threshold(ws, project) == 0.2  # no rule stored yet: the default's
    alerts.add_rule(ws, project, "max_psi", "<", 0.01)  # a falling rule marks no drift
    alerts.add_rule(ws, project, "max_psi", ">", 0.5)
    assert alerts.drift_threshold(ws, project) == 0.2
    with ws.store.transaction():
        ws.store.conn.execute("UPDATE alert_rules SET threshold = 10 WHERE metric = 'max_psi' AND op = '>'")
    assert alerts.drift_threshold(ws, project) == 10
    shown = json.loads(run_cli("monitor", "check", "--json", workspace=folder).stdout)
    assert [w["drifted"] for w in shown["windows"]] == [[]] * 5
    alerts.add_rule(ws, project, "max_psi", ">=", 0.05)
    shown = json.loads(run_cli("monitor", "check", "--json", workspace=folder).stdout)
    assert [w["drifted"] for w in shown["windows"]][3:] == [["channel", "x"]] * 2


def test_psi_of_identical_shares_is_zero() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0)
    assert psi([0.5, 0.5], [0.9, 0.1]) > 0.5


def test_cli_monitor(run_cli, monitored) -> None:
    ws, project, folder = monitored
    checked = run_cli("monitor", "check", "--json", workspace=ws.root)
    assert checked.exit_code == 1
    data = json.loads(checked.stdout)
    assert "x" in data["windows"][-1]["drifted"] and data["firing"]
    added = run_cli("monitor", "rules", "--add", "rows < 10", "--json", workspace=ws.root)
    assert added.exit_code == 0 and any(r["metric"] == "rows" for r in json.loads(added.stdout))
    assert run_cli("monitor", "rules", "--add", "bogus > 1", workspace=ws.root).exit_code == 2
    assert run_cli("monitor", "ack", "999", "--comment", "x", workspace=ws.root).exit_code == 2


def test_a_check_says_what_it_monitored_and_keeps_the_bins_edges(monitored) -> None:
    ws, project, _ = monitored
    found = alerts.check(ws, project)
    assert found.coverage() == "5 batches (2,000 rows) in 5 months, 2026-01 to 2026-05"
    stored = alerts.stored_windows(ws, project)
    assert [w.batches for w in stored] == [1, 1, 1, 1, 1]
    reference = checks.reference_stats(ws, project, registry.get_version(ws, project, "production"))
    assert stored[-1].features["x"].edges == reference["features"]["x"]["edges"]
    assert stored[-1].prediction_edges == reference["prediction"]["edges"]
