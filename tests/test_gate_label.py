"""A version's gate reads as the gate said: pass, fail, or none when no gate ran; an
override is a reason kept beside it, not a gate verdict (`cockpit models`, the deployment
and retrain screens all read ModelVersion.gate_label)."""

from __future__ import annotations

from dataclasses import replace

from tests import review_helpers


def test_gate_label_says_pass_fail_or_none(workspace, tmp_path) -> None:
    _, version = review_helpers.registered(workspace, tmp_path / "data")
    assert version.gate_id is None and version.gate_label == "none"
    assert replace(version, gate_id=7, gate_passed=True).gate_label == "pass"
    failed = replace(version, gate_id=7, gate_passed=False, override_reason="watched by hand")
    assert failed.gate_label == "fail"


def test_cockpit_models_shows_no_gate_as_none_not_override(workspace, tmp_path, run_cli) -> None:
    review_helpers.registered(workspace, tmp_path / "data")
    listed = run_cli("models", "--project", "svc", workspace=workspace.root)
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()[:2]
    assert row.split()[header.split().index("GATE")] == "none"
    assert "override" not in listed.output
