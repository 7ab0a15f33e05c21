"""Shared fixtures: temporary workspaces, a frozen clock, and the CLI runner."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.workspace import Workspace

# One BLAS / OpenMP thread in each test process and every process it starts (training
# children, the demo build): `pytest -n 2` on two cores already keeps both busy, and more
# threads oversubscribe them while OpenBLAS and OpenMP threads spin-wait (a logistic
# regression of the demo: 13 s with two threads, 2 s with one, on a busy machine).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
for _name in THREAD_VARIABLES:
    os.environ.setdefault(_name, "1")

_DEMO_BUILD = pytest.StashKey[object]()


def pytest_configure(config: pytest.Config) -> None:
    """numpy may be loaded already (pytest-randomly imports it), its BLAS threads started."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]))


# Modules whose tests share no module-scoped fixture and take long in all: each test is a unit
# of work of its own, so they spread over both workers instead of ending the run on one.
PER_TEST_MODULES = ("tests/conformance/", "tests/test_readme_examples.py")


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` (pyproject's addopts) as `--dist loadfile` plus groups: a module's
    tests stay on one worker (its module-scoped workspace is built once), and the modules
    marked `xdist_group(NAME)` share one worker too (the Dask cluster tests: never two
    LocalClusters at once); the tests of PER_TEST_MODULES go one by one."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleOrGroup(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]
            if nodeid.startswith(PER_TEST_MODULES):
                return nodeid
            return nodeid.split("::", 1)[0]

    return ModuleOrGroup(config, log)


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run on two or more xdist workers over whole folders (the README's `pytest -n 2`)
    starts the demo build at once in the background (tests/demo_cache.py: start_build)."""
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", default=None):
        return
    if not any(Path(arg.split("::")[0]).is_dir() for arg in config.args):
        return  # chosen files: they may not need the demo at all
    from tests.demo_cache import start_build

    config.stash[_DEMO_BUILD] = start_build()


def pytest_sessionfinish(session: pytest.Session) -> None:
    process = session.config.stash.get(_DEMO_BUILD, None)
    if process is not None:
        from tests.demo_cache import stop_build

        stop_build(process)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never see the developer's own workspace, project, user, keymap or theme."""
    for name in ("COCKPIT_WORKSPACE", "COCKPIT_PROJECT", "COCKPIT_FAULT", "COCKPIT_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COCKPIT_USER", "tester")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch):
    """Time starts at 2026-05-01 09:00 UTC and moves one minute per reading."""
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    ticks = iter(range(1_000_000))
    monkeypatch.setattr("storage.clock.now", lambda: start + timedelta(minutes=next(ticks)))
    return start


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws, _ = Workspace.init(tmp_path / "proj")
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def local_cluster():
    """A Dask LocalCluster of two worker processes, one thread each, started once per module
    (the modules using it share the xdist group `dask_cluster`: never two at once)."""
    import logging

    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    ) as local:
        yield local


@pytest.fixture
def private_copy(tmp_path: Path) -> Callable[[Path], Path]:
    """Copy a folder a module-scoped fixture built (a workspace and the files beside it) into
    this test's tmp_path: each test changes its own copy, never the shared build, so it
    passes alone and in any order. Close the build's Workspace before copying it."""

    def copy(folder: Path) -> Path:
        target = tmp_path / "copy" / folder.name
        shutil.copytree(folder, target, symlinks=True)
        return target

    return copy


@pytest.fixture
def train_here() -> Iterator[None]:
    """Runs train in this test's process (tests/training_here.py): for tests of what a run
    records, not of the training process (modules take it with `pytestmark`)."""
    from tests.training_here import training_here

    with training_here():
        yield


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run `cockpit ...` in-process against a workspace folder; returns the click Result."""
    from cockpit.cli import cli

    def run(*args: str, workspace: Path | None = None, input: str | None = None):
        prefix = ["--workspace", str(workspace)] if workspace else []
        return CliRunner().invoke(cli, [*prefix, *args], input=input, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def demo_build() -> Path:
    """The cached demo folder (tests/demo_cache.py): built once for this code, kept between
    sessions. Read it, never write to it: tests take `demo_path`."""
    from tests.demo_cache import cached_demo

    return cached_demo()


@pytest.fixture
def demo_path(demo_build: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo workspace (`cockpit demo`), this test's own."""
    from tests.demo_cache import copy_demo

    return copy_demo(demo_build, tmp_path / "demo")


@pytest.fixture
def demo_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The demo's frozen moment (the day after it was built, on its own frozen clock) and
    its user, for tests that show the demo and must read the same on any day."""
    from tests.demo_cache import DEMO_NOW, DEMO_USER

    monkeypatch.setattr("storage.clock.now", lambda: DEMO_NOW)
    monkeypatch.setenv("COCKPIT_USER", DEMO_USER)
    return DEMO_NOW
