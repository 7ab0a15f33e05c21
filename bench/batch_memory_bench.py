"""Batch work in bounded memory (issue 26, part 3): peak RSS and the write lock's hold time
of `cockpit predict` and `monitor ingest` on a big Parquet file, each run as its own child
process under /usr/bin/time -v.

    python -m bench.batch_memory_bench --rows 2000000 [--code DIR] [--dask-local 2 | --scheduler ADDRESS]

`--code DIR` runs the children on another checkout of cockpit (`git archive COMMIT | tar -x
-C DIR`): the figures before a change. The model: a logistic regression on scikit-learn's
breast cancer data (30 numeric columns, an id column); the big file repeats its rows with
noise. With --dask-local N or --scheduler, `predict` and `monitor check` also run on that
Dask cluster, each beside its one-process run (side by side in one run, on the same files).
The last stdout line is JSON: peak RSS, wall time and rows/s of each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run in the child: times every outermost transaction (BEGIN IMMEDIATE to commit: SQLite's
# write lock) and prints the longest as the last stderr line.
RUNNER = """
import sys, time
from contextlib import contextmanager
from storage.store import Store
held = []
begin = Store.transaction
@contextmanager
def timed(self):
    outer = not self.conn.in_transaction
    started = time.perf_counter()
    with begin(self) as store:
        yield store
    if outer:
        held.append(time.perf_counter() - started)
Store.transaction = timed
from cockpit.cli import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
finally:
    print(f"LOCK {max(held, default=0):.4f} {len(held)}", file=sys.stderr)
"""


def cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.insert(0, "member_id", [f"M{i}" for i in range(len(frame))])
    return frame.sample(frac=1, random_state=3).reset_index(drop=True)


def big_file(path: Path, rows: int) -> None:
    """`rows` rows of the data repeated with 1% noise, written 200,000 at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = cancer().drop(columns=["target"])
    features = base.columns[1:]
    rng = np.random.default_rng(0)
    writer = None
    for start in range(0, rows, 200_000):
        n = min(200_000, rows - start)
        picked = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
        noise = 1 + rng.normal(0, 0.01, (n, len(features)))
        picked[features] = picked[features].to_numpy() * noise
        picked["member_id"] = [f"P{start + i}" for i in range(n)]
        table = pa.Table.from_pandas(picked, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def big_csv(path: Path, rows: int) -> None:
    """`rows` rows of the data (with its target) repeated with 1% noise, as CSV."""
    import numpy as np

    base = cancer()
    features = [c for c in base.columns if c not in ("member_id", "target")]
    rng = np.random.default_rng(1)
    with open(path, "w") as out:
        for start in range(0, rows, 200_000):
            n = min(200_000, rows - start)
            picked = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
            picked[features] = picked[features].to_numpy() * (1 + rng.normal(0, 0.01, (n, len(features))))
            picked["member_id"] = [f"P{start + i}" for i in range(n)]
            picked.to_csv(out, index=False, header=start == 0)


def import_csv(code: Path, folder: Path, rows: int) -> dict:
    """`data import` of a `rows`-row CSV into a new project."""
    source = folder / f"import_{rows}.csv"
    if not source.exists():
        big_csv(source, rows)
    root = folder / f"import-ws-{os.getpid()}"
    root.mkdir()
    for step in (("init", str(root)), ("project", "new", "p", "--task", "binary", "--target", "target")):
        assert child(code, root, *step)["ok"], step
    found = child(code, root, "data", "import", str(source))
    return {**found, "file_mb": round(source.stat().st_size / 2**20)}


def child(code: Path, root: Path, *args: str) -> dict:
    load = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(code), "COCKPIT_USER": "bench"}
    env.pop("COCKPIT_WORKSPACE", None)
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", RUNNER, "--workspace", str(root), *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
    )
    err = done.stderr
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", err).group(1)
    lock = re.search(r"LOCK ([\d.]+) (\d+)", err)
    seconds = sum(float(part) * 60**i for i, part in enumerate(reversed(wall.split(":"))))
    ok = done.returncode in ((0, 1) if "check" in args else (0,))  # check: 1 = an alert fires
    return {
        "ok": ok,
        "peak_rss_mb": round(rss / 1024),
        "seconds": round(seconds, 1),
        "longest_lock_s": float(lock.group(1)) if lock else None,
        "stderr": "" if ok else err[-2000:],
        "stdout": done.stdout,
        "load_before": round(load, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def same_windows(here: str, there: str) -> bool:
    """`monitor check --json` windows equal: counts and text exactly, floats within 1e-12."""
    import math

    def same(a, b) -> bool:
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
        if isinstance(a, float):
            return isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12, abs_tol=0)
        return type(a) is type(b) and a == b

    return same(json.loads(here)["windows"], json.loads(there)["windows"])


def build(code: Path, root: Path) -> None:
    root.mkdir(parents=True)
    data = cancer()
    data.head(400).to_csv(root / "train.csv", index=False)
    steps = [
        ("init", str(root)),
        ("project", "new", "p", "--task", "binary", "--target", "target"),
        ("data", "import", str(root / "train.csv")),
        ("features", "set", "--column", "member_id:role=id"),
        ("data", "split", "--seed", "1"),
        ("train", "--model", "logistic_regression"),
        ("register", "1", "--override", "benchmark"),
        ("deploy", "1", "--strategy", "blue-green", "--override", "benchmark"),
    ]
    for step in steps:
        found = child(code, root, *step)
        assert found["ok"] or step[:2] == ("data", "split"), (step, found["stderr"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--code", type=Path, default=REPO)
    parser.add_argument("--scheduler", help="also predict and check on this Dask scheduler")
    parser.add_argument(
        "--dask-local", type=int, help="also predict and check on a LocalCluster of N workers"
    )
    parser.add_argument("--import-rows", type=int, default=0, help="also `data import` a CSV of N rows")
    parser.add_argument("--keep", type=Path, help="a folder for the files (default: a temporary one)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cockpit-batch-bench-"))
    try:
        big = folder / "big.parquet"
        if not big.exists():
            big_file(big, args.rows)
        root = folder / f"ws-{os.getpid()}"
        build(args.code, root)
        results = {"rows": args.rows, "code": str(args.code), "file_mb": round(big.stat().st_size / 2**20)}
        extra = ("--scheduler", args.scheduler) if args.scheduler else ()
        extra += ("--dask-local", str(args.dask_local)) if args.dask_local else ()
        out = str(folder / "scored.parquet")
        results["predict"] = child(args.code, root, "predict", str(big), "-o", out)
        if extra:
            results["predict_cluster"] = child(args.code, root, "predict", str(big), "-o", out, *extra)
        results["ingest"] = child(args.code, root, "monitor", "ingest", str(big), "--at", "2026-05-01")
        check = ("monitor", "check", "--now", "2026-06-01", "--json")
        results["check"] = child(args.code, root, *check)
        if extra:
            results["check_cluster"] = child(args.code, root, *check, *extra)
            results["check_cluster"]["same_windows"] = same_windows(
                results["check"]["stdout"], results["check_cluster"]["stdout"]
            )
        # the check reads every batch: each predict's (today's window) and the ingest's
        checked = args.rows * (3 if extra else 2)
        rows = {"predict": args.rows, "predict_cluster": args.rows, "ingest": args.rows}
        for name, counted in {**rows, "check": checked, "check_cluster": checked}.items():
            if name in results:
                results[name]["rows_per_s"] = round(counted / results[name]["seconds"])
        if args.import_rows:
            results["import"] = import_csv(args.code, folder, args.import_rows)
        results["load"] = os.getloadavg()[0]
        for found in results.values():
            if isinstance(found, dict):
                found.pop("stdout", None)
        print(json.dumps(results))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
