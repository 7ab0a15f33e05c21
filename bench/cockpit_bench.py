"""Recording and listing runs with cockpit, and the plain-sqlite3 floor. Run by bench/run.py
as `python -m bench.cockpit_bench record|list|floor ...` in cockpit's venv, one fresh
process per call; the last stdout line is JSON.

Recording goes through cockpit's own functions with a fake TrainOutput (no fitting):
- `sweep`: `cockpit.training.sweeps._record` — one transaction per run: the finished run in
  one INSERT (`runs.record_trials`; the sweep's end event counts its trials) — with the artifact store
  stubbed out, so only the recording is timed;
- `sweep+artifact`: the same with the real `ArtifactStore.put_bytes` of an 8 KiB model
  blob per run (temp file, sha256, fsync, rename, artifacts row);
- `sweep-burstK`: the same, with the trials coming back K at a time, each burst recorded by
  `sweeps._record_all` in one transaction (as a sweep on a pool records the trials that
  finished together);
- `train`: `runs.create_run` then `runs.finish` as two transactions, as `cockpit train`
  records a run (create in the parent, finish in the child). The environment (git commit,
  library versions) is captured once and passed in, as sweeps do; `env-capture` times what
  `cockpit train` spends on it per run.

`side` measures an older checkout beside this one: every round runs each row once, each in a
fresh process, the rows one after the other, so the load of a shared machine falls on all
of them alike; each row is compared with the indexed floor of the same round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from bench import fakedata
from bench.timing import median

ARTIFACT_BYTES = 8192


def _prepare(folder: Path, n: int):
    from bench.workspaces import ready_workspace
    from cockpit.training.environment import capture
    from cockpit.training.fit import TrainOutput
    from cockpit.training.runs import RunPlan

    ws, project, pins = ready_workspace(folder)
    data = fakedata.runs(n)
    plans = [RunPlan(r["family"], r["params"], r["seed"], *pins, fakedata.SORT_METRIC) for r in data]
    outputs = [
        TrainOutput(
            pipeline=b"",
            train_metrics=dict(r["metrics"]),
            validation_metrics=dict(r["metrics"]),
            curve=None,
            duration_s=1.5,
        )
        for r in data
    ]
    return ws, project, plans, outputs, capture(ws.root)


class _NoArtifacts:
    """Stands in for ArtifactStore when only the recording is timed."""

    def put_bytes(self, data, kind, library_versions=None):
        return SimpleNamespace(sha256="0" * 64)


def record(variant: str, n: int, folder: Path) -> float:
    """Seconds to record n runs (setup untimed)."""
    from cockpit.training import runs, sweeps

    ws, project, plans, outputs, environment = _prepare(folder, n)
    if variant == "sweep+artifact":
        for i, output in enumerate(outputs):
            output.pipeline = i.to_bytes(8, "little") * (ARTIFACT_BYTES // 8)
    elif variant.startswith("sweep"):
        ws.artifacts = _NoArtifacts()
    began = time.perf_counter()
    if variant in ("sweep", "sweep+artifact"):
        sweep_id = sweeps._create(ws, project, "random_forest", "random", [{}], n, 42, 2, "loky", None, False)
        for plan, output in zip(plans, outputs, strict=True):
            sweeps._record(ws, project, plan, sweep_id, output, None, environment)
    elif variant.startswith("sweep-burst"):  # e.g. sweep-burst4: trials back 4 at a time
        burst = int(variant.removeprefix("sweep-burst"))
        sweep_id = sweeps._create(ws, project, "random_forest", "random", [{}], n, 42, 2, "loky", None, False)
        trials = [(plan, output, None, None) for plan, output in zip(plans, outputs, strict=True)]
        for at in range(0, n, burst):
            sweeps._record_all(ws, project, sweep_id, environment, trials[at : at + burst])
    elif variant == "train":
        for plan, output in zip(plans, outputs, strict=True):
            run_id = runs.create_run(ws, project, plan, environment=environment)
            runs.finish(ws, project, run_id, "finished", output=output, artifact_sha256="0" * 64)
    else:
        raise SystemExit(f"unknown variant {variant}")
    elapsed = time.perf_counter() - began
    recorded = ws.store.scalar("SELECT count(*) FROM runs WHERE status = 'finished'")
    assert recorded == n, (recorded, n)
    ws.close()
    return elapsed


def env_capture(repeats: int) -> list[float]:
    from cockpit.training.environment import capture

    here = Path(__file__).resolve().parent
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        capture(here)
        times.append(time.perf_counter() - began)
    return times


# -- listing -------------------------------------------------------------------


def listing(folder: Path, n: int, repeats: int) -> dict[str, list[float]]:
    """Times of the listing queries on a store holding n runs recorded by `_record`."""
    from cockpit.projects import resolve_project
    from cockpit.training import query
    from cockpit.training.runs import mark_interrupted
    from cockpit.workspace import Workspace

    record("sweep", n, folder)
    ws = Workspace.open(folder)
    project = resolve_project(ws, None)
    filter_text = f"family={fakedata.FILTER_FAMILY} recall>{fakedata.FILTER_RECALL}"

    def all_runs():  # `cockpit runs --json --limit N`, less the printing
        mark_interrupted(ws, project)
        made = query.make_query(project.id, "id")
        rows = [r.as_dict() for r in query.page(ws.store, made, 0, n)]
        assert len(rows) == n
        return rows

    def top50():  # `cockpit runs --sort roc_auc --json` (best 50)
        mark_interrupted(ws, project)
        made = query.make_query(project.id, fakedata.SORT_METRIC)
        return [r.as_dict() for r in query.page(ws.store, made, 0, 50)]

    def filtered():  # the table's query: a page of 50 and the count shown
        made = query.make_query(project.id, fakedata.SORT_METRIC, filter_text)
        rows = [r.as_dict() for r in query.page(ws.store, made, 0, 50)]
        return rows, query.count(ws.store, made)

    out = {}
    for name, fn in (("all", all_runs), ("top50", top50), ("filtered", filtered)):
        fn()  # warm the page cache once, as MLflow's side is too
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
        out[name] = times
    rows, total = filtered()
    out["filtered_count"] = total
    out["top_ids_check"] = [r["seed"] for r in top50()[:5]]
    ws.close()
    return out


# -- the plain sqlite3 floor ----------------------------------------------------


def _runs_schema() -> tuple[str, list[str]]:
    """cockpit's own CREATE TABLE runs (same columns and types) and its index statements."""
    from cockpit.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws, _ = Workspace.init(Path(tmp))
        table = ws.store.scalar("SELECT sql FROM sqlite_master WHERE name = 'runs'")
        indexes = [
            r[0]
            for r in ws.store.conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL"
            )
        ]
        ws.close()
    return table, indexes


def floor(n: int, folder: Path, with_indexes: bool) -> float:
    """One INSERT of the whole finished run per WAL transaction into a table with the same
    columns as cockpit's runs table (foreign keys not enforced; secondary indexes only when
    `with_indexes`). Same pragmas as cockpit: WAL, synchronous=NORMAL, its WAL checkpoint
    interval."""
    from storage.store import WAL_CHECKPOINT_PAGES

    table, indexes = _runs_schema()
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    conn.execute(table)
    if with_indexes:
        for sql in indexes:
            conn.execute(sql)
    data = fakedata.runs(n)
    versions = json.dumps({"python": sys.version.split()[0]}, sort_keys=True)
    sql = (
        "INSERT INTO runs (project_id, sweep_id, family, params, seed, version_id, split_id, "
        "feature_spec_version, status, metric, score, train_metrics, validation_metrics, "
        "duration_s, artifact_sha256, git_commit, git_dirty, python_version, "
        "library_versions, owner_pid, created_at, finished_at, created_by, m_roc_auc, "
        "m_recall, m_precision, m_f1, m_accuracy) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    pid = os.getpid()
    began = time.perf_counter()
    for run in data:
        m = run["metrics"]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        metrics_json = json.dumps(m, sort_keys=True)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            sql,
            (
                1,
                1,
                run["family"],
                json.dumps(run["params"], sort_keys=True),
                run["seed"],
                1,
                1,
                1,
                "finished",
                "roc_auc",
                m["roc_auc"],
                metrics_json,
                metrics_json,
                1.5,
                "0" * 64,
                "f" * 40,
                0,
                "3.11",
                versions,
                pid,
                now,
                now,
                "bench",
                m["roc_auc"],
                m["recall"],
                m["precision"],
                m["f1"],
                m["accuracy"],
            ),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == n
    conn.close()
    return elapsed


SIDE_ROWS = "old:sweep,new:sweep,old:sweep-burst4,new:sweep-burst4,floor-indexed,floor"


def side(old: Path, n: int, rounds: int, rows: str, tmp: Path | None) -> dict:
    """Runs/s of each row (`old:VARIANT`, `new:VARIANT`, `floor`, `floor-indexed`) per round,
    and each row's ratio to the indexed floor of its round."""
    import subprocess

    here = Path(__file__).resolve().parent.parent
    extra = ["--tmp", str(tmp)] if tmp else []
    rates: dict[str, list[float]] = {row: [] for row in rows.split(",")}
    loads = [os.getloadavg()[0]]
    for _ in range(rounds):
        for row in rates:
            where, _, variant = row.rpartition(":")
            what = ["record", "--variant", variant] if where else [variant]
            command = [sys.executable, "-m", "bench.cockpit_bench", *what, "--n", str(n), "--repeats", "1"]
            done = subprocess.run(
                [*command, *extra], cwd=old if where == "old" else here, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"{row} failed:\n{done.stderr[-2000:]}")
            rates[row].append(n / json.loads(done.stdout.strip().splitlines()[-1])["median"])
        loads.append(os.getloadavg()[0])
    floor_rates = rates.get("floor-indexed")
    return {
        "n": n,
        "load": [min(loads), max(loads)],
        "rows": {
            row: {
                "runs_per_s": values,
                "median": median(values),
                "vs_floor_indexed": [a / b for a, b in zip(values, floor_rates, strict=True)]
                if floor_rates
                else None,
            }
            for row, values in rates.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cockpit_bench")
    parser.add_argument("what", choices=["record", "list", "floor", "floor-indexed", "env-capture", "side"])
    parser.add_argument("--variant", default="sweep")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--old", type=Path, help="side: the older checkout (e.g. a git worktree)")
    parser.add_argument("--rows", default=SIDE_ROWS, help="side: rows, comma separated")
    args = parser.parse_args(argv)
    if args.what == "side":
        if args.old is None:
            parser.error("side needs --old PATH (a checkout of the older commit)")
        print(json.dumps(side(args.old, args.n, args.repeats, args.rows, args.tmp)))
        return 0
    os.environ.setdefault("COCKPIT_USER", "bench")
    base = Path(tempfile.mkdtemp(prefix="cockpit-bench-", dir=args.tmp))
    try:
        if args.what == "record":
            times = [record(args.variant, args.n, base / f"r{i}") for i in range(args.repeats)]
            result = {"times": times, "median": median(times)}
        elif args.what in ("floor", "floor-indexed"):
            times = [floor(args.n, base / f"f{i}", args.what == "floor-indexed") for i in range(args.repeats)]
            result = {"times": times, "median": median(times)}
        elif args.what == "env-capture":
            times = env_capture(args.repeats)
            result = {"times": times, "median": median(times)}
        else:
            result = listing(base / "list", args.n, args.repeats)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
