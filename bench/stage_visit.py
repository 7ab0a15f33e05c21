"""Stage visits: from a number key to the first frame that shows the stage with its data.
Run by bench/run.py (`python -m bench.stage_visit --workspace PATH ...`); last stdout
line: JSON.

Outside view, as the start-up benchmark: the real `cockpit` runs in a detached tmux pane
and the pane is polled every ~2 ms with `tmux capture-pane`. After a key is sent, every
distinct pane content is timestamped until the pane has not changed for `--settle`
seconds; the visit's time is when that settled content first appeared. So a frame that
still says "Loading" or shows a half-filled table does not count: the figure is the
first frame of what the user ends up looking at. A visit whose settled pane still says
"Loading" is reported as an error, never as a time.

Each repeat is a fresh process, so "first" visits pay their imports and first reads as a
user's first visit does; "revisit" is the same key after every stage was shown once.
The figures include tmux's redraw, the `tmux send-keys` spawn (~3-5 ms) and at most one
polling interval.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.startup import BYTECODE_CACHE, started_by
from bench.timing import median

VENV_BIN = Path(sys.executable).parent
COCKPIT = str(VENV_BIN / "cockpit")
STAGES = {
    "1": "problem",
    "2": "data",
    "3": "features",
    "4": "experiments",
    "5": "evaluation",
    "6": "deployment",
    "7": "monitoring",
    "8": "retrain",
    "9": "review",
}


class Pane:
    """One detached tmux session running cockpit, on its own tmux server; killed on exit."""

    def __init__(
        self, workspace: Path, size: tuple[int, int], cockpit: str = COCKPIT, cache: str = str(BYTECODE_CACHE)
    ) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed")
        self.name = f"cockpit-visit-{os.getpid()}-{time.monotonic_ns()}"
        # A tmux server of its own: on the shared default one, a new session could fail while
        # the server was exiting after the last pane's session (this bench's or anyone's) ended.
        self.folder = Path(tempfile.mkdtemp(prefix="cockpit-visit-"))
        self.tmux = ["tmux", "-S", str(self.folder / "tmux")]
        inner = f"read _; {started_by(cockpit, workspace, cache)}"
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y", str(size[1])]
            + ["sh", "-c", inner],
            check=True,
        )

    def __enter__(self) -> Pane:
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, "q"], check=False)
        time.sleep(0.2)
        subprocess.run([*self.tmux, "kill-server"], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.folder, ignore_errors=True)  # the server's socket

    def text(self) -> str:
        return subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        ).stdout

    def key(self, key: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, key], check=True)

    def settled_after(self, key: str, settle: float, timeout: float) -> tuple[float, str]:
        """Seconds from sending `key` to the first frame of the content the pane settles on."""
        before = self.text()
        began = time.perf_counter()
        self.key(key)
        content, since = before, began
        while True:
            now = time.perf_counter()
            pane = self.text()
            if pane != content:
                content, since = pane, now
            elif content != before and now - since >= settle:
                return since - began, content
            if now - began > timeout:
                raise RuntimeError(f"the pane did not settle {timeout} s after {key!r}:\n{pane}")
            time.sleep(0.002)


def visit_times(
    workspace: Path,
    repeats: int,
    size: tuple[int, int],
    settle: float,
    timeout: float,
    cockpit: str = COCKPIT,
    cache: str = str(BYTECODE_CACHE),
) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {s: {"first": [], "revisit": []} for s in STAGES.values()}
    if cache:  # fill the bytecode cache (bench/startup.py): not a visit a user makes after install
        with Pane(workspace, size, cockpit, cache) as pane:
            time.sleep(0.5)
            pane.settled_after("Enter", settle, timeout)
    for _ in range(repeats):
        with Pane(workspace, size, cockpit, cache) as pane:
            time.sleep(0.5)
            pane.settled_after("Enter", settle, timeout)  # the overview, untimed
            for visit in ("first", "revisit"):
                for key, stage in STAGES.items():
                    seconds, content = pane.settled_after(key, settle, timeout)
                    if "Loading" in content:
                        raise RuntimeError(f"{stage} settled on a Loading frame:\n{content}")
                    times[stage][visit].append(seconds)
    return times


def add_runs(folder: Path, project_name: str, n: int) -> None:
    """Add `n` finished runs to a project of the workspace at `folder`, pinned to the data,
    split and feature spec of its latest run (as bench/workspaces.fill_runs does for its own)."""
    from bench.workspaces import fill_runs
    from cockpit.projects import get_project
    from cockpit.workspace import Workspace

    ws = Workspace.open(folder)
    try:
        project = get_project(ws, project_name)
        if project is None:
            raise RuntimeError(f"no project {project_name!r} in {folder}")
        pins = ws.store.conn.execute(
            "SELECT version_id, split_id, feature_spec_version FROM runs WHERE project_id = ? "
            "ORDER BY id DESC LIMIT 1",
            [project.id],
        ).fetchone()
        fill_runs(ws, project.id, n, tuple(pins) if pins else None)
    finally:
        ws.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stage_visit")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument(
        "--add-runs", type=int, default=0, help="first add this many runs to --project (untimed)"
    )
    parser.add_argument("--project", default="churn", help="the project --add-runs fills")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds unchanged that end a visit")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--cockpit",
        default=COCKPIT,
        help="the command that starts cockpit (e.g. a script running an older checkout, to compare)",
    )
    parser.add_argument(
        "--bytecode-cache",
        default=str(BYTECODE_CACHE),
        help="where cockpit's compiled bytecode is kept ('' for the environment as it is; bench/startup.py)",
    )
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))
    if args.add_runs:
        add_runs(args.workspace, args.project, args.add_runs)
    times = visit_times(
        args.workspace,
        args.repeats,
        (width, height),
        args.settle,
        args.timeout,
        args.cockpit,
        args.bytecode_cache,
    )
    summary = {
        stage: {
            visit: {"median": median(values), "max": max(values), "n": len(values)}
            for visit, values in visits.items()
        }
        for stage, visits in times.items()
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
