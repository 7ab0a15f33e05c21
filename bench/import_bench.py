"""The `mlflow-import` group: `cockpit import mlflow` of an MLflow store of N runs (10 params,
5 metrics logged at 20 steps each), the runs table's first paint on what it imported, and
`mlflow.search_runs` of the same store.

The store is written by MLflow's own client (bench/ref_mlflow_import.py, in bench/.venv-ref):
~100 ms a run on a loaded 2-core machine, so it is built once per N and kept in
~/.cache/cockpit-bench/mlflow-import-N/ (with how long building took); delete the folder to
build it again. An import never changes it (cockpit reads a copy).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import refenv

CACHE = Path.home() / ".cache" / "cockpit-bench"
PROJECT = "bench-import"  # the experiment's name, as the import names its project


def cached_store(n: int, log) -> tuple[Path, dict]:
    """The folder of an N-run store and what building it took: built now when missing (a
    partial build is never taken: it is renamed into place only once complete)."""
    folder = CACHE / f"mlflow-import-{n}"
    meta = folder / "built.json"
    if meta.is_file():
        return folder, json.loads(meta.read_text())
    partial = CACHE / f"mlflow-import-{n}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    log(f"building an MLflow store of {n:,} runs with MLflow's client (once; kept in {folder}) ...")
    built = refenv.run_script("ref_mlflow_import.py", ["build", "--n", str(n), "--folder", str(partial)])
    (partial / "built.json").write_text(json.dumps(built))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder, built


def import_once(store: Path, workspace: Path) -> dict:
    """`cockpit init` then `cockpit import mlflow` of the store, each a fresh process (as a
    user runs them); the import's wall time and its one-line report."""
    cockpit = str(Path(sys.executable).parent / "cockpit")
    workspace.mkdir(parents=True)
    subprocess.run([cockpit, "init", str(workspace)], check=True, capture_output=True, cwd=workspace)
    began = time.perf_counter()
    out = subprocess.run(
        [cockpit, "--workspace", str(workspace), "import", "mlflow", f"sqlite:///{store / 'mlflow.db'}"]
        + ["--task", "binary", "--target", "label"],
        capture_output=True,
        text=True,
        cwd=workspace,
    )
    seconds = time.perf_counter() - began
    if out.returncode != 0:
        raise RuntimeError(f"cockpit import mlflow failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return {"seconds": seconds, "report": out.stdout.strip()}
