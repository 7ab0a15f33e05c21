"""The core says what a stage asks for next (words, an action's name, CLI command lines);
the overview says where: the stage's number and the key of the screen's action."""

import ast
import inspect

import pytest

from cockpit import stage_status
from cockpit.lifecycle import STAGE_BY_KEY, NextAction, StageState, Status
from screens.overview import next_action_text
from screens.stages import stage_screen

READINGS = [
    (
        "problem",
        NextAction("write the problem spec", commands=("cockpit problem set --file spec.toml",)),
        "write the problem spec: press 1, or cockpit problem set --file spec.toml",
    ),
    (
        "data",
        NextAction("import data", "import", ("cockpit data import FILE",)),
        "import data: press 2 then i, or cockpit data import FILE",
    ),
    (
        "data",
        NextAction("fix the leak the split found", tab="Splits"),
        "fix the leak the split found (2, Splits tab)",
    ),
    (
        "features",
        NextAction("review the feature spec", note="saved by the first run"),
        "review the feature spec: press 3 (saved by the first run)",
    ),
    (
        "experiments",
        NextAction("train a baseline", "new", ("cockpit train --model dummy",)),
        "train a baseline: press 4 then n, or cockpit train --model dummy",
    ),
    (
        "evaluation",
        NextAction("run the gate on the best run", "evaluate", ("cockpit gate 9",)),
        "run the gate on the best run: press 5 then v, or cockpit gate 9",
    ),
    (
        "evaluation",
        NextAction("improve the model or the spec, then gate again"),
        "improve the model or the spec, then gate again (5)",
    ),
    (
        "deployment",
        NextAction("register the best run", commands=("cockpit register 9",), on_screen=False),
        "register the best run: cockpit register 9",
    ),
    (
        "monitoring",
        NextAction(
            "score production data",
            commands=("cockpit predict FILE -o OUT", "cockpit monitor ingest FILE"),
            on_screen=False,
        ),
        "score production data: cockpit predict FILE -o OUT, or cockpit monitor ingest FILE",
    ),
    (
        "retrain",
        NextAction("retrain", "run", ("cockpit retrain",)),
        "retrain: press 8 then R, or cockpit retrain",
    ),
]


@pytest.mark.parametrize(("stage", "action", "text"), READINGS, ids=[r[2][:30] for r in READINGS])
def test_the_overview_reads_a_next_action_with_its_keys(stage, action, text) -> None:
    state = StageState(STAGE_BY_KEY[stage], Status.IN_PROGRESS, "", action)
    assert next_action_text(state) == text


def _named_actions() -> list[tuple[str, str]]:
    """(stage, action) of every NextAction the status functions build with an action."""
    found = []
    for stage, function in stage_status.STATUS_FUNCTIONS.items():
        tree = ast.parse(inspect.getsource(function).lstrip())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "NextAction":
                named = node.args[1:2] or [k.value for k in node.keywords if k.arg == "action"]
                found += [(stage, n.value) for n in named if isinstance(n, ast.Constant) and n.value]
    return found


def test_every_action_the_core_names_has_a_key_on_its_screen() -> None:
    named = _named_actions()
    assert ("data", "import") in named and ("retrain", "run") in named
    for stage, action in named:
        ids = {key.id for key in stage_screen(stage).screen_keys()}
        assert f"{stage}.{action}" in ids, f"{stage} names {action!r}, its screen has no such key"
