"""The online prediction service (issue 12) and its API token (issue 17, the service half).

The end-to-end test starts the real `cockpit serve` in a subprocess on a free loopback port
and talks HTTP to it: canary share and stickiness, shadow answers in the log, 4xx bodies,
rollback and fallback followed without a restart, token rotation, a burst of requests and a
clean shutdown after which every request is in the log, and no token text in any table."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cockpit.deployment import registry, rules
from cockpit.deployment.serving_input import Rejected, check_rows, parse_body, to_frame
from cockpit.deployment.serving_token import authorized, digest, is_loopback, rotate_token
from cockpit.projects import create_project
from tests.serving_helpers import SCHEMA, build_service_project, row, start_serve

httpx = pytest.importorskip("httpx")


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
    time.sleep(0.3)
    assert log.written >= 400  # flushed while running, not only at the end
    log.close()
    assert workspace.store.scalar("SELECT count(*) FROM requests") == log.written == 450
    assert (
        workspace.store.scalar("SELECT count(*) FROM requests WHERE error LIKE ?", [f"{workspace.root}%"])
        == 0
    )  # paths are redacted
    stats = service_stats(workspace, project)
    assert (stats["requests"], stats["rows"], stats["errors"]) == (150, 450, 9)
    assert stats["p50_ms"] <= stats["p95_ms"] <= 99


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


# -- the real service -------------------------------------------------------------------


def _answers(client, rows: list[dict], sent: list[str]) -> list[dict]:
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 200, response.text
    sent.append(response.headers["x-request-id"])
    return response.json()["predictions"]


def test_the_prediction_service_end_to_end(workspace, tmp_path: Path, run_cli) -> None:
    project = build_service_project(workspace, tmp_path)
    out = tmp_path / "serve.out"
    process, base, token = start_serve(workspace.root, out)
    sent: list[str] = []  # the id of every request answered, whatever its status
    try:
        open_client = httpx.Client(base_url=base, timeout=30)
        client = httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})

        # /health is open; everything else needs the token
        health = open_client.get("/health").json()
        assert health["routing"]["production"]["version"] == 1
        assert health["routing"]["canary"] == {"version": 2, "run": 2, "percent": 30.0}
        assert health["token_required"] is True and health["rss_mb"] > 0
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": token}):
            refused = open_client.post("/predict", json=row("U1"), headers=headers)
            assert refused.status_code == 401 and "token" in refused.json()["error"]
            sent.append(refused.headers["x-request-id"])
        assert open_client.get("/openapi.json").status_code == 401
        spec = client.get("/openapi.json").json()
        assert (
            set(spec["components"]["schemas"]["Row"]["required"]) == {"user_id", "x", "plan", "joined"}
            and "/predict" in spec["paths"]
        )

        # one row in, one answer out
        one = client.post("/predict", json=row("U1"))
        assert one.status_code == 200 and set(one.json()) == {
            "entity",
            "prediction",
            "score",
            "model_version",
            "route",
        }
        sent.append(one.headers["x-request-id"])

        # the canary gets close to its share of 400 entities, and each entity keeps its arm
        entities = [f"E{i:04d}" for i in range(400)]
        routes = {}
        for start in range(0, 400, 100):
            for answer in _answers(client, [row(e) for e in entities[start : start + 100]], sent):
                routes[answer["entity"]] = (answer["route"], answer["model_version"])
        share = sum(r == ("canary", 2) for r in routes.values()) / len(routes)
        assert 0.23 <= share <= 0.37, share
        assert {r for r in routes.values()} == {("canary", 2), ("production", 1)}
        shuffled = list(reversed(entities))
        with ThreadPoolExecutor(4) as pool:
            parts = pool.map(
                lambda part: _answers(client, [row(e) for e in part], sent),
                [shuffled[i : i + 50] for i in range(0, 400, 50)],
            )
            again = [answer for part in parts for answer in part]
        assert all(routes[a["entity"]] == (a["route"], a["model_version"]) for a in again)

        # bad input: the offending fields named, no stack traces
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
                sent.append(response.headers["x-request-id"])
        fields = {(f["field"], f["problem"]) for f in checks[0][0].json()["fields"]}
        assert fields == {("x", "must be a number"), ("joined", "missing")}

        # promote and roll back from this process: the service follows without a restart
        registry.deploy(workspace, project, 2, "blue-green", reason="all in")
        promoted = _answers(client, [row(e) for e in entities[:40]], sent)
        assert {a["model_version"] for a in promoted} == {2}
        registry.rollback(workspace, project, reason="the dummy is worse")
        after = _answers(client, [row(e) for e in entities[:40]], sent)
        assert {(a["route"], a["model_version"]) for a in after} == {("production", 1)}
        assert "canary" not in open_client.get("/health").json()["routing"]

        # a changed production artifact is refused: the fallback rule answers
        artifact = workspace.artifacts.path_for(registry.get_version(workspace, project, 1).artifact_sha256)
        original = artifact.read_bytes()
        artifact.write_bytes(original + b"tampered")
        try:
            rules.set_fallback(workspace, project, "x > 0 -> 1 else 0")
            fell = _answers(client, [row("F1", x=2.0), row("F2", x=-2.0)], sent)
            assert [(a["route"], a["prediction"]) for a in fell] == [("fallback", 1), ("fallback", 0)]
        finally:
            artifact.write_bytes(original)
        assert {a["route"] for a in _answers(client, [row("F1"), row("F2")], sent)} == {"production"}
        assert "problem" not in open_client.get("/health").json()["routing"]["production"]

        # rotation: the old token stops working at once
        rotated = run_cli("serve", "token", "--rotate", workspace=workspace.root)
        assert rotated.exit_code == 0, rotated.output
        new_token = rotated.stdout.strip()
        assert new_token and new_token != token
        stale = client.post("/predict", json=row("U2"))
        assert stale.status_code == 401
        sent.append(stale.headers["x-request-id"])
        client.headers["Authorization"] = f"Bearer {new_token}"

        # a bounded burst from a few threads, then a clean shutdown
        def burst(worker: int) -> list[str]:
            with httpx.Client(base_url=base, timeout=60, headers=client.headers) as mine:
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
        sent.extend(burst_ids)
        health = open_client.get("/health").json()
        assert health["requests"] >= len(set(sent)) and health["p95_ms"] > 0
        print(f"burst: {len(burst_ids) / elapsed:.0f} requests/s; health: {health}")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = out.read_text()
    assert "stopped:" in output and "Traceback" not in output

    db = sqlite3.connect(workspace.dir / "cockpit.db")
    logged = {r[0] for r in db.execute("SELECT request_id FROM requests")}
    assert len(sent) == len(set(sent)) and not set(sent) - logged
    assert db.execute("SELECT count(*) FROM requests WHERE status = 401").fetchone()[0] == 4
    # shadow answers are logged, never returned
    shadowed = db.execute(
        "SELECT count(*), count(shadow_prediction), min(shadow_version) FROM "
        "requests WHERE route IN ('production', 'canary')"
    ).fetchone()
    assert shadowed[0] > 1000 and shadowed[1] == shadowed[0] and shadowed[2] == 2
    fallbacks = db.execute("SELECT error FROM requests WHERE route = 'fallback'").fetchall()
    assert len(fallbacks) == 2 and all("v1" in e[0] and "changed" in e[0] for e in fallbacks)
    assert str(workspace.root) not in fallbacks[0][0]
    events = [r[0] for r in db.execute("SELECT action FROM events WHERE stage = 'deployment'")]
    assert {"serve start", "serve stop", "serve token created", "serve token rotated"} <= set(events)
    # no token text anywhere in the store
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
        for values in db.execute(f'SELECT * FROM "{table}"'):
            for column, value in zip(columns, values, strict=True):
                text = str(value)
                assert token not in text and new_token not in text, (table, column)
                assert token[4:20] not in text and new_token[4:20] not in text, (table, column)
    db.close()
