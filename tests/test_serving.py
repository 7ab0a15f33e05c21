"""The online prediction service (issue 12) and its API token (issue 17, the service half).

The service tests start the real `cockpit serve` in a subprocess on a free loopback port, one
per test on its own copy of one built project, and talk HTTP to it: canary share and
stickiness, shadow answers in the log, 4xx bodies, rollback and fallback followed without a
restart, token rotation, a burst of requests; each ends with a clean shutdown after which every
request it sent is in the log, and no token text is in any table."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from cockpit.deployment import registry, rules
from cockpit.deployment.serving_input import Rejected, check_rows, parse_body, to_frame
from cockpit.deployment.serving_token import authorized, digest, is_loopback, rotate_token
from cockpit.projects import Project, create_project, get_project
from cockpit.workspace import Workspace
from tests.serving_helpers import SCHEMA, build_service_project, row, start_serve, stop_serve

# -- fast unit tests --------------------------------------------------------------------


def test_bodies_and_fields_are_checked_against_the_schema() -> None:
    assert parse_body(b'{"user_id": "a"}') == ([{"user_id": "a"}], False)
    assert parse_body(b'{"rows": [{"a": 1}, {"a": 2}]}')[1] is True
    for body, status in (
        (b"{nope", 400),
        (b"NaN", 400),
        (b"[1, 2]", 422),
        (b'{"rows": []}', 422),
        (json.dumps({"rows": [{}] * 1001}).encode(), 413),
    ):
        with pytest.raises(Rejected) as caught:
            parse_body(body)
        assert caught.value.status == status, body
    problems = check_rows(
        [
            {"user_id": "a", "x": "ten", "plan": ["p"]},
            "oops",
            {"user_id": "b", "x": True, "plan": "pro", "joined": 5},
        ],
        SCHEMA,
    )
    found = {(p["row"], p["field"], p["problem"]) for p in problems}
    assert (0, "x", "must be a number") in found and (0, "joined", "missing") in found
    assert (0, "plan", "must be a single value, not an object or a list") in found
    assert (1, None, "a row must be a JSON object") in found
    assert (2, "x", "must be a number") in found and (
        2,
        "joined",
        "must be a date as text (e.g. 2025-01-31)",
    ) in found
    assert check_rows([{"user_id": None, "x": 1, "plan": "pro", "joined": None}], SCHEMA) == [
        {"row": 0, "field": "user_id", "problem": "must not be null (it is the entity id)"}
    ]
    fine = [{"user_id": 7, "x": "1.5", "plan": None, "joined": None, "extra": {"a": 1}}]
    assert check_rows(fine, SCHEMA) == []
    frame = to_frame(fine, SCHEMA)
    assert list(frame.columns) == ["user_id", "x", "plan", "joined"]
    assert frame.loc[0, "user_id"] == "7" and frame.loc[0, "x"] == 1.5
    assert frame["x"].dtype == "float64"


def test_the_request_log_writes_every_row_in_batches(workspace) -> None:
    from cockpit.deployment.serving_log import RequestLog, service_stats

    project = create_project(workspace, "logged", "binary", "y")
    log = RequestLog(workspace.dir, interval=0.05, batch=100)
    log.start()
    for i in range(450):
        log.put(
            [
                {
                    "project_id": project.id,
                    "request_id": f"r{i // 3}",
                    "at": "2026-05-01",
                    "status": 200 if i % 50 else 422,
                    "latency_ms": float(i % 100),
                    "entity": f"E{i}",
                    "route": "production",
                    "error": str(workspace.root),
                }
            ]
        )
    # flushed while running, not only at the end: four full batches land before close()
    assert _wait_for(lambda: log.written >= 400), log.written
    log.close()
    assert workspace.store.scalar("SELECT count(*) FROM requests") == log.written == 450
    assert (
        workspace.store.scalar("SELECT count(*) FROM requests WHERE error LIKE ?", [f"{workspace.root}%"])
        == 0
    )  # paths are redacted
    stats = service_stats(workspace, project)
    assert (stats.requests, stats.rows, stats.errors) == (150, 450, 9)
    assert stats.p50_ms <= stats.p95_ms <= 99


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> bool:
    """Wait for a state another thread brings about; whether it came (never how fast)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_tokens_are_hashed_and_compared_whole(workspace) -> None:
    token = rotate_token(workspace)
    stored = workspace.setting("serve.token_sha256")
    assert stored == digest(token) and token not in stored
    assert authorized(stored, f"Bearer {token}") and authorized(stored, f"bearer  {token}")
    for header in (None, "", token, f"Basic {token}", f"Bearer {token}x", f"Bearer {token[:-1]}"):
        assert not authorized(stored, header), header
    assert not authorized(None, f"Bearer {token}")
    second = rotate_token(workspace)
    assert not authorized(workspace.setting("serve.token_sha256"), f"Bearer {token}")
    assert authorized(workspace.setting("serve.token_sha256"), f"Bearer {second}")
    assert [
        is_loopback(h)
        for h in ("127.0.0.1", "127.8.0.1", "::1", "localhost", "0.0.0.0", "::", "10.0.0.4", "example.org")
    ] == [True, True, True, True, False, False, False, False]


def test_serve_refuses_without_a_production_model(run_cli, workspace) -> None:
    create_project(workspace, "empty", "binary", "y")
    result = run_cli("serve", "--port", "0", workspace=workspace.root)
    assert result.exit_code == 2
    assert "no production model" in result.stderr and "Traceback" not in result.output


# -- the real service: one started per test on its own copy of one built project ---------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A workspace folder whose project "subs" has v1 in production, v2 as a 30% canary and in
    shadow, and no token yet. Built once; each test serves its own copy."""
    root = tmp_path_factory.mktemp("service")
    ws, _ = Workspace.init(root / "proj")
    try:
        build_service_project(ws, root)
    finally:
        ws.close()
    return root / "proj"


@dataclass
class Service:
    """A running `cockpit serve --require-token` on a copy of `built`, and the id of every
    request it answered, whatever the status."""

    workspace: Workspace
    project: Project
    process: subprocess.Popen
    base: str
    token: str
    out: Path
    open_client: httpx.Client
    client: httpx.Client
    sent: list[str] = field(default_factory=list)

    def answers(self, rows: list[dict], client: httpx.Client | None = None) -> list[dict]:
        response = (client or self.client).post("/predict", json={"rows": rows})
        assert response.status_code == 200, response.text
        self.sent.append(response.headers["x-request-id"])
        return response.json()["predictions"]

    def note(self, response: httpx.Response) -> httpx.Response:
        self.sent.append(response.headers["x-request-id"])
        return response


@pytest.fixture
def service(built: Path, tmp_path: Path) -> Iterator[Service]:
    root = tmp_path / "proj"
    shutil.copytree(built, root)
    process, base, token = start_serve(root, tmp_path / "serve.out")
    assert token is not None
    workspace = Workspace.open(root)
    open_client = httpx.Client(base_url=base, timeout=30)
    client = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
    try:
        project = get_project(workspace, "subs")
        yield Service(workspace, project, process, base, token, tmp_path / "serve.out", open_client, client)
    finally:
        open_client.close()
        client.close()
        stop_serve(process, signal.SIGKILL)
        workspace.close()


def _stopped(service: Service) -> sqlite3.Connection:
    """A clean shutdown (SIGINT), after which every answered request is in the log; the
    request log's database, for the test to read further."""
    service.process.send_signal(signal.SIGINT)
    assert service.process.wait(timeout=60) == 0
    output = service.out.read_text()
    assert "stopped:" in output and "Traceback" not in output
    db = sqlite3.connect(service.workspace.dir / "cockpit.db")
    logged = {r[0] for r in db.execute("SELECT request_id FROM requests")}
    assert len(service.sent) == len(set(service.sent)) and not set(service.sent) - logged
    return db


def _no_token_text(db: sqlite3.Connection, tokens: list[str]) -> None:
    """No token, nor a piece of one, in any column of any table."""
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
        for values in db.execute(f'SELECT * FROM "{table}"'):
            for column, value in zip(columns, values, strict=True):
                text = str(value)
                for token in tokens:
                    assert token not in text and token[4:20] not in text, (table, column)


def test_health_is_open_and_shows_the_routing(service: Service) -> None:
    health = service.open_client.get("/health").json()
    assert health["routing"]["production"]["version"] == 1
    assert health["routing"]["canary"] == {"version": 2, "run": 2, "percent": 30.0}
    assert health["token_required"] is True and health["rss_mb"] > 0


def test_predict_and_the_schema_need_the_token(service: Service) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": service.token}):
        refused = service.open_client.post("/predict", json=row("U1"), headers=headers)
        assert refused.status_code == 401 and "token" in refused.json()["error"]
    assert service.open_client.get("/openapi.json").status_code == 401
    health = service.open_client.get("/health").json()
    assert (health["refused"], health["errors"], health["status"]) == (4, 0, "ok")
    spec = service.client.get("/openapi.json").json()
    assert (
        set(spec["components"]["schemas"]["Row"]["required"]) == {"user_id", "x", "plan", "joined"}
        and "/predict" in spec["paths"]
    )
    with closing(_stopped(service)) as db:  # refused requests are counted per minute, not logged
        assert db.execute("SELECT count(*) FROM requests WHERE status = 401").fetchone()[0] == 0
        assert (
            db.execute("SELECT sum(requests) FROM request_counts WHERE kind = 'refused'").fetchone()[0] == 4
        )


def test_one_row_in_one_answer_out(service: Service) -> None:
    one = service.note(service.client.post("/predict", json=row("U1")))
    assert one.status_code == 200 and set(one.json()) == {
        "entity",
        "prediction",
        "score",
        "model_version",
        "route",
    }
    _stopped(service).close()


def test_the_canary_gets_its_share_and_each_entity_keeps_its_arm(service: Service) -> None:
    entities = [f"E{i:04d}" for i in range(400)]
    routes = {}
    for start in range(0, 400, 100):
        for answer in service.answers([row(e) for e in entities[start : start + 100]]):
            routes[answer["entity"]] = (answer["route"], answer["model_version"])
    share = sum(r == ("canary", 2) for r in routes.values()) / len(routes)
    assert 0.23 <= share <= 0.37, share
    assert {r for r in routes.values()} == {("canary", 2), ("production", 1)}
    shuffled = list(reversed(entities))
    with ThreadPoolExecutor(4) as pool:
        parts = pool.map(
            lambda part: service.answers([row(e) for e in part]),
            [shuffled[i : i + 50] for i in range(0, 400, 50)],
        )
        again = [answer for part in parts for answer in part]
    assert all(routes[a["entity"]] == (a["route"], a["model_version"]) for a in again)
    # shadow answers are logged, never returned: one for every row either arm answered
    with closing(_stopped(service)) as db:
        shadowed = db.execute(
            "SELECT count(*), count(shadow_prediction), min(shadow_version) FROM "
            "requests WHERE route IN ('production', 'canary')"
        ).fetchone()
    assert shadowed == (800, 800, 2)


def test_bad_input_names_the_fields_and_shows_no_trace(service: Service) -> None:
    client = service.client
    checks = [
        (client.post("/predict", json={"user_id": "U1", "x": "ten", "plan": "pro"}), 422),
        (client.post("/predict", content=b"{not json"), 400),
        (client.post("/predict", content=b"{" + b" " * 1_100_000 + b"}"), 413),
        (client.post("/predict", json={"rows": [row(f"U{i}") for i in range(1001)]}), 413),
        (client.get("/nowhere"), 404),
    ]
    for response, status in checks:
        assert response.status_code == status, (status, response.text)
        assert "Traceback" not in response.text and "error" in response.json()
        if "x-request-id" in response.headers:
            service.note(response)
    fields = {(f["field"], f["problem"]) for f in checks[0][0].json()["fields"]}
    assert fields == {("x", "must be a number"), ("joined", "missing")}
    _stopped(service).close()


def test_promote_and_rollback_are_followed_without_a_restart(service: Service) -> None:
    entities = [f"E{i:04d}" for i in range(40)]
    registry.deploy(service.workspace, service.project, 2, "blue-green", reason="all in", override="all in")
    promoted = service.answers([row(e) for e in entities])
    assert {a["model_version"] for a in promoted} == {2}
    registry.rollback(service.workspace, service.project, reason="the dummy is worse")
    after = service.answers([row(e) for e in entities])
    assert {(a["route"], a["model_version"]) for a in after} == {("production", 1)}
    assert "canary" not in service.open_client.get("/health").json()["routing"]
    _stopped(service).close()


def test_a_changed_production_artifact_is_refused_and_the_fallback_answers(service: Service) -> None:
    workspace, project = service.workspace, service.project
    artifact = workspace.artifacts.path_for(registry.get_version(workspace, project, 1).artifact_sha256)
    original = artifact.read_bytes()
    artifact.write_bytes(original + b"tampered")
    try:
        rules.set_fallback(workspace, project, "x > 0 -> 1 else 0")
        fell = service.answers([row("F1", x=2.0), row("F2", x=-2.0)])
        assert [(a["route"], a["prediction"]) for a in fell] == [("fallback", 1), ("fallback", 0)]
        # never silent: every fallback answer says so (no server path), and /health is degraded
        assert all(
            a["warnings"] == ["answered by the fallback rule: model v1 (run 1) cannot answer (ArtifactError)"]
            for a in fell
        ), fell
        health = service.open_client.get("/health").json()
        assert health["status"] == "degraded", health
        broken = [p for p in health["problems"] if p["alias"] == "production"]
        assert (
            broken
            and broken[0]["version"] == 1
            and broken[0]["file"] == str(artifact.relative_to(workspace.root))
        )
    finally:
        artifact.write_bytes(original)
    assert {a["route"] for a in service.answers([row("F1"), row("F2")])} == {"production"}
    assert "problem" not in service.open_client.get("/health").json()["routing"]["production"]
    with closing(_stopped(service)) as db:
        fallbacks = db.execute("SELECT error FROM requests WHERE route = 'fallback'").fetchall()
    assert len(fallbacks) == 2 and all("v1" in e[0] and "changed" in e[0] for e in fallbacks)
    assert str(workspace.root) not in fallbacks[0][0]


def test_a_rotated_token_stops_the_old_one_at_once(service: Service, run_cli) -> None:
    rotated = run_cli("serve", "token", "--rotate", workspace=service.workspace.root)
    assert rotated.exit_code == 0, rotated.output
    new_token = rotated.stdout.strip()
    assert new_token and new_token != service.token
    stale = service.client.post("/predict", json=row("U2"))
    assert stale.status_code == 401
    service.client.headers["Authorization"] = f"Bearer {new_token}"
    assert service.answers([row("U2")])[0]["entity"] == "U2"
    with closing(_stopped(service)) as db:
        assert (
            db.execute("SELECT sum(requests) FROM request_counts WHERE kind = 'refused'").fetchone()[0] == 1
        )
        events = {r[0] for r in db.execute("SELECT action FROM events WHERE stage = 'deployment'")}
        assert {"serve start", "serve stop", "serve token created", "serve token rotated"} <= events
        _no_token_text(db, [service.token, new_token])


def test_a_burst_then_a_clean_shutdown_logs_every_request(service: Service) -> None:
    def burst(worker: int) -> list[str]:
        with httpx.Client(base_url=service.base, timeout=60, headers=service.client.headers) as mine:
            ids = []
            for i in range(30):
                response = mine.post("/predict", json=row(f"B{worker}-{i}", x=i / 10))
                assert response.status_code == 200, response.text
                ids.append(response.headers["x-request-id"])
            return ids

    started = time.perf_counter()
    with ThreadPoolExecutor(10) as pool:
        burst_ids = [i for ids in pool.map(burst, range(10)) for i in ids]
    elapsed = time.perf_counter() - started
    service.sent.extend(burst_ids)
    health = service.open_client.get("/health").json()
    assert health["requests"] >= len(set(service.sent)) and health["p95_ms"] > 0
    print(f"burst: {len(burst_ids) / elapsed:.0f} requests/s; health: {health}")  # a measure, not a check
    with closing(_stopped(service)) as db:
        events = {r[0] for r in db.execute("SELECT action FROM events WHERE stage = 'deployment'")}
        assert {"serve start", "serve stop"} <= events
        _no_token_text(db, [service.token])
