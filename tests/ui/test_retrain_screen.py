"""The retrain screen's keys that change what production serves ask first and say what
changes, from → to: `R` (retrain), `D` (deploy a gate-failed challenger anyway: the reason is
the override) and `x` (retire). Esc, or Enter with no reason, changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Label

from cockpit.deployment import registry
from cockpit.projects import get_project
from cockpit.retraining import cycle, rollout
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.confirm import ConfirmReason
from tests.test_retraining import _workspace, month

FAILED = "target, baseline, segments"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production v1; three labelled months after the relation flipped: a retrained
    challenger wins the newest month but fails its gate (tests/test_retrain_gate.py)."""
    folder = tmp_path_factory.mktemp("retrain-screen")
    ws, _ = _workspace(folder, [month(800, n, shifted=True) for n in (1, 2, 3)])
    ws.close()
    return folder


@pytest.fixture
def ws(built: Path, tmp_path: Path):
    workspace = Workspace(Path(shutil.copytree(built, tmp_path / "w")) / ".cockpit")
    yield workspace
    workspace.close()


def _serving(ws: Workspace) -> dict[str, int]:
    project = get_project(ws, "svc")
    return {
        name: registry.version_by_id(ws, a.version_id).version
        for name, a in registry.aliases(ws, project).items()
    }


def _dialog_text(app) -> list[str]:
    assert isinstance(app.screen, ConfirmReason)
    return [str(label.render()) for label in app.screen.query(Label)]


async def _type(pilot, app, text: str) -> None:
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_R_says_what_may_change_and_esc_changes_nothing(ws) -> None:
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8", "R")
        lines = _dialog_text(app)
        assert lines[0].startswith(
            "Retrain now? A challenger (v2) is trained and judged against production v1"
        )
        assert "canary: none → v2 at 10% if it wins and passes its gate" in lines
        assert "production: v1 → unchanged" in lines
        assert "gate: not known yet → if it fails: v2 a candidate, nothing deployed" in lines
        await pilot.press("enter")  # no reason typed: the safe default, nothing happens
        assert isinstance(app.screen, ConfirmReason)
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, ConfirmReason)
        assert ws.store.scalar("SELECT count(*) FROM retrains") == 0
        assert ws.store.scalar("SELECT count(*) FROM runs") == 1
        assert _serving(ws) == {"production": 1}  # serving, v1 is no candidate


async def test_R_with_a_reason_retrains_and_a_failed_gate_deploys_only_by_override(ws) -> None:
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8", "R")
        await _type(pilot, app, "three months of new labels")
        await app.workers.wait_for_complete()
        await pilot.pause()
        [retrained] = cycle.list_retrains(ws, get_project(ws, "svc"))
        assert retrained.decision == rollout.CANDIDATE
        assert "asked: three months of new labels" in retrained.reasons
        assert _serving(ws) == {"production": 1, "candidate": 2}  # nothing deployed
        # the override is offered as a second, explicit step, and says it is one
        lines = _dialog_text(app)
        assert f"v2 beat production but FAILED its gate ({FAILED})" in lines[0]
        assert "The reason you type overrides the gate." in lines[0]
        assert "canary: none → v2 at 10%" in lines and "candidate: v2 → none" in lines
        assert f"gate: failed ({FAILED}) → overridden, your reason in the ledger" in lines
        await pilot.press("escape")
        assert _serving(ws) == {"production": 1, "candidate": 2}
        decision = str(app.screen.query_one("#decision").render())
        assert "candidate: gate failed" in decision and "D deploys it anyway" in decision
        await pilot.press("D")
        await _type(pilot, app, "mentors watch it by hand")
        assert _serving(ws) == {"production": 1, "canary": 2}  # serving: no longer a candidate
        entry = next(e for e in registry.ledger(ws, get_project(ws, "svc")) if e.alias == "canary")
        assert entry.reason == f"override by tester: mentors watch it by hand (gate failed: {FAILED})"
        assert rollout.OVERRIDDEN in str(app.screen.query_one("#decision").render())
        await pilot.press("D")  # nothing waits any more: no dialog
        assert not isinstance(app.screen, ConfirmReason)


async def test_x_says_what_retiring_changes_and_refuses_production(ws) -> None:
    project = get_project(ws, "svc")
    second = registry.register(ws, project, 1, "the same run again, to retire")
    registry.deploy(ws, project, second.version, "shadow", reason="compare")
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8", "right_square_bracket", "right_square_bracket")
        await pilot.press("x")  # v1: production, retired only with a successor (CLI)
        assert not isinstance(app.screen, ConfirmReason)
        app.screen.query_one("#versions", DataTable).move_cursor(row=1)
        await pilot.press("x")
        lines = _dialog_text(app)
        assert "v2: active → retired, its model file archived" in lines
        assert "shadow: v2 → none" in lines and "candidate: v2 → none" not in lines  # serving: no candidate
        await pilot.press("escape")
        assert registry.get_version(ws, project, 2).status == "active"
        await pilot.press("x")
        await _type(pilot, app, "shadow compared enough")
        assert registry.get_version(ws, project, 2).status == "retired"
        assert _serving(ws) == {"production": 1}
        table = app.screen.query_one("#versions", DataTable)
        assert table.cursor_row == 1  # the dialog closing kept the cursor on v2
        table.focus()
        await pilot.press("enter")  # the row in full
        fields = [str(f.render()) for f in app.screen.query(".row-field")]
        assert "Why: shadow compared enough" in fields and "Aliases: retired" in fields


def _said(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_R_and_D_refuse_when_what_they_asked_about_changed_meanwhile(ws) -> None:
    """What is carried out is what was confirmed: a version registered while the dialog was
    open (the CLI, a cron job) changes the plan, so R and D do nothing and say so."""
    project = get_project(ws, "svc")
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8", "R")
        registry.register(ws, project, 1, "meanwhile, from the CLI")  # v2: the challenger is v3 now
        await _type(pilot, app, "three months of new labels")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ws.store.scalar("SELECT count(*) FROM retrains") == 0
        assert ws.store.scalar("SELECT count(*) FROM runs") == 1  # refused before training
        assert any("changed since you were asked" in m and "nothing done" in m for m in _said(app))
        await pilot.press("R")
        await _type(pilot, app, "three months of new labels")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [r.decision for r in cycle.list_retrains(ws, project)] == [rollout.CANDIDATE]
        assert isinstance(app.screen, ConfirmReason)  # D offered: deploy v3 anyway?
        registry.register(ws, project, 1, "meanwhile again")  # v4 takes the candidate alias
        before = _serving(ws), registry.ledger(ws, project)
        await _type(pilot, app, "mentors watch it by hand")
        assert (_serving(ws), registry.ledger(ws, project)) == before
        assert sum("changed since you were asked" in m for m in _said(app)) == 2
