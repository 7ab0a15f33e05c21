"""`sweep --target` names the first trial that met the target, not the last one that
finished after the stop (penguins, f1_macro >= 0.5: trees of depth 2 and more meet it)."""

from __future__ import annotations

import json
from pathlib import Path

from tests import cli_workspaces as real


def test_the_stop_reason_names_the_first_trial_to_meet_the_target(tmp_path: Path) -> None:
    built = real.build(
        tmp_path / "ws",
        real.penguins(),
        "multiclass",
        "species",
        spec=("metric=f1_macro", "metric_target=0.5"),
    )
    grid = tmp_path / "grid.toml"
    grid.write_text("max_depth = [2, 3, 4, 5, 6, 7, 8, 9]\n")  # trial N: depth N + 1
    result = built.cli(
        "sweep", "--model", "decision_tree", "--grid", str(grid), "--target", "--jobs", "2", "--json"
    )
    assert result.exit_code == 0, result.stderr
    swept = json.loads(result.stdout)
    assert swept["status"] == "stopped" and 2 <= len(swept["runs"]) < 8
    runs = {r["id"]: r for r in json.loads(built.cli("runs", "--json").stdout)}
    first = runs[min(swept["runs"])]  # trials are recorded as they finish
    assert first["metrics"]["f1"] >= 0.5
    trial = first["params"]["max_depth"] - 1
    assert swept["reason"] == f"target f1_macro >= 0.5 met by trial {trial}"
