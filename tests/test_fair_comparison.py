"""A comparison with a reference run is on the same rows, and says when it is not fair:
the reference is scored on the candidate's own evaluation rows, each number names its split
and data version, rows the reference was trained on are counted (by the entity id), a
reference that cannot score those rows is refused by name, and runs say their split."""

from __future__ import annotations

import json

import pytest
import sklearn.metrics as skm

from cockpit.data.splits import get_split, load_assignment, split_frames
from cockpit.errors import CockpitError
from cockpit.evaluation import gate as gating
from cockpit.evaluation import references, report, view
from cockpit.evaluation.predictions import predict_frame
from cockpit.features import current_spec as feature_spec
from cockpit.features import entity_column
from cockpit.training import runs
from tests.training_here import training_here
from tests.two_splits import cancer_on_two_splits


@pytest.fixture(scope="module")
def two_splits(tmp_path_factory):
    """Breast cancer with a patient id: run 1 on split 1 (seed 1), run 2 on split 2 (seed 2)
    of the same data version, so run 2's test rows share patients with run 1's training rows."""
    ws, project, reference, candidate = cancer_on_two_splits(tmp_path_factory.mktemp("fair"))
    yield ws, project, reference, candidate
    ws.close()


def test_the_reference_is_scored_on_the_candidates_rows_and_its_training_rows_counted(two_splits) -> None:
    ws, project, reference, candidate = two_splits
    evaluation = report.evaluate(ws, project, candidate, "test", against=reference, seeds=0)
    ref = evaluation.reference or {}

    # the reference's own pipeline on the candidate's test rows, at its own threshold
    stored_ref = runs.get_run(ws, project, reference.id)
    rows = split_frames(ws, project, get_split(ws, project, candidate.split_id))["test"]
    predicted = predict_frame(runs.load_pipeline(ws, stored_ref), rows, project, stored_ref.threshold)
    assert ref["threshold"] == stored_ref.threshold
    assert ref["metrics"]["recall"] == pytest.approx(skm.recall_score(rows["malignant"], predicted.y_pred))
    assert ref["rows"] == len(rows)

    # where each number is from: the candidate's rows, the reference's training split
    version = get_split(ws, project, candidate.split_id).version_id
    assert (evaluation.split_id, evaluation.version_id) == (candidate.split_id, version)
    assert evaluation.rows_label == f"test split {candidate.split_id} (data v{version})"
    assert (ref["split_id"], ref["version_id"]) == (reference.split_id, reference.version_id)

    # the patients of the candidate's test rows that were in the reference's training rows
    assert entity_column(feature_spec(ws, project)[1]) == "patient_id"
    first = load_assignment(ws, get_split(ws, project, reference.split_id))
    second = load_assignment(ws, get_split(ws, project, candidate.split_id))
    expected = int(((first == 0) & (second == 2)).sum())  # one row per patient
    assert expected > 0
    assert (ref["trained_on_rows"], ref["matched_by"]) == (expected, "patient_id")
    warning = f"reference run {reference.id} was trained on {expected:,} of these {len(rows):,} test rows"
    assert any(w.startswith(warning) for w in evaluation.warnings)

    # the gate's reference rule says the same, on the same rows
    verdict = gating.gate(ws, project, candidate, against=reference)
    rule = next(r for r in verdict.rules if r.name == "reference")
    assert f"on the same rows, {evaluation.rows_label}" in rule.detail and warning in rule.detail
    assert "trained on split" in view.reference_note(evaluation, "binary")


def test_a_reference_on_the_same_split_saw_none_of_the_rows(two_splits) -> None:
    ws, project, reference, _ = two_splits
    with training_here():
        sibling = runs.train(ws, project, "logistic_regression", ["C=2.0"], split_id=reference.split_id)
    evaluation = report.evaluate(ws, project, sibling, "validation", against=reference, seeds=0)
    assert evaluation.reference is not None and evaluation.reference["trained_on_rows"] == 0
    assert not any("was trained on" in w for w in evaluation.warnings)


def test_a_reference_that_cannot_score_the_rows_is_refused_by_name(two_splits) -> None:
    ws, project, reference, candidate = two_splits
    rows = split_frames(ws, project, get_split(ws, project, candidate.split_id))["test"]
    column = next(c for c in rows.columns if c not in ("patient_id", "malignant"))
    refused = f"takes column\\(s\\) {column} .*cannot be compared on the same rows"
    with pytest.raises(CockpitError, match=refused):
        references.check_scorable(ws, project, reference, candidate, rows.drop(columns=[column]))


def test_runs_name_their_split_and_data_version(two_splits, run_cli) -> None:
    ws, project, reference, candidate = two_splits
    listed = run_cli("runs", "--json", workspace=ws.root)
    assert listed.exit_code == 0, listed.output
    by_id = {r["id"]: r for r in json.loads(listed.output)}
    assert (by_id[reference.id]["split_id"], by_id[candidate.id]["split_id"]) == (
        reference.split_id,
        candidate.split_id,
    )
    assert by_id[candidate.id]["version_id"] == candidate.version_id
    table = run_cli("runs", workspace=ws.root)
    assert "SPLIT" in table.output.splitlines()[0]
    assert f"{candidate.split_id} (data v{candidate.version_id})" in table.output


def test_the_best_run_is_ranked_among_the_newest_splits_runs(two_splits) -> None:
    from cockpit.training import query

    ws, project, reference, candidate = two_splits
    assert query.run_splits(ws, project.id) == [candidate.split_id, reference.split_id]
    # the overview, Experiments' ★ and the Evaluation screen's default run all name this one
    assert query.best_run(ws, project) == candidate.id
    assert query.best_run_id(ws, project.id, "recall", reference.split_id) != candidate.id
