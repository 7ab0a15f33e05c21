"""Evaluation and the gate, with numbers checked against scikit-learn on the same predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.evaluation import gate as gating
from cockpit.evaluation import report
from cockpit.evaluation.predictions import run_predictions
from cockpit.projects import create_project
from cockpit.training import runs

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


def _frame(task: str, n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, z = rng.normal(0, 1, n), rng.normal(0, 1, n)
    colour = rng.choice(["red", "green", "blue"], n)
    if task == "binary":
        y = (x + 0.5 * z + rng.normal(0, 0.8, n) > 0.6).astype(int)
    elif task == "multiclass":
        y = np.select([x > 0.5, x < -0.5], ["high", "low"], "mid")
    else:
        y = 3 * x + z + rng.normal(0, 0.5, n) + 10
    return pd.DataFrame({"x": x, "z": z, "colour": colour, "y": y})


def _project(workspace, tmp_path: Path, task: str, spec: problem.ProblemSpec | None = None):
    project = create_project(workspace, task, task, "y")
    path = tmp_path / f"{task}.csv"
    _frame(task).to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "random" if task == "regression" else "stratified", seed=3)
    if spec:
        problem.save_spec(workspace, project, spec)
    return project


def test_binary_report_matches_sklearn(workspace, tmp_path) -> None:
    project = _project(workspace, tmp_path, "binary", problem.ProblemSpec(metric="recall", metric_target=0.8))
    run = runs.train(workspace, project, "logistic_regression")
    evaluation = report.evaluate(workspace, project, run, "test")
    stored = runs.get_run(workspace, project, run.id)
    assert stored.threshold == evaluation.threshold and "recall" in stored.threshold_reason

    p = run_predictions(workspace, project, stored, "test", stored.threshold)
    scores = p.positive_scores
    expected_pred = (scores >= stored.threshold).astype(int)
    assert np.array_equal(p.y_pred, expected_pred)
    m = evaluation.metrics
    assert m["recall"] == pytest.approx(skm.recall_score(p.y_true, expected_pred))
    assert m["precision"] == pytest.approx(skm.precision_score(p.y_true, expected_pred))
    assert m["f1"] == pytest.approx(skm.f1_score(p.y_true, expected_pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(p.y_true, scores))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(p.y_true, scores))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(p.y_true, scores))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(p.y_true, expected_pred))
    assert evaluation.details["confusion"] == skm.confusion_matrix(p.y_true, expected_pred).tolist()
    assert len(evaluation.details["calibration"]["observed"]) >= 5
    # the threshold was chosen on validation to reach the recall target there
    validation = run_predictions(workspace, project, stored, "validation", stored.threshold)
    assert skm.recall_score(validation.y_true, validation.y_pred) >= 0.8 + 0.04  # target + margin


def test_multiclass_report_matches_sklearn(workspace, tmp_path) -> None:
    project = _project(workspace, tmp_path, "multiclass")
    run = runs.train(workspace, project, "random_forest", ["n_estimators=30"])
    evaluation = report.evaluate(workspace, project, run, "validation")
    p = run_predictions(workspace, project, run, "validation")
    assert evaluation.threshold is None
    assert evaluation.metrics["f1"] == pytest.approx(skm.f1_score(p.y_true, p.y_pred, average="macro"))
    assert evaluation.metrics["accuracy"] == pytest.approx(skm.accuracy_score(p.y_true, p.y_pred))
    assert evaluation.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(p.y_true, p.proba, multi_class="ovr", labels=p.classes)
    )
    assert evaluation.details["labels"] == ["high", "low", "mid"]
    assert (
        evaluation.details["confusion"] == skm.confusion_matrix(p.y_true, p.y_pred, labels=p.classes).tolist()
    )
    assert set(evaluation.details["per_class"]) == {"high", "low", "mid"}
    confusion = evaluation.confusion  # what the evaluation screen's table reads
    assert confusion.labels == ["high", "low", "mid"]
    assert confusion.counts == skm.confusion_matrix(p.y_true, p.y_pred, labels=p.classes).tolist()
    assert evaluation.error_by_range is None and evaluation.reference_run is None


def test_regression_report_matches_sklearn(workspace, tmp_path) -> None:
    project = _project(
        workspace, tmp_path, "regression", problem.ProblemSpec(metric="mae", metric_target=1.0)
    )
    run = runs.train(workspace, project, "ridge")
    evaluation = report.evaluate(workspace, project, run, "test")
    p = run_predictions(workspace, project, run, "test")
    assert evaluation.metrics["mae"] == pytest.approx(skm.mean_absolute_error(p.y_true, p.y_pred))
    assert evaluation.metrics["rmse"] == pytest.approx(skm.root_mean_squared_error(p.y_true, p.y_pred))
    assert evaluation.metrics["r2"] == pytest.approx(skm.r2_score(p.y_true, p.y_pred))
    assert sum(b["rows"] for b in evaluation.details["error_by_range"]) == len(p.y_true)
    assert sum(evaluation.details["residuals"]["counts"]) == len(p.y_true)
    assert evaluation.baseline["metrics"]["r2"] <= 0.0
    bands = evaluation.error_by_range  # what the evaluation screen's table reads
    assert [(b.low, b.high, b.mae, b.rows) for b in bands] == [
        (b["low"], b["high"], b["mae"], b["rows"]) for b in evaluation.details["error_by_range"]
    ]
    assert all(a.high <= b.low for a, b in zip(bands, bands[1:], strict=False))  # fifths, in order
    assert evaluation.confusion is None and evaluation.baseline_metrics["r2"] <= 0.0


def test_gate_passes_a_good_run_and_fails_the_baseline_and_a_missed_target(workspace, tmp_path):
    project = _project(
        workspace, tmp_path, "binary", problem.ProblemSpec(metric="roc_auc", metric_target=0.8)
    )
    good = runs.train(workspace, project, "logistic_regression")
    dummy = runs.train(workspace, project, "dummy")
    passed = gating.gate(workspace, project, good)
    assert passed.passed and {r.name for r in passed.rules} == {
        "target",
        "baseline",
        "reference",
        "segments",
        "stability",
        "latency",
    }

    failed = gating.gate(workspace, project, dummy)
    assert not failed.passed
    assert [r.name for r in failed.rules if not r.passed] == ["target", "baseline"]

    problem.save_spec(workspace, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.999))
    missed = gating.gate(workspace, project, good)
    target = next(r for r in missed.rules if r.name == "target")
    assert not missed.passed and not target.passed and "misses the target" in target.detail

    worse = runs.train(workspace, project, "decision_tree", ["max_depth=1"])
    against = gating.gate(workspace, project, worse, against=good, tolerance=0.0)
    reference = next(r for r in against.rules if r.name == "reference")
    assert not reference.passed and f"run {good.id}" in reference.detail
    stored = workspace.store.rows("SELECT passed FROM gates ORDER BY id")
    assert [g["passed"] for g in stored] == [1, 0, 0, 0]


def test_repeated_test_looks_are_recorded_and_warned(workspace, tmp_path) -> None:
    project = _project(workspace, tmp_path, "binary")
    first = runs.train(workspace, project, "logistic_regression")
    second = runs.train(workspace, project, "random_forest", ["n_estimators=20"])
    assert report.evaluate(workspace, project, first, "test").warnings == []
    assert report.evaluate(workspace, project, first, "validation").warnings == []
    again = report.evaluate(workspace, project, second, "test")
    assert again.looks_before == 1 and "looked at before (runs 1)" in again.warnings[0]


def test_cli_evaluate_and_gate_exit_codes(run_cli, workspace, tmp_path) -> None:
    project = _project(
        workspace, tmp_path, "binary", problem.ProblemSpec(metric="roc_auc", metric_target=0.7)
    )
    good = runs.train(workspace, project, "logistic_regression")
    dummy = runs.train(workspace, project, "dummy")
    folder = workspace.root
    passed = run_cli("gate", str(good.id), workspace=folder)
    assert passed.exit_code == 0 and "gate PASS" in passed.stdout
    failed = run_cli("gate", str(dummy.id), "--json", workspace=folder)
    assert failed.exit_code == 1 and not json.loads(failed.stdout)["passed"]
    assert run_cli("gate", "999", workspace=folder).exit_code == 2
    markdown = run_cli(
        "evaluate",
        str(good.id),
        "--split",
        "validation",
        "--against",
        str(dummy.id),
        "--markdown",
        workspace=folder,
    )
    assert markdown.exit_code == 0 and "| roc_auc |" in markdown.stdout
    assert "Confusion matrix" in markdown.stdout
    no_production = run_cli("gate", str(good.id), "--against", "production", workspace=folder)
    assert no_production.exit_code == 2 and "no production model" in no_production.stderr
