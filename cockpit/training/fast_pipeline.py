"""A numpy path for few-row predictions (the service, the gate's latency rule), where the
pipeline allows it.

scikit-learn's ColumnTransformer costs 1-2 ms per call whatever the rows (column selection
through pandas, each step's input validation), which is most of a one-row answer. When a
fitted Pipeline is cockpit's usual shape, `features` a ColumnTransformer whose branches
are only numeric imputation and scaling (SimpleImputer, StandardScaler, MinMaxScaler) and
`model` any estimator, `numpy_twin` returns the same Pipeline with the ColumnTransformer
replaced by `NumericColumns`: the same fitted statistics applied to the float64 block with
the same numpy operations in the same order, so the model sees the same matrix to the last
bit. Anything else (categories, dates, text, a user's own steps, pandas output) keeps the
pipeline as it is. The twin is checked against the original on probe rows when it is made
and not used unless both agree exactly.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

log = logging.getLogger("cockpit.serve")


class NumericColumns:
    """The fitted numeric branches of a ColumnTransformer as numpy operations; `transform`
    takes the model's input frame (its float64 columns) and returns the matrix."""

    def __init__(self, branches: list[tuple[list[str], list[Any]]]) -> None:
        self.branches = branches
        self._positions: dict[tuple[str, ...], list[list[int]]] = {}

    def positions(self, names: tuple[str, ...]) -> list[list[int]]:
        """Each branch's column positions in a block whose columns are `names` (ValueError
        when one is missing), kept for the last `names` asked (the service's are fixed)."""
        positions = self._positions.get(names)
        if positions is None:
            positions = [[names.index(c) for c in columns] for columns, _ in self.branches]
            self._positions = {names: positions}
        return positions

    def transform_row(self, block: np.ndarray, positions: list[list[int]]) -> np.ndarray:
        """The matrix of one row given as a 1 x n float64 block (a 1 x n array is C and F
        ordered at once, so BLAS sees what it sees on scikit-learn's path)."""
        parts = []
        for number, (_, steps) in enumerate(self.branches):
            X = block[:, positions[number]]  # a copy: fancy indexing
            for step in steps:
                X = _apply(step, X)
            parts.append(X)
        return np.hstack(parts)  # as ColumnTransformer joins its branches, even one

    def transform(self, frame) -> np.ndarray:
        if len(frame) == 1 and all(dtype == np.float64 for dtype in frame.dtypes):
            return self.transform_row(frame.to_numpy(), self.positions(tuple(frame.columns.tolist())))
        parts = []
        for columns, steps in self.branches:
            X = frame[columns].to_numpy(dtype=np.float64, copy=True)  # as ColumnTransformer: its order
            for step in steps:
                X = _apply(step, X)
            parts.append(X)
        return np.hstack(parts)


def row_columns(pipeline) -> NumericColumns | None:
    """The NumericColumns of a pipeline `numpy_twin` made, else None."""
    steps = getattr(pipeline, "steps", None)
    columns = getattr(steps[0][1], "columns", None) if steps and len(steps) == 2 else None
    return columns if isinstance(columns, NumericColumns) else None


def _apply(step, X: np.ndarray) -> np.ndarray:
    """One fitted step's transform, as scikit-learn 1.x does it on a dense float64 array."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if isinstance(step, SimpleImputer):
        mask = np.isnan(X)
        if mask.any():
            X[mask] = np.broadcast_to(step.statistics_, X.shape)[mask]
        return X
    if isinstance(step, StandardScaler):
        if step.with_mean:
            X -= step.mean_
        if step.with_std:
            X /= step.scale_
        return X
    assert isinstance(step, MinMaxScaler)
    X *= step.scale_
    X += step.min_
    if step.clip:
        np.clip(X, step.feature_range[0], step.feature_range[1], out=X)
    return X


def _supported_step(step) -> bool:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    kind = type(step)
    if kind is SimpleImputer:
        missing = step.missing_values
        return (
            not step.add_indicator
            and isinstance(missing, float)
            and math.isnan(missing)
            and np.asarray(step.statistics_).dtype.kind == "f"
            and bool(np.isfinite(step.statistics_).all())  # no column dropped as empty
        )
    return kind in (StandardScaler, MinMaxScaler)


def _steps(transformer) -> list[Any] | None:
    from sklearn.pipeline import Pipeline

    steps = [s for _, s in transformer.steps] if type(transformer) is Pipeline else [transformer]
    return steps if all(_supported_step(s) for s in steps) else None


def _branches(features) -> list[tuple[list[str], list[Any]]] | None:
    from sklearn.compose import ColumnTransformer

    if type(features) is not ColumnTransformer or _pandas_output(features):
        return None
    branches = []
    for _name, transformer, columns in features.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            return None
        steps = None if isinstance(transformer, str) else _steps(transformer)
        if steps is None:
            return None
        branches.append((columns, steps))
    return branches or None


def _pandas_output(estimator) -> bool:
    config = getattr(estimator, "_sklearn_output_config", {}) or {}
    return config.get("transform", "default") != "default"


def numpy_twin(pipeline) -> Any:
    """The pipeline with its numeric ColumnTransformer computed in numpy (the same answers
    to the last bit, checked here on probe rows), or the pipeline itself when its steps are
    not all numeric imputation and scaling."""
    from sklearn.pipeline import Pipeline

    if type(pipeline) is not Pipeline or len(pipeline.steps) != 2 or _pandas_output(pipeline):
        return pipeline
    (name, features), model = pipeline.steps[0], pipeline.steps[1]
    branches = _branches(features)
    if branches is None or not _same_matrix(features, NumericColumns(branches)):
        return pipeline
    return Pipeline([(name, _step(NumericColumns(branches))), model])


def _step(columns: NumericColumns):
    """NumericColumns as a fitted Pipeline step."""
    from sklearn.base import BaseEstimator, TransformerMixin

    class NumpyFeatures(TransformerMixin, BaseEstimator):
        def __init__(self, columns: NumericColumns) -> None:
            self.columns = columns

        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return self.columns.transform(X)

        def __sklearn_is_fitted__(self) -> bool:
            return True

    return NumpyFeatures(columns)


def _same_matrix(features, twin: NumericColumns) -> bool:
    """Whether the twin gives the ColumnTransformer's matrix exactly on probe rows: the
    imputers' statistics, a row of gaps, and values scaled and shifted off them."""
    import pandas as pd

    names = list(getattr(features, "feature_names_in_", []))
    if not names:
        return False
    rng = np.random.default_rng(0)
    base = rng.normal(0.0, 1.0, (4, len(names)))
    base[0] = 0.0
    base[1] = np.nan
    base[2] = np.where(rng.random(len(names)) < 0.5, np.nan, base[2] * 1e3)
    probe = pd.DataFrame(base, columns=names)
    try:
        expected = features.transform(probe)
        found = twin.transform(probe)
    except Exception as exc:  # the original path keeps answering
        log.info("numpy path not used: %s", exc)
        return False
    return bool(
        isinstance(expected, np.ndarray)
        and expected.shape == found.shape
        and expected.dtype == found.dtype
        and expected.flags.c_contiguous == found.flags.c_contiguous
        and np.array_equal(expected, found, equal_nan=True)
    )
