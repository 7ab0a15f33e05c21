"""Breast cancer with a patient id, cut by two splits of the same data version: run 1 trained
on split 1, run 2 on split 2, so run 2's test rows share patients with run 1's training rows
(for the tests of comparing like with like: tests/test_fair_comparison.py and the evaluation
screen's tests/ui/test_evaluation_truth.py)."""

from __future__ import annotations

from pathlib import Path

from sklearn.datasets import load_breast_cancer

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.projects import Project, create_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from tests.training_here import training_here


def cancer_on_two_splits(folder: Path) -> tuple[Workspace, Project, runs.Run, runs.Run]:
    """(workspace, project, run 1 on split 1, run 2 on split 2), the workspace in `folder`."""
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "cancer", "binary", "malignant")
    data = load_breast_cancer(as_frame=True)
    frame = data.data.iloc[:, :6].copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.insert(0, "patient_id", [f"p{i:04d}" for i in range(len(frame))])
    frame["malignant"] = (data.target == 0).astype(int)
    frame.to_csv(folder / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, folder / "cancer.csv")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="recall", metric_target=0.8))
    first = make_split(ws, project, "stratified", seed=1)
    second = make_split(ws, project, "stratified", seed=2)
    with training_here():  # setup runs: what they record is the subject, not the training process
        reference = runs.train(ws, project, "logistic_regression", split_id=first.id)
        candidate = runs.train(ws, project, "logistic_regression", ["C=0.5"], split_id=second.id)
    return ws, project, reference, candidate
