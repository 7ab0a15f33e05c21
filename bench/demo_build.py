"""`cockpit demo --no-tui`, timed from the outside as a newcomer runs it: wall time and the CPU
time of the whole process tree (the build, its second process, training processes and the
demo's own script). With `--baseline-tree DIR` (a checkout of cockpit before a change, e.g.
a `git worktree`), its demo is built beside today's, alternately, in the same run.

    python -m bench.demo_build --repeats 3 --baseline-tree /tmp/old-checkout

Run by bench/run.py (`--only demo`); last stdout line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.timing import median

ROOT = Path(__file__).resolve().parent.parent


def build_once(tree: Path, folder: Path) -> dict[str, float]:
    """One build of the demo by the code in `tree` (its cockpit package first on the path, in
    the build and every process it starts), in an empty `folder`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    for name in ("COCKPIT_WORKSPACE", "COCKPIT_PROJECT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(name, None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cockpit", "demo", "--no-tui", "--path", str(folder)],
        cwd=tree,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "load_before": load, "load_after": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout measured (default: this one)")
    parser.add_argument("--baseline-tree", type=Path, help="a checkout before the change, built alternately")
    parser.add_argument("--tmp", type=Path, default=None)
    args = parser.parse_args(argv)
    trees = {"cockpit": args.tree.resolve()}
    if args.baseline_tree:
        trees["baseline"] = args.baseline_tree.resolve()
    base = Path(tempfile.mkdtemp(prefix="demo-bench-", dir=args.tmp))
    found: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    # before the first build: each build's own load lingers in the next one's 1-minute average
    load_at_start = os.getloadavg()[0]
    try:
        for i in range(args.repeats):
            for name, tree in trees.items():  # alternately: both see the same load over the run
                folder = base / f"{name}-{i}"
                found[name].append(build_once(tree, folder))
                print(f"{name} {i + 1}: {json.dumps(found[name][-1])}", file=sys.stderr, flush=True)
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    summary = {
        name: {
            "wall_s": median([r["wall_s"] for r in runs]),
            "cpu_s": median([r["cpu_s"] for r in runs]),
            "load": median([r["load_before"] for r in runs]),
            "runs": runs,
        }
        for name, runs in found.items()
    }
    summary["nproc"] = os.cpu_count()
    summary["load_at_start"] = load_at_start
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
