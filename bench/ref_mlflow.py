"""The MLflow side of the recording and listing benchmarks. Runs in bench/.venv-ref (never in
cockpit's venv) as `python bench/ref_mlflow.py --n N ...`; the last stdout line is JSON.

Recording: per run `MlflowClient.create_run`, one `log_batch` (10 params, 5 metrics, the
family and seed as tags) and `set_terminated` — the same start/results/finish steps cockpit
records — into a SQLite backend store (`sqlite:///...`) in a temp dir, a fresh store per
repeat; its schema migrations are run before the clock starts.
Listing (on the store of the last recording repeat): `mlflow.search_runs` for all runs,
the best 50 by roc_auc, and the best 50 of `family = random_forest and recall > 0.5`.
Tracking (`--track-repeats`, the twin of bench/tracking_bench.py): per run `create_run`, one
`log_batch` of the 10 params, the 5 metrics and 100 `train_loss` points with steps 0..99
(the family and seed as tags), and `set_terminated`, into a fresh store per repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import fakedata  # noqa: E402  (bench/ is on PYTHONPATH)


def fresh_store(folder: Path):
    from mlflow import MlflowClient

    folder.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("bench", artifact_location=(folder / "artifacts").as_uri())
    return uri, client, experiment


def record(client, experiment: str, data: list[dict]) -> float:
    from mlflow.entities import Metric, Param, RunTag

    began = time.perf_counter()
    for run in data:
        created = client.create_run(experiment)
        run_id = created.info.run_id
        stamp = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in run["metrics"].items()],
            params=[Param(k, str(v)) for k, v in run["params"].items()],
            tags=[RunTag("family", run["family"]), RunTag("seed", str(run["seed"]))],
        )
        client.set_terminated(run_id)
    return time.perf_counter() - began


def track(client, experiment: str, data: list[dict], steps: int) -> float:
    import tracking_data
    from mlflow.entities import Metric, Param, RunTag

    began = time.perf_counter()
    for i, run in enumerate(data):
        created = client.create_run(experiment)
        run_id = created.info.run_id
        stamp = int(time.time() * 1000)
        curve = tracking_data.curve(i, steps)
        points = [Metric(tracking_data.KEY, v, stamp, step) for step, v in enumerate(curve)]
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in run["metrics"].items()] + points,
            params=[Param(k, str(v)) for k, v in run["params"].items()],
            tags=[RunTag("family", run["family"]), RunTag("seed", str(run["seed"]))],
        )
        client.set_terminated(run_id)
    return time.perf_counter() - began


def listing(uri: str, experiment: str, n: int, repeats: int) -> dict:
    import mlflow

    mlflow.set_tracking_uri(uri)
    order = [f"metrics.{fakedata.SORT_METRIC} DESC"]
    condition = f"tags.family = '{fakedata.FILTER_FAMILY}' and metrics.recall > {fakedata.FILTER_RECALL}"

    def all_runs():
        frame = mlflow.search_runs(experiment_ids=[experiment], max_results=n)
        assert len(frame) == n, len(frame)
        return frame

    def top50():
        return mlflow.search_runs(experiment_ids=[experiment], order_by=order, max_results=50)

    def filtered():
        return mlflow.search_runs(
            experiment_ids=[experiment], filter_string=condition, order_by=order, max_results=50
        )

    out: dict = {}
    for name, fn in (("all", all_runs), ("top50", top50), ("filtered", filtered)):
        fn()  # the first call imports pandas and warms the caches, as cockpit's side does
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        out[name] = times
    out["top_ids_check"] = [int(s) for s in top50()["tags.seed"][:5]]
    out["filtered_rows"] = len(filtered())
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--record-repeats", type=int, default=1)
    parser.add_argument("--list-repeats", type=int, default=0)
    parser.add_argument("--track-repeats", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100, help="train_loss points per tracked run")
    parser.add_argument("--tmp", type=Path, default=None)
    args = parser.parse_args()
    import mlflow

    base = Path(tempfile.mkdtemp(prefix="mlflow-bench-", dir=args.tmp))
    data = fakedata.runs(args.n)
    result: dict = {"mlflow": mlflow.__version__, "n": args.n, "record": [], "track": []}
    try:
        for i in range(args.track_repeats):
            _, client, experiment = fresh_store(base / f"t{i}")
            result["track"].append(track(client, experiment, data, args.steps))
        # the listing reads the last recording's store; tracking alone records nothing
        recordings = max(args.record_repeats, 1 if args.list_repeats or not args.track_repeats else 0)
        for i in range(recordings):
            uri, client, experiment = fresh_store(base / f"r{i}")
            elapsed = record(client, experiment, data)
            if i < args.record_repeats:
                result["record"].append(elapsed)
        if args.list_repeats:
            result["list"] = listing(uri, experiment, args.n, args.list_repeats)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
