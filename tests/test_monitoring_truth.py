"""Monitoring tells the truth about time, windows and latency (issue 23, tour items 1, 4, 8, 12):
freshness is measured to the current time, every window not judged before is judged (an
older breach alerts, naming its window, once), one p95 for the same requests, and the
feature plot's reference is the one its PSI uses. On palmerpenguins, batches by year."""

from __future__ import annotations

import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from cockpit.monitoring import alerts
from cockpit.monitoring.axes import share_bars
from cockpit.projects import get_project
from cockpit.workspace import Workspace
from tests.monitoring_helpers import build, check, penguins, run

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A penguins classifier in production, trained on 200 rows of every year."""
    root = tmp_path_factory.mktemp("truth") / "ws"
    data = penguins()
    build(root, "multiclass", "species", data.iloc[:200])
    for year in (2007, 2008, 2009):
        data[data["year"] == year].drop(columns=["species"]).to_csv(root / f"b{year}.csv", index=False)
    data.drop(columns=["species"]).to_csv(root / "all.csv", index=False)
    return root


@pytest.fixture
def root(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("storage.clock.now", lambda: NOW)
    return Path(shutil.copytree(built, tmp_path / "ws"))


def _ingest(root: Path, *years: int) -> None:
    for year in years:
        assert (
            run(root, "monitor", "ingest", str(root / f"b{year}.csv"), "--at", f"{year}-06-01").exit_code == 0
        )


def test_freshness_is_measured_to_the_current_time_and_its_rule_fires(root: Path) -> None:
    _ingest(root, 2007, 2008, 2009)
    code, found = check(root)
    days = (NOW.replace(tzinfo=None) - datetime(2009, 6, 1)).days
    assert found["freshness_days"] == days == 6391
    assert code == 1
    assert [a["window"] for a in found["firing"] if a["message"].startswith("freshness_days")] == ["2009-06"]
    with Workspace(root / ".cockpit") as ws:  # the screen's figure: the same function, the same days
        assert alerts.freshness_days(alerts.stored_windows(ws, get_project(ws, "p"))) == days
    _, then = check(root, "--now", "2009-06-20")
    assert then["freshness_days"] == 19


def test_an_older_window_judged_late_alerts_once_naming_its_window(root: Path) -> None:
    # the README path: a batch scored today (all years: no drift), checked; then 2007 arrives
    assert run(root, "predict", str(root / "all.csv"), "-o", str(root / "scored.csv")).exit_code == 0
    code, first = check(root)
    assert code == 0, first["firing"]
    assert first["judged"] == ["2026-11"]
    _ingest(root, 2007)
    code, second = check(root)
    assert second["judged"] == ["2007-06"]  # 2026-11 is unchanged: judged before
    [drift] = [a for a in second["firing"] if a["message"].startswith("max_psi")]
    assert code == 1 and drift["window"] == "2007-06"
    assert drift["value"] == pytest.approx(
        next(w["max_psi"] for w in second["windows"] if w["window"] == "2007-06")
    )
    assert "past breach" in drift["message"]
    # judged once: the next checks neither raise it again nor resolve it; acknowledged, it stays so
    _, third = check(root)
    assert [a["id"] for a in third["firing"]] == [a["id"] for a in second["firing"]]
    assert run(root, "monitor", "ack", str(drift["id"]), "--comment", "2007 is history").exit_code == 0
    _, fourth = check(root)
    [acked] = [a for a in fourth["firing"] if a["id"] == drift["id"]]
    assert acked["status"] == "acknowledged"
    assert len(fourth["firing"]) == len(second["firing"])
    # the batch dropped: the breach left the data, its alert resolves
    with Workspace(root / ".cockpit") as ws:
        batch_id = ws.store.scalar("SELECT id FROM batches WHERE source = 'b2007.csv'")
    assert run(root, "monitor", "drop", str(batch_id), "--reason", "test").exit_code == 0
    _, fifth = check(root)
    assert drift["id"] not in [a["id"] for a in fifth["firing"]]


def test_the_newest_breach_still_follows_the_newest_window(root: Path) -> None:
    _ingest(root, 2007, 2008)
    _, found = check(root)
    [drift] = [a for a in found["firing"] if a["message"].startswith("max_psi")]
    assert drift["window"] == "2008-06" and "(since 2007-06)" in drift["message"]
    _ingest(root, 2009)
    _, later = check(root)
    [moved] = [a for a in later["firing"] if a["message"].startswith("max_psi")]
    assert moved["id"] == drift["id"] and moved["window"] == "2009-06"


def test_one_p95_for_the_same_requests(root: Path) -> None:
    from cockpit.deployment.serving_log import COLUMNS, INSERT, service_stats
    from cockpit.monitoring.service import service_windows

    latencies = np.random.default_rng(3).gamma(2.0, 40.0, 38).round(2)
    with Workspace(root / ".cockpit") as ws:
        project = get_project(ws, "p")
        rows = []
        for i, ms in enumerate(latencies):
            found = dict.fromkeys(COLUMNS)
            found |= {
                "project_id": project.id,
                "request_id": f"r{i}",
                "at": f"2026-11-30T10:{i:02d}:00+00:00",
                "status": 200,
                "route": "production",
                "latency_ms": float(ms),
                "model_version": 1,
            }
            rows.append(tuple(found[c] for c in COLUMNS))
        with ws.store.transaction():
            ws.store.conn.executemany(INSERT, rows)
        deployment = service_stats(ws, project, since="2026-11-30")
        monitoring = service_windows(ws, project, "month")["2026-11"]
    nearest_rank = sorted(latencies)[math.ceil(0.95 * 38) - 1]
    assert deployment.p95_ms == monitoring.p95_latency_ms == round(float(nearest_rank), 2)
    assert deployment.p50_ms == monitoring.p50_latency_ms == round(float(sorted(latencies)[18]), 2)


def test_the_feature_plot_compares_with_the_reference_its_psi_uses(root: Path) -> None:
    from cockpit.deployment import registry
    from cockpit.monitoring import drift
    from cockpit.monitoring.checks import reference_stats

    _ingest(root, 2007)
    check(root)
    with Workspace(root / ".cockpit") as ws:
        project = get_project(ws, "p")
        reference = reference_stats(ws, project, registry.get_version(ws, project, "production"))
        [window] = alerts.stored_windows(ws, project)
    found = window.features["year"]
    assert found.reference == reference["features"]["year"]["shares"]
    assert found.psi == pytest.approx(drift.psi(found.reference, found.shares))
    island = window.features["island"]
    assert isinstance(island.reference, dict) and island.reference["other"] == 0.0


def test_share_bars_draw_one_row_per_bin_scaled_to_the_largest_share() -> None:
    lines = share_bars(
        ["<1", "1–2", "≥2"], [0, 1, 2], [("training", [0.25, 0.5, 0.25]), ("2007", [0.0, 0.0, 1.0])], 60
    )
    assert len(lines) == 4 and "training" in lines[0] and "2007" in lines[0]
    widths = [line.count("█") for line in lines[1:]]
    # 2007's bin ≥2 holds every row: the longest bar; training's 50% is half of it
    assert widths[2] > widths[1] > widths[0] > 0
    assert lines[3].endswith("100.0%") and " 50.0%" in lines[2]
