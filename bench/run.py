"""Run every cockpit benchmark and print one table: medians over repeats and, for each, the
ratio to the reference measured in the same run.

    /work/venv/bin/python -m bench                      # defaults: ~15 min on 2 cores
    /work/venv/bin/python -m bench --setup-references   # once: MLflow and Evidently venvs
    /work/venv/bin/python -m bench --sizes 1000,10000 --table-runs 100000   # the issue's sizes

Each benchmark runs in a fresh child process (cockpit's venv for cockpit, plain sqlite3 and
numpy; bench/.venv-ref for MLflow; bench/.venv-evidently for Evidently), so imports and
caches start cold as they would for a user. Not part of the test suite: pytest's testpaths
is tests/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import drift_data, machine, refenv  # noqa: E402
from bench.timing import median  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GROUPS = (
    "record",
    "list",
    "table",
    "startup",
    "visit",
    "drift",
    "evaluation",
    "scoring",
    "tracking",
    "mlflow-import",
    "demo",
)


class Rows(list):
    """The results so far; each row is also logged as soon as it is measured."""

    def append(self, row) -> None:
        super().append(row)
        ref = f" | {row.ref_name} {fmt(row.ref_value, row.unit)} -> {fmt_ratio(row)}" if row.ref_name else ""
        log(
            f"  = {row.group}: {row.name}: {fmt(row.value, row.unit)}{ref}"
            + (f" | goal {row.goal}: {verdict(row)}" if row.goal else "")
        )


class Row:
    """One line of the results table. `better` says which way is good: 'higher' (a rate) or
    'lower' (a time). `ratio` is the speed-up over the reference: > 1 means cockpit is faster."""

    def __init__(
        self,
        group: str,
        name: str,
        value: float | None,
        unit: str,
        better: str,
        ref_name: str = "",
        ref_value: float | None = None,
        goal: str = "",
        goal_met: bool | None = None,
        note: str = "",
    ) -> None:
        self.group, self.name, self.value, self.unit, self.better = group, name, value, unit, better
        self.ref_name, self.ref_value, self.goal, self.goal_met = ref_name, ref_value, goal, goal_met
        self.note = note

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.ref_value is None or not self.value or not self.ref_value:
            return None
        return self.value / self.ref_value if self.better == "higher" else self.ref_value / self.value

    def as_dict(self) -> dict:
        return {**self.__dict__, "ratio": self.ratio}


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if unit == "runs/s":
        return f"{value:,.0f} runs/s" if value >= 100 else f"{value:,.1f} runs/s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "points/s":
        return f"{value:,.0f} points/s"
    return f"{value:g} {unit}"


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-" if not row.ref_name else "missing"
    return f"{ratio:,.1f}x" if ratio >= 10 else f"{ratio:.2f}x"


def verdict(row: Row) -> str:
    return {True: "met", False: "MISSED", None: ""}[row.goal_met]


# -- running the pieces ----------------------------------------------------------


def worker(module: str, *args: str, timeout: float | None = None) -> dict:
    """`python -m bench.<module> ARGS` in cockpit's venv; its last stdout line is JSON."""
    out = subprocess.run(
        [PY, "-m", f"bench.{module}", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-20:])
        raise RuntimeError(f"bench.{module} {' '.join(args)} failed:\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


BURST = 4  # trials that come back together, recorded in one transaction (issue 28)


def _ratios(found: list[float]) -> str:
    return ", ".join(f"{r:.2f}x" for r in found) + f" (median {median(found):.2f}x)"


def bench_record(n: int, args, rows: list[Row], mlflow: dict | None) -> None:
    common = ["--n", str(n), "--repeats", str(args.repeats), "--tmp", str(args.tmp)]
    once = ["--n", str(n), "--repeats", "1", "--tmp", str(args.tmp)]
    # The rows compared with the floors run interleaved, one round after another, each in a
    # fresh process, so a shared machine's drift (another job, the writeback of an earlier
    # row's files) falls on a round's rows alike; the ratios are each round's, their median
    # the verdict.
    compared = {
        "sweep": ("record", "--variant", "sweep"),
        "burst": ("record", "--variant", f"sweep-burst{BURST}"),
        "floor": ("floor",),
        "floor_indexed": ("floor-indexed",),
    }
    times: dict[str, list[float]] = {name: [] for name in compared}
    for number in range(1, args.repeats + 1):
        log(f"record {n:,} runs: round {number} of {args.repeats} (cockpit and the sqlite3 floors)")
        for name, what in compared.items():
            times[name].append(worker("cockpit_bench", *what, *once)["median"])
    rate = {name: n / median(found) for name, found in times.items()}
    per_round = {
        name: [t_floor / t for t, t_floor in zip(times[name], times["floor_indexed"], strict=True)]
        for name in ("sweep", "burst")
    }
    rate[f"sweep-burst{BURST}"] = rate.pop("burst")
    floor, floor_indexed = rate.pop("floor"), rate.pop("floor_indexed")
    for variant in ("train", "sweep+artifact"):
        log(f"record {n:,} runs: cockpit ({variant})")
        rate[variant] = n / worker("cockpit_bench", "record", "--variant", variant, *common)["median"]
    env = worker("cockpit_bench", "env-capture", "--repeats", "10")["median"]
    ref = n / median(mlflow["record"]) if mlflow and mlflow.get("record") else None
    g = f"record {n:,}"
    fast = rate["sweep"] >= 3000
    # without MLflow only the runs/s half can be checked
    met = (None if fast else False) if ref is None else fast and rate["sweep"] / ref >= 50
    rows.append(
        Row(
            g,
            "sweep trial: sweeps._record (artifact stubbed)",
            rate["sweep"],
            "runs/s",
            "higher",
            "MLflow log_batch",
            ref,
            ">= 3,000 runs/s, >= 50x MLflow",
            met,
        )
    )
    rows.append(
        Row(
            g,
            "sweep trial: sweeps._record (artifact stubbed)",
            rate["sweep"],
            "runs/s",
            "higher",
            "plain sqlite3",
            floor,
            "within 2x of sqlite3",
            rate["sweep"] / floor >= 0.5,
        )
    )
    rows.append(
        Row(
            g,
            "sweep trial: sweeps._record (artifact stubbed)",
            rate["sweep"],
            "runs/s",
            "higher",
            "sqlite3 + cockpit's runs indexes",
            floor_indexed,
            ">= 0.8x sqlite3 + indexes",
            median(per_round["sweep"]) >= 0.8,
            note="the reference is the same table with the indexes of cockpit's runs "
            "table (18; partial on the metric, score and duration columns); each round's ratio: "
            + _ratios(per_round["sweep"]),
        )
    )
    burst = rate[f"sweep-burst{BURST}"]
    rows.append(
        Row(
            g,
            f"sweep trials back {BURST} at a time: sweeps._record_all (artifact stubbed)",
            burst,
            "runs/s",
            "higher",
            "sqlite3 + cockpit's runs indexes",
            floor_indexed,
            ">= 0.8x sqlite3 + indexes, >= 3,000 runs/s",
            median(per_round["burst"]) >= 0.8 and burst >= 3000,
            note=f"one transaction per {BURST} trials (the floor: one per run); each round's ratio: "
            + _ratios(per_round["burst"]),
        )
    )
    rows.append(
        Row(
            g,
            "cockpit train: create_run + finish",
            rate["train"],
            "runs/s",
            "higher",
            "MLflow log_batch",
            ref,
            ">= 3,000 runs/s",
            rate["train"] >= 3000,
        )
    )
    rows.append(
        Row(
            g,
            "sweep trial + artifact put_bytes (8 KiB)",
            rate["sweep+artifact"],
            "runs/s",
            "higher",
            "MLflow log_batch",
            ref,
            note="includes the fsync of each artifact file",
        )
    )
    rows.append(
        Row(
            g,
            "environment capture per `cockpit train`",
            env * 1000,
            "ms",
            "lower",
            note="git rev-parse + git status + library versions; sweeps do it once",
        )
    )


def bench_list(n: int, args, rows: list[Row], mlflow: dict | None) -> None:
    log(f"list {n:,} runs: cockpit")
    mine = worker(
        "cockpit_bench", "list", "--n", str(n), "--repeats", str(args.repeats), "--tmp", str(args.tmp)
    )
    theirs = (mlflow or {}).get("list")
    if theirs and theirs["top_ids_check"] != mine["top_ids_check"]:
        log(f"warning: top-5 differ: cockpit {mine['top_ids_check']} mlflow {theirs['top_ids_check']}")
    labels = {
        "all": f"all {n:,} runs with params and metrics",
        "top50": "top 50 by roc_auc",
        "filtered": "filter family=random_forest recall>0.5, top 50 (+count)",
    }
    for key, label in labels.items():
        value = median(mine[key]) * 1000
        ref = median(theirs[key]) * 1000 if theirs else None
        rows.append(
            Row(
                f"list {n:,}",
                label,
                value,
                "ms",
                "lower",
                "mlflow.search_runs",
                ref,
                ">= 20x MLflow",
                None if ref is None else ref / value >= 20,
            )
        )


def build_big_workspace(n: int, folder: Path) -> Path:
    log(f"building a workspace with {n:,} runs (untimed)")
    code = (
        "import sys; from pathlib import Path; "
        "from bench.workspaces import ready_workspace, fill_runs; "
        "ws, p, pins = ready_workspace(Path(sys.argv[1])); "
        "fill_runs(ws, p.id, int(sys.argv[2]), pins); ws.close()"
    )
    subprocess.run([PY, "-c", code, str(folder), str(n)], cwd=ROOT, check=True)
    return folder


def bench_table(workspace: Path, n: int, args, rows: list[Row]) -> None:
    for size in args.table_sizes.split(","):
        log(f"runs table on {n:,} runs at {size}")
        r = worker(
            "ui_table", "--workspace", str(workspace), "--size", size, "--repeats", str(args.table_repeats)
        )
        g = f"table {n // 1000}k @{size}"
        o = r["open"]
        mounted = o["on_mount"] + o["wait"] + o["frame"]
        imported = ", ".join(r["imported_on_open"]) or "nothing heavy"
        rows.append(
            Row(
                g,
                "open (key 4) -> first page painted",
                o["total"] * 1000,
                "ms",
                "lower",
                goal="< 150 ms",
                goal_met=o["total"] < 0.150,
                note=f"first open in the process; imported {imported}",
            )
        )
        rows.append(
            Row(
                g,
                "screen mounted -> first page painted",
                mounted * 1000,
                "ms",
                "lower",
                goal="< 150 ms",
                goal_met=mounted < 0.150,
                note=f"on_mount {o['on_mount'] * 1000:.0f} ms, first frame {o['frame'] * 1000:.0f} ms",
            )
        )
        rows.append(
            Row(
                g,
                "back to the screen (key 4 again)",
                r["reopen"]["total"]["median"] * 1000,
                "ms",
                "lower",
                note=_split(r["reopen"]),
            )
        )
        for key, label, goal in (
            ("sort_indexed", "sort (o) by id or a metric", True),
            ("page_down", "page down", True),
            ("jump_end_home", "jump to last / first row", False),
            ("filter_family", "typed filter family=random_forest", True),
            ("filter_recall_sorted_by_auc", "typed filter recall>0.8 (sorted by roc_auc)", True),
            ("sort_recall_missing", "sort (o) by recall, 2% of runs without it", True),
            ("jump_end_missing", "jump to the last row, runs without recall", False),
        ):
            if key not in r:
                continue
            value = r[key]["total"]["median"] * 1000
            rows.append(
                Row(
                    g,
                    f"{label} -> repaint",
                    value,
                    "ms",
                    "lower",
                    goal="< 50 ms" if goal else "",
                    goal_met=value < 50 if goal else None,
                    note=_split(r[key]),
                )
            )
        for key in ("score", "duration"):
            if key in r["sort_by"]:
                value = r["sort_by"][key]["total"]["median"] * 1000
                rows.append(
                    Row(
                        g,
                        f"sort (o) by {key} -> repaint",
                        value,
                        "ms",
                        "lower",
                        goal="< 50 ms",
                        goal_met=value < 50,
                        note=_split(r["sort_by"][key]),
                    )
                )
        poll = r["poll_refresh"]["median"]
        if poll is not None:
            rows.append(
                Row(
                    g,
                    "the screen's 2 s poll (refresh_data)",
                    poll * 1000,
                    "ms",
                    "lower",
                    note="UI thread time spent every 2 s while the screen is shown",
                )
            )


def _split(summary: dict) -> str:
    return (
        f"handler {summary['handler']['median'] * 1000:.0f} + wait "
        f"{summary['wait']['median'] * 1000:.0f} + frame "
        f"{summary['frame']['median'] * 1000:.0f} ms; max {summary['total']['max'] * 1000:.0f}"
        f" ms of {summary['total']['n']}"
    )


def bench_drift(args, rows: list[Row], ev_ok: bool) -> None:
    def mine(what: str, n: int, *extra: str) -> dict:
        runs = [worker("drift_bench", what, "--rows", str(n), *extra) for _ in range(args.drift_repeats)]
        best = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}

    for n in [int(x) for x in args.drift_rows.split(",") if x]:
        g = f"drift {n:,}"
        log(f"drift on {n:,} + {n:,} rows x 25 columns: cockpit, numpy")
        cockpit, floor = mine("cockpit", n), mine("numpy", n)
        theirs = None
        if ev_ok:
            log(f"drift on {n:,} rows: Evidently DataDriftPreset x{args.ref_repeats}")
            found = [
                refenv.run_script("ref_evidently.py", ["--rows", str(n)], name="evidently")
                for _ in range(args.ref_repeats)
            ]
            theirs = sorted(found, key=lambda r: r["seconds"])[len(found) // 2]
        ev_s = theirs["seconds"] if theirs else None
        ev_mb = theirs["peak_rss_mb"] if theirs else None
        seconds = cockpit["seconds"]
        fast = ev_s is not None and ev_s / seconds >= 20
        goal, met = ">= 20x Evidently", (None if ev_s is None else fast)
        if n >= 1_000_000:
            goal += ", < 4 s"
            met = (seconds < 4) and (met is not False)
        rows.append(
            Row(
                g,
                "cockpit drift (reference stats + drift, 25 columns)",
                seconds,
                "s",
                "lower",
                "Evidently DataDriftPreset",
                ev_s,
                goal,
                met,
                note=f"reference statistics {cockpit['reference_s']:.2f} s of it; "
                f"flagged (PSI > 0.1) {', '.join(cockpit['flagged'])}; Evidently "
                f"flagged {', '.join(theirs['flagged']) if theirs else '-'}",
            )
        )
        rows.append(
            Row(
                g,
                "cockpit drift (reference stats + drift, 25 columns)",
                seconds,
                "s",
                "lower",
                "one numpy pass (PSI only)",
                floor["seconds"],
            )
        )
        rows.append(
            Row(
                g,
                "peak RSS while computing",
                cockpit["peak_rss_mb"],
                "MB",
                "lower",
                "Evidently DataDriftPreset",
                ev_mb,
                "< 1/3 of Evidently's",
                None if ev_mb is None else cockpit["peak_rss_mb"] * 3 < ev_mb,
                note=f"the data alone: cockpit's process {cockpit['data_rss_mb']:.0f} MB"
                + (f", Evidently's {theirs['data_rss_mb']:.0f} MB" if theirs else "")
                + f"; numpy pass peak {floor['peak_rss_mb']:.0f} MB",
            )
        )
        extra = cockpit["peak_rss_mb"] - cockpit["data_rss_mb"]
        ev_extra = ev_mb - theirs["data_rss_mb"] if theirs else None
        rows.append(
            Row(
                g,
                "peak RSS above the loaded data",
                extra,
                "MB",
                "lower",
                "Evidently DataDriftPreset",
                ev_extra,
                note="what the computation itself adds to the process (the peak is "
                "reset once the data is made)",
            )
        )
    stream, base = args.drift_stream_rows, args.drift_stream_reference
    if stream:
        log(f"drift streamed: {stream:,} rows in chunks, reference {base:,} rows")
        small = mine("cockpit-stream", base, "--reference-rows", str(base))
        big = mine("cockpit-stream", stream, "--reference-rows", str(base))
        g = f"drift {stream:,} streamed"
        rows.append(
            Row(
                g,
                "cockpit drift_in_chunks (250,000-row chunks)",
                big["seconds"],
                "s",
                "lower",
                note=f"reference statistics of {base:,} rows {big['reference_s']:.2f} s of it",
            )
        )
        rows.append(
            Row(
                g,
                "peak RSS while computing",
                big["peak_rss_mb"],
                "MB",
                "lower",
                f"the same on {base:,} rows",
                small["peak_rss_mb"],
                "bounded memory",
                # below one chunk (250,000 rows) the smaller run holds less
                big["peak_rss_mb"] <= small["peak_rss_mb"] * 1.1 if base >= drift_data.CHUNK else None,
                note=f"the process with the reference in memory: {big['data_rss_mb']:.0f} MB",
            )
        )


def bench_evaluation(args, rows: list[Row]) -> None:
    """The analytic intervals (the default) beside the bootstrap (`--bootstrap 200`) in the
    same run, each in a fresh process."""
    n = args.eval_rows
    log(f"evaluation with segments on {n:,} predictions: analytic intervals, then the bootstrap")

    def median(*extra: str) -> dict:
        runs = [worker("eval_bench", "--rows", str(n), *extra) for _ in range(args.eval_repeats)]
        return sorted(runs, key=lambda x: x["seconds"])[len(runs) // 2]

    analytic, resampled = median(), median("--bootstrap", "200")
    same_flags = analytic["flagged"] == resampled["flagged"]
    widths = [
        (high - low) / (resampled["intervals"][group][1] - resampled["intervals"][group][0])
        for group, (low, high) in analytic["intervals"].items()
    ]
    rows.append(
        Row(
            f"evaluation {n:,}",
            f"segments.breakdown + fairness_gaps (3 columns, {analytic['groups']} groups, roc_auc, "
            f"{'/'.join(analytic['methods'])} intervals)",
            analytic["seconds"],
            "s",
            "lower",
            f"the same with --bootstrap {resampled['bootstrap']}",
            resampled["seconds"],
            goal="<= 5 s",
            goal_met=analytic["seconds"] <= 5,
            note=f"breakdown {analytic['breakdown_s']:.1f} s, fairness_gaps {analytic['fairness_s']:.1f} s, "
            f"CPU {analytic['cpu_s']:.1f} s; bootstrap: breakdown {resampled['breakdown_s']:.1f} s, "
            f"CPU {resampled['cpu_s']:.1f} s; interval widths "
            f"{min(widths):.2f}-{max(widths):.2f}x the bootstrap's; weak flags "
            + ("the same" if same_flags else f"DIFFER: {analytic['flagged']} vs {resampled['flagged']}"),
        )
    )


def bench_mlflow_import(args, rows: list[Row], ref_ok: bool) -> None:
    """`cockpit import mlflow` of a store of N runs built by MLflow (cached, bench/import_bench.py),
    the runs table's first paint on the imported runs, and mlflow.search_runs on that store."""
    from bench import import_bench

    n = args.import_runs
    if not ref_ok:
        log("mlflow-import: skipped (no MLflow venv to build the store with: --setup-references)")
        return
    store, built = import_bench.cached_store(n, log)
    g = f"mlflow import {n:,}"
    log(f"{g}: cockpit import mlflow x{args.repeats}")
    imports = [import_bench.import_once(store, args.tmp / f"import-{i}") for i in range(args.repeats)]
    log(f"{g}: {imports[0]['report']}")
    log(f"{g}: runs table first paint")
    table = worker(
        "ui_table",
        "--workspace",
        str(args.tmp / "import-0"),
        "--project",
        import_bench.PROJECT,
        "--size",
        args.visit_size,
        "--repeats",
        str(args.table_repeats),
        "--open-only",
    )
    log(f"{g}: mlflow.search_runs x{args.repeats}")
    search = refenv.run_script(
        "ref_mlflow_import.py",
        ["search", "--n", str(n), "--folder", str(store), "--repeats", str(args.repeats)],
    )
    rows.append(
        Row(
            g,
            "store built by MLflow's client (once, cached)",
            built["build_s"],
            "s",
            "lower",
            note=f"create_run + log_batch + set_terminated per run; kept in {store}",
        )
    )
    rows.append(
        Row(
            g,
            "cockpit import mlflow (whole process)",
            median([i["seconds"] for i in imports]),
            "s",
            "lower",
            note="fresh process: MLflow's import, the database copy, runs, params, final metrics and "
            f"{n * 100:,} history points written, one transaction per run",
        )
    )
    o = table["open"]
    rows.append(
        Row(
            g,
            f"runs table after the import: open (key 4) -> first page painted, @{args.visit_size}",
            o["total"] * 1000,
            "ms",
            "lower",
            "mlflow.search_runs, all runs",
            median(search["search_runs"]) * 1000,
            goal="< 150 ms",
            goal_met=o["total"] < 0.150,
            note=f"{table['rows_total']:,} rows; on_mount {o['on_mount'] * 1000:.0f} ms, first frame "
            f"{o['frame'] * 1000:.0f} ms; back to the screen "
            f"{table['reopen']['total']['median'] * 1000:.0f} ms; MLflow's first search_runs (imports "
            f"pandas) {search['first_search_runs']:.2f} s, a DataFrame of {search['columns']} columns",
        )
    )


def bench_service(args, rows: list[Row]) -> None:
    """The service under load beside a bare Starlette floor, and the gate's latency rule
    (bench/service_bench.py)."""
    log("the prediction service: one client, 8 clients, a bare Starlette floor; the gate's latency rule")
    extra = ["--baseline-tree", args.scoring_baseline_tree] if args.scoring_baseline_tree else []
    found = worker("service_bench", *extra)
    ours, floor = found["cockpit serve"], found["bare Starlette floor"]
    before = found.get("cockpit serve (baseline tree)")
    for key, goal in (("p50_ms", 5.0), ("p95_ms", 10.0)):
        value = ours["one"][key]
        rows.append(
            Row(
                "scoring",
                f"one-row request, 1 client, {key[:3]}",
                value,
                "ms",
                "lower",
                "bare Starlette floor",
                floor["one"][key],
                goal=f"<= {goal:g} ms",
                goal_met=value <= goal,
            )
        )
    rows.append(
        Row(
            "scoring",
            "one-row requests, 8 clients",
            ours["eight"]["per_s"],
            "requests/s",
            "higher",
            "the baseline tree" if before else "bare Starlette floor",
            (before or floor)["eight"]["per_s"],
            goal=">= 4x the baseline" if before else "",
            goal_met=ours["eight"]["per_s"] >= 4 * before["eight"]["per_s"] if before else None,
            note=f"floor {floor['eight']['per_s']:.0f}/s; load {found['load'][0]:.1f}"
            + (
                f"; baseline 1 client p50 {before['one']['p50_ms']:.1f} ms, "
                f"p95 {before['one']['p95_ms']:.1f} ms"
                if before
                else ""
            ),
        )
    )
    for name, rule in found["gate latency rule"].items():
        forest = "forest" in name
        rows.append(
            Row(
                "scoring",
                f"gate latency rule, budget 5 ms: {name}",
                rule["p95_ms"],
                "ms",
                "lower",
                goal="fails" if forest else "passes",
                goal_met=rule["passed"] != forest,
                note=f"{rule['detail']} (p50 {rule['p50_ms']:.2f} ms)",
            )
        )


def bench_scoring(args, rows: list[Row]) -> None:
    log("one-row scoring: compiled feature pipeline vs a hand-built grouped one")
    runs = [worker("scoring_bench", "--calls", str(args.scoring_calls)) for _ in range(args.repeats)]
    hand = median([r["hand-built grouped"] for r in runs])
    for name in ("cockpit (compiler 2, grouped)", "cockpit (compiler 1, per column)"):
        value = median([r[name] for r in runs])
        grouped = "compiler 2" in name
        rows.append(
            Row(
                "scoring",
                f"one-row predict_proba, breast cancer LR: {name}",
                value,
                "ms",
                "lower",
                "hand-built grouped",
                hand,
                goal="within 1.5x of hand-built" if grouped else "",
                goal_met=value <= 1.5 * hand if grouped else None,
                note=f"median of {args.scoring_calls} calls per process, {args.repeats} processes"
                if grouped
                else "",
            )
        )


def bench_tracking(args, rows: list[Row], ref_ok: bool) -> None:
    """Runs logged through cockpit.start_run (bench/tracking_bench.py) and through MLflow's
    create_run + log_batch + set_terminated (bench/ref_mlflow.py --track-repeats)."""
    n = args.tracking_runs
    log(f"tracking {n:,} runs (10 params, 5 metrics, 100 steps each): cockpit x{args.repeats}")
    results = [worker("tracking_bench", "--n", str(n), "--tmp", str(args.tmp)) for _ in range(args.repeats)]
    mine, points = median([r["seconds"] for r in results]), results[0]["points"]
    theirs = None
    if ref_ok:
        log(f"tracking {n:,} runs: MLflow log_batch x{args.ref_repeats}")
        found = refenv.run_script(
            "ref_mlflow.py",
            [
                "--n",
                str(n),
                "--record-repeats",
                "0",
                "--track-repeats",
                str(args.ref_repeats),
                "--tmp",
                str(args.tmp),
            ],
        )
        theirs = median(found["track"])
    g = f"tracking {n:,}"
    ref = "MLflow create_run + log_batch + set_terminated"
    rows.append(
        Row(
            g,
            "runs logged through cockpit.start_run",
            n / mine,
            "runs/s",
            "higher",
            ref,
            n / theirs if theirs else None,
            note="per run: start_run (workspace, project, split), log_params (10), log_metrics (5), "
            "log_metric x100 with steps, the block's end (no model); MLflow: create_run, one log_batch "
            "of the same params, metrics and points, set_terminated, into SQLite",
        )
    )
    rows.append(
        Row(
            g,
            f"metric points written ({points // n} per run)",
            points / mine,
            "points/s",
            "higher",
            ref,
            points / theirs if theirs else None,
        )
    )


def bench_startup(workspace: Path, n: int, args, rows: list[Row], ref_ok: bool) -> None:
    log("start-up")
    extra = ["--ref-python", str(refenv.python())] if ref_ok else []
    r = worker(
        "startup",
        "--workspace",
        str(workspace),
        "--runs",
        str(n),
        "--repeats",
        str(args.startup_repeats),
        *extra,
    )
    version = median(r["version"])
    rows.append(
        Row(
            "start-up",
            "cockpit --version",
            version,
            "s",
            "lower",
            "python -c pass",
            median(r["python_floor"]),
            "< 0.3 s",
            version < 0.3,
            note="the ratio to the bare interpreter is < 1 by nature",
        )
    )
    if ref_ok:
        rows.append(
            Row(
                "start-up",
                "cockpit --version",
                version,
                "s",
                "lower",
                "mlflow --version",
                median(r["mlflow_version"]),
            )
        )
    paint = median(r["first_paint_tmux"])
    p = r["probe"]
    heavy = ", ".join(p["heavy_modules_before_first_frame"]) or "none of pandas/numpy/sklearn/..."
    rows.append(
        Row(
            "start-up",
            f"cockpit -> first painted screen ({n:,} runs, tmux)",
            paint,
            "s",
            "lower",
            goal="<= 0.5 s",  # issue 28's goal (issue 16's was < 0.6 s)
            goal_met=paint <= 0.5,
            note=f"headless probe: interpreter {p['interpreter']:.2f} s, import cockpit.cli "
            f"{p['import_cockpit_cli']:.2f} s, import screens.app "
            f"{p['import_screens_app']:.2f} s, App.run -> first frame "
            f"{p['app_run_to_first_frame']:.2f} s (total {p['first_frame']:.2f} s); "
            f"heavy modules loaded: {heavy}",
        )
    )


def bench_demo(args, rows: list[Row]) -> None:
    """`cockpit demo --no-tui` from the outside (bench/demo_build.py), beside a checkout before
    a change when --demo-baseline-tree names one. The goal is for an idle 2-core machine."""
    log("cockpit demo --no-tui" + (f" beside {args.demo_baseline_tree}" if args.demo_baseline_tree else ""))
    extra = ["--baseline-tree", str(args.demo_baseline_tree)] if args.demo_baseline_tree else []
    found = worker("demo_build", "--repeats", str(args.demo_repeats), "--tmp", str(args.tmp), *extra)
    ours, before = found["cockpit"], found.get("baseline")
    # idle: the machine's load before the first build (the builds' own load lingers in the average)
    idle = found["load_at_start"] < 0.5 * (found["nproc"] or 1)
    note = (
        f"load {found['load_at_start']:.1f} before the first build, {ours['load']:.1f} before each "
        f"(median) on {found['nproc']} cores; CPU of the process tree {ours['cpu_s']:.1f} s"
    )
    if before:
        note += f" (before: {before['cpu_s']:.1f} s)"
    rows.append(
        Row(
            "demo",
            "cockpit demo --no-tui, wall",
            ours["wall_s"],
            "s",
            "lower",
            "before" if before else "",
            before["wall_s"] if before else None,
            goal="<= 30 s idle on 2 cores",
            goal_met=ours["wall_s"] <= 30 if idle else None,  # a busy machine cannot tell
            note=note,
        )
    )


def bench_visit(args, rows: list[Row]) -> None:
    """Each stage's first visit and revisit on the demo, then on the demo with many more runs;
    with --visit-against, each set is run with that command too, right after, on the same
    workspace (its figures are the rows' reference: old code beside new on a busy machine)."""
    demo = args.tmp / "demo"
    log("building the demo workspace (untimed)")
    subprocess.run(
        [str(Path(PY).parent / "cockpit"), "demo", "--no-tui", "--path", str(demo)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    common = ["--repeats", str(args.visit_repeats), "--size", args.visit_size]
    for label, extra in (
        ("demo", []),
        (f"demo + {args.table_runs:,} runs", ["--add-runs", str(args.table_runs)]),
    ):
        log(f"stage visits on the {label} (load {os.getloadavg()[0]:.1f})")
        r = worker("stage_visit", "--workspace", str(demo), *common, *extra)
        against = {}
        if args.visit_against:  # the runs were added by the first set: not again
            log(f"stage visits on the {label} by {args.visit_against} (load {os.getloadavg()[0]:.1f})")
            against = worker(
                "stage_visit", "--workspace", str(demo), *common, "--cockpit", args.visit_against
            )
        for stage, visits in r.items():
            for visit in ("first", "revisit"):
                value = visits[visit]["median"] * 1000
                ref = against.get(stage, {}).get(visit)
                rows.append(
                    Row(
                        f"visit {label}",
                        f"{stage}: {'first visit' if visit == 'first' else 'revisit'} (key -> settled frame)",
                        value,
                        "ms",
                        "lower",
                        ref_name="against" if ref else "",
                        ref_value=ref["median"] * 1000 if ref else None,
                        goal="<= 150 ms",
                        goal_met=value <= 150,
                        note=f"max {visits[visit]['max'] * 1000:.0f} ms of {visits[visit]['n']}"
                        + (f"; against: max {ref['max'] * 1000:.0f} ms" if ref else ""),
                    )
                )


# -- output ------------------------------------------------------------------------


def print_table(rows: list[Row], markdown: bool = False) -> str:
    header = ["benchmark", "cockpit", "reference", "ref value", "speed-up", "goal", ""]
    lines = []
    for row in rows:
        lines.append(
            [
                f"{row.group}: {row.name}",
                fmt(row.value, row.unit),
                row.ref_name or "-",
                fmt(row.ref_value, row.unit) if row.ref_name else "-",
                fmt_ratio(row),
                row.goal or "-",
                verdict(row),
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        notes = [f"- {r.group}: {r.name}: {r.note}" for r in rows if r.note]
        return "\n".join(out + ([""] + notes if notes else []))
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    out = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() for cells in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="1000",
        help="run counts for the recording and listing benchmarks, comma "
        "separated (the issue's: 1000,10000; MLflow needs ~3 min per "
        "10,000 runs here)",
    )
    parser.add_argument(
        "--table-runs",
        type=int,
        default=100_000,
        help="runs in the store for the table and start-up benchmarks",
    )
    parser.add_argument(
        "--table-sizes", default="80x24", help="terminal sizes for the table benchmark, e.g. 80x24,160x50"
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats (medians are shown)")
    parser.add_argument(
        "--ref-repeats", type=int, default=1, help="repeats of MLflow's recording (slow: ~20 ms per run)"
    )
    parser.add_argument("--table-repeats", type=int, default=9)
    parser.add_argument("--startup-repeats", type=int, default=7)
    parser.add_argument("--visit-repeats", type=int, default=3, help="fresh cockpits per stage-visit set")
    parser.add_argument("--visit-size", default="80x24", help="terminal size for the stage visits")
    parser.add_argument(
        "--visit-against",
        default="",
        help="a command starting another cockpit (e.g. an older checkout's) timed beside this one",
    )
    parser.add_argument(
        "--drift-rows",
        default="100000,1000000",
        help="rows of reference and of current data for the drift benchmark",
    )
    parser.add_argument(
        "--drift-stream-rows", type=int, default=10_000_000, help="current rows streamed in chunks (0: skip)"
    )
    parser.add_argument(
        "--drift-stream-reference", type=int, default=1_000_000, help="reference rows for the streamed drift"
    )
    parser.add_argument("--drift-repeats", type=int, default=1)
    parser.add_argument(
        "--tracking-runs", type=int, default=10_000, help="runs logged through the tracking API and MLflow"
    )
    parser.add_argument(
        "--import-runs",
        type=int,
        default=10_000,
        help="runs of the MLflow store the mlflow-import group imports (built once by MLflow, cached)",
    )
    parser.add_argument("--demo-repeats", type=int, default=3, help="demo builds (the median is shown)")
    parser.add_argument(
        "--demo-baseline-tree", type=Path, help="a checkout before a change: its demo is built beside today's"
    )
    parser.add_argument("--eval-rows", type=int, default=1_000_000)
    parser.add_argument("--eval-repeats", type=int, default=1)
    parser.add_argument(
        "--scoring-calls",
        type=int,
        default=300,
        help="one-row predict_proba calls per process (the median is shown)",
    )
    parser.add_argument(
        "--scoring-baseline-tree",
        help="a checkout of cockpit before a change: its `cockpit serve` is measured beside today's",
    )
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated subset of {','.join(GROUPS)}"
    )
    parser.add_argument(
        "--setup-references",
        action="store_true",
        help="create bench/.venv-ref (MLflow) and bench/.venv-evidently (Evidently 0.7.23, pandas < 3) first",
    )
    parser.add_argument(
        "--no-references", action="store_true", help="skip MLflow and Evidently even if set up"
    )
    parser.add_argument("--tmp", type=Path, default=None, help="where temp stores go")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(GROUPS)
    if unknown:
        parser.error(f"unknown benchmark group(s): {', '.join(sorted(unknown))}")
    sizes = [int(s) for s in args.sizes.split(",") if s]

    if args.setup_references:
        refenv.setup(log)
    ref_ok = not args.no_references and refenv.available()
    ev_ok = not args.no_references and "drift" in only and refenv.available("evidently")
    info = machine.describe()
    info["references"] = refenv.versions() if ref_ok else {}
    info["evidently_venv"] = refenv.versions("evidently") if ev_ok else {}
    log("machine: " + json.dumps(info))
    if not ref_ok and only & {"record", "list", "startup", "tracking", "mlflow-import"}:
        log(
            "MLflow columns are missing: no MLflow venv at "
            f"{refenv.REF_VENV} (run with --setup-references to create it)"
        )
    if not ev_ok and "drift" in only:
        log(
            "Evidently columns are missing: no Evidently venv at "
            f"{refenv.ENVS['evidently'].folder} (run with --setup-references to create it)"
        )
    if info["loadavg_start"][0] > 0.5 * (info["nproc"] or 1):
        log(
            f"warning: the machine is busy (load {info['loadavg_start'][0]:.1f} on "
            f"{info['nproc']} cores): timings will be slower and noisier"
        )

    base = Path(tempfile.mkdtemp(prefix="cockpit-bench-", dir=args.tmp))
    args.tmp = base
    rows: list[Row] = Rows()
    began = time.perf_counter()
    try:
        for n in sizes:
            mlflow = None
            if ref_ok and only & {"record", "list"}:
                log(
                    f"MLflow: record {n:,} runs x{args.ref_repeats}"
                    + (", then list them" if "list" in only else "")
                )
                mlflow = refenv.run_script(
                    "ref_mlflow.py",
                    [
                        "--n",
                        str(n),
                        "--record-repeats",
                        str(args.ref_repeats if "record" in only else 0),
                        "--list-repeats",
                        str(args.repeats if "list" in only else 0),
                        "--tmp",
                        str(base),
                    ],
                )
            if "record" in only:
                bench_record(n, args, rows, mlflow)
            if "list" in only:
                bench_list(n, args, rows, mlflow)
        if only & {"table", "startup"}:
            workspace = build_big_workspace(args.table_runs, base / "big")
            if "table" in only:
                bench_table(workspace, args.table_runs, args, rows)
            if "startup" in only:
                bench_startup(workspace, args.table_runs, args, rows, ref_ok)
        if "visit" in only:
            bench_visit(args, rows)
        if "drift" in only:
            bench_drift(args, rows, ev_ok)
        if "evaluation" in only:
            bench_evaluation(args, rows)
        if "scoring" in only:
            bench_scoring(args, rows)
            bench_service(args, rows)
        if "tracking" in only:
            bench_tracking(args, rows, ref_ok)
        if "mlflow-import" in only:
            bench_mlflow_import(args, rows, ref_ok)
        if "demo" in only:
            bench_demo(args, rows)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    info["wall_s"] = round(time.perf_counter() - began, 1)
    log(f"done in {info['wall_s']} s; load average at the end {info['loadavg_end'][0]:.1f}")
    print(print_table(rows, args.markdown))
    if not args.markdown:
        notes = [f"  {r.group}: {r.name}: {r.note}" for r in rows if r.note]
        if notes:
            print("\nnotes:\n" + "\n".join(notes))
    missed = [r for r in rows if r.goal_met is False]
    print(
        f"\ngoals: {sum(r.goal_met is True for r in rows)} met, {len(missed)} missed"
        + ("".join(f"\n  MISSED {r.group}: {r.name} ({fmt(r.value, r.unit)}; goal {r.goal})" for r in missed))
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "rows": [r.as_dict() for r in rows],
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
