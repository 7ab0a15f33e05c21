"""The monitoring plots' axes: windows at their place in time with labels that do not
collide, bins named by their value ranges, and what a check monitored counted in its units."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from cockpit.monitoring import drift
from cockpit.monitoring.alerts import coverage
from cockpit.monitoring.axes import bin_labels, time_positions, time_ticks, window_start
from cockpit.monitoring.checks import Window, empty_window


@pytest.mark.parametrize(
    ("name", "start"),
    [("2026-08", date(2026, 8, 1)), ("2026-W14", date(2026, 3, 30)), ("2026-04-02", date(2026, 4, 2))],
)
def test_a_window_starts_on_its_first_day(name: str, start: date) -> None:
    assert window_start(name) == start


def test_windows_sit_at_their_place_in_time() -> None:
    """2026-08 and 2026-11 are three months apart on the axis, not neighbours."""
    assert time_positions(["2026-07", "2026-08", "2026-11"]) == [0.0, 31.0, 123.0]
    assert time_positions(["2026-W01", "2026-W03"]) == [0.0, 14.0]
    assert time_positions(["2026-04-01", "2026-04-02", "2026-04-30"]) == [0.0, 1.0, 29.0]


def test_date_labels_never_collide_and_keep_both_ends() -> None:
    names = [f"2026-{m:02d}" for m in range(1, 9)] + ["2026-11"]
    positions = time_positions(names)
    wide = time_ticks(names, positions, 200)
    assert wide == (positions, names)  # room for every label
    ticks, labels = time_ticks(names, positions, 40)
    assert labels[0] == "2026-01" and labels[-1] == "2026-11" and len(labels) < len(names)
    room = (positions[-1] - positions[0]) * (len("2026-01") + 2) / 40
    assert all(b - a >= room for a, b in zip(ticks, ticks[1:], strict=False))


def test_numeric_bins_are_named_by_their_value_ranges() -> None:
    values = pd.Series(np.arange(1, 101, dtype=float))
    reference = drift.numeric_reference(values)
    found = drift.numeric_drift(reference, values + 5)
    assert found["edges"] == reference["edges"]
    labels, order = bin_labels(found["shares"], found["edges"])
    assert labels[0] == "<10.9" and labels[1] == "10.9–20.8" and labels[-1] == "≥90.1"
    assert order == list(range(10))
    assert bin_labels([0.5, 0.5], None)[0] == ["bin 1", "bin 2"]  # stored before edges were
    assert bin_labels([1.0], [2000.0, 12345.6])[0] == ["2,000–12,346"]


def test_categories_are_named_and_the_largest_kept_in_order() -> None:
    shares = {"web": 0.5, "app": 0.2, "store": 0.05, "other": 0.25}
    assert bin_labels(shares, None, most=3) == (["web", "app", "other"], [0, 1, 3])


def _window(name: str, **figures) -> Window:
    stats = {**empty_window(name, "month"), **figures}
    return Window.from_stats(stats)


def test_the_demo_shape_is_counted_as_batches_and_requests_not_nine_months() -> None:
    """Eight monthly batches and a month of service requests alone: 8 batches in 8 months
    and the requests apart, never "9 months"."""
    windows = [_window(f"2026-{m:02d}", rows=1000, batches=1) for m in range(1, 9)]
    windows.append(_window("2026-11", requests=38))
    assert coverage(windows) == (
        "8 batches (8,000 rows) in 8 months, 2026-01 to 2026-08, and 38 service requests in 2026-11"
    )
    assert coverage([_window("2026-W14", rows=40, batches=2, size="week")]) == (
        "2 batches (40 rows) in 1 week (2026-W14)"
    )
    assert coverage([]) == "nothing yet (no scored batch, no service request)"
