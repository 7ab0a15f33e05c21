"""The drift benchmark's data and memory probe, shared by every side: cockpit's venv imports
it as `bench.drift_data`, the Evidently venv as `drift_data` (bench/ on PYTHONPATH), so both
compute on the same values. Needs numpy and pandas only.

25 columns: 20 numeric (num_00..num_19) and 5 categorical (cat_0..cat_4, strings). In the
current data 5 of them are shifted: num_00..num_02 (mean +0.5 sd, 1.6x wider, a shifted
exponential) and cat_0, cat_1 (category shares moved). num_03 and cat_2 have 1% missing.
The current data is made in chunks of CHUNK rows, so 10M rows can be streamed.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
SHIFTED = ["num_00", "num_01", "num_02", "cat_0", "cat_1"]
CHUNK = 250_000


def _frame(rows: int, seed: int, shifted: bool):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns = {}
    for i, name in enumerate(NUMERIC):
        mean, scale = i * 0.5, 1.0 + i / 10
        if shifted and name == "num_00":
            mean += 0.5 * scale
        if shifted and name == "num_01":
            scale *= 1.6
        if name == "num_02":
            values = rng.exponential(scale, rows) + (0.3 * scale if shifted else 0.0)
        else:
            values = rng.normal(mean, scale, rows)
        if name == "num_03":
            values[rng.random(rows) < 0.01] = np.nan
        columns[name] = values
    for i, name in enumerate(CATEGORICAL):
        levels = np.array([f"{name}_v{k:02d}" for k in range(4 + 4 * i)], dtype=object)
        weights = np.linspace(1, 2, len(levels))
        if shifted and name in ("cat_0", "cat_1"):
            weights = weights[::-1] ** 2
        values = rng.choice(levels, rows, p=weights / weights.sum())
        if name == "cat_2":
            values[rng.random(rows) < 0.01] = None
        columns[name] = pd.Series(values)  # as read_csv gives them: str (pandas 3) or object
    return pd.DataFrame(columns)


def reference(rows: int, seed: int = 1):
    return _frame(rows, seed, shifted=False)


def current_chunks(rows: int, seed: int = 2, chunk: int = CHUNK) -> Iterator:
    """The current data, CHUNK rows at a time (the last chunk may be shorter)."""
    for index, start in enumerate(range(0, rows, chunk)):
        yield _frame(min(chunk, rows - start), seed * 1_000_003 + index, shifted=True)


def current(rows: int, seed: int = 2):
    import pandas as pd

    return pd.concat(list(current_chunks(rows, seed)), ignore_index=True)


# -- memory ------------------------------------------------------------------------


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak() -> bool:
    """Reset the process's peak RSS (Linux: `5` into clear_refs), so the peak read after a
    computation is the computation's own, not that of making the data."""
    try:
        with open(f"/proc/{os.getpid()}/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak RSS since the last reset_peak (VmHWM), else since the process started."""
    try:
        with open(f"/proc/{os.getpid()}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
