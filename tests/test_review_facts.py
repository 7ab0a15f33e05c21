"""The launch review and the stage statuses read the right facts: alerts and batches of the
version's own traffic, the retrain triggers in force (defaults included), every look at the
test split, failure modes that name only what is missing, a retrain's candidate that failed
its gate, a cleaned version validated by the clean step. On scikit-learn's breast cancer
data (and the retrain tests' flipped-relation workspace for the retrain)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from cockpit import problem, review
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry
from cockpit.evaluation.gate import gate
from cockpit.evaluation.report import evaluate
from cockpit.lifecycle import Status
from cockpit.monitoring import alerts, batches
from cockpit.projects import create_project, get_project
from cockpit.retraining import cycle, policy, rollout
from cockpit.stage_status import data_status, retrain_status
from cockpit.training import runs
from cockpit.workspace import Workspace
from tests.training_here import trained_here

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst concavity"]


def _cancer() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    frame = data.frame[[*FEATURES, "target"]].rename(columns={"target": "malignant"})
    frame["malignant"] = 1 - frame["malignant"]  # sklearn codes benign as 1
    return frame.assign(patient=[f"P{i:03d}" for i in range(len(frame))])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A binary project on the breast cancer data, one logistic regression, registered v1:
    built once, each test works on its own copy."""
    folder = tmp_path_factory.mktemp("cancer")
    ws, _ = Workspace.init(folder / "proj")
    project = create_project(ws, "cancer", "binary", "malignant")
    _cancer().iloc[:400].to_csv(folder / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, folder / "cancer.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="recall", metric_target=0.8))
    run = trained_here(ws, project, "logistic_regression")
    registry.register(ws, project, run.id, "facts test")
    ws.close()
    return folder / "proj"


@pytest.fixture
def trained(built: Path, tmp_path: Path):
    ws = Workspace(Path(shutil.copytree(built, tmp_path / "proj")) / ".cockpit")
    project = get_project(ws, "cancer")
    assert project is not None
    yield ws, project, runs.get_run(ws, project, 1)
    ws.close()


def _monitored(result: review.Review) -> review.Step:
    return {s.name: s for s in result.steps}["monitored"]


def _batch(workspace: Workspace, project, tmp_path: Path, rows: slice, at: str) -> None:
    path = tmp_path / f"batch-{at[:7]}.csv"
    _cancer().iloc[rows].drop(columns=["malignant"]).to_csv(path, index=False)
    batches.ingest(workspace, project, path, at=at)


def test_an_alert_holds_the_version_whose_traffic_it_judged_and_batches_count_per_version(
    trained, tmp_path
) -> None:
    workspace, project, run = trained
    registry.deploy(workspace, project, 1, "blue-green", reason="facts test", override="facts test")
    _batch(workspace, project, tmp_path, slice(400, 480), "2026-05-03T00:00:00+00:00")
    alerts.add_rule(workspace, project, "rows", ">", 0, severity="critical", action="page the on-call")
    (alert,) = [a for a in alerts.check(workspace, project).firing if a.metric == "rows"]
    assert alert.window == "2026-05"
    registry.register(workspace, project, run.id, "v2: same model, later")
    registry.deploy(workspace, project, 2, "blue-green", reason="facts test", override="facts test")

    v1 = review.review(workspace, project, 1)  # no longer serving, but the alert is about its traffic
    assert v1.reasons()[0] == f"critical alert {alert.id} firing"
    assert (True, "1 production batch watched (80 rows answered by v1), newest 2026-05-03") in _monitored(
        v1
    ).evidence
    v2 = review.review(workspace, project, 2)  # production now, it answered nothing yet
    assert not any("critical alert" in r for r in v2.reasons())
    assert (
        True,
        "v2 has answered no production batch or request yet (monitoring watches the project's 1 batch)",
    ) in _monitored(v2).evidence
    assert (True, "no critical alert firing on its traffic") in _monitored(v2).evidence

    _batch(workspace, project, tmp_path, slice(480, 569), "2026-06-03T00:00:00+00:00")
    alerts.check(workspace, project)  # the breach goes on into 2026-06, answered by v2
    v2 = review.review(workspace, project, 2)
    assert v2.reasons()[0] == f"critical alert {alert.id} firing"
    assert (True, "1 production batch watched (89 rows answered by v2), newest 2026-06-03") in _monitored(
        v2
    ).evidence


def test_replaceable_reads_the_triggers_stage_8_uses_defaults_included(trained) -> None:
    workspace, project, _ = trained

    def replaceable() -> review.Evidence:
        return {s.name: s for s in review.review(workspace, project, 1).steps}["replaceable"].evidence[0]

    assert policy.triggers(workspace, project) == policy.Triggers()  # no row: the defaults
    assert replaceable() == (
        True,
        "retrain triggers: every 30 days, on alert, after 1000 new labels (the defaults)",
    )
    policy.set_triggers(workspace, project, schedule_days=0, on_alert=0, new_labels=0)
    assert replaceable() == (False, "no retrain trigger: all off (cockpit retrain triggers set)")
    policy.set_triggers(workspace, project, new_labels=250)
    assert replaceable() == (True, "retrain triggers: after 250 new labels")


def test_a_look_at_the_test_split_after_the_gate_counts(trained) -> None:
    workspace, project, run = trained

    def looks() -> review.Evidence:
        return {s.name: s for s in review.review(workspace, project, 1).steps}["evaluated"].evidence[1]

    gate(workspace, project, run)
    assert looks() == (True, "test split looked at once")
    assert not any("leaky" in m for m in review.review(workspace, project, 1).failure_modes)
    evaluate(workspace, project, run, "test", seeds=0)  # the same run, looked at again
    assert looks() == (False, "test split looked at 1 time before")
    assert "leaky evaluation: test split reused" in review.review(workspace, project, 1).failure_modes


def test_the_failure_mode_names_only_what_is_missing(trained) -> None:
    workspace, project, run = trained
    assert run.git_commit is None and run.version_id is not None  # the workspace is not in git
    result = review.review(workspace, project, 1)
    reproducible = {s.name: s for s in result.steps}["reproducible"].evidence
    assert (False, "no code commit: trained outside git") in reproducible
    assert (True, f"data version v{run.version_id} pinned by sha256") in reproducible
    (mode,) = [m for m in result.failure_modes if m.startswith("notebook-only")]
    assert mode == (
        "notebook-only model: no code commit: the run was not made in a git repository with a "
        "commit (git init && git add -A && git commit, then train again)"
    )


def test_a_cleaned_version_is_validated_by_the_clean_step(workspace, tmp_path) -> None:
    project = create_project(workspace, "cancer", "binary", "malignant")
    frame = _cancer().iloc[:300]
    frame.loc[frame.index[:40], "mean texture"] = None  # a real column with values gone
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    version, _ = datasets.import_dataset(workspace, project, tmp_path / "gaps.csv")
    from cockpit.data import checks, recipes

    report = checks.validate(workspace, project, version)
    child, _ = recipes.clean_version(workspace, project, recipes.suggest_recipe(report.findings))
    cleaned = checks.latest_report(workspace, child)
    assert cleaned is not None and not any(f.check == "nulls" for f in cleaned.findings)
    state = data_status(workspace, project)
    assert state.status is Status.IN_PROGRESS and "not validated" not in state.detail
    assert state.detail.startswith(f"v{child.id} 300 rows")


@pytest.fixture(scope="module")
def fails_its_gate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The retrain tests' workspace where the challenger beats production but fails its gate."""
    from tests.test_retraining import _workspace, month

    folder = tmp_path_factory.mktemp("fails")
    ws, _ = _workspace(folder, [month(800, n, shifted=True) for n in (1, 2, 3)])
    ws.close()
    return folder


def test_retrain_status_names_the_candidate_that_failed_its_gate(fails_its_gate, tmp_path) -> None:
    folder = Path(shutil.copytree(fails_its_gate, tmp_path / "w"))
    ws = Workspace(folder / ".cockpit")
    project = get_project(ws, "svc")
    assert project is not None
    champion_data = registry.get_version(ws, project, "production")
    result = cycle.retrain(ws, project)
    assert result.decision == rollout.CANDIDATE
    state = retrain_status(ws, project)
    assert state.status is Status.IN_PROGRESS
    assert state.detail == "candidate v2 failed its gate (target, baseline, segments)"
    assert state.next_action is not None and state.next_action.commands == (rollout.DEPLOY_ANYWAY,)
    # the combined data the challenger trained on names the champion's data as its parent
    challenger = runs.get_run(ws, project, registry.get_version(ws, project, 2).run_id)
    combined = datasets.get_version(ws, project, challenger.version_id)
    champion_run = runs.get_run(ws, project, champion_data.run_id)
    assert combined.name.endswith("+production") and combined.parent_id == champion_run.version_id
    recorded = ws.store.one(
        "SELECT action, details FROM events WHERE stage = 'data' AND json_extract(details, '$.version') = ?",
        [combined.id],
    )
    assert recorded["action"] == "import"  # a child without a recipe: not a clean
    assert json.loads(recorded["details"])["parent"] == champion_run.version_id
    rollout.deploy_anyway(ws, project, "facts test: we accept the segments")
    assert retrain_status(ws, project).status is Status.DONE
    ws.close()
