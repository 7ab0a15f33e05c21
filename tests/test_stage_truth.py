"""The overview reads the facts the stages' own screens and CLI read: the open alerts split
into firing and acknowledged, the review verdict of the version the Review screen opens on,
and next steps that name the ids the core knows (issue 23)."""

from __future__ import annotations

import pytest

from cockpit import review
from cockpit.deployment import registry
from cockpit.lifecycle import Status
from cockpit.monitoring.alerts import acknowledge
from cockpit.monitoring.attention import alert_state
from cockpit.stage_status import stage_states
from tests import review_helpers


def _state(workspace, project, key: str):
    return next(s for s in stage_states(workspace, project) if s.stage.key == key)


@pytest.fixture
def alerting(workspace, tmp_path):
    project, _ = review_helpers.registered(workspace, tmp_path / "data")
    alert = review_helpers.critical_alert(workspace, project, tmp_path)
    return project, alert


def test_acknowledged_alerts_are_not_counted_as_firing(workspace, alerting) -> None:
    project, alert = alerting
    assert alert_state(workspace, project).metrics == ["prediction_psi", "rows"]
    monitoring = _state(workspace, project, "monitoring")
    assert (monitoring.status, monitoring.detail) == (
        Status.ATTENTION,
        "2 alerts firing: prediction_psi, rows",
    )
    acknowledge(workspace, project, alert.id, "on-call paged")
    monitoring = _state(workspace, project, "monitoring")
    assert monitoring.detail == "1 alert firing: prediction_psi · 1 acked"
    for other in alert_state(workspace, project).firing:
        acknowledge(workspace, project, other.id, "looked at")
    monitoring = _state(workspace, project, "monitoring")
    assert (monitoring.status, monitoring.detail) == (
        Status.IN_PROGRESS,
        "1 window watched · 2 alerts acked",
    )
    assert _state(workspace, project, "retrain").status is Status.IN_PROGRESS


def test_the_review_stage_says_the_review_screens_verdict(workspace, alerting) -> None:
    project, alert = alerting
    state = _state(workspace, project, "review")
    assert state.status is Status.ATTENTION
    assert state.detail == review.review(workspace, project, 1).verdict()
    assert state.detail == f"v1 ✗ NOT READY · critical alert {alert.id} firing"
    acknowledge(workspace, project, alert.id, "on-call paged")
    assert "critical alert" not in _state(workspace, project, "review").detail


def test_a_candidate_blocked_in_review_is_not_shown_as_not_started(workspace, tmp_path) -> None:
    project, _ = review_helpers.registered(workspace, tmp_path / "data")
    review.sign(workspace, project, 1, "evaluated", "block", "target missed", reviewer="demo-lead")
    state = _state(workspace, project, "review")
    assert state.status is Status.ATTENTION
    assert state.detail == "v1 ✗ NOT READY · blocked: evaluated"
    assert (
        state.detail
        == review.review(workspace, project, review.review_subject(workspace, project).version).verdict()
    )


def test_next_steps_name_the_ids_the_core_knows(workspace, tmp_path) -> None:
    project, run = review_helpers.trained(workspace, tmp_path / "data")
    evaluation = _state(workspace, project, "evaluation").next_action
    assert evaluation is not None and evaluation.commands == (f"cockpit gate {run.id}",)
    deployment = _state(workspace, project, "deployment").next_action
    assert deployment is not None and deployment.commands == (f"cockpit register {run.id}",)
    registry.register(workspace, project, run.id, "test")
    deployment = _state(workspace, project, "deployment").next_action
    never_gated = "cockpit deploy 1 --strategy blue-green --override 'REASON'"  # production needs one
    assert deployment is not None and deployment.commands == (never_gated,)
    for state in stage_states(workspace, project):
        for command in state.next_action.commands if state.next_action else ():
            assert not {"RUN", "V", "VERSION"} & set(command.split()), (state.stage.key, command)


def test_cockpit_status_and_review_agree_before_and_after_an_acknowledgement(
    workspace, alerting, run_cli
) -> None:
    import json

    _, alert = alerting
    folder = workspace.root

    def stages() -> dict[str, dict]:
        shown = run_cli("status", "--json", workspace=folder)
        assert shown.exit_code == 0
        return {s["key"]: s for s in json.loads(shown.output)["stages"]}

    verdict = json.loads(run_cli("review", "1", "--json", workspace=folder).output)["verdict"]
    assert stages()["review"]["detail"] == verdict == f"v1 ✗ NOT READY · critical alert {alert.id} firing"
    assert stages()["monitoring"]["detail"] == "2 alerts firing: prediction_psi, rows"
    assert run_cli("monitor", "ack", str(alert.id), "--comment", "paged", workspace=folder).exit_code == 0
    after = stages()
    assert after["monitoring"]["detail"] == "1 alert firing: prediction_psi · 1 acked"
    verdict = json.loads(run_cli("review", "1", "--json", workspace=folder).output)["verdict"]
    assert after["review"]["detail"] == verdict and "critical alert" not in verdict
    text = run_cli("status", workspace=folder).output
    assert "next (" in text and "1 alert firing: prediction_psi · 1 acked" in text


def test_experiments_is_not_done_while_the_best_run_misses_the_target(demo_path, run_cli) -> None:
    """The demo asks for recall >= 0.75; its best run reaches 0.727 on validation. The stage
    said "done" beside the spec's goal it had not met."""
    from cockpit.projects import resolve_project
    from cockpit.workspace import Workspace

    def experiments() -> tuple:
        with Workspace.open(demo_path) as ws:
            state = _state(ws, resolve_project(ws, "learner-support"), "experiments")
        return state.status, state.detail, state.next_action and state.next_action.commands

    assert experiments() == (
        Status.ATTENTION,
        "13 runs · recall 0.727 < 0.75 (run 23)",
        ("cockpit sweep --model logistic_regression --random 20",),
    )
    saved = run_cli(
        "problem", "set", "--set", "metric_target=0.7", "-p", "learner-support", workspace=demo_path
    )
    assert saved.exit_code == 0, saved.output
    assert experiments() == (Status.DONE, "13 runs · best recall 0.727 (run 23)", None)
