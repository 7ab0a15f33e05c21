"""The step in front of a model that takes whole tables: it hands the model exactly the
columns it was trained on, in their order, from any wider table (a split part, a serving
request, a batch file). External runs (training.external) and a user's whole Pipeline
(`cockpit train --pipeline`) are saved behind it. Pure scikit-learn: no workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

INPUT_STEP = "input"


def with_inputs(model: Any, frame: pd.DataFrame) -> Any:
    """The model behind a step that passes it `frame`'s columns, in that order, from any wider
    table (a split part, a serving request, a batch file)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    columns = [str(c) for c in frame.columns]
    selector = ColumnTransformer(
        [(INPUT_STEP, "passthrough", columns)], remainder="drop", verbose_feature_names_out=False
    ).set_output(transform="pandas")
    selector.fit(frame.head(min(len(frame), 5)))
    return Pipeline([(INPUT_STEP, selector), ("model", model)])
