"""`cockpit demo`: a complete workspace built from sample_data.

It goes through the same stage functions the CLI uses, never by writing rows
directly, and is built in a scratch folder that is moved into place only when
complete, so an interrupted build leaves nothing behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from cockpit.projects import create_project
from cockpit.workspace import WORKSPACE_DIRNAME, Workspace

DEMO_PROJECT = "learner-support"
Progress = Callable[[str], None]


def build_demo(path: Path, rebuild: bool = False,
               progress: Progress = lambda _: None) -> tuple[Workspace, bool]:
    """Build the demo in `path` (unless it is there already). Returns (workspace, built)."""
    folder = Path(path).expanduser().resolve()
    final = folder / WORKSPACE_DIRNAME
    if final.exists() and not rebuild:
        return Workspace(final), False
    scratch = folder / ".cockpit-demo-build"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        workspace, _ = Workspace.init(scratch)
        _fill(workspace, folder, progress)
        workspace.close()
        if final.exists():
            shutil.rmtree(final)
        (scratch / WORKSPACE_DIRNAME).rename(final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Workspace(final), True


def _fill(workspace: Workspace, folder: Path, progress: Progress) -> None:
    data_dir = _copy_sample_data(folder)
    progress(f"sample data copied to {data_dir}")
    create_project(workspace, DEMO_PROJECT, "binary", "needs_support")
    create_project(workspace, "churn", "binary", "churned")
    create_project(workspace, "house-prices", "regression", "price")
    progress("projects: learner-support, churn, house-prices")


def _copy_sample_data(folder: Path) -> Path:
    import sample_data

    target = folder / "data"
    for name in ("learner_support", "churn", "house_prices"):
        shutil.copytree(sample_data.SAMPLE_DIR / name, target / name, dirs_exist_ok=True)
    return target
