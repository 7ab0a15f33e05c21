"""Shared by the tests that start the real `cockpit serve` in a subprocess: a small project
with a production model (plus a canary and a shadow), the server started on a free loopback
port, a ledger of the requests sent to it checked against the service's contract, and a
clean shutdown after which the request log must hold exactly those requests."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry
from cockpit.deployment.serving_token import rotate_token, token_hash
from cockpit.projects import Project, create_project, get_project
from cockpit.workspace import Workspace
from tests.training_here import trained_here

CONTRACT = {200, 400, 401, 413, 422}  # the only statuses POST /predict may answer
TRACEBACK_MARKS = ("Traceback", 'File "', '.py"')
SCHEMA = {
    "entity": "user_id",
    "columns": {
        "user_id": {"kind": "categorical", "role": "id", "dtype": "str"},
        "x": {"kind": "numeric", "role": "feature", "dtype": "float64"},
        "plan": {"kind": "categorical", "role": "feature", "dtype": "str"},
        "joined": {"kind": "date", "role": "feature", "dtype": "str"},
    },
}


def subscribers(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    plan = rng.choice(["basic", "pro", "team"], n)
    joined = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    left = ((x + (plan == "basic") + rng.normal(0, 0.7, n)) > 0.8).astype(int)
    return pd.DataFrame(
        {
            "user_id": [f"U{i}" for i in range(n)],
            "x": x.round(3),
            "plan": plan,
            "joined": joined.strftime("%Y-%m-%d"),
            "left": left,
        }
    )


def row(entity: str, x: float = 0.4, plan: str = "basic") -> dict:
    return {"user_id": entity, "x": x, "plan": plan, "joined": "2025-03-01"}


def build_service_project(workspace: Workspace, tmp_path: Path) -> Project:
    """Project "subs": v1 (logistic regression) in production, v2 (dummy) as a 30% canary
    and in shadow."""
    project = create_project(workspace, "subs", "binary", "left")
    path = tmp_path / "subs.csv"
    subscribers().to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified", seed=1)
    first = trained_here(workspace, project, "logistic_regression")
    second = trained_here(workspace, project, "dummy")
    assert (first.status, second.status) == ("finished", "finished")
    for run in (first, second):
        registry.register(workspace, project, run.id, override_reason="a service test")
    registry.deploy(workspace, project, 1, "blue-green", reason="first", override="first")
    registry.deploy(workspace, project, 2, "canary", percent=30, reason="try it")
    registry.deploy(workspace, project, 2, "shadow", reason="watch it")
    return project


def start_serve(
    root: Path, out: Path, require_token: bool = True, timeout: float = 45
) -> tuple[subprocess.Popen, str, str | None]:
    """`cockpit serve --port 0` on loopback; (process, base URL, the token or None). A token
    is made here first when none is set: `cockpit serve` never prints one into a pipe."""
    token = None
    if require_token:
        with Workspace(root / ".cockpit") as ws:
            token = None if token_hash(ws) else rotate_token(ws)
    command = [sys.executable, "-m", "cockpit", "--workspace", str(root), "serve", "--port", "0"]
    process = subprocess.Popen(
        command + (["--require-token"] if require_token else []),
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")},
            "COCKPIT_USER": "tester",
        },
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = out.read_text()
        address = re.search(r"on (http://127\.0\.0\.1:\d+)", text)
        ready = "Ctrl-C stops the service" in text
        if address and ready and _healthy(address.group(1)):
            assert "ckp_" not in text and (token is None or token[4:20] not in text)
            return process, address.group(1), token
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_serve(process, signal.SIGKILL)
    raise AssertionError(f"cockpit serve did not start:\n{out.read_text()}")


def _healthy(base: str) -> bool:
    """The socket is bound before uvicorn listens on it: wait for an answer."""
    import httpx

    try:
        return httpx.get(f"{base}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def stop_serve(process: subprocess.Popen, sig: int = signal.SIGINT, timeout: float = 60) -> int:
    """Stop the service (SIGINT: a clean shutdown that writes the request log); its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@dataclass
class Served:
    """A running `cockpit serve` and every request sent to it: request id -> (the status
    answered, the entities its log rows hold: one per scored row of a 200, else [None])."""

    process: subprocess.Popen
    base: str
    token: str | None
    folder: Path
    out: Path
    entity: str
    sent: dict[str, tuple[int, list[str | None]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post(self, client, body: bytes, headers: dict[str, str] | None = None):
        """POST /predict, note what must be logged, and check the contract every answer keeps."""
        response = client.post("/predict", content=body, headers=headers)
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        answers = payload.get("predictions", [payload]) if status == 200 else []
        with self.lock:
            self.sent[response.headers["x-request-id"]] = (status, [a["entity"] for a in answers] or [None])
        assert status in CONTRACT, (status, response.text, body[:300])
        for mark in TRACEBACK_MARKS:
            assert mark not in response.text, response.text
        assert isinstance(payload, dict), response.text
        if status != 200:
            assert isinstance(payload.get("error"), str) and payload["error"], payload
        return response, payload


def serve_folder(folder: Path, out: Path, require_token: bool = False) -> Served:
    """`cockpit serve` on the workspace folder of `build_service_project`."""
    with Workspace.open(folder) as ws:
        entity = registry.get_version(ws, get_project(ws, "subs"), 1).input_schema["entity"]
    process, base, token = start_serve(folder, out, require_token=require_token)
    assert (token is not None) == require_token
    return Served(process, base, token, folder, out, entity)


def shutdown_and_read_log(served: Served) -> list[tuple[str, str | None, int]]:
    """A clean shutdown (SIGINT), then the request log: (request id, entity, status) rows."""
    assert stop_serve(served.process) == 0
    output = served.out.read_text()
    assert f"stopped: {len(served.sent)} requests answered" in output, output[-2000:]
    # a stack trace goes to the server's own log for a 500 only, never anywhere else
    failed = sum(status == 500 for status, _ in served.sent.values())
    assert output.count("Traceback") == failed, output[-2000:]
    db = sqlite3.connect(served.folder / ".cockpit" / "cockpit.db")
    try:
        return db.execute("SELECT request_id, entity, status FROM requests").fetchall()
    finally:
        db.close()


def assert_every_request_logged(served: Served, logged: list[tuple[str, str | None, int]]) -> None:
    """The log holds exactly the rows of the requests sent: each with its status, one row per
    scored row (its entity) for a 200, one row (no entity) for any other answer but a 401 (a
    request refused for the token is only counted, per minute, in request_counts)."""
    refused = sum(status == 401 for status, _ in served.sent.values())
    with sqlite3.connect(served.folder / ".cockpit" / "cockpit.db") as db:
        counted = db.execute("SELECT coalesce(sum(requests), 0) FROM request_counts WHERE kind = 'refused'")
        assert counted.fetchone()[0] >= refused  # (and any 401 of GET /openapi.json)
    sent = {r: found for r, found in served.sent.items() if found[0] != 401}
    by_request: dict[str, tuple[set[int], list[str | None]]] = {}
    for request_id, entity, status in logged:
        statuses, entities = by_request.setdefault(request_id, (set(), []))
        statuses.add(status)
        entities.append(entity)
    assert len(logged) == sum(len(entities) for _, entities in sent.values())
    assert set(by_request) == set(sent)
    wrong = {
        r: (one, by_request[r])
        for r, one in sent.items()
        if by_request[r][0] != {one[0]} or sorted(by_request[r][1], key=str) != sorted(one[1], key=str)
    }
    assert not wrong, list(wrong.items())[:5]
