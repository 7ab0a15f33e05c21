"""The labelled production rows a retrain learns from and is judged on (issue 28): a file
predicted and then ingested is two batches of one stored inputs artifact, read and keyed
once; every labelled row still comes back once per batch, in that batch's window, with its
own label. On iris without an id column (rows keyed by their feature values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, registry
from cockpit.monitoring.batches import ingest
from cockpit.monitoring.labels import ingest_labels
from cockpit.projects import create_project
from cockpit.retraining.cycle import _labelled_production
from cockpit.training import runs
from cockpit.workspace import Workspace

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


def _rows(n: int, seed: int) -> pd.DataFrame:
    """n iris rows, each measurement moved a little: distinct rows, distinct keys."""
    rng = np.random.default_rng(seed)
    iris = load_iris(as_frame=True).frame
    picked = iris.iloc[rng.integers(0, len(iris), n)].reset_index(drop=True)
    features = [c for c in iris.columns if c != "target"]
    picked[features] = (picked[features] + rng.normal(0, 0.05, (n, len(features)))).round(3)
    return picked


@pytest.fixture
def iris_in_production(tmp_path: Path):
    ws, _ = Workspace.init(tmp_path / "iris")
    project = create_project(ws, "iris", "multiclass", "target")
    load_iris(as_frame=True).frame.to_csv(tmp_path / "iris.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "iris.csv")
    make_split(ws, project, "stratified", seed=1)
    run = runs.train(ws, project, "logistic_regression", seed=1)
    assert run.status == "finished", run.error
    registry.register(ws, project, run.id, override_reason="a labelled rows test")
    registry.deploy(ws, project, 1, "blue-green", reason="first", override="first")
    yield ws, project
    ws.close()


def test_a_file_predicted_then_ingested_gives_its_labelled_rows_in_both_windows(
    iris_in_production, tmp_path: Path
) -> None:
    ws, project = iris_in_production
    january, february = _rows(200, seed=1), _rows(50, seed=2)
    features = [c for c in january.columns if c != "target"]
    january[features].to_csv(tmp_path / "january.csv", index=False)
    february[features].to_csv(tmp_path / "february.csv", index=False)
    batch.predict_file(ws, project, tmp_path / "january.csv", tmp_path / "scored.csv", at="2026-01-10")
    ingest(ws, project, tmp_path / "january.csv", at="2026-02-15")
    ingest(ws, project, tmp_path / "february.csv", at="2026-02-20")
    digests = [b["inputs_sha256"] for b in batch.list_batches(ws, project)]
    assert len(digests) == 3 and len(set(digests)) == 2  # January's rows stored once
    schema = registry.get_version(ws, project, 1).input_schema
    assert _labelled_production(ws, project, schema).empty  # no labels yet

    labelled = pd.concat([january.iloc[:60], february.iloc[:10]], ignore_index=True)
    labelled["target"] = (labelled["target"] + 1) % 3  # labels the model never predicted
    labelled.to_csv(tmp_path / "labels.csv", index=False)
    assert ingest_labels(ws, project, tmp_path / "labels.csv")["rows"] == 70

    rows = _labelled_production(ws, project, schema)
    assert len(rows) == 130
    assert rows["_window"].value_counts().to_dict() == {"2026-02": 70, "2026-01": 60}
    by_window = {
        window: group.sort_values(features).reset_index(drop=True)
        for window, group in rows.groupby("_window")
    }
    expected_january = labelled.iloc[:60].sort_values(features).reset_index(drop=True)
    expected_february = labelled.sort_values(features).reset_index(drop=True)
    for window, expected in (("2026-01", expected_january), ("2026-02", expected_february)):
        got = by_window[window]
        assert np.allclose(got[features].to_numpy(), expected[features].to_numpy())
        assert got["target"].astype(int).tolist() == expected["target"].tolist()
