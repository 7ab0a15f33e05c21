"""A script run's git state: a script (or a module beside it the script imported) that git
does not track is not a clean commit, though `git status --untracked-files=no` shows nothing
(a catalogue run is not made dirty by a stray file: only the run's own code counts)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from cockpit.tracking import origin


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def repo(folder: Path) -> Path:
    folder.mkdir()
    (folder / "README.md").write_text("code\n")
    git(folder, "init", "-q")
    git(folder, "add", "README.md")
    git(folder, "commit", "-q", "-m", "first")
    return folder


def script_env(script: Path):
    return origin.environment("script", {"script": str(script), "argv": [], "cwd": str(script.parent)})


def test_an_untracked_script_is_not_a_clean_commit(tmp_path: Path) -> None:
    code = repo(tmp_path / "code")
    script = code / "train.py"
    script.write_text("print('training')\n")
    commit, dirty, _ = script_env(script)
    assert (commit, dirty) == (git(code, "rev-parse", "HEAD"), True)


def test_a_committed_script_is_clean_even_beside_stray_files(tmp_path: Path) -> None:
    code = repo(tmp_path / "code")
    script = code / "train.py"
    script.write_text("print('training')\n")
    git(code, "add", "train.py")
    git(code, "commit", "-q", "-m", "script")
    (code / "notes.txt").write_text("a stray file the script does not load\n")
    commit, dirty, _ = script_env(script)
    assert (commit, dirty) == (git(code, "rev-parse", "HEAD"), False)


def test_an_untracked_module_beside_the_script_it_imported_is_not_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = repo(tmp_path / "code")
    script = code / "train.py"
    script.write_text("import mymod\n")
    git(code, "add", "train.py")
    git(code, "commit", "-q", "-m", "script")
    (code / "mymod.py").write_text("VALUE = 1\n")
    module = types.ModuleType("mymod")
    module.__file__ = str(code / "mymod.py")
    monkeypatch.setitem(sys.modules, "mymod", module)
    assert script_env(script)[1] is True
