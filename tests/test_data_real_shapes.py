"""Issue 22: `data validate` and `data split` on tables of every shape (built from
scikit-learn's bundled sets and palmerpenguins), on hostile option values, and on tables too
small to split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

from cockpit.workspace import Workspace

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


def _folder(run_cli, tmp_path: Path, frame: pd.DataFrame, task: str, target: str) -> Path:
    folder = tmp_path / "w"
    assert run_cli("init", str(folder)).exit_code == 0
    made = run_cli("project", "new", "p", "--task", task, "--target", target, workspace=folder)
    assert made.exit_code == 0, made.stderr
    frame.to_csv(tmp_path / "data.csv", index=False)
    imported = run_cli("data", "import", str(tmp_path / "data.csv"), workspace=folder)
    assert imported.exit_code == 0, imported.stderr
    return folder


def _refusal(result) -> str:
    """The one line that says what is wrong."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _counts(folder: Path) -> dict[str, int]:
    with Workspace.open(folder) as ws:
        return {
            table: ws.store.scalar(f"SELECT count(*) FROM {table}")
            for table in ("splits", "column_ranges", "events", "artifacts")
        }


def _split(run_cli, folder: Path, *args: str) -> dict:
    made = run_cli("data", "split", "--json", *args, workspace=folder)
    assert made.exit_code in (0, 1), made.output
    return json.loads(made.stdout)


@pytest.fixture
def wine(run_cli, tmp_path: Path) -> Path:
    return _folder(run_cli, tmp_path, load_wine(as_frame=True).frame, "multiclass", "target")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["validate", "--range", "alcohol=10:0"], ["'alcohol=10:0'", "MIN 10 is above MAX 0"]),
        (["validate", "--range", "alcohol=nan:5"], ["'alcohol=nan:5'", "finite"]),
        (["validate", "--range", "alcohol=1:inf"], ["'alcohol=1:inf'", "finite"]),
        (["validate", "--range", "alcohol=-inf:"], ["finite"]),
        (["validate", "--range", "alcohol=:"], ["give MIN, MAX or both"]),
        (["validate", "--range", "alcohol=1:2", "--range", "nope=1:2"], ["no column 'nope'"]),
        (["split", "--seed", "99999999999999999999"], ["--seed", "99999999999999999999"]),
        (["split", "--seed", "-1"], ["--seed"]),
        (["split", "--val", "nan"], ["--val", "not a finite number"]),
        (["split", "--test", "inf"], ["--test", "not a finite number"]),
        (
            ["split", "--val", "0.9", "--test", "0.9"],
            ["--val 0.9 and --test 0.9 leave -80%", "sum must stay below 0.9"],
        ),
        (["split", "--val", "0.45", "--test", "0.45"], ["leave 10% for training"]),
        (["split", "--val", "0"], ["--val"]),
        (["split", "--version", "99999999999999999999"], ["--version"]),
        (["leakage", "--split", "99999999999999999999"], ["--split"]),
    ],
)
def test_hostile_values_exit_2_with_one_line_and_write_nothing(run_cli, wine: Path, args, words) -> None:
    before = _counts(wine)
    line = _refusal(run_cli("data", *args, workspace=wine))
    assert all(w in line for w in words), line
    assert _counts(wine) == before


def test_a_range_on_a_column_named_in_unicode_with_spaces_and_an_equals_sign(run_cli, tmp_path: Path) -> None:
    frame = load_iris(as_frame=True).frame
    frame.columns = ["1", "sépal width ü", "2.5", "längd 花=x", "target"]
    folder = _folder(run_cli, tmp_path, frame, "multiclass", "target")
    checked = run_cli(
        "data", "validate", "--range", "längd 花=x=0:2", "--range", "1=0:5", "--json", workspace=folder
    )
    assert checked.exit_code == 1, checked.stderr
    ranges = {f["column"]: f["rows"] for f in json.loads(checked.stdout)["findings"] if f["check"] == "range"}
    assert ranges == {"längd 花=x": int((frame["längd 花=x"] > 2).sum()), "1": int((frame["1"] > 5).sum())}
    split = _split(run_cli, folder, "--strategy", "stratified")
    assert sum(split["sizes"].values()) == 150 and split["leaks"] == 0


def test_twenty_rows_are_refused_and_forty_rows_split(run_cli, tmp_path: Path) -> None:
    frame = load_iris(as_frame=True).frame
    small = _folder(run_cli, tmp_path / "a", frame.sample(20, random_state=0), "multiclass", "target")
    before = _counts(small)
    line = _refusal(run_cli("data", "split", workspace=small))
    assert line == (
        "cockpit: too few rows to split: 20 labelled rows; a split needs at least 34 "
        "with --val 0.15 --test 0.15 (at least 5 rows each in validation and test, "
        "30 in all): add data"
    )
    assert _counts(small) == before
    larger = _folder(run_cli, tmp_path / "b", frame.sample(40, random_state=0), "multiclass", "target")
    split = _split(run_cli, larger)
    assert split["sizes"] == {"train": 28, "validation": 6, "test": 6}


def test_rows_without_a_label_are_reported_and_left_out_of_every_part(run_cli, tmp_path: Path) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    gaps = np.random.default_rng(0).choice(len(frame), 30, replace=False)
    frame.loc[gaps, "target"] = None
    folder = _folder(run_cli, tmp_path, frame, "binary", "target")
    checked = json.loads(run_cli("data", "validate", "--json", workspace=folder).stdout)
    labels = next(f for f in checked["findings"] if f["check"] == "target")
    assert labels["severity"] == "error" and labels["rows"] == 30
    split = _split(run_cli, folder, "--strategy", "stratified")
    assert split["sizes"]["unlabelled"] == 30
    assert split["sizes"]["train"] + split["sizes"]["validation"] + split["sizes"]["test"] == 539
    unlabelled = next(f for f in split["leakage"] if f["check"] == "unlabelled")
    assert unlabelled["severity"] == "warning" and unlabelled["value"] == 30
    with Workspace.open(folder) as ws:
        from cockpit.data.splits import get_split, split_frames
        from cockpit.projects import resolve_project

        project = resolve_project(ws, None)
        parts = split_frames(ws, project, get_split(ws, project))
    assert all(part["target"].notna().all() for part in parts.values())
    assert sum(len(part) for part in parts.values()) == 539


def test_a_class_under_three_percent_is_stratified_or_refused_with_the_reason(
    run_cli, tmp_path: Path
) -> None:
    frame = load_wine(as_frame=True).frame
    rare = pd.concat([frame[frame.target != 2], frame[frame.target == 2].head(3)])
    folder = _folder(run_cli, tmp_path / "a", rare, "multiclass", "target")
    split = _split(run_cli, folder, "--strategy", "stratified")
    assert all(split["balance"][part]["2"] > 0 for part in ("train", "validation", "test"))
    rarer = pd.concat([frame[frame.target != 2], frame[frame.target == 2].head(2)])
    folder = _folder(run_cli, tmp_path / "b", rarer, "multiclass", "target")
    line = _refusal(run_cli("data", "split", "--strategy", "stratified", workspace=folder))
    assert "cannot stratify: class '2' (2 rows) has fewer than 3 rows" in line
    assert "--strategy random" in line
    assert run_cli("data", "split", "--strategy", "random", workspace=folder).exit_code == 0


def test_ten_classes_stratify_into_every_part(run_cli, tmp_path: Path) -> None:
    folder = _folder(run_cli, tmp_path, load_digits(as_frame=True).frame, "multiclass", "target")
    assert run_cli("data", "validate", workspace=folder).exit_code == 0
    split = _split(run_cli, folder, "--strategy", "stratified")
    assert split["leaks"] == 0
    for part in ("train", "validation", "test"):
        assert len(split["balance"][part]) == 10
        assert max(split["balance"][part].values()) - min(split["balance"][part].values()) < 0.02


@pytest.mark.parametrize("labels", [{0: "no", 1: "yes"}, {0: False, 1: True}])
def test_yes_no_and_true_false_labels(run_cli, tmp_path: Path, labels: dict) -> None:
    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].map(labels)
    folder = _folder(run_cli, tmp_path, frame, "binary", "target")
    assert run_cli("data", "validate", workspace=folder).exit_code == 0
    split = _split(run_cli, folder, "--strategy", "stratified")
    assert split["leaks"] == 0
    shares = [split["balance"][part][str(labels[0])] for part in ("train", "validation", "test")]
    assert max(shares) - min(shares) < 0.01


def test_an_all_categorical_table(run_cli, tmp_path: Path) -> None:
    import palmerpenguins

    frame = palmerpenguins.load_penguins()[["species", "island", "sex", "year"]].astype(str)
    folder = _folder(run_cli, tmp_path, frame, "multiclass", "species")
    assert run_cli("data", "validate", workspace=folder).exit_code == 0
    split = _split(run_cli, folder, "--strategy", "stratified")
    assert sum(split["sizes"].values()) == len(frame)
    best = next(f for f in split["leakage"] if f["check"] == "target_predictor")
    assert best["severity"] == "ok" and best["column"] == "island"


def test_an_infinite_regression_target_is_left_out_like_a_missing_one(run_cli, tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame.loc[[0, 1], "target"] = np.inf
    folder = _folder(run_cli, tmp_path, frame, "regression", "target")
    split = _split(run_cli, folder)
    assert split["sizes"]["unlabelled"] == 2 and split["leaks"] == 0
    assert np.isfinite([split["balance"][part]["mean"] for part in ("train", "test")]).all()
    trained = run_cli("train", "--model", "linear_regression", "--json", workspace=folder)
    assert json.loads(trained.stdout)["status"] == "finished", trained.stderr
