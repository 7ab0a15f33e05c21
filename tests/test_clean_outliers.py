"""Issue 22: cleaning on real data. Outliers one class over-represents are signal, not error:
the suggested recipe on breast cancer keeps every class share within a point; infinite
values are an error-level finding whose suggested fix makes the data trainable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_wine

from cockpit.data import checks, datasets
from cockpit.data.recipes import apply_recipe, clean_version, suggest_recipe
from cockpit.projects import create_project


def _shares(frame: pd.DataFrame, target: str) -> pd.Series:
    return frame[target].astype(str).value_counts(normalize=True)


def test_suggested_recipe_keeps_breast_cancer_class_shares_within_a_point(workspace, tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    frame.to_csv(tmp_path / "bc.csv", index=False)
    project = create_project(workspace, "bc", "binary", "target")
    version, _ = datasets.import_dataset(workspace, project, tmp_path / "bc.csv")
    report = checks.validate(workspace, project, version)
    outliers = {f.column: f for f in report.findings if f.check == "outliers"}
    area = outliers["area error"]  # 25 extreme values, every one of them malignant
    assert area.severity == "info" and area.fix is None and area.rows == 25
    assert "100% of them 'malignant' (37% of all rows)" in area.message
    assert "signal, not error" in area.message
    child, results = clean_version(workspace, project, suggest_recipe(report.findings), version)
    before, after = _shares(frame, "target"), _shares(datasets.load_frame(workspace, child), "target")
    assert (before - after).abs().max() <= 0.01
    dropped = sum(r.rows_before - r.rows_after for r in results)
    assert 0 < dropped < 41


def test_a_recipe_that_moves_the_class_balance_says_so(tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    _, results = apply_recipe(frame, [{"op": "drop_outliers", "column": "area error"}], labels="target")
    assert results[0].rows_before - results[0].rows_after == 25
    assert "class balance moved: 1 62.7% -> 65.6%, 0 37.3% -> 34.4%" in results[0].note


def _wine_with_inf(tmp_path: Path) -> Path:
    frame = load_wine(as_frame=True).frame
    frame.loc[[3, 50, 100], "alcohol"] = np.inf
    frame.loc[[7], "magnesium"] = -np.inf
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def test_infinite_values_are_an_error_and_the_suggested_clean_makes_training_work(
    run_cli, tmp_path: Path
) -> None:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "wine", "--task", "multiclass", "--target", "target", workspace=folder)
    assert run_cli("data", "import", str(_wine_with_inf(tmp_path)), workspace=folder).exit_code == 0
    checked = run_cli("data", "validate", "--json", workspace=folder)
    assert checked.exit_code == 1
    infinite = {f["column"]: f for f in json.loads(checked.stdout)["findings"] if f["check"] == "infinite"}
    assert {c: (f["severity"], f["rows"]) for c, f in infinite.items()} == {
        "alcohol": ("error", 3),
        "magnesium": ("error", 1),
    }
    assert "3 infinite values in 'alcohol' (3 +inf)" in infinite["alcohol"]["message"]
    assert infinite["magnesium"]["fix"] == {"op": "replace_inf", "column": "magnesium", "fill": "median"}
    assert "negative" not in checked.stdout  # -inf is not "a negative value"
    cleaned = run_cli("data", "clean", "--suggested", workspace=folder)
    assert cleaned.exit_code == 0, cleaned.stderr
    assert "3 infinite values made missing; gaps filled with 13.05" in cleaned.stderr
    assert run_cli("data", "validate", workspace=folder).exit_code == 0
    assert run_cli("data", "split", workspace=folder).exit_code == 0
    trained = run_cli("train", "--model", "logistic_regression", "--json", workspace=folder)
    assert trained.exit_code == 0, trained.stderr
    run = json.loads(trained.stdout)
    assert run["status"] == "finished" and run["score"] > 0.9


def test_infinite_target_values_drop_their_rows(workspace, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.loc[[0, 1], "target"] = np.inf
    frame.to_csv(tmp_path / "d.csv", index=False)
    project = create_project(workspace, "d", "regression", "target")
    version, _ = datasets.import_dataset(workspace, project, tmp_path / "d.csv")
    report = checks.validate(workspace, project, version)
    finding = next(f for f in report.findings if f.check == "infinite")
    assert finding.fix == {"op": "drop_rows", "column": "target", "when": "infinite"}
    child, _ = clean_version(workspace, project, suggest_recipe(report.findings), version)
    assert child.rows == len(frame) - 2


def test_repeated_rows_that_carry_a_class_are_kept(workspace, tmp_path: Path) -> None:
    """An all-categorical table (penguins with binned measurements) repeats many rows, and
    those repeats are mostly Adelie and Gentoo: dropping them would reweight the classes."""
    from palmerpenguins import load_penguins

    penguins = load_penguins().dropna(subset=["bill_length_mm"]).reset_index(drop=True)
    frame = penguins[["species", "island", "sex"]].copy()
    for column in ("bill_length_mm", "flipper_length_mm", "body_mass_g"):
        frame[column] = pd.qcut(penguins[column], 4, labels=["s", "m", "l", "xl"]).astype(str)
    frame.to_csv(tmp_path / "binned.csv", index=False)
    project = create_project(workspace, "binned", "multiclass", "species")
    version, _ = datasets.import_dataset(workspace, project, tmp_path / "binned.csv")
    report = checks.validate(workspace, project, version)
    duplicates = next(f for f in report.findings if f.check == "duplicates")
    copies = int(frame.duplicated().sum())
    assert duplicates.rows == copies > 100
    assert duplicates.severity == "info" and duplicates.fix is None
    assert "genuine repeated observations: kept" in duplicates.message
    assert {"op": "drop_duplicates"} not in suggest_recipe(report.findings)


def test_clean_suggested_with_nothing_to_clean_keeps_a_chain_going(
    workspace, run_cli, tmp_path: Path
) -> None:
    """Wine is clean: `data clean --suggested` exited 2, stopping the README's `&&` chain; it now
    says so, prints the version to use (no new one) and exits 0. Errors with no suggested fix
    still exit 2, naming the way to clean them."""
    load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv", index=False)
    folder = workspace.root
    assert (
        run_cli(
            "project", "new", "wine", "--task", "multiclass", "--target", "target", workspace=folder
        ).exit_code
        == 0
    )
    assert run_cli("data", "import", str(tmp_path / "wine.csv"), workspace=folder).exit_code == 0
    cleaned = run_cli("data", "clean", "--suggested", workspace=folder)
    assert (cleaned.exit_code, cleaned.stdout.strip()) == (0, "1")
    assert "nothing to clean in v1 wine: it stays the version to use" in cleaned.stderr
    as_json = json.loads(run_cli("data", "clean", "--suggested", "--json", workspace=folder).stdout)
    assert (as_json["id"], as_json["steps"]) == (1, [])
    assert workspace.store.scalar("SELECT count(*) FROM dataset_versions") == 1
