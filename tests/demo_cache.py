"""The demo workspace, built once and kept between test sessions.

`cockpit demo --no-tui` is the suite's longest setup. It is built once into a cache folder
named by a hash of everything the build reads (cockpit/, storage/, sample_data/, this file,
Python and the libraries that pickle the models), under a lock file so two pytest-xdist
workers or two sessions never build it twice. Tests get a copy (conftest's `demo_path`),
never the cached folder itself.

The build runs on a frozen clock (DEMO_START, one second per reading) with the user
DEMO_USER and fixed git commit dates, so a cached demo reads the same whenever it was
built; `demo_clock` in conftest freezes the time a test sees at DEMO_NOW, after the build.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("cockpit", "storage", "sample_data")
LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "joblib", "pyarrow", "sqlite-utils")
DEMO_START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # after the demo's last month of data
DEMO_NOW = DEMO_START + timedelta(days=1)  # later than any reading the build makes
DEMO_USER = "demo-tester"
STALE_DAYS = 7  # other builds untouched this long are removed when a new one is made


def cache_root() -> Path:
    """COCKPIT_TEST_CACHE, else ~/.cache/cockpit-tests."""
    return Path(os.environ.get("COCKPIT_TEST_CACHE") or Path.home() / ".cache" / "cockpit-tests")


def demo_key(sources: Path = ROOT) -> str:
    """A hash of the build's inputs: any change to them makes a new cache entry."""
    digest = hashlib.sha256()
    for line in (sys.version, *(f"{name}=={metadata.version(name)}" for name in LIBRARIES)):
        digest.update(line.encode() + b"\n")
    digest.update(Path(__file__).read_bytes())  # the recipe: clock, user, git dates
    for folder in SOURCES:
        for path in sorted(p for p in (sources / folder).rglob("*") if p.is_file() and _is_source(p)):
            digest.update(path.relative_to(sources).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _is_source(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}


def cached_demo(root: Path | None = None, build: Callable[[Path], None] | None = None) -> Path:
    """The folder holding a complete demo workspace for this code, built (by `build`, the
    real demo unless a test of this cache says otherwise) if missing."""
    root = root or cache_root()
    folder = root / f"demo-{demo_key()}"
    done = folder / ".built"
    if done.exists():
        done.touch()  # in use: not stale
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f"{folder.name}.lock"):
        if not done.exists():  # another process may have built it while this one waited
            for left in root.glob(f".{folder.name}-*"):  # by a build that was interrupted
                shutil.rmtree(left, ignore_errors=True)
            scratch = root / f".{folder.name}-{os.getpid()}"
            started = time.perf_counter()
            (build or _build)(scratch)
            (scratch / ".built").write_text(f"built in {time.perf_counter() - started:.1f} s\n")
            scratch.rename(folder)
            _remove_stale(root, keep=folder)
    return folder


def start_build() -> subprocess.Popen | None:
    """`cached_demo()` in a background process, unless this code's demo is cached already.
    The xdist controller starts it at the start of a run, so the build overlaps the tests that
    do not need the demo instead of a worker sitting on the lock while the other builds it.
    It takes the same lock: a worker that needs the demo waits for it, and one that finds no
    finished build (this one failed or was stopped) builds it itself and reports the error."""
    if (cache_root() / f"demo-{demo_key()}" / ".built").exists():
        return None
    cache_root().mkdir(parents=True, exist_ok=True)
    with (cache_root() / "background-build.log").open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from tests.demo_cache import cached_demo; cached_demo()"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops its training children
        )


def stop_build(process: subprocess.Popen) -> None:
    """Stop a background build no test waited for (a run of a few tests), and remove its
    unfinished folder."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        with contextlib.suppress(ProcessLookupError):  # its training children, still writing
            os.killpg(process.pid, signal.SIGKILL)
        for left in cache_root().glob(f".demo-*-{process.pid}"):
            shutil.rmtree(left, ignore_errors=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(folder: Path) -> None:
    """`build_demo` on the frozen clock and user, with fixed git dates."""
    from cockpit.demo import build_demo
    from cockpit.training import sweeps

    ticks = iter(range(1_000_000))
    git_date = DEMO_START.isoformat()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("storage.clock.now", lambda: DEMO_START + timedelta(seconds=next(ticks)))
        for name in ("COCKPIT_WORKSPACE", "COCKPIT_PROJECT", "COCKPIT_FAULT", "COCKPIT_JOURNAL"):
            patch.delenv(name, raising=False)
        patch.setenv("COCKPIT_USER", DEMO_USER)
        patch.setenv("GIT_AUTHOR_DATE", git_date)
        patch.setenv("GIT_COMMITTER_DATE", git_date)
        steady = _SteadyTime()
        for module in ("evaluation.robustness", "deployment.serving", "retraining.challenger"):
            patch.setattr(f"cockpit.{module}.time", steady)
        # Trials that finish in parallel take run ids in the order they finish: one at a time,
        # the same trial gets the same id in every build.
        patch.setattr("cockpit.training.sweeps.run_sweep", functools.partial(sweeps.run_sweep, n_jobs=1))
        # One step at a time (jobs=1): parallel builds give ids and events another order.
        workspace, built = build_demo(folder, jobs=1)
        workspace.close()
    assert built
    ended = DEMO_START + timedelta(seconds=next(ticks))
    assert ended < DEMO_NOW, "the build read the clock too often"
    _freeze_child_times(folder, ended)


class _SteadyTime:
    """`time` for the modules that measure latency while the demo is built: `perf_counter`
    moves 1 ms per reading in each thread, so every build stores the same latencies (the
    robustness tab's, the service's p50/p95, the retrain's ms per row) and the screens that
    show them read alike."""

    def __init__(self) -> None:
        self._readings = threading.local()

    def perf_counter(self) -> float:
        self._readings.n = getattr(self._readings, "n", 0) + 1
        return self._readings.n / 1000

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def _freeze_child_times(folder: Path, ended: datetime) -> None:
    """Training runs in child processes, which read the real clock: their times (a run's end,
    its "run finished" event) are set to the build's frozen end, so every build reads alike."""
    import sqlite3

    with sqlite3.connect(folder / ".cockpit" / "cockpit.db") as conn:
        tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in (c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')):
                if column == "at" or column.endswith("_at"):
                    conn.execute(
                        f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" > ?',
                        [ended.isoformat(timespec="seconds"), DEMO_NOW.isoformat(timespec="seconds")],
                    )


def _remove_stale(root: Path, keep: Path) -> None:
    cutoff = time.time() - STALE_DAYS * 86400
    for other in root.glob("demo-*"):
        done = other / ".built"
        if other != keep and other.is_dir() and done.exists() and done.stat().st_mtime < cutoff:
            shutil.rmtree(other, ignore_errors=True)
            other.with_name(f"{other.name}.lock").unlink(missing_ok=True)


def copy_demo(cached: Path, target: Path) -> Path:
    """A private copy of a cached demo at `target` (the folder holding .cockpit/)."""
    shutil.copytree(cached, target, symlinks=True, ignore=shutil.ignore_patterns(".built"))
    return target
