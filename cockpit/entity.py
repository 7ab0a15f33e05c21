"""The entity key of a row: what canary routing, overrides and label joins use.

Its source, in order:
1. the column whose feature role is `id` (its value, as text);
2. without one, a key derived from the row's feature values: `row:` + 16 hex digits of a
   BLAKE2b hash over the values of the spec's feature columns in name order. The same
   row always gets the same key (sticky canaries), different rows spread evenly over
   canary buckets, and a labels file that repeats the feature columns joins by it.

The prediction service adds one source between the two: a request row without an id
column may carry its own key in a top-level field `id` (REQUEST_ID_FIELD) that is not a
model column; the answer's `entity` is then that text (serving_input.request_ids).

Numbers are hashed by their float value, so `1`, `1.0` and `1.00` are one key; missing
values (None, NaN, NaT) hash alike; everything else by its text.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ROW_KEY_PREFIX = "row:"
REQUEST_ID_FIELD = "id"
_SEPARATOR = "\x1f"


def _canonical(value: Any) -> str:
    if type(value) is str:  # the common case first: text is itself
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        number = float(value)
        return "" if math.isnan(number) else repr(number)
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _canonical(value.item())
    return str(value)


def _id_text(value: Any) -> str:
    """An id as text; an integer id read as a float (a blank cell elsewhere in its column
    makes pandas read 1042 as 1042.0) keeps its integer form."""
    if _canonical(value) == "":
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def row_key(values: Iterable[Any]) -> str:
    return _hashed(_SEPARATOR.join(_canonical(v) for v in values))


def key_columns(entity_column: str | None, features: Iterable[str]) -> list[str]:
    """The columns a row's key is read from."""
    return [entity_column] if entity_column else sorted(features)


def entity_keys(frame: pd.DataFrame, entity_column: str | None, features: Iterable[str]) -> pd.Series:
    """One key per row of `frame` (index kept). Missing key columns are refused by name."""
    import pandas as pd

    columns = key_columns(entity_column, features)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        source = (
            f"the entity id column {entity_column!r}"
            if entity_column
            else "the feature columns (there is no id column, so rows are keyed by their feature values)"
        )
        raise KeyError(f"missing {', '.join(map(repr, missing))}: keys are read from {source}")
    if entity_column:
        return frame[entity_column].map(_id_text).astype(object)
    texts = zip(*(_canonical_column(frame[c]) for c in columns), strict=True)
    keys = [_hashed(_SEPARATOR.join(row)) for row in texts]
    return pd.Series(keys, index=frame.index, dtype=object)


def _hashed(text: str) -> str:
    return ROW_KEY_PREFIX + hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _canonical_column(values: pd.Series) -> list[str]:
    """`_canonical` of each value, a column at a time: numpy float, integer and bool
    columns take their fast forms (the same text), anything else goes value by value."""
    import numpy as np

    kind = values.dtype.kind if isinstance(values.dtype, np.dtype) else "extension"
    if kind == "f":
        return ["" if x != x else repr(x) for x in values.tolist()]
    if kind in ("i", "u"):
        return [repr(float(x)) for x in values.tolist()]
    if kind == "b":
        return ["True" if x else "False" for x in values.tolist()]
    return [_canonical(v) for v in values.tolist()]


def schema_features(schema: dict[str, Any]) -> list[str]:
    """The feature columns of a model version's input schema."""
    return [c for c, spec in schema.get("columns", {}).items() if spec.get("role") == "feature"]


def schema_keys(
    frame: pd.DataFrame, schema: dict[str, Any], given: Sequence[str | None] | None = None
) -> pd.Series:
    """`entity_keys` as a model version's input schema defines them: its id column
    (schema "entity"), else the key each request row gave (`given`, None where it gave
    none), else the row's feature hash."""
    import pandas as pd

    keys = entity_keys(frame, schema.get("entity"), schema_features(schema))
    if given is None or schema.get("entity"):
        return keys
    supplied = pd.Series(list(given), index=frame.index, dtype=object)
    return supplied.where(supplied.notna(), keys)
