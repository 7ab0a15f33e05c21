"""What a tracked run records of where it came from: the script (path, argv, folder) or
the notebook, the git commit and dirty flag of the code's folder, and library versions.

A script's code is what the process loaded when it started, so its git state and library
versions are read once per process (a loop of 10,000 runs does not run git 20,000 times).
A notebook's kernel outlives many edits and commits: its state is read for every run.
"""

from __future__ import annotations

import functools
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from cockpit.deployment.provenance import distributions_by_package

INSTALLED = {"site-packages", "dist-packages"}
Environment = tuple[str | None, bool | None, dict[str, str]]


def code_folder(source: str, origin: dict[str, Any]) -> Path:
    """The folder whose git state a run records: the script's, or the notebook's cwd."""
    if source == "script":
        return Path(origin["script"]).parent
    return Path(origin["cwd"])


def environment(source: str, origin: dict[str, Any]) -> Environment:
    folder = code_folder(source, origin)
    if source == "script":
        commit, dirty, versions = _once(str(folder))
        if commit is not None and not dirty:
            # status --untracked-files=no hides a script (or a module beside it) never added:
            # the commit does not hold that code, so it is not a clean commit
            dirty = _untracked(str(folder), _own_code(Path(origin["script"]), folder))
        return commit, dirty, dict(versions)
    return _capture(str(folder))


def _own_code(script: Path, folder: Path) -> tuple[str, ...]:
    """The script and the modules loaded from its folder (not installed packages)."""
    found = {str(script)}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or not file.endswith(".py"):
            continue
        path = Path(file)
        if path.is_relative_to(folder) and not INSTALLED & set(path.parts):
            found.add(str(path))
    return tuple(sorted(found))


@functools.lru_cache(maxsize=16)
def _untracked(folder: str, paths: tuple[str, ...]) -> bool:
    """Whether any of `paths` is unknown to git (`ls-files --error-unmatch` fails)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "-C", folder, "ls-files", "--error-unmatch", "--", *paths],
            capture_output=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False  # git gone mid-run: the status read before stands
    return out.returncode != 0


def _capture(folder: str) -> Environment:
    from cockpit.training.environment import capture

    return capture(Path(folder))


_once = functools.lru_cache(maxsize=16)(_capture)


def estimator_library(model: Any) -> tuple[str, str] | None:
    """(distribution, version) of the package the model's final estimator comes from
    (lightgbm, xgboost, ...); None for a class the user's own code defines (a script, a
    notebook, a test: their git commit records it), i.e. one not installed as a package."""
    from cockpit.training.external import final_estimator

    top = type(final_estimator(model)).__module__.split(".")[0]
    module = sys.modules.get(top)
    file = getattr(module, "__file__", None)
    if module is None or not file or not INSTALLED.intersection(Path(file).parts):
        return None
    names = [top, *distributions_by_package().get(top, [])]
    for name in dict.fromkeys(names):
        try:
            return name, metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    version = getattr(sys.modules[top], "__version__", None)
    return (top, str(version)) if version else None
