"""`cockpit report evaluation RUN` for a run evaluated on validation only: the refusal points to
the report that exists (`--split validation`) before a recorded look at the test split; on the
demo's learner-support run 2 (a logistic regression never evaluated)."""

from __future__ import annotations

from pathlib import Path

from tests.test_report_html import LEARNERS


def test_report_of_a_run_evaluated_on_validation_only_points_to_it(
    run_cli, demo_path: Path, tmp_path: Path
) -> None:
    def cli(*args: str):
        return run_cli(*args, *LEARNERS, workspace=demo_path)

    nothing = cli("report", "evaluation", "2", "--json")
    assert nothing.exit_code == 2
    assert nothing.stderr.strip() == (
        "cockpit: run 2 (logistic_regression) has no evaluation on the test split yet: cockpit evaluate 2"
    )
    assert cli("evaluate", "2", "--split", "validation", "--seeds", "0").exit_code == 0
    refused = cli("report", "evaluation", "2", "--json")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.strip() == (
        "cockpit: run 2 (logistic_regression) has no evaluation on the test split yet; it has one on "
        "the validation split: cockpit report evaluation 2 --split validation (or cockpit evaluate 2)"
    )
    page = tmp_path / "v.html"
    pointed = cli("report", "evaluation", "2", "--split", "validation", "--html", str(page))
    assert pointed.exit_code == 0, pointed.output
    assert "Evaluation of run 2 (logistic_regression) on the validation split" in page.read_text()
