"""Start-up: `cockpit --version`, and `cockpit` to its first painted screen on a workspace
with many runs. Run by bench/run.py (`python -m bench.startup ...`); last stdout line: JSON.

First paint, headline method (outside view, what a person sees): the real `cockpit` runs
in a detached tmux pane of 80x24. The pane starts `sh -c 'read _; exec cockpit ...'`, so
tmux and the shell are up before the clock starts; the clock starts when Enter is sent
and stops when `tmux capture-pane` first shows the overview's runs count ("N runs", N with
thousands separators, in the Experiments row), i.e. the screen with its data is on the
terminal. The pane is polled every ~2 ms, so the figure includes tmux's own redraw and at
most one polling interval.

Breakdown (inside view): `python -m bench.startup_probe` runs the same CLI entry point
headless and reports where the time went (interpreter, imports, app set-up, first frame)
and which heavy modules were imported before the first frame.

Bytecode: an installed cockpit runs from compiled bytecode (pip compiles it at install). A
PYTHONDONTWRITEBYTECODE in the bench's environment would make every start compile its ~100
modules again (~150 ms of CPU here), so cockpit is timed with that unset and its bytecode
kept in `--bytecode-cache` (the untimed first start fills it); `--bytecode-cache ''` times it
in the environment as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.timing import median

VENV_BIN = Path(sys.executable).parent
COCKPIT = str(VENV_BIN / "cockpit")
BYTECODE_CACHE = Path(tempfile.gettempdir()) / "cockpit-bench-bytecode"


def timed_env(cache: str) -> dict[str, str]:
    """The environment cockpit is timed in (module docstring): its bytecode kept in `cache`,
    as `started_by` does for tmux; '' leaves the environment as it is."""
    env = dict(os.environ)
    if cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def started_by(command: str, workspace: Path, cache: str) -> str:
    """A shell line that starts `command` on `workspace` with bytecode as `cache` says."""
    if not cache:
        return f"exec {command} --workspace {shlex.quote(str(workspace))}"
    return (
        f"exec env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={shlex.quote(cache)} "
        f"{command} --workspace {shlex.quote(str(workspace))}"
    )


def command_times(command: list[str], repeats: int, env: dict | None = None) -> list[float]:
    times = []
    for _ in range(repeats + 1):
        began = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times.append(time.perf_counter() - began)
    return times[1:]  # the first run warms the OS file cache


def tmux_first_paint(
    workspace: Path,
    marker: str,
    repeats: int,
    size=(80, 24),
    timeout: float = 30.0,
    cockpit: str = COCKPIT,
    cache: str = str(BYTECODE_CACHE),
) -> list[float]:
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed")
    times = []
    for i in range(repeats + 1):
        name = f"cockpit-bench-{os.getpid()}-{i}"
        inner = f"read _; {started_by(cockpit, workspace, cache)}"
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                str(size[0]),
                "-y",
                str(size[1]),
                "sh",
                "-c",
                inner,
            ],
            check=True,
        )
        try:
            time.sleep(0.5)
            began = time.perf_counter()
            subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)
            while True:
                pane = subprocess.run(
                    ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True
                ).stdout
                now = time.perf_counter()
                if marker in pane:
                    break
                if now - began > timeout:
                    raise RuntimeError(f"no {marker!r} on the pane after {timeout} s:\n{pane}")
                time.sleep(0.002)
            times.append(now - began)
        finally:
            subprocess.run(["tmux", "send-keys", "-t", name, "q"], check=False)
            time.sleep(0.2)
            subprocess.run(["tmux", "kill-session", "-t", name], check=False, stderr=subprocess.DEVNULL)
    return times[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--runs", type=int, required=True, help="runs in the workspace")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--ref-python", type=Path, default=None, help="the reference venv's python (for `mlflow --version`)"
    )
    parser.add_argument(
        "--cockpit", default=COCKPIT, help="the command that starts cockpit (an older checkout's, to compare)"
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the checkout whose cockpit the probe imports (with --cockpit)",
    )
    parser.add_argument(
        "--bytecode-cache",
        default=str(BYTECODE_CACHE),
        help="where cockpit's compiled bytecode is kept ('' for the environment as it is)",
    )
    args = parser.parse_args(argv)
    env = timed_env(args.bytecode_cache)
    out: dict = {}
    out["python_floor"] = command_times([sys.executable, "-c", "pass"], args.repeats)
    out["version"] = command_times([*shlex.split(args.cockpit), "--version"], args.repeats, env)
    if args.ref_python is not None:
        mlflow = args.ref_python.parent / "mlflow"
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
        out["mlflow_version"] = command_times([str(mlflow), "--version"], args.repeats, env)
    out["first_paint_tmux"] = tmux_first_paint(
        args.workspace,
        f"{args.runs:,} runs",
        max(3, args.repeats // 2),
        cockpit=args.cockpit,
        cache=args.bytecode_cache,
    )
    probe = [sys.executable, "-m", "bench.startup_probe", str(args.workspace)]
    if args.source:  # the checkout's cockpit, not this one's: its folder first, not the working one
        probe = [sys.executable, "-P", str(Path(__file__).with_name("startup_probe.py")), str(args.workspace)]
        env["PYTHONPATH"] = str(args.source)
    probes = []
    for _ in range(max(3, args.repeats // 2) + 1):
        result = subprocess.run(
            probe,
            capture_output=True,
            text=True,
            env={**env, "BENCH_SPAWNED_AT": repr(time.time())},
            cwd=args.source or Path(__file__).resolve().parent.parent,
        )
        if result.returncode != 0:
            raise RuntimeError(f"startup_probe failed:\n{result.stderr[-2000:]}")
        probes.append(json.loads(result.stdout.strip().splitlines()[-1]))
    probes = probes[1:]  # the first fills the bytecode cache
    keys = [k for k in probes[0] if isinstance(probes[0][k], float)]
    out["probe"] = {k: median([p[k] for p in probes]) for k in keys}
    out["probe"]["heavy_modules_before_first_frame"] = probes[-1]["heavy_modules"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
