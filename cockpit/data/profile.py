"""A profile of every column: inferred type, nulls, distinct values, range, top values, histogram."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.data.semantics import ID_NAME, date_formats

if TYPE_CHECKING:
    import pandas as pd

TOP = 5
BINS = 20


@dataclass(frozen=True, slots=True)
class Histogram:
    counts: list[int]
    edges: list[float]  # one more than counts


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """One column's profile as a dataset version stored it (`profile_column` makes them)."""

    name: str
    type: str  # numeric, binary, boolean, categorical, text, date or id
    nulls: int
    null_pct: float
    distinct: int
    top: list[tuple[str, int]] = field(default_factory=list)  # most frequent values first
    min: float | None = None  # numeric columns
    max: float | None = None
    mean: float | None = None
    histogram: Histogram | None = None
    formats: dict[str, int] = field(default_factory=dict)  # date columns: format -> rows

    @classmethod
    def of(cls, entry: dict[str, Any]) -> ColumnProfile:
        histogram = entry.get("histogram")
        return cls(
            name=entry["name"],
            type=entry["type"],
            nulls=entry["nulls"],
            null_pct=entry["null_pct"],
            distinct=entry["distinct"],
            top=[(str(value), int(count)) for value, count in entry.get("top") or []],
            min=entry.get("min"),
            max=entry.get("max"),
            mean=entry.get("mean"),
            histogram=Histogram(histogram["counts"], histogram["edges"]) if histogram else None,
            formats=dict(entry.get("formats") or {}),
        )


def infer_type(values: pd.Series) -> str:
    """numeric / binary / categorical / text / date / id / boolean."""
    import pandas as pd

    present = values.dropna()
    distinct = present.nunique()
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if _integer_id(values, present, distinct):
        return "id"
    if pd.api.types.is_numeric_dtype(values):
        return "binary" if distinct <= 2 else "numeric"
    if date_formats(values) is not None:
        return "date"
    if mean_words(present) >= 3:  # free text, even when every value is distinct
        return "text"
    if len(present) > 20 and distinct >= 0.95 * len(present):
        return "id"
    return "binary" if distinct == 2 else "categorical"


ID_WORDS = re.compile(r"(\bid\b|\bno\.?$|\bnumber$|\bnr\.?$)", re.IGNORECASE)


def _integer_id(values: pd.Series, present: pd.Series, distinct: int) -> bool:
    """Whole numbers, one per row, in a column named like an id ("Patient No.", "user_id",
    "Order number"): an entity id, not a measurement to train on."""
    import numpy as np

    name = str(values.name)
    if values.dtype.kind not in "iuf" or len(present) <= 20 or distinct < len(present):
        return False
    if values.dtype.kind == "f" and not np.all(np.mod(present.to_numpy(), 1) == 0):
        return False
    return bool(ID_NAME.search(name) or ID_WORDS.search(name))


def mean_words(present: pd.Series) -> float:
    return float(present.astype(str).str.split().str.len().mean()) if len(present) else 0.0


def varying_date_parts(values: pd.Series) -> list[str]:
    """The date parts that carry information at the column's resolution: yearly dates get
    the year alone, monthly ones year and month, daily ones add the weekday, times the
    hour; parts that never change are left out."""
    import pandas as pd

    times = values if values.dtype.kind == "M" else pd.to_datetime(values, format="mixed", errors="coerce")
    times = times.dropna()
    if times.nunique() < 2:
        return []
    daily = bool((times.dt.day != 1).any())
    timed = bool(((times.dt.hour != 0) | (times.dt.minute != 0)).any())
    candidates = [
        ("year", times.dt.year, True),
        ("month", times.dt.month, True),
        ("dayofweek", times.dt.day_of_week, daily or timed),
        ("hour", times.dt.hour, timed),
    ]
    parts = [name for name, series, wanted in candidates if wanted and series.nunique() > 1]
    return parts or ["days_since"]


def profile_column(name: str, values: pd.Series) -> dict[str, Any]:
    import numpy as np

    kind = infer_type(values)
    nulls = int(values.isna().sum())
    present = values.dropna()
    profile: dict[str, Any] = {
        "name": name,
        "type": kind,
        "dtype": str(values.dtype),
        "nulls": nulls,
        "null_pct": round(100 * nulls / len(values), 2) if len(values) else 0.0,
        "distinct": int(present.nunique()),
    }
    if kind in ("numeric", "binary") and len(present) and values.dtype.kind in "iuf":
        numbers = present.astype("float64")
        finite = numbers[np.isfinite(numbers)]
        profile.update(
            min=float(finite.min()) if len(finite) else None,
            max=float(finite.max()) if len(finite) else None,
            mean=float(finite.mean()) if len(finite) else None,
            std=float(finite.std()) if len(finite) > 1 else None,
            # whether a number column can hold years (features.kinds_for): float columns too
            whole=values.dtype.kind in "iu" or bool(np.all(np.mod(finite, 1) == 0)),
        )
        if len(finite):
            counts, edges = np.histogram(finite, bins=min(BINS, max(1, int(finite.nunique()))))
            profile["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
    if kind == "date":
        profile["formats"] = date_formats(values)
        profile["date_parts"] = varying_date_parts(values)
    if kind in ("categorical", "text", "id"):
        profile["mean_words"] = round(mean_words(present), 2)
    profile["present"] = int(len(present))
    top = present.astype(str).value_counts().head(TOP)
    profile["top"] = [[str(value), int(count)] for value, count in top.items()]
    return profile


def profile_frame(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [profile_column(str(name), frame[name]) for name in frame.columns]
