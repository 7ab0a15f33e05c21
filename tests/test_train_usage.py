"""Bad usage of `train` and `sweep` writes nothing (issue 22): an unknown model, parameter or
value, or a grid that is not a flat list of single values, is one line and exit 2 before
any run, sweep or audit event exists. On penguins (multiclass)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import cli_workspaces as real


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> real.Built:
    return real.build(tmp_path_factory.mktemp("penguins"), real.penguins(), "multiclass", "species")


def _written(built: real.Built) -> tuple[int, int, int]:
    from cockpit.workspace import Workspace

    with Workspace.open(str(built.root)) as ws:
        return (
            ws.store.scalar("SELECT count(*) FROM runs"),
            ws.store.scalar("SELECT count(*) FROM sweeps"),
            ws.store.scalar("SELECT count(*) FROM events"),
        )


def _refused(built: real.Built, *args: str) -> str:
    before = _written(built)
    result = built.cli(*args)
    assert result.exit_code == 2, (args, result.stdout, result.stderr)
    said = [line for line in result.stderr.splitlines() if line.startswith(("cockpit:", "Error:"))]
    assert len(said) == 1 and "Traceback" not in result.stderr, result.stderr
    assert _written(built) == before, args
    return said[0]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        (["--model", "xgboost"], "'xgboost' is not one of"),
        (["--model", "linear_regression"], "linear_regression does not fit a multiclass problem"),
        (
            ["--model", "random_forest", "--param", "n_estimatorz=3"],
            "takes no parameter n_estimatorz (did you mean 'n_estimators'?)",
        ),
        (["--model", "random_forest", "--param", "max_depth=deep"], "max_depth"),
        (["--model", "logistic_regression", "--param", "C=nan"], "param C=nan: not a finite number"),
        (["--model", "logistic_regression", "--param", "C=1e400"], "param C=inf: not a finite"),
        (
            ["--model", "random_forest", "--param", "random_state=99999999999999999999"],
            "random_state=99999999999999999999: too large",
        ),
        (["--model", "random_forest", "--param", "random_state=-1"], "random_state"),
        (["--model", "random_forest", "--param", "n_jobs=0"], "n_jobs=0 runs nothing"),
        (["--model", "random_forest", "--param", "max_features=1.5"], "max_features"),
        (["--model", "dummy", "--param", "strategy"], "write NAME=VALUE"),
    ],
)
def test_bad_train_requests_exit_2_and_write_nothing(penguins, params, said) -> None:
    assert said in _refused(penguins, "train", *params)


GRIDS = {
    "nested.json": ({"C": [[[[[[1.0]]]]]]}, "param C: a list is not one value"),
    "table.json": ({"C": [{"value": 1.0}]}, "param C: a table is not one value"),
    "unknown.json": ({"C": [1.0], "penalty_": ["l2"]}, "takes no parameter penalty_"),
    "refused.json": ({"C": [1.0, -1.0]}, "The 'C' parameter of LogisticRegression"),
    "huge.json": (
        {"C": [0.1 * i for i in range(1, 101)], "tol": [1e-4] * 100, "max_iter": [100] * 100},
        "the grid makes 1,000,000 trials, more than 100,000",
    ),
    "empty.json": ({"C": []}, "parameter 'C' needs a non-empty list of values"),
}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_bad_grids_exit_2_with_one_line_naming_the_file(penguins, tmp_path: Path, name) -> None:
    grid, said = GRIDS[name]
    path = tmp_path / name
    path.write_text(json.dumps(grid))
    line = _refused(penguins, "sweep", "--model", "logistic_regression", "--grid", str(path))
    assert line.startswith(f"cockpit: {path}: ") and said in line, line


def test_a_deeply_nested_grid_and_nan_literals(penguins, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"C": ' + "[" * 5000 + "1" + "]" * 5000 + "}")
    assert "nested too deeply" in _refused(
        penguins, "sweep", "--model", "logistic_regression", "--grid", str(deep)
    )
    literal = tmp_path / "nan.json"
    literal.write_text('{"C": [NaN, 1.0]}')  # Python's JSON reader accepts NaN and Infinity
    assert "param C=nan: not a finite number" in _refused(
        penguins, "sweep", "--model", "logistic_regression", "--grid", str(literal)
    )
    toml = tmp_path / "grid.toml"
    toml.write_text("C = [0.1, [1.0, 2.0]]\n")
    assert "a list is not one value" in _refused(
        penguins, "sweep", "--model", "logistic_regression", "--grid", str(toml)
    )


def test_a_good_grid_still_sweeps(penguins, tmp_path: Path) -> None:
    built = real.copy(penguins, tmp_path / "copy")
    grid = tmp_path / "grid.toml"
    grid.write_text('C = [0.1, 10.0]\nclass_weight = ["none", "balanced"]\n')
    result = built.cli(
        "sweep", "--model", "logistic_regression", "--grid", str(grid), "--jobs", "1", "--json"
    )
    assert result.exit_code == 0, result.stderr
    swept = json.loads(result.stdout)
    assert swept["status"] == "finished" and len(swept["runs"]) == 4
    runs = json.loads(built.cli("runs", "--json", "--sort", "f1_macro").stdout)
    assert {(r["params"]["C"], r["params"]["class_weight"]) for r in runs} == {
        (0.1, None),
        (0.1, "balanced"),
        (10.0, None),
        (10.0, "balanced"),
    }
    assert runs[0]["metrics"]["f1"] > 0.9


def test_an_unknown_joblib_backend_records_no_sweep(penguins) -> None:
    line = _refused(penguins, "sweep", "--model", "ridge", "--random", "2", "--backend", "garbage")
    assert line.startswith("cockpit: --backend 'garbage': Invalid backend: garbage")
