"""`cockpit evaluate` keeps scikit-learn's warnings off the terminal and says what matters
once, in the report (issue 22). On penguins: a logistic regression stopped after 5
iterations (its refits do not converge), a dummy that only ever predicts one species, and
the island segment (Torgersen holds Adelie penguins only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import cli_workspaces as real


@pytest.fixture(scope="module")
def penguins_built(tmp_path_factory) -> real.Built:
    return real.build(
        tmp_path_factory.mktemp("penguins"),
        real.penguins(),
        "multiclass",
        "species",
        spec=("metric=f1_macro", "segments=island"),
        runs=(("--model", "logistic_regression", "--param", "max_iter=5"), ("--model", "dummy")),
    )


@pytest.fixture
def penguins(penguins_built: real.Built, tmp_path: Path) -> real.Built:
    """A private copy: each evaluation is recorded in the store."""
    return real.copy(penguins_built, tmp_path / "copy")


def _cockpit(built: real.Built, *args: str) -> subprocess.CompletedProcess:
    """The installed CLI in its own process: what a person's terminal shows, with Python's
    default warning filters (pytest's capture would hide warnings in-process)."""
    return subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(built.root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_evaluate_prints_no_warnings_and_reports_each_finding_once(penguins) -> None:
    result = _cockpit(penguins, "evaluate", "1", "--split", "validation", "--seeds", "2")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    notes = result.stdout.split("\nnotes:\n", 1)[1].splitlines()
    assert notes == [
        "  - segment island=Torgersen holds only class 'Adelie': its value and interval "
        "describe that class alone",
        "  - segment intervals: f1 has no standard analytic interval, so they are the "
        "bootstrap's (200 resamples)",
        "  - stability refits: the model did not converge (lbfgs failed to converge after 5 "
        "iteration(s) (status=1)); raise max_iter or scale the inputs",
    ]


def test_undefined_per_class_metrics_are_named_class_by_class(penguins) -> None:
    result = _cockpit(penguins, "evaluate", "2", "--split", "validation", "--seeds", "0", "--json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    report = json.loads(result.stdout)
    validation_rows = sum(report["details"]["confusion"][0])  # all predicted as the first
    assert report["details"]["labels"][0] == "Adelie"
    notes = report["details"]["notes"]
    assert notes[:2] == [
        f"precision is undefined for class '{label}': the model predicted it for none of the "
        f"{sum(map(sum, report['details']['confusion']))} validation rows (counted as 0)"
        for label in ("Chinstrap", "Gentoo")
    ]
    assert validation_rows > 0 and report["metrics"]["precision"] < 0.2
    markdown = _cockpit(penguins, "evaluate", "2", "--split", "validation", "--seeds", "0", "--markdown")
    assert (
        markdown.stderr == ""
        and "\nNotes\n\n- precision is undefined for class 'Chinstrap'" in markdown.stdout
    )
