"""Top reasons: the features that raised a row's score, for the people who act on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from cockpit.deployment.reasons import Reason, top_reasons


def test_the_feature_that_drives_a_high_score_is_its_top_reason() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 400), "noise": rng.normal(0, 1, 400)})
    labels = (frame["x"] + rng.normal(0, 0.3, 400) > 0).astype(int)
    model = LogisticRegression().fit(frame, labels)
    high = frame.loc[[frame["x"].idxmax()]]
    low = frame.loc[[frame["x"].idxmin()]]
    (reasons_high, reasons_low) = top_reasons(model, pd.concat([high, low]), frame, ["x", "noise"], 1)
    top = reasons_high[0]
    assert isinstance(top, Reason) and top.column == "x"
    assert top.value == high["x"].item() and top.effect > 0.3
    assert all(r.effect > 0 for r in reasons_high) and len(reasons_high) <= 3
    assert "x" not in {r.column for r in reasons_low}  # x pulled this row's score down
