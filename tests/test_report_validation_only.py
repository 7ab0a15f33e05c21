"""`cockpit report evaluation RUN` for a run evaluated on validation only: the refusal points to
the report that exists (`--split validation`) before a recorded look at the test split; on
scikit-learn's breast cancer set."""

from __future__ import annotations

from pathlib import Path

from tests import cli_workspaces as real


def test_report_of_a_run_evaluated_on_validation_only_points_to_it(tmp_path: Path) -> None:
    built = real.build(
        tmp_path, real.breast_cancer_errors(), "binary", "benign", runs=(("--model", "logistic_regression"),)
    )
    nothing = built.cli("report", "evaluation", "1", "--json")
    assert nothing.exit_code == 2
    assert nothing.stderr.strip() == (
        "cockpit: run 1 (logistic_regression) has no evaluation on the test split yet: cockpit evaluate 1"
    )
    assert built.cli("evaluate", "1", "--split", "validation", "--seeds", "0").exit_code == 0
    refused = built.cli("report", "evaluation", "1", "--json")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.strip() == (
        "cockpit: run 1 (logistic_regression) has no evaluation on the test split yet; it has one on "
        "the validation split: cockpit report evaluation 1 --split validation (or cockpit evaluate 1)"
    )
    pointed = built.cli(
        "report", "evaluation", "1", "--split", "validation", "--html", str(tmp_path / "v.html")
    )
    assert pointed.exit_code == 0, pointed.output
    assert (
        "Evaluation of run 1 (logistic_regression) on the validation split"
        in (tmp_path / "v.html").read_text()
    )
