"""What the tracking API accepts as a param, a metric value and a step."""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import Any

from cockpit.errors import CockpitError

MAX_LISTED = 100  # a longer array is kept as its text: params describe a run, they hold no data


def plain(value: Any) -> Any:
    """A JSON value for a param: numbers, text, booleans, None, lists and dicts of them.
    numpy scalars and small arrays become Python values; NaN and inf, and anything else
    (an estimator, a path), are kept as their text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        if getattr(value, "size", 1) > MAX_LISTED:
            return str(value)
        return plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Params as stored: text keys, JSON values."""
    if not isinstance(values, Mapping):
        raise CockpitError(f"params: give a dict of name -> value, not {type(values).__name__}")
    out = {}
    for key, value in values.items():
        name = str(key).strip()
        if not name:
            raise CockpitError(f"param name {key!r}: give non-empty text")
        out[name] = plain(value)
    return out


def metric_value(key: str, value: Any) -> float:
    """A metric point's value as a float (numpy scalars and 0-d tensors included); NaN is
    kept and stored as missing."""
    if isinstance(value, (str, bytes)):
        raise CockpitError(f"metric {key!r}: {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CockpitError(f"metric {key!r}: {value!r} is not a number") from None


def step_number(key: str, step: Any) -> int:
    """A step as given: a whole number of 0 or more (numpy integers included)."""
    if isinstance(step, bool):
        raise CockpitError(f"metric {key!r}: step {step!r} is not a whole number")
    try:
        number = operator.index(step)
    except TypeError:
        raise CockpitError(f"metric {key!r}: step {step!r} is not a whole number") from None
    if number < 0:
        raise CockpitError(f"metric {key!r}: step {number} is negative; steps count from 0")
    return number
