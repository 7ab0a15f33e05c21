"""A project predicts one target (issue 22): `problem set` refuses another, as it refuses
another task, naming how to make a new project; nothing changes and training still works.
On diabetes (regression, target 'target')."""

from __future__ import annotations

import json
from pathlib import Path

from tests import cli_workspaces as real


def test_problem_set_refuses_another_target(tmp_path: Path) -> None:
    built = real.build(tmp_path, real.diabetes(), "regression", "target", spec=("metric=mae",))
    before = json.loads(built.cli("problem", "history", "--json").stdout)
    changed = built.cli("problem", "set", "--set", "target=bmi")
    assert changed.exit_code == 2
    assert changed.stderr.strip().splitlines() == [
        "cockpit: project 'p' predicts 'target'; its data, splits, features and runs are built "
        "around it. To predict 'bmi', make a new project: cockpit project new NAME --task "
        "regression --target bmi"
    ]
    spec = tmp_path / "spec.toml"
    spec.write_text('target = "blood pressure"\nmetric = "rmse"\n')
    from_file = built.cli("problem", "set", "--file", str(spec))
    assert from_file.exit_code == 2 and "--target 'blood pressure'" in from_file.stderr
    assert json.loads(built.cli("problem", "history", "--json").stdout) == before
    project = json.loads(built.cli("projects", "--json").stdout)[0]
    assert project["target"] == "target"
    assert (
        built.cli("problem", "set", "--set", "target=target", "--set", "metric=rmse").exit_code == 0
    )  # naming its own target is fine
    trained = built.cli("train", "--model", "linear_regression", "--json")
    assert trained.exit_code == 0, trained.stderr
    run = json.loads(trained.stdout)
    assert run["metric"] == "rmse" and 45 < run["score"] < 65  # diabetes RMSE ~54
