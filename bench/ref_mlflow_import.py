"""The MLflow side of the import benchmark. Runs in bench/.venv-ref (never in cockpit's venv)
as `python bench/ref_mlflow_import.py build|search ...`; the last stdout line is JSON.

build: a sqlite store of N runs written by MLflow's client, as a user's training loop leaves
it: per run `create_run`, one `log_batch` of 10 params, 5 metrics logged at steps 0..19 (100
points; the last is the fakedata value) and the family and seed as tags, `set_terminated`.
search: `mlflow.search_runs` of every run of that store (a DataFrame of params, final
metrics and tags), as a user of MLflow lists them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import fakedata  # noqa: E402  (bench/ is on PYTHONPATH)

EXPERIMENT = "bench-import"
STEPS = 20


def curve(final: float, i: int, steps: int = STEPS) -> list[float]:
    """A metric rising to its final value over `steps` points (deterministic)."""
    start = final * (0.5 + 0.3 * ((i * 7919) % 100) / 100)
    return [start + (final - start) * (s / (steps - 1)) ** 0.5 for s in range(steps)]


def build(folder: Path, n: int) -> dict:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(EXPERIMENT, artifact_location=(folder / "artifacts").as_uri())
    began = time.perf_counter()
    stamp = 1_780_000_000_000
    for i, run in enumerate(fakedata.runs(n)):
        created = client.create_run(experiment, start_time=stamp + i * 1000)
        points = [
            Metric(key, value, stamp + i * 1000 + step, step)
            for key, final in run["metrics"].items()
            for step, value in enumerate(curve(final, i))
        ]
        client.log_batch(
            created.info.run_id,
            metrics=points,
            params=[Param(k, str(v)) for k, v in run["params"].items()],
            tags=[RunTag("family", run["family"]), RunTag("seed", str(run["seed"]))],
        )
        client.set_terminated(created.info.run_id, end_time=stamp + i * 1000 + 900)
    return {"uri": uri, "experiment_id": experiment, "build_s": time.perf_counter() - began}


def search(uri: str, n: int, repeats: int) -> dict:
    import mlflow

    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT).experiment_id
    times = []
    for _ in range(repeats + 1):  # the first call imports pandas and warms caches: not counted
        began = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids=[experiment], max_results=n + 1)
        times.append(time.perf_counter() - began)
        assert len(frame) == n, (len(frame), n)
    return {"search_runs": times[1:], "first_search_runs": times[0], "columns": len(frame.columns)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("build", "search"))
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import mlflow

    if args.mode == "build":
        result = build(args.folder, args.n)
    else:
        result = search(f"sqlite:///{args.folder / 'mlflow.db'}", args.n, args.repeats)
    result["mlflow"] = mlflow.__version__
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
