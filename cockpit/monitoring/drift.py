"""Drift statistics, vectorised with numpy/scipy: PSI on reference bins, Jensen-Shannon
for categories, KS and chi-square p-values shown as context (on large samples they flag
trivial shifts, so alerts use the effect sizes).

A column's current values are reduced to counts against the reference (its PSI bins, its
KS sketch, its categories), so they can arrive in chunks: `NumericCounts` / `CategoricalCounts`
accumulate chunk by chunk in bounded memory and give the same result as the one-shot
`numeric_drift` / `categorical_drift`, which are one chunk of the same code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BINS = 10
EPSILON = 1e-4
SKETCH = 2000
EXACT_KS_ROWS = 10_000  # scipy's ks_2samp is exact up to here, asymptotic beyond


def numeric_reference(values: pd.Series) -> dict[str, Any]:
    import numpy as np

    # Sorted once: both quantile calls below then partition sorted data, far cheaper.
    # No finite value at all (a column of blanks): no bins, and every drift figure is None.
    numbers = values.dropna().to_numpy(dtype=float)
    finite = np.sort(numbers[np.isfinite(numbers)])
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1))) if len(finite) else np.array([])
    counts = _bin_counts(finite, edges)
    sketch = np.quantile(finite, np.linspace(0, 1, SKETCH)) if len(finite) else np.array([])
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "shares": (counts / max(1, counts.sum())).tolist(),
        "sketch": sketch.tolist(),
        "missing": float(values.isna().mean()),
    }


def categorical_reference(values: pd.Series) -> dict[str, Any]:
    shares = values.dropna().astype(str).value_counts(normalize=True)
    return {
        "kind": "categorical",
        "shares": {str(k): float(v) for k, v in shares.head(50).items()},
        "missing": float(values.isna().mean()),
    }


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    import numpy as np

    e = np.clip(np.asarray(expected, float), EPSILON, None)
    a = np.clip(np.asarray(actual, float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_drift(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    counts = NumericCounts(reference)
    counts.add(values)
    return counts.result()


def categorical_drift(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    counts = CategoricalCounts(reference)
    counts.add(values)
    return counts.result()


def drift_in_chunks(
    features: dict[str, dict[str, Any]], chunks: Iterable[pd.DataFrame]
) -> dict[str, dict[str, Any]]:
    """Drift of every reference feature over frames read one at a time (a file too big for
    memory): each chunk is reduced to counts and dropped."""
    counters = {
        column: (NumericCounts if ref["kind"] == "numeric" else CategoricalCounts)(ref)
        for column, ref in features.items()
    }
    seen: set[str] = set()
    for chunk in chunks:
        for column, counter in counters.items():
            if column in chunk.columns:
                counter.add(chunk[column])
                seen.add(column)
    return {column: counters[column].result() for column in features if column in seen}


def _bin_counts(ordered: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)[0] of sorted values:
    bins are [e_i, e_i+1), the last one closed; values outside go to the end bins. Searching
    the few edges in sorted values is far cheaper than placing each value in a bin."""
    import numpy as np

    inner = np.searchsorted(ordered, edges[1:-1], side="left")
    return np.diff(np.concatenate([[0], inner, [len(ordered)]]))


class NumericCounts:
    """A numeric column's current values as counts: per PSI bin, and at or below / strictly
    below each distinct point of the reference sketch (what the two-sample KS statistic
    against the sketch needs), plus the sum for the mean."""

    def __init__(self, reference: dict[str, Any]) -> None:
        import numpy as np

        self.reference = reference
        self.edges = np.asarray(reference["edges"], dtype=float)
        self.sketch = np.sort(np.asarray(reference["sketch"], dtype=float))
        self.points = np.unique(self.sketch)
        self.bins = np.zeros(max(0, len(self.edges) - 1), dtype=np.int64)
        self.at_or_below = np.zeros(len(self.points), dtype=np.int64)  # values <= each point
        self.below = np.zeros(len(self.points), dtype=np.int64)  # values < each point
        self.rows = self.present = 0
        self.total = 0.0
        self.small: list[np.ndarray] = []  # the values themselves while few: exact KS

    def add(self, values: pd.Series | np.ndarray) -> None:
        import numpy as np
        import pandas as pd

        values = pd.Series(values) if not isinstance(values, pd.Series) else values
        finite = values.dropna().to_numpy(dtype=float)
        self.rows += len(values)
        self.present += len(finite)
        if len(finite) == 0:
            return
        self.total += float(finite.sum())
        ordered = np.sort(finite)  # then every count below is a search of a few points
        if len(self.edges) >= 2:
            self.bins += _bin_counts(ordered, self.edges)
        if len(self.points):
            self.at_or_below += np.searchsorted(ordered, self.points, side="right")
            self.below += np.searchsorted(ordered, self.points, side="left")
        if self.present <= EXACT_KS_ROWS:
            self.small.append(finite)
        else:
            self.small = []

    def state(self) -> tuple:
        """The counts alone (no reference): what a Dask worker sends back for `merge`."""
        return (self.bins, self.at_or_below, self.below, self.rows, self.present, self.total, self.small)

    def merge(self, state: tuple) -> None:
        """Add another counter's `state`, as if its values had been `add`ed here next."""
        bins, at_or_below, below, rows, present, total, small = state
        self.bins += bins
        self.at_or_below += at_or_below
        self.below += below
        self.rows += rows
        self.present += present
        self.total += total
        self.small = self.small + small if self.present <= EXACT_KS_ROWS else []

    def result(self) -> dict[str, Any]:
        missing = (self.rows - self.present) / self.rows if self.rows else float("nan")
        if self.present == 0 or len(self.edges) < 2:
            return {"psi": None, "ks_p": None, "missing": missing}
        shares = self.bins / self.bins.sum()
        return {
            "psi": psi(self.reference["shares"], shares),
            "ks_p": self._ks_p(),
            "missing": missing,
            "mean": self.total / self.present,
            "shares": shares.tolist(),
            "edges": self.edges.tolist(),  # the reference bins the shares are counted in
            "reference": list(self.reference["shares"]),  # what the PSI compares them with
        }

    def _ks_p(self) -> float | None:
        """scipy's ks_2samp(current, sketch) p-value: exact (scipy itself, on the values
        kept) up to EXACT_KS_ROWS, else Smirnov's asymptotic formula on the statistic, which
        the counts give exactly (the largest CDF gap lies at a sketch point or just below)."""
        import numpy as np
        from scipy import stats

        if not len(self.sketch):
            return None
        if self.present <= EXACT_KS_ROWS:
            return float(stats.ks_2samp(np.concatenate(self.small), self.sketch).pvalue)
        n, m = self.present, len(self.sketch)
        mine_le = self.at_or_below / n
        mine_lt = self.below / n
        theirs_le = np.searchsorted(self.sketch, self.points, side="right") / m
        theirs_lt = np.searchsorted(self.sketch, self.points, side="left") / m
        gaps = np.concatenate([mine_le - theirs_le, mine_lt - theirs_lt])
        largest, smallest = gaps.max(), float(np.clip(-gaps.min(), 0, 1))
        statistic = smallest if smallest > largest else largest
        big, small = sorted([float(n), float(m)], reverse=True)
        return float(np.clip(stats.kstwo.sf(statistic, np.round(big * small / (big + small))), 0, 1))


class CategoricalCounts:
    """A categorical column's current values as counts per category (and missing)."""

    def __init__(self, reference: dict[str, Any]) -> None:
        self.reference = reference
        self.counts: pd.Series | None = None
        self.rows = self.missing = 0

    def add(self, values: pd.Series) -> None:
        import pandas as pd

        values = pd.Series(values) if not isinstance(values, pd.Series) else values
        present = values.dropna()
        self.rows += len(values)
        self.missing += len(values) - len(present)
        counts = present.astype(str).value_counts()
        self.counts = counts if self.counts is None else self.counts.add(counts, fill_value=0)

    def state(self) -> tuple:
        """The counts alone (no reference): what a Dask worker sends back for `merge`."""
        return (self.counts, self.rows, self.missing)

    def merge(self, state: tuple) -> None:
        """Add another counter's `state`, as if its values had been `add`ed here next."""
        counts, rows, missing = state
        self.rows += rows
        self.missing += missing
        if counts is not None:
            self.counts = counts if self.counts is None else self.counts.add(counts, fill_value=0)

    def result(self) -> dict[str, Any]:
        import numpy as np
        import pandas as pd
        from scipy import stats
        from scipy.spatial.distance import jensenshannon

        reference = self.reference
        missing = self.missing / self.rows if self.rows else float("nan")
        counts = self.counts if self.counts is not None else pd.Series(dtype="int64")
        counts = counts.astype("int64")
        known = list(reference["shares"])
        actual = np.array(
            [counts.get(k, 0) for k in known] + [counts[~counts.index.isin(known)].sum()], dtype=float
        )
        expected = np.array([reference["shares"][k] for k in known] + [0.0])
        total = actual.sum()
        if total == 0:
            return {"psi": None, "js": None, "chi2_p": None, "missing": missing}
        shares = actual / total
        expected_counts = np.clip(expected, EPSILON, None) * total
        chi = stats.chisquare(actual, expected_counts * total / expected_counts.sum())
        new = sorted(set(counts.index) - set(known))
        return {
            "psi": psi(expected, shares),
            "js": float(jensenshannon(expected + EPSILON, shares + EPSILON)),
            "chi2_p": float(chi.pvalue),
            "missing": missing,
            "new_categories": new[:10],
            "shares": {k: float(s) for k, s in zip([*known, "other"], shares, strict=True)},
            "reference": {k: float(e) for k, e in zip([*known, "other"], expected, strict=True)},
        }
