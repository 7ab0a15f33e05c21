"""Every stage screen of the demo workspace, as a user sees it: at 80x24 with its main tabs and
the help, and at 120x40. Built on the cached demo (a copy per test) with its frozen clock and
user, every worker finished before the picture is taken.

Update after a deliberate change: `pytest tests/ui/test_snapshots_demo.py --snapshot-update`,
then look at each changed svg before committing it.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from cockpit.workspace import Workspace
from screens.app import CockpitApp

# (name, keys): a number key opens a stage, `]` moves to its next tab.
SMALL = [
    ("overview", []),
    ("help", ["question_mark"]),
    ("problem", ["1"]),
    ("data_versions", ["2"]),
    ("data_validation", ["2", "]", "]"]),
    ("data_splits", ["2", "]", "]", "]", "]"]),
    ("features", ["3"]),
    ("experiments", ["4"]),
    ("evaluation_metrics", ["5"]),
    ("evaluation_curves", ["5", "]"]),
    ("evaluation_segments", ["5", "]", "]", "]", "]"]),
    ("evaluation_robustness", ["5", "]", "]", "]", "]", "]"]),
    ("deployment_versions", ["6"]),
    ("deployment_ledger", ["6", "]"]),
    ("monitoring_drift", ["7"]),
    ("monitoring_alerts", ["7", "]", "]"]),
    ("monitoring_plots", ["7", "]", "]", "]"]),
    ("retrain", ["8"]),
    ("retrain_steps", ["8", "]"]),
    ("review", ["9"]),
]
LARGE = [("overview", []), *((f"stage_{key}", [key]) for key in "123456789")]
KEY_NAMES = {"]": "right_square_bracket", "[": "left_square_bracket"}


def _keys(keys: list[str]):
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        for key in keys:
            await pilot.press(KEY_NAMES.get(key, key))
            await pilot.pause()
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


def _app(demo_path) -> CockpitApp:
    """On learner-support, the demo project that has been through every stage. Without the
    warm-up: each screen is built when its key is pressed, never half-built by the warm-up
    when the key lands (tests/ui/test_warmup.py tests that the warm-up changes no picture)."""
    return CockpitApp(Workspace.open(demo_path), "learner-support", warm_up=False)


@pytest.mark.parametrize(("name", "keys"), SMALL, ids=[name for name, _ in SMALL])
def test_demo_80x24(name, keys, demo_path, demo_clock, snap_compare) -> None:
    assert snap_compare(_app(demo_path), terminal_size=(80, 24), run_before=_keys(keys))


@pytest.mark.parametrize(("name", "keys"), LARGE, ids=[name for name, _ in LARGE])
def test_demo_120x40(name, keys, demo_path, demo_clock, snap_compare) -> None:
    assert snap_compare(_app(demo_path), terminal_size=(120, 40), run_before=_keys(keys))
