"""The prediction service at its edges (issue 27): requests refused for the token and clients
that leave mid-body are counted apart (per minute), never as errors; a slow-header client is
closed; /health is degraded when a routed model cannot answer or the log cannot be written;
a full disk spills the log for real; the fallback rule never answers silently; and request
log retention keeps the figures monitoring windows need."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from cockpit.deployment import registry, rules
from cockpit.deployment.serving import Limits, running_service
from cockpit.deployment.serving_log import RequestLog, prune_request_log
from cockpit.deployment.serving_token import rotate_token
from cockpit.monitoring import alerts
from cockpit.monitoring.service import service_windows
from cockpit.projects import get_project
from cockpit.retraining.policy import due
from cockpit.workspace import Workspace
from storage import clock
from storage.faults import DISK_FULL_ENV
from tests.serving_helpers import build_service_project, row


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Project "subs": v1 in production, v2 a 30% canary and in shadow. Built once."""
    root = tmp_path_factory.mktemp("edges")
    ws, _ = Workspace.init(root / "proj")
    try:
        build_service_project(ws, root)
    finally:
        ws.close()
    return root / "proj"


@pytest.fixture
def folder(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "proj")
    return tmp_path / "proj"


def _db(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / ".cockpit" / "cockpit.db")


def _health(base: str) -> dict:
    return httpx.get(f"{base}/health", timeout=30).json()


def _wait(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def quiet_errors(caplog) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.WARNING)
    yield caplog


def test_refused_requests_are_counted_per_minute_and_fire_no_error_rate(folder: Path) -> None:
    with Workspace.open(folder) as ws:
        token = rotate_token(ws)
    with running_service(folder / ".cockpit", "subs", require_token=True) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            good = {"Authorization": f"Bearer {token}"}
            for i in range(5):
                assert client.post("/predict", json=row(f"G{i}"), headers=good).status_code == 200
            for i in range(300):
                headers = {"Authorization": "Bearer wrong"} if i % 2 else {}
                assert client.post("/predict", json=row(f"U{i}"), headers=headers).status_code == 401
            assert client.get("/metrics").status_code == 401  # guarded like /predict
            scraped = _metrics(client.get("/metrics", headers=good))
        health = _health(base)
        assert (health["refused"], health["errors"], health["aborted"]) == (301, 0, 0), health  # 1: /metrics
    assert scraped["cockpit_auth_failures_total"] == {(("project", "subs"),): 301.0}
    assert "cockpit_request_errors_total" not in scraped  # refusals are not errors
    with _db(folder) as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 5  # the answers only
        minutes = db.execute("SELECT count(*), sum(requests) FROM request_counts").fetchone()
    assert minutes[1] == 301 and minutes[0] <= 3  # a row per minute, not per request
    with Workspace.open(folder) as ws:
        project = get_project(ws, "subs")
        found = alerts.check(ws, project)
        window = found.windows[-1]
        assert (window.requests, window.error_rate, window.refused_requests) == (5, 0.0, 301)
        assert "error_rate" not in {a.metric for a in found.firing}
        assert not [reason for reason in due(ws, project) if "error_rate" in reason]  # no retrain due


def _abort_mid_body(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n" + b'{"rows": [' + b" " * 100
        )
        time.sleep(0.01)  # the server has started reading the body


def test_clients_that_leave_mid_body_are_counted_as_aborted_not_errors(folder: Path, quiet_errors) -> None:
    with running_service(folder / ".cockpit", "subs") as base:
        uvicorn_log = logging.getLogger("uvicorn.error")  # it does not propagate to the root
        uvicorn_log.addHandler(quiet_errors.handler)
        try:
            url = urlparse(base)
            for _ in range(100):
                _abort_mid_body((url.hostname, url.port))
            _wait(lambda: _health(base)["aborted"] == 100)
        finally:
            uvicorn_log.removeHandler(quiet_errors.handler)
        health = _health(base)
        assert (health["errors"], health["refused"], health["status"]) == (0, 0, "ok"), health
    with _db(folder) as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 0
        assert db.execute("SELECT sum(requests) FROM request_counts WHERE kind = 'aborted'").fetchone() == (
            100,
        )
    assert not [r for r in quiet_errors.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_slow_header_connection_is_closed_within_the_header_timeout(folder: Path) -> None:
    with running_service(folder / ".cockpit", "subs", limits=Limits(header_timeout=1.0)) as base:
        url = urlparse(base)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            closed = None
            for _ in range(100):  # one header byte every 0.1 s: it never finishes
                try:
                    sock.sendall(b"X")
                    sock.settimeout(0.1)
                    if sock.recv(1024) == b"":
                        closed = time.monotonic() - started
                        break
                except TimeoutError:
                    continue
                except OSError:
                    closed = time.monotonic() - started
                    break
        assert closed is not None and closed < 3.0, closed
        assert _health(base)["status"] == "ok"  # the service itself goes on


def test_health_is_degraded_naming_the_version_and_file_a_routed_model_cannot_load(folder: Path) -> None:
    with Workspace.open(folder) as ws:
        version = registry.get_version(ws, get_project(ws, "subs"), 2)  # the canary and the shadow
        artifact = ws.artifacts.path_for(version.artifact_sha256)
    artifact.write_bytes(artifact.read_bytes()[:100])  # truncated
    with running_service(folder / ".cockpit", "subs") as base:
        health = _health(base)
    assert health["status"] == "degraded", health
    broken = {p["alias"]: p for p in health["problems"]}
    assert set(broken) == {"canary", "shadow"}
    assert broken["canary"]["version"] == 2
    assert broken["canary"]["file"] == str(artifact.relative_to(folder))


def test_a_production_model_that_cannot_load_answers_by_the_fallback_saying_so(
    folder: Path, quiet_errors
) -> None:
    with Workspace.open(folder) as ws:
        project = get_project(ws, "subs")
        rules.set_fallback(ws, project, "x > 0 -> 1 else 0")
        ws.artifacts.path_for(registry.get_version(ws, project, 1).artifact_sha256).unlink()
    with running_service(folder / ".cockpit", "subs") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            answers = [client.post("/predict", json=row(f"F{i}", x=1.0)).json() for i in range(20)]
            scraped = _metrics(client.get("/metrics"))
        health = _health(base)
    assert scraped["cockpit_model_load_failures_total"] == {
        (("alias", "production"), ("project", "subs"), ("version", "1")): 1.0
    }
    fell = [a for a in answers if a["route"] == "fallback"]
    assert len(fell) >= 10 and {a["route"] for a in answers} <= {"fallback", "canary"}  # v2: the canary
    assert all(a["warnings"] == [FELL] for a in fell)
    assert not [a for a in answers if a["route"] == "canary" and "warnings" in a]
    assert health["status"] == "degraded"
    assert {p["alias"] for p in health["problems"]} == {"production", "fallback"}
    said = [r for r in quiet_errors.records if "answering with the fallback rule" in r.getMessage()]
    assert len(said) == 1  # once a minute, not per request


FELL = "answered by the fallback rule: model v1 (run 1) cannot answer (ArtifactError)"


def _rows(n: int, project_id: int = 1) -> list[dict]:
    return [
        {"project_id": project_id, "request_id": f"r{i}", "at": "2026-11-30T10:00:00+00:00", "status": 200}
        for i in range(n)
    ]


def test_a_full_disk_holds_rows_as_pending_and_spills_them_for_real(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv(DISK_FULL_ENV, "request-log")
    log = RequestLog(folder / ".cockpit", interval=0.05)
    log.start()
    log.put(_rows(30))
    _wait(lambda: log.failing is not None and log.queue.qsize() == 0)
    assert log.pending == 30 and "No space left" in log.failing
    log.close(timeout=30)
    assert (log.pending, log.written, log.spilled, log.lost) == (0, 0, 30, 0)
    [spill] = (folder / ".cockpit" / "logs").glob("requests-unwritten-*.jsonl")
    assert [json.loads(line)["request_id"] for line in spill.read_text().splitlines()] == [
        f"r{i}" for i in range(30)
    ]


def test_past_the_rows_it_may_hold_a_full_disk_spills_while_serving(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv(DISK_FULL_ENV, "request-log")
    log = RequestLog(folder / ".cockpit", interval=0.05, hold=20)
    log.start()
    log.put(_rows(50))
    _wait(lambda: log.spilled == 50 or (log.spilled and log.pending == 50 - log.spilled))
    assert log.spilled >= 21 and log.pending <= 20  # before any stop
    log.close(timeout=30)
    assert (log.pending, log.spilled, log.lost) == (0, 50, 0)
    spilled = (folder / ".cockpit" / "logs").glob("requests-unwritten-*.jsonl")
    assert sum(len(path.read_text().splitlines()) for path in spilled) == 50


def test_when_the_spill_fails_too_no_empty_file_is_left_and_the_loss_is_counted(
    folder: Path, monkeypatch
) -> None:
    monkeypatch.setenv(DISK_FULL_ENV, "request-log,request-log-spill")
    log = RequestLog(folder / ".cockpit", interval=0.05)
    log.start()
    log.put(_rows(12))
    log.close(timeout=30)
    assert (log.pending, log.spilled, log.lost) == (0, 0, 12)
    assert not list((folder / ".cockpit" / "logs").glob("requests-unwritten-*"))


def test_health_shows_the_pending_rows_while_the_disk_is_full(folder: Path, monkeypatch) -> None:
    with running_service(folder / ".cockpit", "subs", flush_interval=0.05) as base:
        monkeypatch.setenv(DISK_FULL_ENV, "request-log")
        with httpx.Client(base_url=base, timeout=30) as client:
            for i in range(10):
                assert client.post("/predict", json=row(f"D{i}")).status_code == 200
        _wait(lambda: _health(base)["log"]["pending"] == 10)
        health = _health(base)
        assert health["status"] == "degraded" and health["log"]["failing"], health
        monkeypatch.delenv(DISK_FULL_ENV)  # room again: the held rows are written
        _wait(lambda: _health(base)["log"]["pending"] == 0)
        assert _health(base)["status"] == "ok"
    with _db(folder) as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone()[0] == 10


def _old_requests(ws: Workspace, project_id: int, day: str, n: int, failed: int, fallback: int) -> None:
    rows = [
        {
            "project_id": project_id,
            "request_id": f"{day}-{i}",
            "at": f"{day}T10:{i // 60:02d}:{i % 60:02d}+00:00",
            "status": 500 if i < failed else 200,
            "route": None if i < failed else ("fallback" if i < failed + fallback else "production"),
            "latency_ms": float(3 + i % 17),
            "score": None if i < failed else (i % 10) / 10,
            "warnings": '["x: far"]' if i % 7 == 0 and i >= failed else None,
        }
        for i in range(n)
    ]
    with ws.store.transaction():
        for found in rows:
            ws.store.insert("requests", found)


def test_keep_days_removes_old_rows_and_keeps_the_windows_figures(folder: Path) -> None:
    with Workspace.open(folder) as ws:
        project = get_project(ws, "subs")
        today = clock.now().date()
        for back, n in ((210, 80), (193, 60), (180, 90)):
            day = (today - timedelta(days=back)).isoformat()
            _old_requests(ws, project.id, day, n, failed=4, fallback=6)
        before = {size: service_windows(ws, project, size) for size in ("month", "week")}
    with running_service(folder / ".cockpit", "subs", keep_days=30) as base:  # pruned at start
        _wait(lambda: _db(folder).execute("SELECT count(*) FROM request_days").fetchone()[0] == 3)
        assert httpx.post(f"{base}/predict", json=row("N1"), timeout=30).status_code == 200
    with Workspace.open(folder) as ws:
        project = get_project(ws, "subs")
        cutoff = (clock.now() - timedelta(days=30)).date().isoformat()
        assert ws.store.scalar("SELECT count(*) FROM requests WHERE at < ?", [cutoff]) == 0
        for size, windows in before.items():
            after = service_windows(ws, project, size)
            for window, was in windows.items():
                kept = after[window]
                assert kept.figures() == was.figures(), (size, window)
                assert sorted(kept.scores) == sorted(was.scores)
        assert prune_request_log(ws, project, 30) == 0  # nothing more to remove
        assert [e.action for e in ws.events(project.id, text="retention")] == ["request log retention"]


def _metrics(response: httpx.Response) -> dict[str, dict[tuple, float]]:
    """A scrape read by prometheus_client's parser: {sample name: {sorted labels: value}}."""
    from prometheus_client.parser import text_string_to_metric_families

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_a_scrape_after_real_traffic_matches_the_request_log_per_route(folder: Path) -> None:
    with Workspace.open(folder) as ws:
        rules.add_override(ws, get_project(ws, "subs"), "O1", "1", "checked by hand")
    with (
        running_service(folder / ".cockpit", "subs", flush_interval=0.05) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        for i in range(40):
            assert client.post("/predict", json=row(f"M{i}", x=i / 10)).status_code == 200
        assert client.post("/predict", json={"rows": [row("O1"), row("M99")]}).status_code == 200
        assert client.post("/predict", json={"user_id": "M1"}).status_code == 422
        scraped = _metrics(client.get("/metrics"))
    with _db(folder) as db:
        logged = dict(db.execute("SELECT route, count(*) FROM requests WHERE status = 200 GROUP BY route"))
        shadow = db.execute("SELECT count(*) FROM requests WHERE shadow_version IS NOT NULL").fetchone()[0]
        requests = db.execute("SELECT count(DISTINCT request_id) FROM requests").fetchone()[0]
    rows: dict[str, float] = {}
    for labels, value in scraped["cockpit_rows_scored_total"].items():
        route = dict(labels)["route"]
        rows[route] = rows.get(route, 0) + value
    assert rows == {**{route: float(n) for route, n in logged.items()}, "shadow": float(shadow)}
    assert set(logged) == {"production", "canary", "override"} and shadow == 42
    assert sum(scraped["cockpit_requests_total"].values()) == requests == 42
    assert scraped["cockpit_request_errors_total"] == {(("project", "subs"), ("status", "422")): 1.0}
    assert sum(scraped["cockpit_request_latency_seconds_count"].values()) == 42


def test_a_body_sent_too_slowly_is_answered_408_and_counted_as_aborted(folder: Path) -> None:
    with running_service(folder / ".cockpit", "subs", body_timeout=0.5) as base:
        url = urlparse(base)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 500\r\n\r\n" + b'{"user_id": '
            )
            answer = b""
            for _ in range(40):  # a byte every 0.1 s: the body would take 50 s
                try:
                    sock.sendall(b" ")
                    sock.settimeout(0.1)
                    answer += sock.recv(4096)
                    if b"\r\n\r\n" in answer:
                        break
                except TimeoutError:
                    continue
        assert answer.startswith(b"HTTP/1.1 408"), answer
        health = _health(base)
        assert (health["aborted"], health["errors"], health["requests"]) == (1, 0, 0), health


def test_refused_and_aborted_counts_are_never_lost_at_stop(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv(DISK_FULL_ENV, "request-log")
    log = RequestLog(folder / ".cockpit", interval=60)  # nothing written before the stop
    log.start()
    for kind in ("refused",) * 3 + ("aborted",) * 2:
        log.count(1, kind)
    log.close(timeout=30)
    [spill] = (folder / ".cockpit" / "logs").glob("requests-unwritten-*.jsonl")
    spilled = [json.loads(line)["request_counts"] for line in spill.read_text().splitlines()]
    assert {c["kind"]: c["requests"] for c in spilled} == {"refused": 3, "aborted": 2}
    assert (log.counts_spilled, log.counts_lost) == (5, 0)
    monkeypatch.delenv(DISK_FULL_ENV)
    log = RequestLog(folder / ".cockpit", interval=60)
    log.start()
    log.count(1, "refused")
    log.close(timeout=30)
    log.count(1, "aborted")  # a request cancelled as the service stopped
    with _db(folder) as db:
        assert dict(db.execute("SELECT kind, sum(requests) FROM request_counts GROUP BY kind")) == {
            "refused": 1,
            "aborted": 1,
        }
