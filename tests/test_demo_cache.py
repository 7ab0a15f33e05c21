"""The demo cache (tests/demo_cache.py): keyed by its inputs, built once under a lock.

The builds here write a marker instead of the real demo: what is tested is the cache, and
the real build is what `demo_path` hands the tmux and UI tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.demo_cache import ROOT, STALE_DAYS, cached_demo, copy_demo, demo_key


def _marker_build(folder: Path) -> None:
    """Stands in for the demo: a second to build, and a line per build in builds.log."""
    with (folder.parent / "builds.log").open("a") as log:
        log.write(f"{folder.name}\n")
    time.sleep(1)
    (folder / ".cockpit").mkdir(parents=True)
    (folder / ".cockpit" / "cockpit.db").write_text("built")


def _sources(tmp_path: Path) -> Path:
    for name, text in (
        ("cockpit/a.py", "A = 1\n"),
        ("storage/b.py", "B = 2\n"),
        ("sample_data/c.csv", "x\n1\n"),
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_the_key_follows_the_code_and_data_but_not_bytecode(tmp_path: Path) -> None:
    sources = _sources(tmp_path)
    first = demo_key(sources)
    assert demo_key(sources) == first
    (sources / "cockpit" / "__pycache__").mkdir()
    (sources / "cockpit" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert demo_key(sources) == first
    (sources / "sample_data" / "c.csv").write_text("x\n2\n")
    changed_data = demo_key(sources)
    (sources / "storage" / "b.py").write_text("B = 3\n")
    assert len({first, changed_data, demo_key(sources)}) == 3


def test_two_sessions_at_once_build_once_and_later_ones_reuse_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    script = (
        "import sys; from pathlib import Path; from tests.demo_cache import cached_demo; "
        "from tests.test_demo_cache import _marker_build; "
        "print(cached_demo(Path(sys.argv[1]), build=_marker_build))"
    )
    sessions = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(cache)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    folders = {s.communicate(timeout=120)[0].strip() for s in sessions}
    assert [s.returncode for s in sessions] == [0, 0]
    assert len(folders) == 1 and len((cache / "builds.log").read_text().splitlines()) == 1
    assert cached_demo(cache, build=_marker_build) == Path(folders.pop())
    assert len((cache / "builds.log").read_text().splitlines()) == 1
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # no scratch left


def test_an_interrupted_build_leaves_nothing_used_and_is_redone(tmp_path: Path) -> None:
    cache = tmp_path / "cache"

    def crash(folder: Path) -> None:
        (folder / ".cockpit").mkdir(parents=True)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        cached_demo(cache, build=crash)
    assert not list(cache.glob("demo-*/.built"))
    folder = cached_demo(cache, build=_marker_build)
    assert (folder / ".cockpit" / "cockpit.db").read_text() == "built"
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []


def test_a_test_gets_a_copy_it_may_change(tmp_path: Path) -> None:
    folder = cached_demo(tmp_path / "cache", build=_marker_build)
    copy = copy_demo(folder, tmp_path / "mine")
    (copy / ".cockpit" / "cockpit.db").write_text("changed by a test")
    assert (folder / ".cockpit" / "cockpit.db").read_text() == "built"
    assert not (copy / ".built").exists()


def test_a_new_build_removes_builds_unused_for_a_week(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for name, days in (("demo-old", STALE_DAYS + 1), ("demo-recent", STALE_DAYS - 1)):
        (cache / name).mkdir(parents=True)
        (cache / f"{name}.lock").touch()
        aged = time.time() - days * 86400
        (cache / name / ".built").touch()
        os.utime(cache / name / ".built", (aged, aged))
    current = cached_demo(cache, build=_marker_build)
    assert sorted(p.name for p in cache.iterdir() if p.name != "builds.log") == sorted(
        ["demo-recent", "demo-recent.lock", current.name, f"{current.name}.lock"]
    )
