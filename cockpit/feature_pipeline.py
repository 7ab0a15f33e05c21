"""The feature spec compiled to one scikit-learn ColumnTransformer.

The transformers defined here are module-level classes and functions so a saved
Pipeline unpickles wherever cockpit is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from cockpit.data.semantics import as_years, year_mask
from cockpit.errors import CockpitError
from cockpit.features import COMPILER_VERSION, NOT_YEARS, ColumnSpec, year_parts_problem

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer

EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


class DateParts(TransformerMixin, BaseEstimator):
    """Dates (any format pandas can read) to numeric parts: year, month, dayofweek,
    is_weekend, hour, days_since (days since 1970). Unreadable dates become NaN.

    With `years` (compiler 4 on), a number is a year, 1 January of that year, when it is
    whole and within cockpit.data.semantics.YEARS, and any other number is unreadable; fitting refuses a
    number column that is not years, or parts that cannot vary for years. Without it
    (pipelines built or pickled before compiler 4), numbers are read as pandas reads them:
    nanoseconds after 1970."""

    def __init__(self, parts: tuple[str, ...] = ("month", "dayofweek"), years: bool = True) -> None:
        self.parts = parts
        self.years = years

    def __getstate__(self):
        state = dict(super().__getstate__())
        if not state.get("years", True):
            del state["years"]  # pickled as before compiler 4: an old run rebuilds to its own bytes
        return state

    def __setstate__(self, state):
        super().__setstate__({"years": False, **state})  # pickled before compiler 4

    def fit(self, X, y=None):
        import pandas as pd

        self.n_features_in_ = X.shape[1]
        self.columns_ = list(getattr(X, "columns", range(X.shape[1])))
        if self.years:
            frame = pd.DataFrame(X)
            for name, column in zip(self.columns_, frame.columns, strict=True):
                _check_years(str(name), frame[column], self.parts)
        return self

    def transform(self, X):
        import pandas as pd

        frame = pd.DataFrame(X)
        out = []
        for column in frame.columns:
            times = _times(frame[column], self.years)
            for part in self.parts:
                out.append(_part(times, part))
        return np.column_stack(out).astype("float64")

    def get_feature_names_out(self, input_features=None):
        names = input_features if input_features is not None else self.columns_
        return np.array([f"{c}_{p}" for c in names for p in self.parts], dtype=object)


def _times(values, years: bool):
    """A column as datetimes (NaT where unreadable)."""
    import pandas as pd

    if values.dtype.kind == "M":
        return values
    if years and values.dtype.kind in "iuf":
        return as_years(values)
    if years and values.dtype == object:  # a frame built from JSON rows: numbers beside text
        numbers = values.map(lambda v: isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
        if numbers.any():
            text = pd.to_datetime(values.where(~numbers), format="mixed", errors="coerce")
            numbers_read = as_years(values.where(numbers).astype("float64"))
            return numbers_read.where(numbers, text.astype("datetime64[s]"))
    return pd.to_datetime(values, format="mixed", errors="coerce")


def _check_years(name: str, values, parts: tuple[str, ...]) -> None:
    """Refuse to fit a number column that is not years, or parts that cannot vary for years:
    a spec saved before kinds were checked against the data (features.kind_problem)."""
    if values.dtype.kind not in "iuf":
        return
    numbers = values.dropna().to_numpy(dtype="float64")
    bad = numbers[~year_mask(numbers)]
    if len(bad):
        raise CockpitError(
            f"date column {name!r} holds numbers that are not years (e.g. {bad[0]:g}): {NOT_YEARS}; "
            f"make it numeric (cockpit features set --column {name}:kind=numeric)"
        )
    problem = year_parts_problem(parts)
    if problem:
        raise CockpitError(
            f"date column {name!r} holds years: {problem}; "
            f"cockpit features set --column {name}:date_parts=year"
        )


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
    # years (_as_years) are in seconds; in nanoseconds, year 1000 would overflow
    epoch = EPOCH if times.dt.unit == "s" else EPOCH.astype("datetime64[ns]")
    seconds = (times - epoch).dt.total_seconds()
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
    lbfgs from converging; 4 as 3 with whole numbers in a date column read as years."""
    from sklearn.compose import ColumnTransformer

    if version not in (1, 2, 3, 4):
        raise ValueError(f"unknown feature compiler version {version}")
    scale_dates, years = version >= 3, version >= 4
    features = [s for s in specs if s.role == "feature"]
    if version == 1:
        parts = [
            (f"{_PREFIX[_treatment(s)[0]]}_{s.column}", _branch(_treatment(s), [s], years), _columns(s))
            for s in features
        ]
    else:
        parts = _grouped_parts(features, scale_dates, years)
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


def _grouped_parts(features: list[ColumnSpec], scale_dates: bool, years: bool) -> list[tuple]:
    groups: dict[tuple, list[ColumnSpec]] = {}
    for spec in features:
        groups.setdefault(_treatment(spec, scale_dates), []).append(spec)
    parts = []
    for number, (treatment, members) in enumerate(groups.items()):
        columns = _columns(members[0]) if treatment[0] == "text" else [s.column for s in members]
        parts.append((f"{_PREFIX[treatment[0]]}_{number}", _branch(treatment, members, years), columns))
    return parts


def _branch(treatment: tuple, members: list[ColumnSpec], years: bool):
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
            DateParts(parts, years),
            SimpleImputer(strategy="median", keep_empty_features=True),
            *_scaler(scaling),
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
