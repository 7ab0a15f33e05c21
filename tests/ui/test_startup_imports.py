"""The first frame needs only what it draws: the overview names a stage's key for its next step
without importing that stage's screen, and neither plots nor the data libraries load before
the overview is on screen. Checked in a fresh interpreter (this one has imported everything)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from screens import stages

ROOT = Path(__file__).resolve().parents[2]

# Runs the cockpit headless at 80x24 and, at the overview's first frame, prints what is
# imported and what the overview says next.
FIRST_FRAME = """
import json, sys
from textual.app import App
from textual.css.stylesheet import Stylesheet
from cockpit.workspace import Workspace
from screens.app import CockpitApp

reparsed = []
reparse = Stylesheet.reparse
Stylesheet.reparse = lambda self: (reparsed.append(1), reparse(self))[1]
display = App._display
seen = {}

def first_frame(self, screen, renderable):
    display(self, screen, renderable)
    if renderable is not None and not seen and type(screen).__name__ == "OverviewScreen":
        seen["modules"] = sorted(sys.modules)
        seen["reparsed"] = len(reparsed)
        seen["next"] = str(screen.query_one("#next-step").render())
        self.exit()

App._display = first_frame
CockpitApp(Workspace.open(sys.argv[1]), "churn").run(headless=True, size=(80, 24))
print(json.dumps(seen))
"""
LATER = ("pandas", "numpy", "sklearn", "scipy", "pyarrow", "joblib", "plotext", "textual_plotext")


def test_the_first_frame_imports_no_stage_screen_plot_or_data_library(demo_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_FRAME, str(demo_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # the demo's churn has no run that reaches its target: the next step names the
    # Experiments screen's sweep key
    assert "press 4 then w" in seen["next"]
    screen_modules = {f"screens.{stage.key}" for stage in stages.BUILT_STAGES}
    assert screen_modules & set(seen["modules"]) == set()
    assert [m for m in LATER if m in seen["modules"]] == []
    assert seen["reparsed"] == 0  # the style sheet is parsed once, not again per screen


def test_each_stage_screen_binds_the_keys_its_stage_names() -> None:
    for stage in stages.BUILT_STAGES:
        screen = stage.load()
        assert stage.screen_keys() == screen.KEYS, stage.key
        assert {b.id for b in screen.BINDINGS} >= {k.id for k in stage.screen_keys()}, stage.key
