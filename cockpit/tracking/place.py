"""Where a tracked run goes, settled before anything is written: the workspace (found as the
CLI finds it), the split and data version it pins, its seed, and what a retrain or a
reproduction names in the environment when it runs the user's script again."""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import DB_NAME, Workspace, locate

MAX_SEED = 2**32 - 1  # what numpy's RandomState and scikit-learn accept, as `cockpit train --seed`


@dataclass(frozen=True, slots=True)
class Pins:
    """The data a run records before its rows are read."""

    version_id: int
    split_id: int
    feature_spec_version: int


def open_workspace(workspace: str | Path | Workspace | None) -> Workspace:
    """The workspace, found as the CLI finds it. A path is opened once per thread and kept
    (a loop of many runs would spend more on opening the store than on logging); a store
    file replaced or rewritten since (another workspace made at the same place, a WAL
    checkpoint) is opened afresh."""
    if isinstance(workspace, Workspace):
        return workspace
    dot = locate(workspace)
    found = (dot / DB_NAME).stat()
    # per process too: a forked child must not use its parent's SQLite connection
    key, stamp = (dot, os.getpid(), threading.get_ident()), (found.st_ino, found.st_ctime_ns)
    cached = _OPENED.get(key)
    if cached is not None and cached[1] == stamp:
        return cached[0]
    if cached is not None:
        cached[0].close()
    ws = Workspace(dot)
    _OPENED[key] = (ws, stamp)
    if ws.permission_warning and ws.dir not in _WARNED:
        _WARNED.add(ws.dir)
        warnings.warn(ws.permission_warning, stacklevel=3)
    return ws


def split_pins(ws: Workspace, project: Project, split: Any) -> Pins | None:
    """The split a run records; None when the project has none yet and none was named."""
    from cockpit.data.splits import get_split
    from cockpit.features import ensure_spec

    if split is not None and (isinstance(split, bool) or not isinstance(split, int)):
        raise CockpitError(f"split {split!r}: give a split id (a number; `cockpit data splits` lists them)")
    found = ws.store.one(
        "SELECT id, version_id FROM splits WHERE project_id = ? AND (? IS NULL OR id = ?) "
        "ORDER BY id DESC LIMIT 1",
        [project.id, split, split],
    )
    if found is None:
        if split is None:
            return None
        get_split(ws, project, split)  # refuses, saying which split and project
    assert found is not None
    spec_version, _ = ensure_spec(ws, project)
    return Pins(found["version_id"], found["id"], spec_version)


# Added by the retrain/reproduce work (cockpit.training.rerun): when cockpit runs the script
# again it names the data in the environment and a token it finds the logged run by.
def rerun_split() -> int | None:
    """COCKPIT_SPLIT, the split a retrain or a reproduction trains on (None: not set)."""
    from cockpit.training.rerun import SPLIT_ENV

    text = os.environ.get(SPLIT_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise CockpitError(f"{SPLIT_ENV}={text!r}: give a split id (a number)")
    return int(text)


def check_rerun(pins: Pins | None, origin: dict[str, Any]) -> None:
    """The split's data is the version COCKPIT_DATA_VERSION names; the token goes in the origin."""
    from cockpit.training.rerun import DATA_ENV, TOKEN_ENV

    wanted = os.environ.get(DATA_ENV, "").strip()
    if wanted and (pins is None or str(pins.version_id) != wanted):
        found = f"data v{pins.version_id} (split {pins.split_id})" if pins else "no split"
        raise CockpitError(
            f"{DATA_ENV}={wanted} but this run would train on {found}: leave split unset in "
            "start_run (or pass split=None) so a retrain or a reproduction can name the new data"
        )
    if os.environ.get(TOKEN_ENV):
        origin["rerun"] = os.environ[TOKEN_ENV]


def checked_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise CockpitError(f"seed {seed!r}: give a whole number from 0 to {MAX_SEED}")
    return seed


_WARNED: set[Path] = set()
# (.cockpit folder, process, thread) -> (its open workspace, the store file's inode and ctime)
_OPENED: dict[tuple[Path, int, int], tuple[Workspace, tuple[int, int]]] = {}
