"""Entity keys are computed a column at a time (issue 28: hashing 200,000 production rows
was most of a retrain): each key must still be exactly `row_key` of the row's values, the
definition stored labels and overrides were keyed by, on every kind of column."""

from __future__ import annotations

import numpy as np
import palmerpenguins
import pandas as pd
from sklearn.datasets import load_breast_cancer

from cockpit.entity import entity_keys, row_key


def _one_by_one(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """The keys as they were computed before: each row's values through `row_key`."""
    return [row_key(values) for values in zip(*(frame[c].tolist() for c in sorted(features)), strict=True)]


def test_penguins_keys_equal_the_row_by_row_definition() -> None:
    """Text with blanks, floats with NaN, integers, and the same table read as categories,
    nullable integers, pandas strings and dates."""
    birds = palmerpenguins.load_penguins()
    birds["tagged"] = birds["sex"].eq("male")  # a bool column
    birds["body_mass_g"] = birds["body_mass_g"].astype("Int64")  # nullable integers
    birds["island"] = birds["island"].astype("category")
    birds["species"] = birds["species"].astype("string")
    birds["seen"] = pd.to_datetime(birds["year"].astype(str) + "-06-01")
    birds.loc[[5, 9], "seen"] = pd.NaT
    features = [c for c in birds.columns if c != "year"]
    keys = entity_keys(birds, None, features)
    assert keys.tolist() == _one_by_one(birds, features)
    assert keys.nunique() == len(birds.drop_duplicates(subset=features))


def test_numbers_key_by_their_float_value_in_any_column_type() -> None:
    """1, 1.0 and a float32 1.0 are one key; -0.0, inf and NaN keep their own forms."""
    ints = pd.DataFrame({"a": [1, 2, 0, 7], "b": [3, 4, 5, 6]})
    floats = pd.DataFrame({"a": [1.0, 2.0, -0.0, np.inf], "b": np.array([3, 4, 5, 6], dtype="float32")})
    objects = pd.DataFrame({"a": [1, 2.0, None, np.int64(7)], "b": [np.float64(3), 4, 5, "6"]}, dtype=object)
    for frame in (ints, floats, objects):
        assert entity_keys(frame, None, ["b", "a"]).tolist() == _one_by_one(frame, ["a", "b"])
    same = entity_keys(ints, None, ["a", "b"]).tolist(), entity_keys(floats, None, ["a", "b"]).tolist()
    assert same[0][:2] == same[1][:2]  # 1 and 1.0
    assert same[0][2] != same[1][2]  # 0 and -0.0
    nan = pd.DataFrame({"a": [np.nan, None], "b": [3.0, 3.0]})
    assert entity_keys(nan, None, ["a", "b"]).nunique() == 1  # missing values hash alike


def test_breast_cancer_keys_as_before_and_index_kept() -> None:
    cancer = load_breast_cancer(as_frame=True).frame.sample(200, random_state=3)
    features = [c for c in cancer.columns if c != "target"]
    keys = entity_keys(cancer, None, features)
    assert keys.index.equals(cancer.index)
    assert keys.tolist() == _one_by_one(cancer, features)
    # keys as workspaces stored them before this change (computed row by row then)
    first = load_breast_cancer(as_frame=True).frame.head(1)
    assert entity_keys(first, None, features).tolist() == ["row:6e689b720fac5d7d"]
    birds = palmerpenguins.load_penguins().head(4)
    assert entity_keys(birds, None, [c for c in birds.columns if c != "species"]).tolist() == [
        "row:0fdf89f3e1872262",
        "row:bd101c8d0c43ef84",
        "row:1bd703f5d8e151e8",
        "row:24e4dc421687968b",
    ]
