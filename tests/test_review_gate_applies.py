"""The launch review of a version (and its model card) shows the gate that applies to it, and
the test evaluation that gate judged, even when the test split was evaluated again after the
gate (another look, other segments): on the demo's production model (learner-support v1)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_report_html import LEARNERS, check_page


def test_review_report_shows_the_gate_after_later_test_evaluations(
    run_cli, demo_path: Path, tmp_path: Path
) -> None:
    gated = json.loads(run_cli("report", "review", "1", "--json", *LEARNERS, workspace=demo_path).stdout)
    gate = gated["gate"]
    assert gate is not None and gated["evaluation"]["id"] == gate["evaluation_id"]
    # run 15 (v1) looked at again after its gate, broken down by a column the gate did not check
    again = run_cli(
        "evaluate", "15", "--seeds", "0", "--segments", "cohort", "--json", *LEARNERS, workspace=demo_path
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["id"] > gate["evaluation_id"]

    out = tmp_path / "review.html"
    shown = run_cli("report", "review", "1", "--json", "--html", str(out), *LEARNERS, workspace=demo_path)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["gate"] == gate, "the review report lost the gate"
    assert data["evaluation"]["id"] == gate["evaluation_id"]
    evaluated = data["review"]["steps"][1]
    assert evaluated["name"] == "evaluated" and evaluated["evidence"][0] == [False, "gate failed: segments"]
    # the card's evaluation too: the gated one, not the later look (which warns of the reuse)
    assert "**Gate: FAIL**" in data["card"]
    assert "looked at before" not in data["card"]
    page = out.read_text(encoding="utf-8")
    check_page(page, data)
    assert "Gate: FAIL" in page
