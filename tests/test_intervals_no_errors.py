"""Segment intervals of groups with no errors, and of small regression groups, on scikit-learn's
iris and diabetes: Wilson's interval of a perfect proportion keeps its width; where a method
gives zero width (DeLong's for a perfectly separated group, the bootstrap's of a perfect group,
Student's t for a group with no errors) there is no interval and the entry says why; MAE and
RMSE use Student's t quantile, not the normal one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cockpit.evaluation import intervals, segments
from cockpit.evaluation.predictions import Predictions
from cockpit.evaluation.segments import Segment


def _iris_setosa() -> Predictions:
    """Setosa or not, out-of-fold logistic regression: every group separates perfectly."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    X, y = load_iris(return_X_y=True, as_frame=True)
    setosa = (y == 0).astype(int).to_numpy()
    proba = cross_val_predict(LogisticRegression(max_iter=1000), X, setosa, cv=5, method="predict_proba")
    frame = X.assign(species=np.array(["setosa", "versicolor", "virginica"])[y])
    return Predictions(frame, setosa, proba.argmax(axis=1), proba, [0, 1], 1, 0.5)


def _shown(entry: dict) -> str:
    return Segment(**entry).interval  # as the CLI, the screen and the Markdown show it


def test_a_perfect_proportion_keeps_wilsons_interval() -> None:
    found = segments.breakdown(_iris_setosa(), ["species"], "binary", "accuracy", 1.0)
    setosa = next(s for s in found if s["group"] == "setosa")
    assert (setosa["rows"], setosa["value"], setosa["interval_note"]) == (50, 1.0, None)
    low = stats.binomtest(50, 50).proportion_ci(0.95, method="wilson").low
    assert (setosa["low"], setosa["high"]) == pytest.approx((low, 1.0))
    assert _shown(setosa) == "0.929–1.000 (Wilson)"


@pytest.mark.parametrize("bootstrap", [None, 50], ids=["delong", "bootstrap"])
def test_a_perfectly_separated_group_has_no_zero_width_interval(bootstrap) -> None:
    found = segments.breakdown(_iris_setosa(), ["sepal length (cm)"], "binary", "roc_auc", 1.0, bootstrap)
    both = [s for s in found if 0 < s["positives"] < s["rows"]]  # the groups with both classes
    assert len(both) == 2
    method = "DeLong" if bootstrap is None else "bootstrap 50"
    for entry in both:
        assert entry["value"] == 1.0
        assert (entry["low"], entry["high"], entry["interval_note"]) == (None, None, "no errors")
        assert _shown(entry) == f"none: no errors ({method})"


def test_a_regression_group_without_errors_has_no_interval() -> None:
    """Iris' species codes as a number, a tree's out-of-fold predictions: setosa is never
    missed (MAE 0, where a t interval has zero width), the other species are."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import cross_val_predict
    from sklearn.tree import DecisionTreeRegressor

    X, y = load_iris(return_X_y=True, as_frame=True)
    predicted = cross_val_predict(DecisionTreeRegressor(random_state=0), X, y, cv=5)
    frame = X.assign(species=np.array(["setosa", "versicolor", "virginica"])[y])
    p = Predictions(frame, y.to_numpy().astype(float), predicted, None, None)
    for metric in ("mae", "rmse"):
        found = {s["group"]: s for s in segments.breakdown(p, ["species"], "regression", metric, 0.1)}
        assert found["setosa"]["value"] == 0.0
        assert (found["setosa"]["low"], found["setosa"]["high"]) == (None, None)
        assert _shown(found["setosa"]) == "none: no errors (Student t)"
        for group in ("versicolor", "virginica"):
            entry = found[group]
            assert entry["interval_note"] is None and entry["low"] < entry["value"] < entry["high"]


def test_mae_and_rmse_use_students_t_for_a_small_group() -> None:
    """Three diabetes rows: the t quantile with 2 degrees of freedom (4.30), not the normal 1.96."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_predict

    X, y = load_diabetes(return_X_y=True)
    predicted = cross_val_predict(Ridge(alpha=0.1), X, y, cv=5)
    truth, guess = y[:3], predicted[:3]
    absolute, squared = np.abs(guess - truth), (guess - truth) ** 2
    mae = stats.t.interval(0.95, 2, loc=absolute.mean(), scale=stats.sem(absolute))
    assert intervals.mean_error("mae", truth, guess) == pytest.approx((max(0.0, mae[0]), mae[1]))
    mse = stats.t.interval(0.95, 2, loc=squared.mean(), scale=stats.sem(squared))
    assert intervals.mean_error("rmse", truth, guess) == pytest.approx(
        (np.sqrt(max(0.0, mse[0])), np.sqrt(mse[1]))
    )
    assert intervals.mean_error("mae", truth[:1], guess[:1]) is None  # one row: no spread to measure
