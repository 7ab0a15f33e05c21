"""Drift statistics, vectorised with numpy/scipy: PSI on reference bins, Jensen-Shannon
for categories, KS and chi-square p-values shown as context (on large samples they flag
trivial shifts, so alerts use the effect sizes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BINS = 10
EPSILON = 1e-4
SKETCH = 2000


def numeric_reference(values: pd.Series) -> dict[str, Any]:
    import numpy as np

    finite = values.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)))
    counts = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)[0]
    sketch = np.quantile(finite, np.linspace(0, 1, SKETCH)) if len(finite) else np.array([])
    return {"kind": "numeric", "edges": edges.tolist(), "shares": (counts / max(1, counts.sum())
                                                                   ).tolist(),
            "sketch": sketch.tolist(), "missing": float(values.isna().mean())}


def categorical_reference(values: pd.Series) -> dict[str, Any]:
    shares = values.dropna().astype(str).value_counts(normalize=True)
    return {"kind": "categorical", "shares": {str(k): float(v) for k, v in shares.head(50).items()},
            "missing": float(values.isna().mean())}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    import numpy as np

    e = np.clip(np.asarray(expected, float), EPSILON, None)
    a = np.clip(np.asarray(actual, float), EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_drift(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    import numpy as np
    from scipy import stats

    finite = values.dropna().to_numpy(dtype=float)
    edges = np.asarray(reference["edges"])
    if len(finite) == 0 or len(edges) < 2:
        return {"psi": None, "ks_p": None, "missing": float(values.isna().mean())}
    counts = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)[0]
    shares = counts / counts.sum()
    ks = stats.ks_2samp(finite, np.asarray(reference["sketch"])) if reference["sketch"] else None
    return {"psi": psi(reference["shares"], shares), "ks_p": float(ks.pvalue) if ks else None,
            "missing": float(values.isna().mean()), "mean": float(finite.mean()),
            "shares": shares.tolist()}


def categorical_drift(reference: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    present = values.dropna().astype(str)
    known = list(reference["shares"])
    counts = present.value_counts()
    actual = np.array([counts.get(k, 0) for k in known] + [counts[~counts.index.isin(known)].sum()],
                      dtype=float)
    expected = np.array([reference["shares"][k] for k in known] + [0.0])
    total = actual.sum()
    if total == 0:
        return {"psi": None, "js": None, "chi2_p": None, "missing": float(values.isna().mean())}
    shares = actual / total
    expected_counts = np.clip(expected, EPSILON, None) * total
    chi = stats.chisquare(actual, expected_counts * total / expected_counts.sum())
    new = sorted(set(counts.index) - set(known))
    return {"psi": psi(expected, shares), "js": float(jensenshannon(expected + EPSILON,
                                                                      shares + EPSILON)),
            "chi2_p": float(chi.pvalue), "missing": float(values.isna().mean()),
            "new_categories": new[:10], "shares": {k: float(s) for k, s in zip(
                [*known, "other"], shares, strict=True)}}
