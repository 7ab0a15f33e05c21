"""Small timing helpers shared by the benchmark modules (stdlib only)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat(fn: Callable[[], object], repeats: int, warmup: int = 0) -> list[float]:
    """Wall seconds of `fn()` over `repeats` calls (after `warmup` untimed calls)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return times
