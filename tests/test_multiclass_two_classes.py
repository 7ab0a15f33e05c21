"""A multiclass project's metrics when only two classes are in play: a target with two classes
declared multiclass (scikit-learn sees a binary target and refused the probability matrix),
and a split missing one class of three (its one-vs-rest AUC is undefined; the others are not)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from cockpit.evaluation.metrics import score
from tests import cli_workspaces as real


@pytest.fixture(scope="module")
def iris_noisy():
    """Iris with noise added, so no AUC is a trivial 1.0."""
    X, y = load_iris(return_X_y=True)
    rng = np.random.RandomState(0)
    return X + rng.normal(0, 1.5, X.shape), np.array(["setosa", "versicolor", "virginica"])[y]


def test_penguins_sex_declared_multiclass_trains_and_scores_roc_auc(tmp_path) -> None:
    frame = real.penguins().dropna()
    built = real.build(tmp_path, frame, "multiclass", "sex", runs=(("--model", "logistic_regression"),))
    (run,) = json.loads(built.cli("runs", "--json").stdout)
    assert run["status"] == "finished", run["error"]
    assert 0.9 < run["metrics"]["roc_auc"] <= 1.0
    assert set(run["metrics"]) >= {"f1", "precision", "recall", "log_loss"}


def test_two_class_multiclass_auc_is_the_binary_auc(iris_noisy) -> None:
    X, y = iris_noisy
    keep = y != "setosa"
    model = LogisticRegression(max_iter=1000).fit(X[keep], y[keep])
    proba = model.predict_proba(X[keep])
    got = score("multiclass", y[keep], model.predict(X[keep]), proba, list(model.classes_))
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y[keep] == "virginica", proba[:, 1]))
    assert got["log_loss"] == pytest.approx(log_loss(y[keep], proba))


def test_split_missing_a_class_averages_the_classes_it_holds(iris_noisy) -> None:
    X, y = iris_noisy
    model = LogisticRegression(max_iter=1000).fit(X, y)
    held = y != "versicolor"  # a validation split that holds two species of three
    proba = model.predict_proba(X[held])
    classes = list(model.classes_)
    got = score("multiclass", y[held], model.predict(X[held]), proba, classes)
    per_class = [roc_auc_score(y[held] == c, proba[:, classes.index(c)]) for c in ("setosa", "virginica")]
    assert got["roc_auc"] == pytest.approx(np.mean(per_class))
    assert got["log_loss"] == pytest.approx(log_loss(y[held], proba, labels=classes))


def test_a_class_the_model_never_saw_leaves_log_loss_out(iris_noisy) -> None:
    X, y = iris_noisy
    seen = y != "versicolor"
    model = LogisticRegression(max_iter=1000).fit(X[seen], y[seen])  # two classes of three
    proba = model.predict_proba(X)
    got = score("multiclass", y, model.predict(X), proba, list(model.classes_))
    assert "log_loss" not in got  # no probability column for versicolor: undefined, not a crash
    expected = np.mean([roc_auc_score(y == c, proba[:, i]) for i, c in enumerate(model.classes_)])
    assert got["roc_auc"] == pytest.approx(expected)
    assert got["accuracy"] == pytest.approx(np.mean(model.predict(X) == y))
