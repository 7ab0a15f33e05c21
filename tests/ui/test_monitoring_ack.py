"""Acknowledging an alert asks first and says what changes: the alert's status and, when
its hold is all that keeps the reviewed version from READY, the review's verdict (issue 23)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Label

from cockpit import review
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.confirm import ConfirmReason
from tests import review_helpers


@pytest.fixture
def alerting(tmp_path):
    ws, _ = Workspace.init(tmp_path / "w")
    project, _ = review_helpers.registered(ws, tmp_path / "data")
    alert = review_helpers.critical_alert(ws, project, tmp_path)
    yield ws, project, alert
    ws.close()


def _waive_all_but_the_hold(ws, project) -> None:
    for step in review.review(ws, project, 1).steps:
        if not step.passed:
            review.sign(ws, project, 1, step.name, "waive", "known and accepted")


@pytest.mark.parametrize("only_hold", [True, False])
async def test_acknowledging_a_critical_alert_says_what_it_changes(alerting, only_hold) -> None:
    """The review line shows exactly when the acknowledgement turns the review READY."""
    ws, project, alert = alerting
    if only_hold:
        _waive_all_but_the_hold(ws, project)
    before = review.review(ws, project, 1)
    app = CockpitApp(ws, project.name)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        await pilot.pause()
        row = [a.id for a in app.screen.alerts].index(alert.id)
        app.screen.query_one("#alerts-table", DataTable).move_cursor(row=row)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmReason)
        lines = [str(label.render()) for label in app.screen.query(".dialog-change").results(Label)]
        app.screen.query_one(Input).value = "on-call paged"
        await pilot.press("enter")
        await pilot.pause()
    after = review.review(ws, project, 1)
    lifted = not before.ready and after.ready
    assert lines == [f"alert {alert.id}: firing → acknowledged"] + (
        ["review v1: NOT READY → READY"] if lifted else []
    )
    assert lifted == only_hold
