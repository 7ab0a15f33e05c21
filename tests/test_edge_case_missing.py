"""The "missing values" edge case sends gaps as data has them: NaN in numeric columns, None
in text columns, <NA> keeping a category dtype; a user's Pipeline that one-hot
encodes penguins' island and sex answers them (no false "missing values: NO")."""

from __future__ import annotations

from types import SimpleNamespace

import palmerpenguins
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from cockpit.evaluation.robustness import edge_cases

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
TEXT = ["island", "sex"]


def spec(column: str, kind: str) -> SimpleNamespace:
    return SimpleNamespace(column=column, role="feature", kind=kind)


def users_pipeline(frame: pd.DataFrame):
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), TEXT),
        (make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
    )
    return make_pipeline(columns, LogisticRegression(max_iter=3000)).fit(
        frame[TEXT + NUMERIC], frame["species"]
    )


def cases(frame: pd.DataFrame) -> dict[str, bool]:
    project = SimpleNamespace(target="species", task="multiclass")
    specs = [spec(c, "categorical") for c in TEXT] + [spec(c, "numeric") for c in NUMERIC]
    found = edge_cases(users_pipeline(frame), frame, project, specs)
    return {c["case"]: c["ok"] for c in found}


def test_a_one_hot_pipeline_answers_missing_text_values() -> None:
    frame = palmerpenguins.load_penguins()
    assert cases(frame)["missing values"] is True


def test_a_category_column_keeps_its_dtype_when_missing() -> None:
    frame = palmerpenguins.load_penguins()
    frame[TEXT] = frame[TEXT].astype("category")
    assert cases(frame) == {
        "unseen categories": True,
        "missing values": True,
        "out-of-range numbers": True,
        "far below range": True,
    }


def test_a_model_that_cannot_take_missing_numbers_is_still_found() -> None:
    frame = palmerpenguins.load_penguins().dropna()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[NUMERIC], frame["species"])
    project = SimpleNamespace(target="species", task="multiclass")
    found = edge_cases(model, frame, project, [spec(c, "numeric") for c in NUMERIC])
    assert {c["case"]: c["ok"] for c in found}["missing values"] is False
