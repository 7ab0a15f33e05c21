"""Pilot tests: the overview and the Review screen tell the same truth as the core and the
CLI (issue 23) — alert counts after an acknowledgement, the review verdict, a project
switch, the approval's pre-filled comment, who signed, and an event opened in full."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Label

from cockpit import review
from cockpit.audit import login_user
from cockpit.deployment import registry, rules
from cockpit.monitoring.alerts import acknowledge
from cockpit.monitoring.attention import alert_state
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.dialogs_input import PromptDialog
from screens.overview import OverviewScreen
from screens.review import ReviewScreen
from screens.row_detail import RowDetail
from tests import review_helpers


def _cell(table: DataTable, row: str, column: str) -> str:
    return str(table.get_cell(row, column))


async def _review_screen(app: CockpitApp, pilot) -> ReviewScreen:
    await pilot.press("9")
    for _ in range(50):  # the mode switch mounts the screen asynchronously
        if isinstance(app.screen, ReviewScreen) and app.screen.result is not None:
            return app.screen
        await pilot.pause(0.1)
    raise AssertionError(f"the Review screen did not open: {app.screen}")


def _errors(app: CockpitApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


@pytest.fixture
def alerting(tmp_path):
    ws, _ = Workspace.init(tmp_path / "w")
    project, _ = review_helpers.registered(ws, tmp_path / "data")
    alert = review_helpers.critical_alert(ws, project, tmp_path)
    yield ws, project, alert
    ws.close()


async def test_the_overview_counts_what_still_fires_after_an_acknowledgement(alerting) -> None:
    ws, project, alert = alerting
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        lifecycle = app.screen.query_one("#lifecycle", DataTable)
        assert _cell(lifecycle, "monitoring", "detail") == "2 alerts firing: prediction_psi, rows"
        assert _cell(lifecycle, "review", "detail") == f"v1 ✗ NOT READY · critical alert {alert.id} firing"
        acknowledge(ws, project, alert.id, "on-call paged")
        await pilot.press("r")
        assert _cell(lifecycle, "monitoring", "detail") == "1 alert firing: prediction_psi · 1 acked"
        assert "critical alert" not in _cell(lifecycle, "review", "detail")
        for other in alert_state(ws, project).firing:
            acknowledge(ws, project, other.id, "looked at")
        await pilot.press("9", "0")  # coming back reads the store again
        assert isinstance(app.screen, OverviewScreen)
        assert _cell(lifecycle, "monitoring", "status") == "◐ in progress"
        assert _cell(lifecycle, "monitoring", "detail") == "1 window watched · 2 alerts acked"


async def test_the_review_screen_and_the_overview_give_one_verdict(alerting) -> None:
    ws, project, alert = alerting
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(120, 40)) as pilot:
        overview = _cell(app.screen.query_one("#lifecycle", DataTable), "review", "detail")
        screen = await _review_screen(app, pilot)
        verdict = str(screen.query_one("#review-verdict").render()).splitlines()[0]
        assert verdict == overview == f"v1 ✗ NOT READY · critical alert {alert.id} firing"
        assert _cell(screen.query_one("#steps", DataTable), "monitored", "step") == "✗ monitored"


@pytest.fixture
def two_reviews(tmp_path):
    """svc: v1 and v2, nothing signed; other: v1 blocked by demo-lead."""
    ws, _ = Workspace.init(tmp_path / "w")
    project, version = review_helpers.registered(ws, tmp_path / "data")
    registry.register(ws, project, version.run_id, "a second version")
    rules.set_fallback(ws, project, "x > 0 -> 1 else 0")
    other, _ = review_helpers.registered(ws, tmp_path / "data", "other")
    review.sign(ws, other, 1, "evaluated", "block", "target missed", reviewer="demo-lead")
    yield ws
    ws.close()


async def test_switching_project_shows_the_new_projects_review_and_no_error(two_reviews) -> None:
    app = CockpitApp(two_reviews, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _review_screen(app, pilot)
        assert screen.version == 2  # no production: the newest
        await pilot.press("v")
        app.screen.query_one(Input).value = "1"
        await pilot.press("enter")
        assert screen.version == 1
        await pilot.press("p", "down", "enter")  # svc -> other
        await pilot.pause()
        assert app.project.name == "other" and app.screen is screen
        assert _errors(app) == []
        assert screen.version == 1 and screen.result is not None and screen.result.version == 1
        steps = screen.query_one("#steps", DataTable)
        assert _cell(steps, "evaluated", "signoff").startswith("block · ")
        assert str(screen.query_one("#review-verdict").render()).startswith(
            "v1 ✗ NOT READY · blocked: evaluated"
        )
        await pilot.press("p", "up", "enter")  # back to svc: its own newest version again
        await pilot.pause()
        assert app.project.name == "svc" and screen.version == 2 and _errors(app) == []
        assert _cell(screen.query_one("#steps", DataTable), "evaluated", "signoff") == "-"


async def test_approve_prefills_only_evidence_that_passes(two_reviews) -> None:
    app = CockpitApp(two_reviews, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _review_screen(app, pilot)
        steps = {s.name: s for s in screen.result.steps}
        assert steps["deployable"].passed and not steps["reproducible"].passed
        await pilot.press("a")  # on reproducible: its evidence says NO
        dialog = app.screen
        assert isinstance(dialog, PromptDialog) and dialog.query_one(Input).value == ""
        question = str(dialog.query_one(Label).render())
        assert "Its evidence says NO" in question and "no code commit: trained outside git" in question
        await pilot.press("escape", "down", "down", "a")  # on deployable: it passes
        assert app.screen.query_one(Input).value == "evidence checked"
        await pilot.press("enter")
        assert {s.name: s for s in screen.result.steps}["deployable"].decision == "approve"


async def test_signoffs_show_the_os_account_beside_the_claimed_name(two_reviews) -> None:
    app = CockpitApp(two_reviews, "other")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _review_screen(app, pilot)
        steps = screen.query_one("#steps", DataTable)
        expected = "demo-lead" if login_user() == "demo-lead" else f"{login_user()} (as demo-lead)"
        assert _cell(steps, "evaluated", "signoff") == f"block · {expected}"
        await pilot.press("down")
        assert f"block by {expected}: target missed" in str(screen.query_one("#evidence").render())


async def test_enter_on_an_event_opens_it_in_full(alerting) -> None:
    ws, _, _ = alerting
    app = CockpitApp(ws, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        events = app.screen.query_one("#events", DataTable)
        assert app.focused is events and events.row_count > 0
        newest = ws.events(None, 1)[0]
        await pilot.press("enter")
        assert isinstance(app.screen, RowDetail)
        fields = dict(app.screen.fields)
        assert str(fields["Who"]) == newest.who and str(fields["What"]) == newest.action
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)
