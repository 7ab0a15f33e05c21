"""`cockpit runs --sort`: best first whatever the metric's direction, by the problem spec's
own metric names too (issue 22), on diabetes (MAE) and penguins (f1_macro)."""

from __future__ import annotations

import json

import pytest

from tests import cli_workspaces as real

FAMILIES = ("dummy", "linear_regression", "decision_tree")


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> real.Built:
    return real.build(
        tmp_path_factory.mktemp("diabetes"),
        real.diabetes(),
        "regression",
        "target",
        spec=("metric=mae",),
        runs=tuple(("--model", family) for family in FAMILIES),
    )


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> real.Built:
    return real.build(
        tmp_path_factory.mktemp("penguins"),
        real.penguins(),
        "multiclass",
        "species",
        spec=("metric=f1_macro",),
        runs=(("--model", "dummy"), ("--model", "logistic_regression")),
    )


def _listed(built: real.Built, *args: str) -> list[dict]:
    result = built.cli("runs", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_sort_by_score_puts_the_lowest_error_first(diabetes) -> None:
    rows = _listed(diabetes, "--sort", "score")
    scores = [r["score"] for r in rows]
    assert [r["metric"] for r in rows] == ["mae"] * 3
    assert scores == sorted(scores)
    assert rows[0]["family"] == "linear_regression" and rows[-1]["family"] == "dummy"
    assert 35 < scores[0] < 50 < scores[-1]  # diabetes: linear MAE ~43, the mean's ~63
    assert [r["id"] for r in _listed(diabetes, "--sort", "mae")] == [r["id"] for r in rows]
    best_r2 = _listed(diabetes, "--sort", "r2")
    assert best_r2[0]["family"] == "linear_regression"
    assert best_r2[0]["metrics"]["r2"] == max(r["metrics"]["r2"] for r in best_r2)
    ascending = _listed(diabetes, "--sort", "r2", "--asc")
    assert [r["id"] for r in ascending] == [r["id"] for r in best_r2][::-1]


def test_sort_and_filter_by_the_specs_metric_name(penguins) -> None:
    by_spec_name = _listed(penguins, "--sort", "f1_macro")
    assert [r["id"] for r in by_spec_name] == [r["id"] for r in _listed(penguins, "--sort", "f1")]
    assert [r["family"] for r in by_spec_name] == ["logistic_regression", "dummy"]
    assert by_spec_name[0]["metrics"]["f1"] > 0.9 > 0.5 > by_spec_name[1]["metrics"]["f1"]
    assert [r["family"] for r in _listed(penguins, "--filter", "f1_macro>0.5")] == ["logistic_regression"]


def test_a_metric_the_task_does_not_have_is_refused(diabetes, penguins) -> None:
    for built, metric in ((diabetes, "f1_macro"), (penguins, "mae")):
        result = built.cli("runs", "--sort", metric)
        assert result.exit_code == 2
        assert result.stderr.startswith(f"cockpit: --sort {metric}: runs of a")
    typo = diabetes.cli("runs", "--sort", "scroe")
    assert typo.exit_code == 2 and "did you mean 'score'?" in typo.stderr
