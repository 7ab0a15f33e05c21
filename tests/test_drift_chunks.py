"""Drift in chunks (cockpit/monitoring/drift.py): counts accumulated chunk by chunk give the
one-shot result, and the one-shot result is the plain numpy/scipy computation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cockpit.monitoring import drift


def _numeric(rows: int, seed: int, ties: bool = False) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 9, rows).astype(float) if ties else rng.normal(0.2, 1.3, rows)
    values[rng.random(rows) < 0.05] = np.nan
    if ties and rows > 3:
        values[:2] = [np.inf, -5.5]  # beyond the reference's range on both sides
    return pd.Series(values)


def _chunks(values: pd.Series, parts: int) -> list[pd.Series]:
    return [values.iloc[index] for index in np.array_split(np.arange(len(values)), parts)]


@pytest.mark.parametrize("rows", [1, 500, drift.EXACT_KS_ROWS, drift.EXACT_KS_ROWS + 1, 60_000])
@pytest.mark.parametrize("ties", [False, True])
def test_numeric_drift_is_the_plain_numpy_and_scipy_computation(rows, ties) -> None:
    reference = drift.numeric_reference(_numeric(20_000, 1, ties).replace(np.inf, 5.0))
    values = _numeric(rows, 2, ties)
    got = drift.numeric_drift(reference, values)
    finite = values.dropna().to_numpy()
    edges = np.asarray(reference["edges"])
    counts = np.histogram(np.clip(finite, edges[0], edges[-1]), bins=edges)[0]
    assert got["shares"] == (counts / counts.sum()).tolist()
    assert got["psi"] == drift.psi(reference["shares"], counts / counts.sum())
    assert got["ks_p"] == float(stats.ks_2samp(finite, np.asarray(reference["sketch"])).pvalue)
    assert got["missing"] == float(values.isna().mean())
    assert got["mean"] == float(finite.mean())


@pytest.mark.parametrize("rows", [7, 9_000, 45_000])
def test_numeric_drift_in_chunks_equals_one_shot(rows) -> None:
    reference = drift.numeric_reference(_numeric(30_000, 3))
    values = _numeric(rows, 4)
    whole = drift.numeric_drift(reference, values)
    counts = drift.NumericCounts(reference)
    for chunk in _chunks(values, 6):
        counts.add(chunk)
    chunked = counts.result()
    assert chunked.keys() == whole.keys()
    assert chunked["mean"] == pytest.approx(whole["mean"], rel=1e-12)  # summed per chunk
    assert {k: v for k, v in chunked.items() if k != "mean"} == {
        k: v for k, v in whole.items() if k != "mean"
    }


def test_categorical_drift_in_chunks_equals_one_shot() -> None:
    rng = np.random.default_rng(5)
    reference = drift.categorical_reference(pd.Series(rng.choice(list("abcde"), 5_000)))
    values = pd.Series(rng.choice(list("abcxy"), 12_000, p=[0.4, 0.3, 0.1, 0.1, 0.1]), dtype=object)
    values[rng.random(len(values)) < 0.03] = None
    whole = drift.categorical_drift(reference, values)
    counts = drift.CategoricalCounts(reference)
    for chunk in _chunks(values, 5):
        counts.add(chunk)
    assert counts.result() == whole
    assert whole["new_categories"] == ["x", "y"]


def test_drift_in_chunks_covers_every_feature_it_sees() -> None:
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({"x": rng.normal(0, 1, 4_000), "c": rng.choice(list("ab"), 4_000)})
    current = pd.DataFrame({"x": rng.normal(1, 1, 9_000), "c": rng.choice(list("abc"), 9_000)})
    features = {
        "x": drift.numeric_reference(reference["x"]),
        "c": drift.categorical_reference(reference["c"]),
        "absent": drift.numeric_reference(reference["x"]),
    }
    chunked = drift.drift_in_chunks(
        features, (current.iloc[i : i + 2_000] for i in range(0, len(current), 2_000))
    )
    assert set(chunked) == {"x", "c"}
    assert chunked["c"] == drift.categorical_drift(features["c"], current["c"])
    assert chunked["x"]["psi"] == drift.numeric_drift(features["x"], current["x"])["psi"] > 0.2


def test_empty_and_all_missing_values_keep_their_results() -> None:
    reference = drift.numeric_reference(_numeric(1_000, 7))
    empty = drift.numeric_drift(reference, pd.Series([], dtype=float))
    assert empty["psi"] is None and empty["ks_p"] is None and np.isnan(empty["missing"])
    missing = drift.numeric_drift(reference, pd.Series([np.nan] * 4))
    assert missing == {"psi": None, "ks_p": None, "missing": 1.0}
    categories = drift.categorical_drift(
        drift.categorical_reference(pd.Series(["a", "b"])), pd.Series([None, None], dtype=object)
    )
    assert categories == {"psi": None, "js": None, "chi2_p": None, "missing": 1.0}
