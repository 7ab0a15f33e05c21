"""Runs logged through the Python tracking API (`cockpit.start_run`), as a user's script logs
them: per run, `start_run` (the workspace found from its folder, the project and its newest
split resolved, the row written as running), `log_params` (fakedata's 10 params),
`log_metrics` (its 5 metrics), `log_metric` 100 times with steps 0..99, and the end of the
block (the run closed as finished; no model, as in MLflow's side). Run by bench/run.py as
`python -m bench.tracking_bench --n N --tmp DIR` in cockpit's venv, one fresh process per
repeat; the last stdout line is JSON (seconds for the n runs, setup untimed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench import fakedata
from bench.tracking_data import KEY, STEPS, curve


def log_runs(folder: Path, n: int) -> dict:
    import cockpit
    from bench.workspaces import PROJECT, ready_workspace

    ws, _, _ = ready_workspace(folder)
    data = fakedata.runs(n)
    curves = [curve(i) for i in range(n)]
    with cockpit.start_run(project=PROJECT, workspace=folder):  # warm: imports, git state
        pass
    began = time.perf_counter()
    for run_data, points in zip(data, curves, strict=True):
        with cockpit.start_run(project=PROJECT, workspace=folder, seed=run_data["seed"]) as run:
            run.log_params(run_data["params"])
            run.log_metrics(run_data["metrics"])
            for step, value in enumerate(points):
                run.log_metric(KEY, value, step=step)
    seconds = time.perf_counter() - began
    logged = ws.store.scalar("SELECT COUNT(*) FROM run_steps")
    finished = ws.store.scalar("SELECT COUNT(*) FROM runs WHERE status = 'finished'")
    assert (finished, logged) == (n + 1, n * (STEPS + len(fakedata.METRICS))), (finished, logged)
    ws.close()
    return {"seconds": seconds, "runs": n, "points": n * (STEPS + len(fakedata.METRICS))}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--tmp", type=Path, default=None)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tracking-bench-", dir=args.tmp))
    try:
        result = log_runs(base / "ws", args.n)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
