"""The segment breakdown's ROC AUC shortcut (cockpit/evaluation/segments.py) gives exactly
what scoring every resample with metrics.score gives: same values, same intervals."""

import numpy as np
import pandas as pd
import pytest

from cockpit.evaluation import metrics, segments
from cockpit.evaluation.predictions import Predictions


def _predictions(rows: int, classes: list, seed: int = 0) -> Predictions:
    rng = np.random.default_rng(seed)
    region = rng.choice(np.array(["n", "s", "e", "w"], dtype=object), rows)
    tenure = rng.integers(1, 60, rows)
    score = np.round(rng.random(rows), 2)  # ties, as predict_proba of trees gives
    truth = np.where(rng.random(rows) < 0.3 + 0.4 * score, classes[1], classes[0])
    truth[region == "w"] = classes[1]  # one group with a single class: no ROC AUC there
    proba = np.column_stack([1 - score, score])
    frame = pd.DataFrame({"region": region, "tenure": tenure})
    return Predictions(
        frame,
        truth,
        np.where(score >= 0.5, classes[1], classes[0]),
        proba,
        classes,
        metrics.positive_label(classes),
        0.5,
    )


@pytest.mark.parametrize("classes", [[0, 1], ["stay", "yes"]])
def test_the_roc_auc_shortcut_changes_no_value(classes, monkeypatch) -> None:
    p = _predictions(600, classes)
    overall = metrics.score("binary", p.y_true, p.y_pred, p.proba, p.classes)["roc_auc"]
    fast = segments.breakdown(p, ["region", "tenure"], "binary", "roc_auc", overall, bootstrap=15)
    monkeypatch.setattr(segments, "_fast_resampled_metric", lambda *args: None)
    slow = segments.breakdown(p, ["region", "tenure"], "binary", "roc_auc", overall, bootstrap=15)
    assert fast == slow
    assert any(s["value"] is None and s["low"] is None for s in fast)  # the one-class group


def test_the_shortcut_is_the_resampled_roc_auc_bit_for_bit() -> None:
    p = _predictions(300, [0, 1], seed=1)
    resampled = segments._fast_resampled_metric("binary", "roc_auc", p.y_true, p.proba, p.classes)
    rng = np.random.default_rng(2)
    for _ in range(25):
        pick = rng.integers(0, 300, rng.integers(1, 300))
        expected = metrics.score("binary", p.y_true[pick], p.y_pred[pick], p.proba[pick], p.classes).get(
            "roc_auc"
        )
        assert resampled(pick) == expected


def test_no_shortcut_where_it_does_not_apply() -> None:
    p = _predictions(50, [0, 1])
    assert segments._fast_resampled_metric("binary", "f1", p.y_true, p.proba, p.classes) is None
    assert segments._fast_resampled_metric("binary", "roc_auc", p.y_true, None, p.classes) is None
    bad = p.proba.copy()
    bad[0, 1] = np.nan
    assert segments._fast_resampled_metric("binary", "roc_auc", p.y_true, bad, p.classes) is None
