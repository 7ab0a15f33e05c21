"""What a run records of its environment: code commit, dirty flag, Python and libraries."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

LIBRARIES = ("scikit-learn", "pandas", "numpy", "scipy", "joblib", "pyarrow")


def git_state(folder: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git work tree holding `folder`; (None, None) outside git."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, bool(status)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def capture(folder: Path) -> tuple[str | None, bool | None, dict[str, str]]:
    commit, dirty = git_state(folder)
    return commit, dirty, library_versions()
