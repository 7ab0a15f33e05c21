"""The prediction service under load (issue 28, parts 1 and 5), each piece in its own process.

`--run` (what bench/run.py calls) builds a workspace untimed: scikit-learn's breast cancer
data, a logistic regression compiled by cockpit in production. It starts `cockpit serve` on
it (and, with `--baseline-tree DIR`, the same command run from another checkout's code:
today's service before a change), and a bare Starlette floor around the same pipeline
(`--floor`: the row as a one-row DataFrame, `predict_proba`, a JSON answer), and the same
app answering without a model (`--noop`: the body parsed, a constant answer): what any
Python server takes on this machine at this moment, the scheduler's share. A load
generator in a separate process (`--load`: http.client keep-alive connections, one thread
per client) sends one-row requests: one client for `--requests` requests (p50 / p95), then 8
clients for `--seconds` (requests per second). Then the gate's latency rule (robustness.latency
and the gate's rule, budget 5 ms per row) on the same logistic regression and on a 500-tree
random forest over the same features. The last stdout line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent


def build(folder: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    from cockpit.data import datasets
    from cockpit.data.splits import make_split
    from cockpit.deployment import registry
    from cockpit.projects import create_project
    from cockpit.training import runs
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(folder)
    project = create_project(ws, "bc", "binary", "target")
    load_breast_cancer(as_frame=True).frame.to_csv(folder / "bc.csv", index=False)
    datasets.import_dataset(ws, project, folder / "bc.csv")
    make_split(ws, project, "stratified", seed=1)
    run = runs.train(ws, project, "logistic_regression")
    registry.register(ws, project, run.id, override_reason="bench")
    registry.deploy(ws, project, 1, "blue-green", reason="bench", override="bench")
    ws.close()


def request_rows() -> list[bytes]:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    return [
        json.dumps(dict(zip(frame.columns, map(float, r), strict=True))).encode() for r in frame.to_numpy()
    ]


# -- the floor: a bare Starlette app around the same pipeline -------------------------------


def floor(folder: Path, noop: bool = False) -> None:
    import socket

    import pandas as pd
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from cockpit.deployment.routing import Router
    from cockpit.projects import resolve_project
    from cockpit.workspace import Workspace

    ws = Workspace(folder / ".cockpit")
    router = Router(ws, resolve_project(ws, "bc"))
    pipeline = router.pipeline(router.alias_version("production"))

    async def predict(request):
        if noop:
            json.loads(await request.body())
            return JSONResponse({"prediction": 0, "score": 0.5})
        row = json.loads(await request.body())
        score = float(pipeline.predict_proba(pd.DataFrame([row]))[0, 1])
        return JSONResponse({"prediction": int(score >= 0.5), "score": score})

    app = Starlette(routes=[Route("/predict", predict, methods=["POST"])])
    # proto TCP, as `cockpit serve` binds it: asyncio turns Nagle off only then (a plain
    # socket.socket() left every answer waiting ~40 ms for the client's delayed ACK)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(f"on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])


# -- the load generator ---------------------------------------------------------------------


def load(url: str, clients: int, requests: int, seconds: float) -> dict:
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(url)
    bodies = request_rows()
    headers = {"content-type": "application/json"}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    start = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=60)

        def post(body: bytes) -> int:
            for attempt in (1, 2):  # an idle connection the server closed (keep-alive): once more
                try:
                    conn.request("POST", "/predict", body, headers)
                    response = conn.getresponse()
                    response.read()
                    return response.status
                except (http.client.RemoteDisconnected, ConnectionError):
                    conn.close()
                    if attempt == 2:
                        raise
            return 0

        for i in range(20):  # warm: the connection, the server's caches
            post(bodies[i])
        start.wait()
        # each client's own deadline: one shared and set after the barrier was read as 0.0 by
        # a client that passed it first, which then sent nothing (an empty run)
        stop_at = time.perf_counter() + seconds
        conn.close()  # a fresh connection: the others may have kept it waiting past keep-alive
        i = number
        while (requests and len(latencies[number]) < requests) or (
            not requests and time.perf_counter() < stop_at
        ):
            body = bodies[i % len(bodies)]
            began = time.perf_counter()
            status = post(body)
            latencies[number].append((time.perf_counter() - began) * 1000)
            failures[number] += status != 200
            i += clients
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for one in latencies for x in one)
    return {
        "clients": clients,
        "requests": len(every),
        "failures": sum(failures),
        "per_s": len(every) / elapsed,
        "p50_ms": every[len(every) // 2],
        "p95_ms": every[int(len(every) * 0.95)],
    }


# -- the run --------------------------------------------------------------------------------


def start(command: list[str], out: Path, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        command, stdout=out.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd, env=env
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", out.read_text())
        if found:
            time.sleep(0.5)  # the socket is bound before uvicorn listens on it
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{command} did not start:\n{out.read_text()[-2000:]}")


def measure(url: str, requests: int, seconds: float) -> dict:
    figures = {}
    for name, args in (
        ("one", ["--clients", "1", "--requests", str(requests)]),
        ("eight", ["--clients", "8", "--seconds", str(seconds)]),
    ):
        out = subprocess.run(
            [PY, "-m", "bench.service_bench", "--load", url, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise RuntimeError(f"the load generator failed on {url}:\n{out.stderr[-2000:]}")
        figures[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def gate_rule() -> dict:
    """The gate's latency rule, budget 5 ms per row: a logistic regression and a 500-tree
    forest behind the same compiled features, on breast cancer."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from cockpit.data.profile import profile_frame
    from cockpit.evaluation import robustness
    from cockpit.evaluation.gate import _latency_rule
    from cockpit.feature_pipeline import compile_transformer
    from cockpit.features import infer_spec
    from cockpit.projects import Project

    frame = load_breast_cancer(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"].to_numpy()
    specs = infer_spec(profile_frame(frame), "target")
    project = Project(0, "bc", "binary", "target", "", "")
    found = {}
    for name, model in (
        ("logistic regression", LogisticRegression(max_iter=3000)),
        ("random forest, 500 trees", RandomForestClassifier(500, random_state=0)),
    ):
        pipeline = Pipeline([("features", compile_transformer(specs)), ("model", model)]).fit(X, y)
        latency = robustness.latency(pipeline, frame, project, 5.0)
        rule = _latency_rule(latency)
        found[name] = {
            "p50_ms": latency["p50_ms"],
            "p95_ms": latency["p95_ms"],
            "passed": rule.passed,
            "detail": rule.detail,
        }
    return found


def run(requests: int, seconds: float, baseline_tree: Path | None) -> dict:
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="cockpit-service-bench-") as tmp:
        folder = Path(tmp) / "ws"
        build(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
        serve = [PY, "-m", "cockpit", "--workspace", str(folder), "serve", "--port", "0"]
        targets = [("cockpit serve", serve, env, ROOT)]
        if baseline_tree is not None:  # run from that tree: `-m` puts the working folder first
            old = {**env, "PYTHONPATH": str(baseline_tree)}
            targets.append(("cockpit serve (baseline tree)", serve, old, baseline_tree))
        floor_command = [PY, "-m", "bench.service_bench", "--floor", str(folder)]
        targets.append(("bare Starlette floor", floor_command, env, ROOT))
        targets.append(("bare Starlette, no model", [*floor_command, "--noop"], env, ROOT))
        for name, command, environment, cwd in targets:
            process, url = start(command, Path(tmp) / f"{len(result)}.out", environment, cwd)
            try:
                result[name] = measure(url, requests, seconds)
            finally:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
    result["gate latency rule"] = gate_rule()
    result["load"] = os.getloadavg()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--floor", type=Path)
    parser.add_argument("--noop", action="store_true", help="with --floor: answer without the model")
    parser.add_argument("--load")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--baseline-tree", type=Path)
    args = parser.parse_args(argv)
    if args.floor:
        floor(args.floor, args.noop)
    elif args.load:
        print(json.dumps(load(args.load, args.clients, args.requests, args.seconds)))
    else:
        print(json.dumps(run(args.requests or 300, args.seconds, args.baseline_tree)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
