"""The launch review of a version (and its model card) shows the gate that applies to it, and
the test evaluation that gate judged, even when the test split was evaluated again after the
gate (another look, with other segments): on scikit-learn's breast cancer set, via the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests import cli_workspaces as real
from tests.test_report_html import check_page


def test_review_report_shows_the_gate_after_later_test_evaluations(tmp_path: Path) -> None:
    built = real.build(
        tmp_path,
        real.breast_cancer_errors(),
        "binary",
        "benign",
        spec=("metric=roc_auc", "metric_target=0.6"),
        runs=(("--model", "logistic_regression"),),
    )
    gated = built.cli("gate", "1", "--json")
    assert gated.exit_code == 0, gated.output
    gate = json.loads(gated.stdout)
    assert built.cli("register", "1").exit_code == 0
    # looked at again after the gate, broken down by a column the gate did not check
    again = built.cli("evaluate", "1", "--seeds", "0", "--segments", "radius error", "--json")
    assert again.exit_code == 0, again.output
    later = json.loads(again.stdout)["id"]
    assert later > gate["evaluation_id"]

    out = tmp_path / "review.html"
    shown = built.cli("report", "review", "1", "--json", "--html", str(out))
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["gate"] is not None, "the review report lost the gate"
    assert (data["gate"]["id"], data["gate"]["passed"]) == (gate["id"], gate["passed"])
    assert data["evaluation"]["id"] == gate["evaluation_id"]
    evaluated = data["review"]["steps"][1]
    assert evaluated["name"] == "evaluated"
    assert evaluated["evidence"][0] == [True, "gate passed on test"]
    # the card's evaluation too: the gated one, not the later look (which warns of the reuse)
    assert "**Gate: PASS**" in data["card"]
    assert "looked at before" not in data["card"]
    page = out.read_text(encoding="utf-8")
    check_page(page, data)
    assert "Gate: PASS" in page
