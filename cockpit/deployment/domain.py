"""The training domain of a model's inputs, and the rows that fall outside it.

A value outside the domain is still answered (the model does something with it), but the
answer says so: the service puts the row's warnings in its `"warnings"` field and logs it,
batch scoring and ingest list them per column. One definition, from the model version's
input schema (registry.input_schema: seen categories, the profile's min / max and null
count), three kinds:

- `unseen`: a categorical value that was not in the training split;
- `range`: a number beyond min / max by more than the range's width (1e300, say);
- `missing`: a missing value in a column that had none in the training data.

The id column is never checked: its values are always new.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.text import counted, cut

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

KINDS = ("unseen", "range", "missing")


@dataclass(frozen=True)
class Finding:
    """The rows of one column outside the domain in one way."""

    column: str
    kind: str  # one of KINDS
    mask: np.ndarray  # bool, one per row
    spec: dict[str, Any]

    def row_text(self, value: Any) -> str:
        """One row's warning: short, naming the column and what is off."""
        if self.kind == "unseen":
            return f"{self.column}: {_shown(value)} not seen in training"
        if self.kind == "range":
            return (
                f"{self.column}: {float(value):g} far outside the training range "
                f"{self.spec['min']:g} to {self.spec['max']:g}"
            )
        return f"{self.column}: missing, never missing in training"

    def summary(self, values: pd.Series, count: int | None = None) -> str:
        """The column's warning over many rows (batch scoring, ingest); `count`: the rows of
        the whole batch when `values` are its first chunk with such a row."""
        count = int(self.mask.sum()) if count is None else count
        example = values[self.mask].iloc[0]
        if self.kind == "unseen":
            return (
                f"{self.column}: {counted(count, 'row')} with a value not seen in training "
                f"(e.g. {_shown(example)})"
            )
        if self.kind == "range":
            return (
                f"{self.column}: {counted(count, 'row')} far outside the training range "
                f"{self.spec['min']:g} to {self.spec['max']:g} (e.g. {float(example):g})"
            )
        return f"{self.column}: {counted(count, 'missing value')}, never missing in training"


def findings(schema: dict[str, Any], frame: pd.DataFrame) -> Iterator[Finding]:
    """Every (column, kind) with at least one row outside the domain, in schema order.
    Vectorised over columns: one row costs about a millisecond, a million rows seconds."""
    specs = {
        c: spec
        for c, spec in schema.get("columns", {}).items()
        if spec.get("role") == "feature" and c in frame.columns
    }
    masks = {**_missing(frame, specs), **_far(frame, specs), **_unseen(frame, specs)}
    for column, spec in specs.items():
        for kind in ("missing", "range", "unseen"):
            mask = masks.get((column, kind))
            if mask is not None and mask.any():
                yield Finding(column, kind, mask, spec)


def row_warnings(schema: dict[str, Any], frame: pd.DataFrame) -> list[list[str]]:
    """Per row of `frame`, its warnings (empty when the row is inside the training domain)."""
    warned: list[list[str]] = [[] for _ in range(len(frame))]
    for found in findings(schema, frame):
        values = frame[found.column].to_numpy()
        for position in found.mask.nonzero()[0]:
            warned[position].append(found.row_text(values[position]))
    return warned


def summaries(schema: dict[str, Any], frame: pd.DataFrame) -> list[str]:
    """One line per (column, kind) outside the domain, with a count and an example."""
    return [found.summary(frame[found.column].reset_index(drop=True)) for found in findings(schema, frame)]


def _shown(value: Any) -> str:
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    return cut(repr(value), 40)


Masks = dict[tuple[str, str], "np.ndarray"]


def _missing(frame: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> Masks:
    """Missing here, none in training (a schema without a null count says nothing)."""
    columns = [c for c, spec in specs.items() if spec.get("nulls") == 0]
    if not columns:
        return {}
    missing = frame[columns].isna().to_numpy()
    return {(c, "missing"): missing[:, i] for i, c in enumerate(columns)}


def _far(frame: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> Masks:
    """Beyond min / max by more than the range's width (a constant column: its size, or 1)."""
    import numpy as np
    import pandas as pd

    columns = [
        c
        for c, spec in specs.items()
        if spec.get("kind") == "numeric" and spec.get("min") is not None and spec.get("max") is not None
    ]
    if not columns:
        return {}
    block = frame[columns]
    if all(dtype.kind in "iuf" for dtype in block.dtypes):
        numbers = block.to_numpy(dtype="float64")
    else:
        numbers = np.column_stack(
            [
                pd.to_numeric(block[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                for c in columns
            ]
        )
    low = np.array([specs[c]["min"] for c in columns], dtype="float64")
    high = np.array([specs[c]["max"] for c in columns], dtype="float64")
    width = high - low
    width = np.where(width > 0, width, np.maximum(np.abs(high), 1.0))
    with np.errstate(invalid="ignore"):
        far = (numbers < low - width) | (numbers > high + width)
    return {(c, "range"): far[:, i] for i, c in enumerate(columns)}


def _unseen(frame: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> Masks:
    """A categorical value not among the training split's; `1` and `1.0` are one value."""

    masks = {}
    for column, spec in specs.items():
        categories = spec.get("categories")
        if spec.get("kind") != "categorical" or not categories:
            continue
        seen = set(categories)
        numbers = {n for n in map(_number, categories) if n is not None}
        values = frame[column]
        texts = values.astype(str)
        unseen = values.notna().to_numpy() & ~texts.isin(seen).to_numpy()
        if numbers and unseen.any():  # "2.0" is the category "2"
            odd = {t for t in texts[unseen].unique() if _number(t) not in numbers}
            unseen &= texts.isin(odd).to_numpy()
        masks[(column, "unseen")] = unseen
    return masks


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
