"""The data sets of the conformance matrix: scikit-learn's bundled sets and palmerpenguins, and
variants derived from them in code (no data file is checked in), one shape each.

A case names its data, its task and target, the number the published results promise on the
held-out test split (checked on the logistic / linear run), and what its shape should make the
loop do (validate exits 1 on `inf`, a 20-row table is refused, one case scores a 1-row batch
and one a 200,000-row batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Case:
    name: str
    task: str  # binary | multiclass | regression
    target: str
    build: Callable[[], pd.DataFrame]
    metric: str  # checked on the first (logistic / linear) run's test split
    low: float
    high: float = 1.0
    id_column: str | None = None
    validate_codes: tuple[int, ...] = (0,)  # `data validate` on the imported version
    validate_error: str | None = None  # a word an error-level finding must hold
    clean_required: bool = False  # `data clean --suggested` must make a new version
    too_few_rows: bool = False  # the loop must stop with exit 2 naming the rows
    one_row_batch: bool = False  # predict and ingest a 1-row file too
    big_batch: int = 0  # predict and ingest a batch this large (one case only)
    console_script: bool = False  # a few steps through the installed `cockpit` script
    date_parts: tuple[str, ...] | None = None  # (a date column, then the parts its spec uses)
    text_column: str | None = None  # many-valued text: TF-IDF or ignored, never one-hot
    own_model: str | None = None  # the user's LightGBM class: trained in their own script

    @property
    def linear(self) -> str:
        return "linear_regression" if self.task == "regression" else "logistic_regression"

    def __str__(self) -> str:
        return self.name


def _sklearn(loader: str) -> pd.DataFrame:
    return _cached_sklearn(loader).copy()


@cache
def _cached_sklearn(loader: str) -> pd.DataFrame:
    import sklearn.datasets

    return getattr(sklearn.datasets, loader)(as_frame=True).frame


def penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


def breast_cancer() -> pd.DataFrame:
    return _sklearn("load_breast_cancer")


def iris() -> pd.DataFrame:
    return _sklearn("load_iris")


def wine() -> pd.DataFrame:
    return _sklearn("load_wine")


def digits() -> pd.DataFrame:
    return _sklearn("load_digits")


def diabetes() -> pd.DataFrame:
    return _sklearn("load_diabetes")


# --- variants, each one shape ------------------------------------------------------------


def cancer_string_labels() -> pd.DataFrame:
    """A string binary target ("malignant" / "benign") beside a categorical feature."""
    frame = breast_cancer()
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    frame["clinic"] = np.random.default_rng(3).choice(["north", "south", "east"], len(frame))
    return frame


def cancer_yes_no() -> pd.DataFrame:
    frame = breast_cancer().rename(columns={"target": "benign"})
    frame["benign"] = frame["benign"].map({0: "no", 1: "yes"})
    return frame


def cancer_true_false() -> pd.DataFrame:
    frame = breast_cancer().rename(columns={"target": "benign"})
    frame["benign"] = frame["benign"].astype(bool)
    return frame


def cancer_odd_id() -> pd.DataFrame:
    """An id column named oddly ("Patient No."), first, as hospital exports have it."""
    frame = breast_cancer()
    numbers = np.random.default_rng(4).choice(np.arange(84_300_000, 92_000_000), len(frame), replace=False)
    frame.insert(0, "Patient No.", [f"P{n}" for n in numbers])
    return frame


def cancer_free_text() -> pd.DataFrame:
    """A free-text note with hundreds of distinct values."""
    frame = breast_cancer()
    rng = np.random.default_rng(5)
    openings = [
        "patient reports",
        "referred for",
        "follow-up on",
        "seen about",
        "routine check of",
        "second opinion on",
        "scan requested for",
        "history of",
    ]
    subjects = [
        "a lump",
        "tenderness",
        "swelling",
        "discharge",
        "pain",
        "a mass",
        "thickening",
        "skin changes",
        "an earlier biopsy",
        "family history",
    ]
    sides = ["left side", "right side", "both sides", "upper quadrant", "lower quadrant"]
    frame["notes"] = [
        f"{rng.choice(openings)} {rng.choice(subjects)} on the {rng.choice(sides)}"
        f", visit {rng.integers(1, 9)}"
        for _ in range(len(frame))
    ]
    return frame


def wine_string_labels() -> pd.DataFrame:
    frame = wine()
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    return frame


def wine_target_nulls() -> pd.DataFrame:
    """6% of the target missing (the rows a survey never got an answer for)."""
    frame = wine()
    frame["target"] = frame["target"].astype("Int64")
    missing = np.random.default_rng(6).choice(len(frame), 11, replace=False)
    frame.loc[missing, "target"] = pd.NA
    return frame


def wine_odd_names() -> pd.DataFrame:
    """Column names that are numbers, or hold spaces and unicode."""
    frame = wine()
    names = {
        "alcohol": "alcohol %",
        "malic_acid": "1",
        "ash": "2019",
        "color_intensity": "Farbintensität (a.u.)",
        "hue": "色调",
        "proline": "prolin µg/l",
    }
    return frame.rename(columns=names)


def penguins_rare_class() -> pd.DataFrame:
    """Chinstrap kept for 8 of 284 birds: a class under 3%."""
    frame = penguins()
    chinstrap = frame.index[frame["species"] == "Chinstrap"]
    return frame.drop(chinstrap[8:]).reset_index(drop=True)


def penguins_all_categorical() -> pd.DataFrame:
    """Every column a category: the measurements binned into named quartiles."""
    frame = penguins().dropna(subset=["bill_length_mm"]).reset_index(drop=True)
    out = frame[["species", "island", "sex"]].copy()
    labels = ["short", "medium", "long", "very long"]
    for column in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        out[column.removesuffix("_mm").removesuffix("_g")] = pd.qcut(frame[column], 4, labels=labels).astype(
            str
        )
    out["year"] = frame["year"].astype(str).radd("season ")
    return out


def iris_twenty_rows() -> pd.DataFrame:
    return iris().sample(20, random_state=7).reset_index(drop=True)


def diabetes_yearly_date() -> pd.DataFrame:
    """A date at yearly resolution (January 1st of the enrolment year)."""
    frame = diabetes()
    years = np.random.default_rng(8).integers(2008, 2020, len(frame))
    frame.insert(0, "enrolled", [f"{y}-01-01" for y in years])
    return frame


def diabetes_daily_date() -> pd.DataFrame:
    frame = diabetes()
    days = np.random.default_rng(9).integers(0, 730, len(frame))
    frame.insert(
        0, "visit_date", (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    )
    return frame


def diabetes_inf() -> pd.DataFrame:
    """A few `inf` and `-inf` values, as a division by zero upstream leaves them."""
    frame = diabetes()
    frame.loc[[3, 50, 97], "bmi"] = np.inf
    frame.loc[[140, 200], "bp"] = -np.inf
    return frame


CANCER = [
    Case("breast_cancer", "binary", "target", breast_cancer, "roc_auc", 0.98),
    Case("cancer_string_labels", "binary", "target", cancer_string_labels, "roc_auc", 0.97),
    Case("cancer_yes_no", "binary", "benign", cancer_yes_no, "roc_auc", 0.97),
    Case("cancer_true_false", "binary", "benign", cancer_true_false, "roc_auc", 0.97),
]
CANCER_SHAPES = [
    Case(
        "cancer_odd_id",
        "binary",
        "target",
        cancer_odd_id,
        "roc_auc",
        0.97,
        id_column="Patient No.",
        one_row_batch=True,
    ),
    Case("cancer_free_text", "binary", "target", cancer_free_text, "roc_auc", 0.97, text_column="notes"),
]
MULTICLASS = [
    Case("iris", "multiclass", "target", iris, "accuracy", 0.9, big_batch=200_000),
    Case("wine", "multiclass", "target", wine, "accuracy", 0.9),
    Case("wine_string_labels", "multiclass", "target", wine_string_labels, "accuracy", 0.9),
    Case(
        "wine_target_nulls",
        "multiclass",
        "target",
        wine_target_nulls,
        "accuracy",
        0.85,
        validate_codes=(0, 1),
        clean_required=True,
    ),
    Case("wine_odd_names", "multiclass", "target", wine_odd_names, "accuracy", 0.9),
    Case("iris_twenty_rows", "multiclass", "target", iris_twenty_rows, "accuracy", 0.0, too_few_rows=True),
]
DIGITS = [
    Case("digits", "multiclass", "target", digits, "accuracy", 0.9),
]
PENGUINS = [
    Case("penguins", "multiclass", "species", penguins, "accuracy", 0.95, console_script=True),
    Case("penguins_rare_class", "multiclass", "species", penguins_rare_class, "accuracy", 0.9),
    Case("penguins_all_categorical", "multiclass", "species", penguins_all_categorical, "accuracy", 0.85),
]
# A user's own model (issue 24): LightGBM in the user's script through `cockpit.start_run`,
# a second one through `--model lightgbm.…`; then the same loop as every other case.
OWN_MODEL = [
    Case(
        "penguins_own_lightgbm",
        "multiclass",
        "species",
        penguins,
        "accuracy",
        0.93,
        own_model="LGBMClassifier",
    ),
    Case(
        "diabetes_own_lightgbm", "regression", "target", diabetes, "r2", 0.25, 0.6, own_model="LGBMRegressor"
    ),
]
REGRESSION = [
    Case("diabetes", "regression", "target", diabetes, "r2", 0.35, 0.6),
    Case(
        "diabetes_yearly_date",
        "regression",
        "target",
        diabetes_yearly_date,
        "r2",
        0.3,
        0.65,
        date_parts=("enrolled", "year"),
    ),
    Case(
        "diabetes_daily_date",
        "regression",
        "target",
        diabetes_daily_date,
        "r2",
        0.3,
        0.65,
        date_parts=("visit_date", "year", "month", "dayofweek"),
    ),
    Case(
        "diabetes_inf",
        "regression",
        "target",
        diabetes_inf,
        "r2",
        0.3,
        0.65,
        validate_codes=(1,),
        validate_error="inf",
        clean_required=True,
    ),
]
