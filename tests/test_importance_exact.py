"""evaluate's permutation importance answers from a faster path (the numpy twin, branches
that replay their unshuffled columns): the importances must be scikit-learn's own."""

import types

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from cockpit.evaluation import robustness
from cockpit.feature_pipeline import compile_transformer
from cockpit.features import ColumnSpec


@pytest.mark.parametrize("with_category", [False, True])
def test_importance_is_scikit_learns(with_category):
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, list(range(8)) + [-1]]
    numeric = [c for c in frame.columns if c != "target"]
    specs = [ColumnSpec(c) for c in numeric]
    if with_category:
        frame["clinic"] = np.random.default_rng(3).choice(["north", "south", "east"], len(frame))
        specs.append(ColumnSpec("clinic", kind="categorical"))
    columns = [s.column for s in specs]
    pipeline = Pipeline(
        [("features", compile_transformer(specs)), ("model", LogisticRegression(max_iter=2000))]
    )
    train, test = frame.iloc[:450], frame.iloc[450:]
    pipeline.fit(train[columns], train["target"])
    project = types.SimpleNamespace(task="binary", target="target")

    found = robustness.importance(pipeline, test, project, "roc_auc", columns)

    expected = permutation_importance(
        pipeline,
        test[columns],
        test["target"],
        scoring=robustness.SCORERS.get("roc_auc"),
        n_repeats=5,
        random_state=0,
    )
    by_column = {
        c: (expected.importances_mean[i], expected.importances_std[i]) for i, c in enumerate(columns)
    }
    assert {d["column"]: (d["importance"], d["std"]) for d in found} == by_column
    assert any(d["importance"] > 0 for d in found)
