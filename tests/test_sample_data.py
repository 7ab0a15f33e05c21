"""The committed sample data: byte-for-byte reproducible, and every planted effect holds.

The numbers checked here are the ones sample_data/README.md promises: drift (PSI) per
month, the decay of a reference-trained model once the label relationship shifts, the
weak region, the absence of a leaking feature, and the planted problems of the churn and
house-price tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sample_data import (
    SAMPLE_DIR,
    churn_customers,
    data_files,
    house_prices,
    learner_batches,
    learner_labels,
    learner_reference,
)
from sample_data.generate import generate

NUMERIC = ["lesson_progress", "quiz_attempts", "avg_score", "days_since_last_activity"]
CATEGORICAL = ["device", "region"]
FEATURES = NUMERIC + CATEGORICAL
TARGET = "needs_support"
WEAK_REGION = "South"
SEED = 42
STABLE_MONTHS = ["2026-01", "2026-02", "2026-03"]
DRIFT_MONTHS = ["2026-04", "2026-05", "2026-06", "2026-07"]


# --------------------------------------------------------------------------- helpers


def psi(reference: pd.Series, current: pd.Series, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index: quantile bins of the reference (one bin per category)."""
    if pd.api.types.is_numeric_dtype(reference):
        edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1))[1:-1])
        ref_bins = np.searchsorted(edges, reference.to_numpy(), side="right")
        cur_bins = np.searchsorted(edges, current.to_numpy(), side="right")
        ref_share = np.bincount(ref_bins, minlength=len(edges) + 1) / len(reference)
        cur_share = np.bincount(cur_bins, minlength=len(edges) + 1) / len(current)
    else:
        cats = sorted(set(reference) | set(current))
        ref_share = reference.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy()
        cur_share = current.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy()
    ref_share, cur_share = np.clip(ref_share, eps, None), np.clip(cur_share, eps, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def make_model() -> Pipeline:
    """The plain baseline a user would train first: scaled numbers, one-hot categories."""
    prep = ColumnTransformer(
        [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]
    )
    return make_pipeline(prep, LogisticRegression(class_weight="balanced", max_iter=1000))


def raw_csv(path: Path) -> pd.DataFrame:
    """A CSV exactly as written: every cell a string, empty cells kept empty."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(learner_reference())


@pytest.fixture(scope="module")
def batches() -> dict[str, pd.DataFrame]:
    return {path.stem: pd.read_csv(path) for path in learner_batches()}


@pytest.fixture(scope="module")
def labelled(batches: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each labelled month: the batch joined to its late labels on learner_id."""
    out = {}
    for path in learner_labels():
        labels = pd.read_csv(path)
        out[path.stem] = batches[path.stem].merge(labels, on="learner_id", validate="1:1")
    return out


@pytest.fixture(scope="module")
def month_recall(reference: pd.DataFrame, labelled: dict[str, pd.DataFrame]) -> dict[str, float]:
    model = make_model().fit(reference[FEATURES], reference[TARGET])
    return {m: recall_score(df[TARGET], model.predict(df[FEATURES])) for m, df in labelled.items()}


# --------------------------------------------------------------------------- reproducibility


def test_generator_reproduces_committed_files_byte_for_byte(tmp_path: Path) -> None:
    generate(tmp_path)
    committed = data_files(SAMPLE_DIR)
    assert len(committed) == 18  # reference + 8 batches + 7 labels + churn + houses
    assert data_files(tmp_path) == committed
    for rel in committed:
        assert (tmp_path / rel).read_bytes() == (SAMPLE_DIR / rel).read_bytes(), rel


def test_committed_data_is_small() -> None:
    total = sum((SAMPLE_DIR / rel).stat().st_size for rel in data_files(SAMPLE_DIR))
    assert total < 3_000_000


# --------------------------------------------------------------------------- learner support: layout


def test_learner_files_and_columns(reference: pd.DataFrame, batches: dict[str, pd.DataFrame]) -> None:
    assert list(batches) == [f"2026-{m:02d}" for m in range(1, 9)]
    assert [p.stem for p in learner_labels()] == list(batches)[:-1]  # 2026-08 not labelled yet
    assert len(reference) == 6000
    assert 0.25 <= reference[TARGET].mean() <= 0.32
    for month, batch in batches.items():
        assert 900 <= len(batch) <= 1000
        assert TARGET not in batch.columns
        assert list(batch.columns) == [*reference.columns.drop(TARGET), "scored_at"]
        assert batch["scored_at"].str.startswith(month).all()
    ids = pd.concat([reference["learner_id"], *(b["learner_id"] for b in batches.values())])
    assert ids.is_unique and ids.str.fullmatch(r"L\d{6}").all()


def test_labels_arrive_a_month_late(batches: dict[str, pd.DataFrame]) -> None:
    for path in learner_labels():
        labels = pd.read_csv(path)
        assert list(labels.columns) == ["learner_id", TARGET, "labelled_at"]
        assert set(labels["learner_id"]) == set(batches[path.stem]["learner_id"])
        next_month = (pd.Period(path.stem, "M") + 1).start_time.date().isoformat()
        assert (labels["labelled_at"] == next_month).all()


def test_learner_columns_look_real(reference: pd.DataFrame) -> None:
    assert reference["lesson_progress"].between(0, 1).all()
    assert reference["avg_score"].between(0, 100).all()
    assert set(reference["device"]) == {"desktop", "mobile", "tablet"}
    assert set(reference["region"]) == {"North", "South", "East", "West", "Central"}
    assert reference["cohort"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert pd.to_datetime(reference["signup_date"], format="%Y-%m-%d").notna().all()
    empty_notes = reference["mentor_notes"].isna().mean()
    assert 0.2 < empty_notes < 0.6


# --------------------------------------------------------------------------- learner support: drift


@pytest.mark.parametrize("month", STABLE_MONTHS)
def test_first_months_do_not_drift(
    reference: pd.DataFrame, batches: dict[str, pd.DataFrame], month: str
) -> None:
    for column in [*FEATURES, "cohort"]:
        assert psi(reference[column], batches[month][column]) < 0.1, column


@pytest.mark.parametrize("month", [*DRIFT_MONTHS, "2026-08"])
def test_drift_from_april(reference: pd.DataFrame, batches: dict[str, pd.DataFrame], month: str) -> None:
    batch = batches[month]
    for column in ["device", "days_since_last_activity"]:
        assert psi(reference[column], batch[column]) > 0.2, column
    assert (batch["device"] == "mobile").mean() > (reference["device"] == "mobile").mean() + 0.2
    assert batch["lesson_progress"].mean() < reference["lesson_progress"].mean() - 0.03


# --------------------------------------------------------------------------- learner support: model


def test_model_decays_once_the_label_relationship_shifts(month_recall: dict[str, float]) -> None:
    stable = np.mean([month_recall[m] for m in STABLE_MONTHS])
    drifted = np.mean([month_recall[m] for m in DRIFT_MONTHS])
    assert all(0.72 <= month_recall[m] <= 0.88 for m in STABLE_MONTHS), month_recall
    assert drifted <= stable - 0.15, month_recall
    assert all(month_recall[m] < stable - 0.1 for m in DRIFT_MONTHS), month_recall


def test_weak_region_on_a_stratified_holdout(reference: pd.DataFrame) -> None:
    train, test = train_test_split(reference, test_size=0.25, stratify=reference[TARGET], random_state=SEED)
    model = make_model().fit(train[FEATURES], train[TARGET])
    pred = model.predict(test[FEATURES])
    score = model.predict_proba(test[FEATURES])[:, 1]
    weak = (test["region"] == WEAK_REGION).to_numpy()
    overall_auc = roc_auc_score(test[TARGET], score)
    assert 0.78 <= overall_auc <= 0.9
    gap = recall_score(test[TARGET], pred) - recall_score(test[TARGET][weak], pred[weak])
    assert gap >= 0.15
    assert roc_auc_score(test[TARGET][weak], score[weak]) < overall_auc - 0.15


def test_region_alone_predicts_little(reference: pd.DataFrame) -> None:
    rates = reference.groupby("region")[TARGET].mean()
    assert (rates - reference[TARGET].mean()).abs().max() < 0.04


def single_feature_auc(frame: pd.DataFrame, column: str) -> float:
    """ROC AUC of one column alone (categories scored by their positive rate)."""
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values):
        values = values.fillna("")
        values = values.map(frame[TARGET].groupby(values).mean())
    auc = roc_auc_score(frame[TARGET], values)
    return max(auc, 1 - auc)


def test_no_single_feature_leaks_the_label(reference: pd.DataFrame) -> None:
    columns = [*FEATURES, "mentor_notes", "cohort"]
    aucs = {column: single_feature_auc(reference, column) for column in columns}
    assert max(aucs.values()) < 0.85, aucs
    assert aucs["mentor_notes"] > 0.6  # the notes do carry some signal


# --------------------------------------------------------------------------- churn

DATE_PATTERNS = {
    "iso": r"\d{4}-\d{2}-\d{2}",
    "us": r"\d{2}/\d{2}/\d{4}",
    "day month year": r"\d{2} [A-Z][a-z]{2} \d{4}",
}


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return raw_csv(churn_customers())


def test_churn_duplicates_and_repeated_ids(churn: pd.DataFrame) -> None:
    assert 2800 <= len(churn) <= 3200
    assert churn.duplicated().sum() == 40
    unique_rows = churn.drop_duplicates()
    repeated = unique_rows[unique_rows["customer_id"].duplicated(keep=False)]
    assert repeated["customer_id"].nunique() == 30
    same_date = repeated.groupby("customer_id")["signup_date"].nunique() == 1
    assert same_date.sum() == 12  # conflicting copies: same signup, contradicting values
    assert (~same_date).sum() == 18  # plan changes: a later signup, another plan
    plans = repeated.groupby("customer_id")["plan"].nunique()
    assert (plans[~same_date] == 2).all()


def test_churn_mixed_formats_spellings_and_outliers(churn: pd.DataFrame) -> None:
    for name, pattern in DATE_PATTERNS.items():
        assert churn["signup_date"].str.fullmatch(pattern).sum() > 100, name
    assert churn["signup_date"].str.fullmatch("|".join(DATE_PATTERNS.values())).all()
    variants = {"New York", "new york", "NY", " New York ", "San Francisco", "SF", "san francisco"}
    assert variants <= set(churn["city"])
    assert {"200", "-1"} <= set(churn["age"])
    assert "99999.00" in set(churn["monthly_charges"])


def test_churn_missing_values_and_label(churn: pd.DataFrame) -> None:
    for column in ["monthly_charges", "age", "payment_method"]:
        assert 0.01 <= (churn[column] == "").mean() <= 0.06, column
    assert 0.15 <= (churn["churned"] == "1").mean() <= 0.25


# --------------------------------------------------------------------------- house prices


def test_house_prices() -> None:
    houses = pd.read_csv(house_prices())
    assert len(houses) == 2000 and houses["house_id"].is_unique
    assert 5 <= (houses["price"] == 1).sum() <= 8
    real = houses[houses["price"] > 1]
    assert real["price"].min() > 50_000
    assert np.corrcoef(np.log(real["price"]), np.log(real["sqft"]))[0, 1] > 0.7
    assert set(houses["condition"]) == {"poor", "fair", "good", "excellent"}
