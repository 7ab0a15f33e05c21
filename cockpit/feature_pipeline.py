"""The feature spec compiled to one scikit-learn ColumnTransformer.

The transformers defined here are module-level classes and functions so a saved
Pipeline unpickles wherever cockpit is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from cockpit.features import COMPILER_VERSION, ColumnSpec

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


class DateParts(TransformerMixin, BaseEstimator):
    """Dates (any format pandas can read) to numeric parts: year, month, dayofweek,
    is_weekend, hour, days_since (days since 1970). Unreadable dates become NaN."""

    def __init__(self, parts: tuple[str, ...] = ("month", "dayofweek")) -> None:
        self.parts = parts

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        self.columns_ = list(getattr(X, "columns", range(X.shape[1])))
        return self

    def transform(self, X):
        import pandas as pd

        frame = pd.DataFrame(X)
        out = []
        for column in frame.columns:
            values = frame[column]
            times = (
                values
                if values.dtype.kind == "M"
                else pd.to_datetime(values, format="mixed", errors="coerce")
            )
            for part in self.parts:
                out.append(_part(times, part))
        return np.column_stack(out).astype("float64")

    def get_feature_names_out(self, input_features=None):
        names = input_features if input_features is not None else self.columns_
        return np.array([f"{c}_{p}" for c in names for p in self.parts], dtype=object)


def _part(times, part: str) -> np.ndarray:
    if part == "year":
        return times.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    if part == "hour":
        return times.dt.hour.to_numpy(dtype="float64", na_value=np.nan)
    if part == "dayofweek":
        return times.dt.day_of_week.to_numpy(dtype="float64", na_value=np.nan)
    if part == "month":
        return times.dt.month.to_numpy(dtype="float64", na_value=np.nan)
    if part == "is_weekend":
        return (times.dt.day_of_week >= 5).astype("float64").where(times.notna()).to_numpy()
    if part != "days_since":
        raise ValueError(f"unknown date part {part!r}")
    seconds = (times - EPOCH.astype("datetime64[ns]")).dt.total_seconds()
    return (seconds / 86400).to_numpy(dtype="float64", na_value=np.nan)


class ColumnTfidf(TfidfVectorizer):
    """TF-IDF whose output names carry the column, so two text columns never collide."""

    def __init__(self, column: str = "text", max_features: int | None = None) -> None:
        super().__init__(max_features=max_features)
        self.column = column

    def __getstate__(self):
        """Two identical fits must pickle to identical bytes (reproduce compares sha256):
        `stop_words_` is a set, pickled in hash-seed order (sklearn documents it as safe to
        drop), and `_stop_words_id` is a memory address, reset whenever text is analysed."""
        state = super().__getstate__()
        state["stop_words_"] = None
        state.pop("_stop_words_id", None)
        return state

    def get_feature_names_out(self, input_features=None):
        words = super().get_feature_names_out()
        return np.array([f"{self.column}:{w}" for w in words], dtype=object)


def fill_text(values):
    """1-D text for TF-IDF: missing values become empty strings."""
    import pandas as pd

    return pd.Series(np.asarray(values).ravel(), dtype="object").fillna("").astype(str).to_numpy()


def compile_transformer(
    specs: list[ColumnSpec], dense: bool = False, version: int = COMPILER_VERSION
) -> ColumnTransformer:
    """One ColumnTransformer for the spec; `dense` for models that refuse sparse input.

    `version` is the compiler a run recorded, so a run rebuilds as it was trained:
    1 builds one branch per column (runs made before grouping), 2 one branch per treatment
    (the same columns and values, grouped columns side by side), 3 as 2 with date parts
    scaled like numeric columns (the column's `scaling`): unscaled years and day counts kept
    lbfgs from converging."""
    from sklearn.compose import ColumnTransformer

    if version not in (1, 2, 3):
        raise ValueError(f"unknown feature compiler version {version}")
    scale_dates = version >= 3
    features = [s for s in specs if s.role == "feature"]
    if version == 1:
        parts = [
            (f"{_PREFIX[_treatment(s)[0]]}_{s.column}", _branch(_treatment(s), [s]), _columns(s))
            for s in features
        ]
    else:
        parts = _grouped_parts(features, scale_dates)
    return ColumnTransformer(
        parts, remainder="drop", verbose_feature_names_out=False, sparse_threshold=0.0 if dense else 0.3
    )


_PREFIX = {"numeric": "num", "ordinal": "ord", "onehot": "cat", "date": "date", "text": "text"}


def _treatment(spec: ColumnSpec, scale_dates: bool = False) -> tuple:
    """Columns with equal treatments share one branch (text never: TF-IDF reads one column)."""
    if spec.kind == "numeric":
        return ("numeric", spec.missing, spec.scaling)
    if spec.kind == "categorical" and spec.encoding == "ordinal" and spec.order:
        return ("ordinal",)
    if spec.kind == "categorical":
        return ("onehot",)
    if spec.kind == "date":
        return ("date", tuple(spec.date_parts), spec.scaling if scale_dates else "none")
    return ("text", spec.column, spec.max_features)


def _columns(spec: ColumnSpec):
    return spec.column if spec.kind == "text" else [spec.column]


def _grouped_parts(features: list[ColumnSpec], scale_dates: bool) -> list[tuple]:
    groups: dict[tuple, list[ColumnSpec]] = {}
    for spec in features:
        groups.setdefault(_treatment(spec, scale_dates), []).append(spec)
    parts = []
    for number, (treatment, members) in enumerate(groups.items()):
        columns = _columns(members[0]) if treatment[0] == "text" else [s.column for s in members]
        parts.append((f"{_PREFIX[treatment[0]]}_{number}", _branch(treatment, members), columns))
    return parts


def _branch(treatment: tuple, members: list[ColumnSpec]):
    """The transformer for columns that share one treatment."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

    kind = treatment[0]
    if kind == "numeric":
        _, missing, scaling = treatment
        return make_pipeline(SimpleImputer(strategy=missing), *_scaler(scaling))
    if kind == "ordinal":
        encoder = OrdinalEncoder(
            categories=[s.order for s in members],
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
        )
        return make_pipeline(FunctionTransformer(_as_text, feature_names_out="one-to-one"), encoder)
    if kind == "onehot":
        return make_pipeline(
            FunctionTransformer(_as_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore", min_frequency=5),
        )
    if kind == "date":
        _, parts, scaling = treatment
        return make_pipeline(
            DateParts(parts), SimpleImputer(strategy="median", keep_empty_features=True), *_scaler(scaling)
        )
    spec = members[0]
    return make_pipeline(
        FunctionTransformer(fill_text, feature_names_out="one-to-one"),
        ColumnTfidf(spec.column, spec.max_features),
    )


def _scaler(scaling: str) -> list:
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if scaling == "standard":
        return [StandardScaler()]
    if scaling == "minmax":
        return [MinMaxScaler()]
    return []


def _as_text(values):
    """Categories as text (1 and '1' are one category), missing kept missing."""
    import pandas as pd

    frame = pd.DataFrame(values)
    return frame.apply(lambda col: col.map(lambda v: v if pd.isna(v) else str(v))).astype(object)


def preview(specs: list[ColumnSpec], frame: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """The transformed columns on a sample: what the model will actually see."""
    import pandas as pd

    transformer = compile_transformer(specs)
    matrix = transformer.fit_transform(frame)
    if hasattr(matrix, "toarray"):
        matrix = matrix[:rows].toarray()
    return pd.DataFrame(np.asarray(matrix[:rows]), columns=transformer.get_feature_names_out())
