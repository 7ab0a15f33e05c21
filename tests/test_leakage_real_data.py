"""Issue 22: the leakage check on real data. Breast cancer's real measurements are strong
features (single-column ROC AUC ~0.98), not leaks; a copy of the label, a column named like
the target and a date recorded after the outcome still are. String labels with categorical
columns no longer crash the check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from cockpit.data import datasets, splits
from cockpit.projects import create_project


def breast_cancer() -> pd.DataFrame:
    """The 569 tumours, the target as text, plus a categorical column of no meaning."""
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    frame["site"] = np.random.default_rng(0).choice(["north", "south", "east"], len(frame))
    return frame


def _folder(run_cli, tmp_path: Path, frame: pd.DataFrame, target: str = "diagnosis") -> Path:
    folder = tmp_path / "w"
    assert run_cli("init", str(folder)).exit_code == 0
    made = run_cli("project", "new", "bc", "--task", "binary", "--target", target, workspace=folder)
    assert made.exit_code == 0, made.stderr
    path = tmp_path / "bc.csv"
    frame.to_csv(path, index=False)
    imported = run_cli("data", "import", str(path), workspace=folder)
    assert imported.exit_code == 0, imported.stderr
    return folder


def _predictors(split: dict) -> dict[str, dict]:
    return {f["column"]: f for f in split["leakage"] if f["check"] == "target_predictor"}


def test_string_labels_with_categories_split_and_real_measurements_are_not_leaks(
    run_cli, tmp_path: Path
) -> None:
    folder = _folder(run_cli, tmp_path, breast_cancer())
    made = run_cli("data", "split", "--json", workspace=folder)
    assert made.exit_code == 0, made.stderr
    split = json.loads(made.stdout)
    assert split["leaks"] == 0
    found = _predictors(split)
    strong = {c: f for c, f in found.items() if f["severity"] == "info"}
    assert "worst perimeter" in strong
    assert all(f["value"] >= 0.95 and "strong feature, not a leak" in f["message"] for f in strong.values())
    assert not [f for f in split["leakage"] if f["severity"] == "error"]
    text = run_cli("data", "split", "--seed", "7", workspace=folder)
    assert text.exit_code == 0 and text.stdout.strip() == "2"
    assert "LEAK" not in text.stderr and "worst perimeter" in text.stderr


def test_a_copy_of_the_label_and_a_column_named_like_the_target_are_still_leaks(
    workspace, tmp_path: Path
) -> None:
    frame = breast_cancer()
    malignant = (frame["diagnosis"] == "malignant").astype(int)
    frame["diagnosis_code"] = malignant  # named like the target
    frame["review_flag"] = malignant.map({1: "red", 0: "green"})  # a clean copy, plain name
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    project = create_project(workspace, "bc", "binary", "diagnosis")
    datasets.import_dataset(workspace, project, path)
    split = splits.make_split(workspace, project, "stratified", seed=3)
    found = _predictors(split.as_dict())
    assert split.leaks == 2
    assert {c for c, f in found.items() if f["severity"] == "error"} == {"diagnosis_code", "review_flag"}
    assert "its name contains the target's name ('diagnosis')" in found["diagnosis_code"]["evidence"]
    assert found["review_flag"]["evidence"] == [
        "it separates the target with no error on train and held-out rows alike"
    ]
    assert found["review_flag"]["value"] == 1.0
    assert found["worst perimeter"]["severity"] == "info"


def test_a_date_only_recorded_for_one_outcome_is_a_leak(workspace, tmp_path: Path) -> None:
    frame = breast_cancer()
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(frame)) % 300, unit="D")
    frame["surgery_on"] = days.strftime("%Y-%m-%d").where(frame["diagnosis"] == "malignant")
    path = tmp_path / "dated.csv"
    frame.to_csv(path, index=False)
    project = create_project(workspace, "bc", "binary", "diagnosis")
    datasets.import_dataset(workspace, project, path)
    split = splits.make_split(workspace, project, "stratified", seed=5)
    finding = _predictors(split.as_dict())["surgery_on"]
    assert finding["severity"] == "error" and split.leaks == 1
    assert "a date that alone tells the outcome was most likely recorded after it" in finding["evidence"]


def test_a_noisy_proxy_far_stronger_than_the_rest_is_a_leak(workspace, tmp_path: Path) -> None:
    """3% of a label copy flipped: ROC AUC ~0.97 alone, where every real column together
    reaches ~0.8 on this weakly separable version of the data."""
    frame = breast_cancer()[["mean texture", "texture error", "mean symmetry", "diagnosis"]]
    proxy = (frame["diagnosis"] == "malignant").to_numpy().astype(int)
    flip = np.random.default_rng(0).random(len(proxy)) < 0.03
    proxy[flip] = 1 - proxy[flip]
    path = tmp_path / "proxy.csv"
    frame.assign(second_opinion=proxy).to_csv(path, index=False)
    project = create_project(workspace, "bc", "binary", "diagnosis")
    datasets.import_dataset(workspace, project, path)
    split = splits.make_split(workspace, project, "stratified", seed=1)
    finding = _predictors(split.as_dict())["second_opinion"]
    assert finding["severity"] == "error"
    assert [e for e in finding["evidence"] if e.startswith("alone it beats every other column")]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_iris_petals_are_strong_features_not_leaks(workspace, tmp_path: Path, seed: int) -> None:
    from sklearn.datasets import load_iris

    path = tmp_path / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(path, index=False)
    project = create_project(workspace, "iris", "multiclass", "target")
    datasets.import_dataset(workspace, project, path)
    split = splits.make_split(workspace, project, "stratified", seed=seed)
    assert split.leaks == 0
    assert all(f["severity"] in ("ok", "info") for f in split.leakage if f["check"] == "target_predictor")


def test_repeats_in_a_table_of_few_values_are_not_copies() -> None:
    """Penguins with every measurement binned: many rows look alike by nature, so held-out
    rows equal to training rows are a note; in real measurements they stay a leak."""
    import numpy as np
    import pandas as pd
    from palmerpenguins import load_penguins

    from cockpit.data.leakage import _identical_rows

    penguins = load_penguins().dropna(subset=["bill_length_mm"]).reset_index(drop=True)
    binned = penguins[["species", "island", "sex"]].copy()
    for column in ("bill_length_mm", "flipper_length_mm", "body_mass_g"):
        binned[column] = pd.qcut(penguins[column], 4, labels=["s", "m", "l", "xl"]).astype(str)
    assignment = np.random.default_rng(0).choice([0, 1, 2], len(binned), p=[0.7, 0.15, 0.15])
    [finding] = _identical_rows(binned, assignment, [], "species")
    assert finding["severity"] == "info" and "repeats are expected here" in finding["message"]
    measured = penguins.drop(columns=["year"])
    copied = pd.concat([measured, measured.iloc[:60]], ignore_index=True)
    assignment = np.r_[np.zeros(len(measured), int), np.ones(60, int)]
    [finding] = _identical_rows(copied, assignment, [], "species")
    assert finding["severity"] == "error" and finding["value"] == 1.0
