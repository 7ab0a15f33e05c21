"""The real `cockpit` command in tmux at 80x24, read from the pane like a person would."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

COCKPIT = Path(sys.executable).with_name("cockpit")


class Pane:
    def __init__(self, name: str) -> None:
        self.name = name

    def text(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True)
        return out.stdout

    def wait_for(self, needle: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if needle in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared; the pane shows:\n{self.text()}")

    def wait_for_row(self, pattern: str, timeout: float = 60.0) -> str:
        """Wait for a line matching the regex `pattern` (a table row whose spacing follows the
        terminal's width); returns the whole pane."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.text()
            if any(re.search(pattern, line) for line in screen.splitlines()):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r}; the pane shows:\n{self.text()}")

    def wait_gone(self, needle: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while needle in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} is still on the pane:\n{self.text()}")
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0


@pytest.fixture
def pane(tmp_path: Path):
    name = f"cockpit-e2e-{os.getpid()}-{time.monotonic_ns()}"
    started: list[str] = []

    def start(*args: str, cwd: Path) -> Pane:
        # Textual draws on stderr: it must stay on the pane, never redirected.
        command = f"cd {shlex.quote(str(cwd))} && {shlex.quote(str(COCKPIT))} " + " ".join(
            shlex.quote(a) for a in args
        )
        env = ["-e", "COCKPIT_USER=e2e", "-e", "TERM=xterm-256color"]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", *env, command], check=True
        )
        started.append(name)
        return Pane(name)

    yield start
    for session in started:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_demo_opens_the_cockpit_and_keys_work(pane, demo_path: Path) -> None:
    screen_ = pane("demo", "--path", str(demo_path), cwd=demo_path)
    screen = screen_.wait_for("Recent events")
    assert "learner-support" in screen
    for title in ("Problem", "Data", "Experiments", "Monitoring", "Review"):
        assert title in screen
    assert "q Quit" in screen

    screen_.keys("p")
    switcher = screen_.wait_for("Switch project")
    assert "churn" in switcher and "house-prices" in switcher
    screen_.keys("Down", "Enter")
    screen_.wait_for("churn · binary → churned")

    screen_.keys("2")
    # The overview's events also name customers-clean: wait for the data screen's own header
    # and its versions table, which fill after the title changes.
    screen_.wait_for("v4 customers-clean · 2,892 rows")
    data = screen_.wait_for_row(r"customers-clean\s+2,892\s+v2")
    assert "Versions  Profile" in data
    assert any(re.search(r"\bcustomers\s+2,970", line) for line in data.splitlines())

    screen_.keys("?")
    screen_.wait_for("Keys · Data")
    screen_.keys("Escape")
    # A key sent right after Escape would reach the app as Alt+key: wait first.
    screen_.wait_gone("Keys · Data")
    screen_.keys("q")
    deadline = time.monotonic() + 10
    while screen_.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not screen_.alive(), "cockpit did not quit on q"
