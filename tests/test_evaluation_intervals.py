"""Segment intervals (cockpit/evaluation/intervals.py): analytic by default, the bootstrap on
request, on scikit-learn's breast cancer (Gaussian naive Bayes, out-of-fold probabilities)
and diabetes (ridge regression) data: the analytic widths are within 20% of a 1,000-resample
bootstrap's, the centres agree, and the weak-segment flags are the same."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cockpit.evaluation import intervals, metrics, segments
from cockpit.evaluation.predictions import Predictions

RESAMPLES = 1000


def _breast_cancer() -> Predictions:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_predict
    from sklearn.naive_bayes import GaussianNB

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    proba = cross_val_predict(GaussianNB(), X, y, cv=5, method="predict_proba")
    texture = np.where(X["mean texture"] > X["mean texture"].median(), "rough", "smooth")
    frame = pd.DataFrame({"texture": texture, "everyone": "all"})
    return Predictions(frame, y.to_numpy(), proba.argmax(axis=1), proba, [0, 1], 1, 0.5)


def _diabetes() -> Predictions:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_predict

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    predicted = cross_val_predict(Ridge(alpha=0.1), X, y, cv=5)
    return Predictions(X, y.to_numpy(), predicted, None, None)


CASES = [
    ("binary", "roc_auc", "DeLong", ["texture", "everyone"]),
    ("binary", "accuracy", "Wilson", ["texture", "everyone"]),
    ("binary", "precision", "Wilson", ["texture", "everyone"]),
    ("binary", "recall", "Wilson", ["texture", "everyone"]),
    ("regression", "mae", "Student t", ["sex", "bmi"]),
    ("regression", "rmse", "Student t", ["sex", "bmi"]),
]


@pytest.mark.parametrize(("task", "metric", "method", "columns"), CASES, ids=[c[1] for c in CASES])
def test_analytic_intervals_match_the_bootstrap_on_public_data(task, metric, method, columns) -> None:
    p = _breast_cancer() if task == "binary" else _diabetes()
    overall = metrics.score(task, p.y_true, p.y_pred, p.proba, p.classes)[metric]
    analytic = segments.breakdown(p, columns, task, metric, overall)
    resampled = segments.breakdown(p, columns, task, metric, overall, bootstrap=RESAMPLES)
    assert [(s["column"], s["group"]) for s in analytic] == [(s["column"], s["group"]) for s in resampled]
    assert len(analytic) >= 3
    for a, b in zip(analytic, resampled, strict=True):
        assert (a["interval_method"], b["interval_method"]) == (method, f"bootstrap {RESAMPLES}")
        assert a["value"] == b["value"] and a["low"] <= a["value"] <= a["high"]
        width = b["high"] - b["low"]
        assert 0.8 * width <= a["high"] - a["low"] <= 1.2 * width, (a, b)
        assert abs((a["low"] + a["high"]) / 2 - (b["low"] + b["high"]) / 2) <= 0.2 * width, (a, b)
        assert a["flagged"] == b["flagged"]
    assert any(s["flagged"] for s in analytic) or task == "binary"  # diabetes: a weak bmi quartile


def test_delong_is_its_definition_with_ties() -> None:
    """The fast form against DeLong's structural components written out pair by pair."""
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(120), 1)  # many ties
    is_positive = rng.random(120) < 0.3 + 0.5 * scores
    codes = intervals.score_codes(scores)
    low, high = intervals.delong(is_positive, codes)
    # the midranks counted per distinct score are scipy's average ranks
    assert (intervals._midranks(np.bincount(codes))[codes] == stats.rankdata(scores)).all()
    x, y = scores[is_positive], scores[~is_positive]
    psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    auc = psi.mean()
    variance = psi.mean(axis=1).var(ddof=1) / len(x) + psi.mean(axis=0).var(ddof=1) / len(y)
    half = stats.norm.ppf(0.975) * np.sqrt(variance)
    assert (low, high) == pytest.approx((auc - half, auc + half), abs=1e-12)
    from sklearn.metrics import roc_auc_score

    assert auc == pytest.approx(roc_auc_score(is_positive, scores), abs=1e-12)
    assert intervals.delong(np.ones(5, dtype=bool), np.arange(5)) is None  # one class


def test_metrics_without_an_analytic_interval_keep_the_bootstrap() -> None:
    p = _breast_cancer()
    overall = metrics.score("binary", p.y_true, p.y_pred, p.proba, p.classes)["f1"]
    found = segments.breakdown(p, ["everyone"], "binary", "f1", overall)
    assert {s["interval_method"] for s in found} == {f"bootstrap {segments.BOOTSTRAP}"}
    assert intervals.analytic_method("multiclass", "accuracy") == "Wilson"
    assert intervals.analytic_method("multiclass", "recall") is None  # a macro average
    assert intervals.analytic_method("binary", "pr_auc") is None


def test_group_labels_are_the_values_as_text() -> None:
    """Groups are labelled from the distinct values: the same labels, row by row, as turning
    every row into text (`astype(str)`, "missing" for a missing value)."""
    rng = np.random.default_rng(0)
    n = 400
    columns = {
        "few ints": pd.Series(rng.integers(0, 5, n)),
        "floats, missing": pd.Series(np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n))),
        "bools": pd.Series(rng.random(n) < 0.5),
        "text, missing": pd.Series(np.where(rng.random(n) < 0.1, None, rng.choice(["a", "missing"], n))),
        "1 and '1'": pd.Series([1, "1", 2.5, None] * (n // 4), dtype=object),
        "nullable ints": pd.Series(
            pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 4, n)), "Int64")
        ),
    }
    for name, values in columns.items():
        if values.dtype.kind in "iuf" and values.nunique() > 8:
            expected = pd.qcut(values, q=4, duplicates="drop").astype(str)
        else:
            expected = values.astype(str)
        expected = expected.where(values.notna(), "missing").to_numpy(dtype=object)
        codes, groups = segments._codes(values)
        assert (np.array(groups, dtype=object)[codes] == expected).all(), name
        assert sorted(groups) == sorted(set(expected)), name
