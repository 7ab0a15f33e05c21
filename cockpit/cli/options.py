"""Option types that validate values at the CLI edge: a bad value is one line and exit 2.

click's own `float` accepts `nan` and `inf`, and `int` accepts numbers no seed or count
can use; these types refuse them before any command body runs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import click

MAX_SEED = 2**32 - 1  # numpy's RandomState and scikit-learn accept 0 .. 2**32 - 1

SEED = click.IntRange(0, MAX_SEED)


class FiniteFloat(click.ParamType):
    """A finite number, optionally within [low, high] (bounds may be open)."""

    name = "number"

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> None:
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    def convert(self, value: Any, param, ctx) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number", param, ctx)
            if not math.isfinite(number):
                self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            self.fail(
                f"{value} is {'not above' if self.low_open else 'below'} {self.low:g}{self._range()}",
                param,
                ctx,
            )
        if self.high is not None and (number > self.high or (self.high_open and number == self.high)):
            self.fail(
                f"{value} is {'not below' if self.high_open else 'above'} {self.high:g}{self._range()}",
                param,
                ctx,
            )
        return number

    def _range(self) -> str:
        low = "" if self.low is None else f"{'(' if self.low_open else '['}{self.low:g}"
        high = "" if self.high is None else f"{self.high:g}{')' if self.high_open else ']'}"
        return f" (allowed: {low or '(-inf'}, {high or 'inf)'})"


FRACTION = FiniteFloat(0, 1, low_open=True, high_open=True)
NON_NEGATIVE = FiniteFloat(0)
POSITIVE = FiniteFloat(0, low_open=True)


class Moment(click.ParamType):
    """A date or date-time in ISO 8601 (`2026-05-01`, `2026-05-01T12:00`), returned as ISO text
    in UTC without a zone, the form the store keeps."""

    name = "datetime"

    def convert(self, value: Any, param, ctx) -> str:
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).strip())
            except ValueError:
                self.fail(
                    f"{value!r} is not a date (use ISO 8601: 2026-05-01 or 2026-05-01T12:00)", param, ctx
                )
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        if not 1900 <= moment.year <= 9999:
            self.fail(f"{value!r} is out of range (years 1900-9999)", param, ctx)
        return moment.isoformat(timespec="seconds")


MOMENT = Moment()


MAX_INTEGER = 2**63 - 1  # SQLite's largest INTEGER: beyond it a query fails, not "no such row"


class StoredInt(click.IntRange):
    """A whole number from `low` up to what SQLite stores; the ceiling is a limit of the
    store, not of the idea, so help and errors only name the floor."""

    name = "integer"

    def __init__(self, low: int) -> None:
        super().__init__(low, MAX_INTEGER)

    def convert(self, value: Any, param, ctx) -> int:
        number = click.INT.convert(value, param, ctx)  # an int, or exit 2
        if number > MAX_INTEGER:
            self.fail(f"{value} is too large (at most {MAX_INTEGER})", param, ctx)
        return super().convert(number, param, ctx)

    def _describe_range(self) -> str:
        return f"x>={self.min}"


ROW_ID = StoredInt(1)  # a run, split, sweep, model version, alert, override, spec version
COUNT = StoredInt(0)  # how many of something (0 allowed)
JOBS = click.IntRange(1, 1024)  # parallel workers: at least one
CANARY_PERCENT = FiniteFloat(0, 100, low_open=True, high_open=True)  # a share beside production
