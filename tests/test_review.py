"""The launch-readiness review: evidence, failure modes, sign-offs (core, CLI and keys)."""

from __future__ import annotations

import pytest

from cockpit import review
from cockpit.deployment import registry
from cockpit.errors import CockpitError
from tests import review_helpers


@pytest.fixture
def registered(workspace, tmp_path):
    return review_helpers.registered(workspace, tmp_path / "data")


def test_failure_modes_are_named_from_the_store(workspace, registered) -> None:
    project, version = registered
    result = review.review(workspace, project, version.version)
    assert not result.ready
    modes = " | ".join(result.failure_modes)
    assert "notebook-only model" in modes  # not in git
    assert "no monitoring" in modes and "no human path" in modes
    steps = {s.name: s for s in result.steps}
    assert not steps["reproducible"].passed and not steps["monitored"].passed


def test_signoffs_block_and_waive(workspace, registered) -> None:
    project, version = registered
    for step in review.STEPS:
        review.sign(workspace, project, version.version, step, "waive", "accepted for a pilot")
    assert review.review(workspace, project, version.version).ready
    review.sign(workspace, project, version.version, "monitored", "block", "no alerts at all")
    blocked = review.review(workspace, project, version.version)
    assert not blocked.ready and not {s.name: s for s in blocked.steps}["monitored"].ok
    with pytest.raises(CockpitError, match="say why"):
        review.sign(workspace, project, version.version, "evaluated", "block", "")
    with pytest.raises(CockpitError, match="not one of"):
        review.sign(workspace, project, version.version, "vibes", "approve", "")


def test_cli_review_exit_codes(run_cli, workspace, registered) -> None:
    project, version = registered
    folder = workspace.root
    assert run_cli("review", "1", workspace=folder).exit_code == 1
    for step in review.STEPS:
        run_cli(
            "review", "sign", "1", "--step", step, "--decision", "waive", "--comment", "ok", workspace=folder
        )
    assert run_cli("review", "1", workspace=folder).exit_code == 0


async def test_a_full_review_signed_off_by_keys(workspace, registered) -> None:
    from textual.widgets import Input

    from screens.app import CockpitApp
    from screens.review import ReviewScreen

    project, version = registered
    app = CockpitApp(workspace, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("9")
        for _ in range(50):  # the mode switch mounts the screen asynchronously
            if isinstance(app.screen, ReviewScreen) and app.screen.result is not None:
                break
            await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and not screen.result.ready
        for index, step in enumerate(screen.result.steps):
            await pilot.press("w" if not step.passed else "a")
            field = app.screen.query_one(Input)
            field.value = "signed in the review meeting"
            await pilot.press("enter")
            if index < len(review.STEPS) - 1:
                await pilot.press("down")
        assert screen.result.ready
        assert "READY" in str(screen.query_one("#review-verdict").render())
    signed = workspace.store.rows("SELECT step, decision FROM signoffs ORDER BY id")
    assert [s["step"] for s in signed] == list(review.STEPS)


def _waive_all(workspace, project, version: int) -> None:
    for step in review.STEPS:
        review.sign(workspace, project, version, step, "waive", "accepted for a pilot")


def test_a_firing_critical_alert_holds_the_serving_version_until_acknowledged(
    workspace, registered, tmp_path, run_cli
) -> None:
    from cockpit.audit import login_user, who
    from cockpit.monitoring.alerts import acknowledge

    project, version = registered
    _waive_all(workspace, project, version.version)
    assert review.review(workspace, project, 1).ready
    alert = review_helpers.critical_alert(workspace, project, tmp_path)
    held = review.review(workspace, project, 1)
    monitored = {s.name: s for s in held.steps}["monitored"]
    assert not held.ready and not monitored.ok  # the waiver signed before does not lift it
    assert held.reasons() == [f"critical alert {alert.id} firing"]
    assert held.verdict() == f"v1 ✗ NOT READY · critical alert {alert.id} firing"
    assert any(
        not ok and f"critical alert {alert.id} firing: rows" in text for ok, text in monitored.evidence
    )
    review.sign(workspace, project, 1, "monitored", "waive", "we know")  # a new waiver neither
    assert not review.review(workspace, project, 1).ready
    folder = workspace.root
    shown = run_cli("review", "1", workspace=folder)
    assert shown.exit_code == 1 and f"not ready: critical alert {alert.id} firing" in shown.output
    assert run_cli("monitor", "check", workspace=folder).exit_code == 1
    acknowledge(workspace, project, alert.id, "on-call paged, rolling back if it holds")
    lifted = review.review(workspace, project, 1)
    assert lifted.ready
    evidence = {s.name: s for s in lifted.steps}["monitored"].evidence
    assert (
        True,
        f"critical alert {alert.id} acknowledged by {who(login_user(), 'tester')}: "
        "on-call paged, rolling back if it holds",
    ) in evidence
    assert run_cli("review", "1", workspace=folder).exit_code == 0


def test_a_version_that_serves_no_traffic_is_not_held_by_production_alerts(
    workspace, registered, tmp_path
) -> None:
    project, version = registered
    candidate = registry.register(workspace, project, version.run_id, "a second look")
    _waive_all(workspace, project, candidate.version)
    review_helpers.critical_alert(workspace, project, tmp_path)
    assert not review.review(workspace, project, 1).ready  # production: held
    result = review.review(workspace, project, candidate.version)
    assert result.ready and not any("critical alert" in t for s in result.steps for _, t in s.evidence)


def test_review_subject_is_production_else_the_newest_version(workspace, registered) -> None:
    project, version = registered
    assert review.review_subject(workspace, project).version == 1
    registry.register(workspace, project, version.run_id, "newer")
    assert review.review_subject(workspace, project).version == 2
    registry.deploy(workspace, project, 1, "blue-green", reason="review test", override="review test")
    assert review.review_subject(workspace, project).version == 1


def test_a_signoff_names_the_os_account_and_the_claimed_name(workspace, registered, run_cli) -> None:
    import json

    from cockpit.audit import login_user

    project, version = registered
    review.sign(workspace, project, 1, "evaluated", "block", "MAE misses", reviewer="demo-lead")
    review.sign(workspace, project, 1, "monitored", "waive", "pilot", reviewer=login_user())
    steps = {s.name: s for s in review.review(workspace, project, 1).steps}
    assert steps["evaluated"].signer == f"{login_user()} (as demo-lead)"
    assert steps["monitored"].signer == login_user()  # claimed and known are one name
    text = run_cli("review", "1", workspace=workspace.root).output
    assert f"[block by {login_user()} (as demo-lead): MAE misses]" in text
    shown = json.loads(run_cli("review", "1", "--json", workspace=workspace.root).output)
    evaluated = next(s for s in shown["steps"] if s["name"] == "evaluated")
    assert (evaluated["reviewer"], evaluated["os_user"]) == ("demo-lead", login_user())
    assert evaluated["signed_by"] == f"{login_user()} (as demo-lead)"
    card = run_cli("card", "1", workspace=workspace.root).output
    assert f"evaluated: block by {login_user()} (as demo-lead)" in card


def test_signoffs_from_before_the_account_was_kept_get_it_from_their_audit_event(
    workspace, registered
) -> None:
    import sqlite_utils

    from cockpit.audit import login_user
    from storage.migrations import m023_signoff_os_user

    project, _ = registered
    review.sign(workspace, project, 1, "evaluated", "block", "MAE misses", reviewer="demo-lead")
    workspace.store.conn.execute("UPDATE signoffs SET os_user = NULL")
    workspace.store.conn.execute("ALTER TABLE signoffs DROP COLUMN os_user")
    m023_signoff_os_user(sqlite_utils.Database(workspace.store.conn))
    steps = {s.name: s for s in review.review(workspace, project, 1).steps}
    assert steps["evaluated"].signer == f"{login_user()} (as demo-lead)"
