"""Shared fixtures: temporary workspaces, a frozen clock, and the CLI runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.workspace import Workspace


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own workspace, project or user."""
    for name in ("COCKPIT_WORKSPACE", "COCKPIT_PROJECT", "COCKPIT_FAULT", "COCKPIT_JOURNAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COCKPIT_USER", "tester")


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
def run_cli(tmp_path: Path):
    """Run `cockpit ...` in-process against a workspace folder; returns the click Result."""
    from cockpit.cli import cli

    def run(*args: str, workspace: Path | None = None, input: str | None = None):
        prefix = ["--workspace", str(workspace)] if workspace else []
        return CliRunner().invoke(cli, [*prefix, *args], input=input, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    """The demo workspace, built once per test session through `build_demo`."""
    from cockpit.demo import build_demo

    path = tmp_path_factory.mktemp("demo")
    workspace, built = build_demo(path)
    assert built
    workspace.close()
    return path
