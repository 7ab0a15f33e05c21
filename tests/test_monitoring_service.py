"""Monitoring beyond drift: service health windows from the request log with the latency
budget rule, performance per segment once labels arrive, and day / week / month windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry
from cockpit.errors import CockpitError
from cockpit.monitoring import alerts, batches, checks, labels
from cockpit.monitoring.service import set_window_size, window_of
from cockpit.projects import create_project
from tests.training_here import trained_here


def month(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    channel = rng.choice(["web", "app"], n, p=[0.6, 0.4])
    label = (x + (channel == "web") * 0.8 + rng.normal(0, 0.8, n) > 0.5).astype(int)
    return pd.DataFrame(
        {"user_id": [f"U{seed}-{i}" for i in range(n)], "x": x.round(3), "channel": channel, "churned": label}
    )


@pytest.fixture()
def served(tmp_path):
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(tmp_path)
    project = create_project(ws, "svc", "binary", "churned")
    month(1200, 0).to_csv(tmp_path / "ref.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "ref.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(
        ws,
        project,
        problem.ProblemSpec(metric="recall", metric_target=0.5, latency_budget_ms=50, segments=["channel"]),
    )
    registry.register(ws, project, trained_here(ws, project, "logistic_regression").id, "model")
    registry.deploy(ws, project, 1, "blue-green", reason="test", override="test")
    yield ws, project, tmp_path
    ws.close()


def log_requests(ws, project, day: str, latencies: list[float], failed: int = 0, fallback: int = 0) -> None:
    """Requests as the service logs them: one row per request here, on `day`."""
    rows = []
    for i, latency in enumerate(latencies):
        status = 500 if i < failed else 200
        route = "fallback" if failed <= i < failed + fallback else "production"
        rows.append(
            {
                "project_id": project.id,
                "request_id": f"{day}-{i}",
                "at": f"{day}T10:{i // 60:02d}:{i % 60:02d}+00:00",
                "status": status,
                "entity": f"E{i}",
                "model_version": 1,
                "route": route if status == 200 else None,
                "latency_ms": latency,
                "score": 0.3 if status == 200 else None,
            }
        )
    with ws.store.transaction():
        for row in rows:
            ws.store.insert("requests", row)


def test_service_health_per_window_and_the_latency_budget_rule(served) -> None:
    ws, project, _ = served
    log_requests(ws, project, "2026-05-10", [10.0] * 100)  # quiet
    latencies = [float(v) for v in range(1, 101)]  # p95 of 1..100 by nearest rank is 95 > budget 50
    log_requests(ws, project, "2026-06-10", latencies, failed=10, fallback=5)
    result = alerts.check(ws, project)
    may, june = result.windows
    assert (may.window, june.window) == ("2026-05", "2026-06")
    assert may.requests == 100 and may.p95_latency_ms == 10.0 and may.error_rate == 0
    # nearest rank (the deployment screen's percentile too): the 50th and the 95th of 100
    assert june.p50_latency_ms == np.percentile(latencies, 50, method="inverted_cdf") == 50.0
    assert june.p95_latency_ms == 95.0
    assert june.error_rate == pytest.approx(0.10)
    assert june.fallback_rate == pytest.approx(0.05)
    # 100 requests, one a second from 10:00:00 to 10:01:39: 99 s of serving
    assert june.requests_per_min == pytest.approx(100 / (99 / 60), abs=0.01)
    assert june.rows == 0 and june.features == {}  # no scored batch that month
    assert june.prediction_psi is not None  # the service's answers vs validation
    firing = {a.metric: a for a in result.firing}
    assert {"p95_latency_ms", "error_rate"} <= set(firing)  # (constant scores: prediction PSI too)
    assert "max_psi" not in firing and "metric_value" not in firing
    assert "95 > 50 in 2026-06" in firing["p95_latency_ms"].message
    rule = next(r for r in alerts.ensure_rules(ws, project) if r.metric == "p95_latency_ms")
    assert rule.source == "spec latency budget" and rule.threshold == 50


def test_performance_per_segment_once_labels_arrive(served) -> None:
    ws, project, folder = served
    frame = month(600, 7)
    frame.drop(columns=["churned"]).to_csv(folder / "m.csv", index=False)
    frame[["user_id", "churned"]].to_csv(folder / "labels.csv", index=False)
    batches.ingest(ws, project, folder / "m.csv", at="2026-04-15")
    labels.ingest_labels(ws, project, folder / "labels.csv")
    window = checks.compute_windows(ws, project)[0]
    outputs = pd.read_csv(folder / "m.csv").assign(churned=frame["churned"])
    predicted = pd.DataFrame(ws.store.rows("SELECT * FROM batches"))  # one batch
    assert len(predicted) == 1
    from cockpit.deployment import batch

    _, answers = batch.load_batch(ws, batch.list_batches(ws, project, 1)[0])
    outputs["prediction"] = answers["prediction"].astype(int).to_numpy()
    by_segment = window.by_segment["channel"]
    for channel in ("web", "app"):
        part = outputs[outputs["channel"] == channel]
        assert by_segment[channel].rows == len(part)
        assert by_segment[channel].value == pytest.approx(recall_score(part["churned"], part["prediction"]))
    assert window.metric_value == pytest.approx(recall_score(outputs["churned"], outputs["prediction"]))


def test_windows_by_day_week_or_month(served) -> None:
    ws, project, _ = served
    assert window_of("2026-04-02T10:00:00+00:00", "week") == "2026-W14"
    assert window_of("2026-04-02T10:00:00+00:00", "day") == "2026-04-02"
    log_requests(ws, project, "2026-04-02", [5.0] * 3)
    log_requests(ws, project, "2026-04-09", [5.0] * 4)
    assert [w.window for w in checks.compute_windows(ws, project)] == ["2026-04"]
    set_window_size(ws, project, "week")
    weeks = checks.compute_windows(ws, project)
    assert [(w.window, w.requests) for w in weeks] == [("2026-W14", 3), ("2026-W15", 4)]
    assert [w.window for w in alerts.stored_windows(ws, project)] == ["2026-W14", "2026-W15"]
    set_window_size(ws, project, "day")
    assert [w.window for w in checks.compute_windows(ws, project)] == ["2026-04-02", "2026-04-09"]
    with pytest.raises(CockpitError, match="hour"):
        set_window_size(ws, project, "hour")
