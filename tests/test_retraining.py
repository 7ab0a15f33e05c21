"""The retrain pipeline's two branches, triggers, feedback and retirement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, registry
from cockpit.errors import CockpitError
from cockpit.monitoring import labels
from cockpit.projects import create_project
from cockpit.retraining import cycle, policy, rollout
from cockpit.training import runs

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


def month(n: int, seed: int, shifted: bool = False, flipped: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    relation = -x if shifted else x
    label = (relation + rng.normal(0, 0.7, n) > 0.3).astype(int)
    if flipped:
        label = 1 - label
    return pd.DataFrame({"user_id": [f"U{seed}-{i}" for i in range(n)], "x": x.round(3), "churned": label})


def _workspace(tmp_path, months: list[pd.DataFrame], segments: tuple[str, ...] = ("x",)):
    """Production v1 (registered past its gate), then `months` scored and labelled. The spec
    breaks the metric down by `segments`: quartiles of x are weak by nature, so a gate over
    them fails."""
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(tmp_path)
    project = create_project(ws, "svc", "binary", "churned")
    month(1500, 0).to_csv(tmp_path / "ref.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "ref.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(
        ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.6, segments=list(segments))
    )
    run = runs.train(ws, project, "logistic_regression")
    registry.register(ws, project, run.id, "test model")
    registry.deploy(ws, project, 1, "blue-green", reason="test", override="test")
    for number, frame in enumerate(months, start=1):
        frame.drop(columns=["churned"]).to_csv(tmp_path / f"m{number}.csv", index=False)
        frame[["user_id", "churned"]].to_csv(tmp_path / f"l{number}.csv", index=False)
        batch.predict_file(
            ws,
            project,
            tmp_path / f"m{number}.csv",
            tmp_path / f"o{number}.csv",
            at=f"2026-0{number}-15T00:00:00+00:00",
        )
        labels.ingest_labels(ws, project, tmp_path / f"l{number}.csv")
    return ws, project


def test_a_better_challenger_is_judged_on_the_same_rows(tmp_path) -> None:
    """It wins the held-out month; its gate (tests/test_retrain_gate.py) keeps it a candidate."""
    ws, project = _workspace(tmp_path, [month(800, n, shifted=True) for n in (1, 2, 3)])
    result = cycle.retrain(ws, project)
    assert result.decision == rollout.CANDIDATE
    assert result.challenger_score > result.champion_score
    aliases = registry.aliases(ws, project)
    assert registry.version_by_id(ws, aliases["candidate"].version_id).version == 2
    assert "canary" not in aliases
    assert registry.get_version(ws, project, "production").version == 1
    recorded = cycle.list_retrains(ws, project)[0]
    assert recorded.window == "2026-03" and recorded.id == result.id
    comparison = recorded.comparison
    assert comparison == result.comparison
    assert comparison.rows == 800 and comparison.metrics[0].name == "roc_auc"
    assert comparison.metrics[0].challenger == result.challenger_score
    holdout = month(800, 3, shifted=True)
    champion = ws.artifacts.load(registry.get_version(ws, project, 1).artifact_sha256)
    assert comparison.metrics[0].champion == pytest.approx(
        roc_auc_score(holdout["churned"], champion.predict_proba(holdout)[:, 1])
    )
    assert [(w.window, w.rows, w.challenger_trained_on_it) for w in comparison.windows] == [
        ("2026-01", 800, True),
        ("2026-02", 800, True),
        ("2026-03", 800, False),
    ]
    assert comparison.windows[-1].champion == comparison.metrics[0].champion
    quartiles = comparison.segments  # x is numeric: four quartile groups of the holdout
    assert len(quartiles) == 4 and sum(g.rows for g in quartiles) == 800
    assert all(g.champion is not None and g.challenger is not None for g in quartiles)
    for side in ("champion", "challenger"):
        assert comparison.latency[side].row_ms > 0
        assert comparison.latency[side].thousand_rows_ms > 0
    ws.close()


def test_a_worse_challenger_raises_an_alert_and_leaves_production(tmp_path) -> None:
    ws, project = _workspace(
        tmp_path, [month(1500, 1, flipped=True), month(1500, 2, flipped=True), month(600, 3)]
    )
    result = cycle.retrain(ws, project)
    assert result.decision == "kept production"
    assert result.challenger_score < result.champion_score
    assert registry.get_version(ws, project, "production").version == 1
    assert "canary" not in registry.aliases(ws, project)
    alert = ws.store.one("SELECT status, message FROM alerts")
    assert alert["status"] == "firing" and "not better than production" in alert["message"]
    ws.close()


def test_triggers_feedback_and_if_due(tmp_path) -> None:
    ws, project = _workspace(tmp_path, [month(300, 1), month(300, 2)])
    policy.set_triggers(ws, project, schedule_days=0, on_alert=0, new_labels=0)
    assert policy.due(ws, project) == []
    assert cycle.retrain(ws, project, if_due=True).as_dict() == {"decision": "not due", "reasons": []}
    policy.set_triggers(ws, project, new_labels=500)
    assert any(r.startswith("data: 600") for r in policy.due(ws, project))
    policy.add_feedback(ws, project, "not-useful", "mentors ignore the list")
    assert any("consider retiring" in r for r in policy.due(ws, project))
    with pytest.raises(CockpitError, match="unknown trigger"):
        policy.set_triggers(ws, project, weekly=True)
    ws.close()


def test_retire_needs_a_successor_in_production_and_updates_the_card(tmp_path) -> None:
    from cockpit.deployment.card import model_card

    ws, project = _workspace(tmp_path, [month(300, 1)])
    with pytest.raises(CockpitError, match="successor"):
        cycle.retire(ws, project, 1, "old")
    second = registry.register(
        ws, project, runs.train(ws, project, "random_forest", ["n_estimators=10"]).id, "replacement"
    )
    outcome = cycle.retire(ws, project, 1, "replaced by the forest", successor=second.version)
    assert outcome == cycle.Retirement(1, second.version, ["production"])
    assert registry.get_version(ws, project, "production").version == 2
    retired = registry.get_version(ws, project, 1)
    assert retired.status == "retired" and retired.archived_at
    live = ws.artifacts.path_for(retired.artifact_sha256)
    assert not live.exists() and (ws.artifacts.archive_root / live.name).exists()
    assert ws.artifacts.load(retired.artifact_sha256) is not None  # verified, for audits
    assert ws.artifacts.verify_all().ok
    card = model_card(ws, project, 1)
    assert "## Retirement" in card and "replaced by the forest" in card
    ws.close()


def test_the_holdout_is_the_newest_window_that_can_judge() -> None:
    """A one-row batch in the newest month measures nothing: the month before is held out."""
    from cockpit.projects import Project

    binary = Project(1, "p", "binary", "y", "", "")
    new = pd.DataFrame(
        {"y": [0, 1] * 20 + [1] + [0] * 40, "_window": ["2026-02"] * 40 + ["2026-03"] + ["2026-04"] * 40}
    )
    assert cycle.holdout_window(new, binary) == "2026-02"  # April: one class only
    assert cycle.holdout_window(new[new["_window"] != "2026-04"], binary) == "2026-02"
    regression = Project(2, "r", "regression", "y", "", "")
    assert cycle.holdout_window(new, regression) == "2026-04"
    with pytest.raises(CockpitError, match="no labelled production window holds 30 rows"):
        cycle.holdout_window(new[new["_window"] == "2026-03"], binary)


def test_an_unreadable_label_stops_retrain_before_anything_is_written(tmp_path) -> None:
    ws, project = _workspace(tmp_path, [month(300, n, shifted=True) for n in (1, 2)])
    with ws.store.transaction():  # a label no integer target can take, in the held-out month
        ws.store.conn.execute("UPDATE labels SET label = 'maybe' WHERE entity = 'U2-7'")
    counts = {
        table: ws.store.scalar(f"SELECT count(*) FROM {table}")
        for table in ("dataset_versions", "splits", "runs", "retrains", "model_versions")
    }
    with pytest.raises(CockpitError, match="label 'maybe' cannot be read as the target"):
        cycle.retrain(ws, project)
    assert counts == {table: ws.store.scalar(f"SELECT count(*) FROM {table}") for table in counts}
    assert cycle.as_target(pd.Series(["1.0", "0"]), pd.Series([0, 1])).tolist() == [1, 0]
    ws.close()
