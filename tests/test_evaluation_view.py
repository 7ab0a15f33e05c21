"""What the evaluation screen reads from the core: the runs it can pick (best first, those
without the metric last, each with how far its evaluation got) and which threshold each
number uses."""

from __future__ import annotations

import pytest

from cockpit import problem
from cockpit.evaluation import gate as gating
from cockpit.evaluation import report, view
from cockpit.evaluation.report import Evaluation
from cockpit.training import runs
from tests.test_evaluation import _project

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


def _bare(task_metric: str, threshold: float | None = None, reason: str | None = None) -> Evaluation:
    return Evaluation(1, 1, "test", task_metric, threshold, reason, {}, {}, {}, None, 0, "")


def test_run_choices_best_first_with_their_evaluation_status(workspace, tmp_path, monkeypatch) -> None:
    spec = problem.ProblemSpec(metric="recall", metric_target=0.5)
    project = _project(workspace, tmp_path, "binary", spec)
    gated = runs.train(workspace, project, "logistic_regression")
    looked = runs.train(workspace, project, "logistic_regression", {"C": 0.001})
    untouched = runs.train(workspace, project, "dummy")
    unscored = runs.train(workspace, project, "dummy", seed=7)
    # a run that recorded no validation recall (logged from outside, say) is listed last
    workspace.store.update("runs", {"id": unscored.id}, {"m_recall": None})
    gating.gate(workspace, project, gated)
    report.evaluate(workspace, project, looked, "validation", seeds=0)

    choices = view.run_choices(workspace, project)
    by_id = {c.run_id: c for c in choices}
    assert [c.run_id for c in choices][-1] == unscored.id and by_id[unscored.id].value is None
    scored = [c.value for c in choices if c.value is not None]
    assert scored == sorted(scored, reverse=True)
    verdict = gating.latest_gate(workspace, gated.id)
    assert verdict is not None
    assert by_id[gated.id].status == ("gate pass" if verdict.passed else "gate FAIL")
    assert by_id[looked.id].status == "validation only"
    assert by_id[untouched.id].status == "not evaluated" and by_id[untouched.id].family == "dummy"
    assert by_id[gated.id].metric == "recall@.5"  # the runs table's own threshold
    assert by_id[gated.id].value == pytest.approx(gated.validation_metrics["recall"])

    monkeypatch.setattr(view, "PICK_LIMIT", 1)
    assert [c.run_id for c in view.run_choices(workspace, project, include=unscored.id)] == [
        choices[0].run_id,
        unscored.id,
    ]


def test_each_number_names_its_threshold(workspace, tmp_path, run_cli) -> None:
    spec = problem.ProblemSpec(metric="recall", metric_target=0.7)
    project = _project(workspace, tmp_path, "binary", spec)
    run = runs.train(workspace, project, "logistic_regression")
    other = runs.train(workspace, project, "logistic_regression", {"C": 0.01})
    evaluation = report.evaluate(workspace, project, run, "validation", against=other, seeds=0)
    assert evaluation.threshold is not None and evaluation.threshold_reason
    at = f"{evaluation.threshold:.3f}"

    note = view.threshold_note(evaluation, "binary")
    assert note.startswith(
        f"validation split {run.split_id} (data v{run.version_id}) at threshold {at}, tuned on"
    )
    assert "the runs table uses 0.500" in note and note.endswith(evaluation.threshold_reason)
    assert view.threshold_of(evaluation, "binary", "recall") == at
    assert view.threshold_of(evaluation, "binary", "roc_auc") == "scores"
    reference = evaluation.reference or {}
    assert reference["threshold"] == runs.get_run(workspace, project, other.id).threshold

    # the CLI twin says the same, and names each number's threshold in a column
    result = run_cli(
        "evaluate", str(run.id), "--split", "validation", "--seeds", "0", workspace=workspace.root
    )
    assert result.exit_code == 0, result.output
    assert f"run {run.id} (logistic_regression) · {note}" in result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["METRIC", "MODEL", "BASELINE", "THRESHOLD"]
    assert next(line for line in lines if line.startswith("recall ")).split()[-1] == at
    assert next(line for line in lines if line.startswith("roc_auc ")).split()[-1] == "scores"


def test_tasks_without_a_threshold_say_so() -> None:
    assert view.threshold_note(_bare("rmse"), "regression") == "test split · a regression: no threshold"
    assert "no threshold" in view.threshold_note(_bare("f1"), "multiclass")
    assert view.threshold_of(_bare("f1"), "multiclass", "f1") == ""
    untuned = _bare("recall")
    assert "default threshold 0.500" in view.threshold_note(untuned, "binary")
    assert view.threshold_of(untuned, "binary", "recall") == "0.500"


def test_the_picker_names_a_metric_as_the_runs_table_does(workspace, tmp_path) -> None:
    from cockpit.training.query import threshold_label
    from screens.experiments import metric_title

    spec = problem.ProblemSpec(metric="precision", metric_target=0.5)
    project = _project(workspace, tmp_path, "binary", spec)
    runs.train(workspace, project, "dummy")
    (choice,) = view.run_choices(workspace, project)
    assert choice.metric == "prec@.5" == metric_title("binary", "precision")
    assert threshold_label("binary", "precision") == "precision@.5"
    assert threshold_label("binary", "roc_auc", short=True) == "roc_auc"
    assert threshold_label("regression", "r2") == "r2"


def test_a_multiclass_note_says_its_class_metrics_are_macro_averages() -> None:
    note = view.threshold_note(_bare("f1_macro"), "multiclass")
    assert note.endswith("no threshold; f1, precision, recall, ROC AUC: macro averages")
