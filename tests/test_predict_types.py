"""`cockpit predict -o FILE` keeps the target's type (issue 22): regression predictions are
numbers in Parquet and CSV, string labels stay text, integer-coded classes stay integers
(an override written on the command line included)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests import cli_workspaces as real

CASES = {
    "diabetes": (real.diabetes, "regression", "target"),
    "penguins": (real.penguins, "multiclass", "species"),
    "wine": (real.wine, "multiclass", "target"),
}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """name -> its workspace with a decision tree in production, built on first use."""
    built: dict[str, real.Built] = {}

    def get(name: str) -> real.Built:
        if name not in built:
            load, task, target = CASES[name]
            made = real.build(
                tmp_path_factory.mktemp(name), load(), task, target, runs=(("--model", "decision_tree"),)
            )
            assert made.cli("register", "1", "--override", "types test").exit_code == 0
            assert made.cli("deploy", "1", "--strategy", "blue-green", "--override", "test").exit_code == 0
            built[name] = made
        return built[name]

    return get


def _predict(built: real.Built, out) -> pd.DataFrame:
    result = built.cli("predict", str(built.data), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    return pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_predictions_keep_the_targets_type(deployed, name: str, tmp_path) -> None:
    built = real.copy(deployed(name), tmp_path / "copy")  # predict records its batch
    truth = pd.read_csv(built.data)
    _, _, target = CASES[name]
    parquet = _predict(built, tmp_path / "scores.parquet")
    csv = _predict(built, tmp_path / "scores.csv")
    if name == "diabetes":
        assert parquet["prediction"].dtype == np.float64 and csv["prediction"].dtype == np.float64
        np.testing.assert_allclose(parquet["prediction"], csv["prediction"])
        r2 = (
            1
            - ((truth[target] - parquet["prediction"]) ** 2).sum()
            / ((truth[target] - truth[target].mean()) ** 2).sum()
        )
        assert 0.3 < r2 < 0.9  # a depth-6 tree, scored on rows it mostly trained on
    elif name == "penguins":
        assert pd.api.types.is_string_dtype(parquet["prediction"])
        assert set(parquet["prediction"]) <= {"Adelie", "Chinstrap", "Gentoo"}
        assert (parquet["prediction"] == truth[target]).mean() > 0.9
    else:
        assert parquet["prediction"].dtype == "Int64" and csv["prediction"].dtype == np.int64
        assert set(parquet["prediction"]) <= {0, 1, 2}
        assert (parquet["prediction"].to_numpy() == truth[target].to_numpy()).mean() > 0.9
    assert parquet["score"].dtype == np.float64 and parquet["model_version"].dtype == "Int64"


def test_an_override_answer_takes_the_class_type(deployed, tmp_path) -> None:
    copy = real.copy(deployed("wine"), tmp_path / "copy")
    frame = pd.read_csv(copy.data).head(5)
    rows = tmp_path / "five.csv"
    frame.to_csv(rows, index=False)
    # wine has no id column: rows are keyed by their feature values (cockpit.entity)
    from cockpit.entity import entity_keys

    key = entity_keys(frame, None, [c for c in frame.columns if c != "target"]).iloc[0]
    added = copy.cli("override", "add", str(key), "2", "--reason", "a person checked")
    assert added.exit_code == 0
    result = copy.cli("predict", str(rows), "-o", str(tmp_path / "five.parquet"))
    assert result.exit_code == 0, result.stderr
    scored = pd.read_parquet(tmp_path / "five.parquet")
    assert scored["prediction"].dtype == "Int64"
    assert scored["prediction"].tolist() == [2, 0, 0, 0, 0]
    assert scored["route"].tolist() == ["override"] + ["production"] * 4
