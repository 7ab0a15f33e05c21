"""Concurrent use of one workspace: a `cockpit sweep` in its own process (with joblib
workers) while this process keeps reading the runs and writing spec versions through the
CLI. No "database is locked", every write lands, and the reader sees the new runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cockpit.workspace import Workspace

TRIALS = 6
MIN_OVERLAPPING_WRITES = 5


def test_a_sweep_while_another_process_reads_and_writes(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=folder)
    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    path = tmp_path / "d.csv"
    pd.DataFrame(
        {
            "id": range(200),
            "x": x.round(3),
            "c": rng.choice(["a", "b", "c"], 200),
            "y": (x + rng.normal(scale=0.8, size=200) > 0).astype(int),
        }
    ).to_csv(path, index=False)
    run_cli("data", "import", str(path), workspace=folder)
    run_cli("data", "split", workspace=folder)
    run_cli("features", "show", workspace=folder)  # plan once, so the sweep saves no spec

    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    sweep = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cockpit",
            "--workspace",
            str(folder),
            "sweep",
            "--model",
            "logistic_regression",
            "--random",
            str(TRIALS),
            "--jobs",
            "2",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "COCKPIT_USER": "sweeper"},
    )
    seen: list[int] = []
    written: list[str] = []
    overlapping = 0
    try:
        with Workspace.open(folder) as ws:  # wait for the sweep to hold its first write
            deadline = time.monotonic() + 60
            while not ws.store.scalar("SELECT count(*) FROM sweeps") and sweep.poll() is None:
                assert time.monotonic() < deadline, "the sweep never started"
                time.sleep(0.05)
        while sweep.poll() is None or len(written) < MIN_OVERLAPPING_WRITES:
            running = sweep.poll() is None
            listed = run_cli("runs", "--json", workspace=folder)
            assert listed.exit_code == 0, listed.stderr
            seen.append(len(json.loads(listed.stdout)))
            baseline = f"the rule of step {len(written) + 1}"
            saved = run_cli("problem", "set", "--set", f"baseline={baseline}", workspace=folder)
            assert saved.exit_code == 0 and "locked" not in saved.stderr, saved.stderr
            written.append(baseline)
            overlapping += running and sweep.poll() is None
        out, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()

    assert sweep.returncode == 0 and "locked" not in err, err
    result = json.loads(out)
    assert result["status"] == "finished" and len(result["runs"]) == TRIALS
    assert overlapping >= 2, "the writes did not overlap the sweep"
    assert seen == sorted(seen)  # the reader saw runs arrive, never vanish
    final = json.loads(run_cli("runs", "--json", workspace=folder).stdout)
    assert len(final) == TRIALS and {r["status"] for r in final} == {"finished"}
    history = json.loads(run_cli("problem", "history", "--json", workspace=folder).stdout)
    assert [v["spec"]["baseline"] for v in history] == written
    with Workspace.open(folder) as ws:
        assert ws.store.integrity_check() == "ok"
        events = ws.store.rows("SELECT stage, action, user, details FROM events")
        made_by = ws.store.rows("SELECT created_by, count(*) AS n FROM runs GROUP BY created_by")
    assert sum(e["stage"] == "problem" for e in events) == len(written)
    assert made_by == [{"created_by": "sweeper", "n": TRIALS}]
    ended = [json.loads(e["details"]) for e in events if e["action"] == "sweep finished"]
    assert [(e["trials"], e["finished"]) for e in ended] == [(TRIALS, TRIALS)]
    assert [e["user"] for e in events if e["action"].startswith("sweep ")] == ["sweeper", "sweeper"]
