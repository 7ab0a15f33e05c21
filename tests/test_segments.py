"""Segments, fairness gaps, stability, edge cases, latency and importance, on data of our own."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.errors import CockpitError
from cockpit.evaluation import gate as gating
from cockpit.evaluation import report
from cockpit.evaluation.intervals import wilson
from cockpit.projects import create_project
from tests.training_here import trained_here


def planted(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """'harbour' customers' labels are mostly noise: the model is weak there."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    district = rng.choice(["harbour", "hills", "market", "river"], n)
    clean = (x + rng.normal(0, 0.5, n) > 0.3).astype(int)
    noisy = rng.random(n) < 0.5
    label = np.where((district == "harbour") & noisy, rng.integers(0, 2, n), clean)
    return pd.DataFrame(
        {"x": x.round(4), "age": rng.integers(18, 80, n), "district": district, "bought": label}
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """One trained and evaluated run, built once for the module (evaluation refits 3 times)."""
    from cockpit.workspace import Workspace

    tmp_path = tmp_path_factory.mktemp("shop")
    workspace, _ = Workspace.init(tmp_path)
    with workspace:
        project = create_project(workspace, "shop", "binary", "bought")
        planted().to_csv(tmp_path / "shop.csv", index=False)
        datasets.import_dataset(workspace, project, tmp_path / "shop.csv")
        make_split(workspace, project, "stratified", seed=2)
        problem.save_spec(
            workspace,
            project,
            problem.ProblemSpec(
                metric="roc_auc", metric_target=0.7, segments=["district"], latency_budget_ms=1000
            ),
        )
        run = trained_here(workspace, project, "logistic_regression")
        evaluation = report.evaluate(workspace, project, run, "test", segments=["age"])
    return tmp_path, project, run, evaluation


@pytest.fixture
def shop_workspace(shop, private_copy):
    """A private copy of the module's workspace."""
    from cockpit.workspace import Workspace

    workspace = Workspace(private_copy(shop[0]) / ".cockpit")
    yield workspace
    workspace.close()


@pytest.fixture
def evaluated(shop):
    """(project, run, the run's evaluation on the test split)."""
    _, project, run, evaluation = shop
    return project, run, evaluation


def test_the_planted_weak_segment_is_flagged(evaluated) -> None:
    _, _, evaluation = evaluated
    found = evaluation.details["segments"]
    flagged = [(s["column"], s["group"]) for s in found if s["flagged"]]
    assert flagged == [("district", "harbour")]
    assert found[0]["group"] == "harbour"  # weak first
    harbour = found[0]
    assert harbour["low"] <= harbour["value"] <= harbour["high"]
    assert {s["interval_method"] for s in found} == {"DeLong"}  # roc_auc, no --bootstrap
    ages = [s for s in found if s["column"] == "age"]
    assert len(ages) == 4 and all("," in s["group"] for s in ages)  # quartile bins
    assert not any(s["flagged"] for s in ages)


def test_fairness_gaps(evaluated) -> None:
    _, _, evaluation = evaluated
    district = next(g for g in evaluation.details["fairness"] if g["column"] == "district")
    assert district["worst_recall_group"] == "harbour" or district["recall_gap"] >= 0
    assert 0 < district["selection_rate_ratio"] <= 1


def test_stability_has_a_spread_above_zero_for_logistic_regression(evaluated) -> None:
    _, _, evaluation = evaluated
    stability = evaluation.details["stability"]
    assert stability["seeds"] == 3 and len(stability["values"]) == 3
    assert stability["spread"] > 0 and stability["stable"]


def test_edge_cases_latency_importance(evaluated) -> None:
    _, _, evaluation = evaluated
    cases = {c["case"]: c["ok"] for c in evaluation.details["edge_cases"]}
    assert cases == {
        "unseen categories": True,
        "missing values": True,
        "out-of-range numbers": True,
        "far below range": True,
    }
    latency = evaluation.details["latency"]
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
    assert latency["within_budget"] is True
    importance = evaluation.details["importance"]
    assert importance[0]["column"] == "x" and importance[0]["importance"] > 0.1
    assert {i["column"] for i in importance} == {"x", "age", "district"}


def test_gate_fails_on_the_weak_segment_naming_it(shop_workspace, evaluated) -> None:
    """With --bootstrap the gate evaluates again (the last evaluation's intervals were
    analytic) and flags the same segment."""
    workspace = shop_workspace
    project, run, analytic = evaluated
    result = gating.gate(workspace, project, run, bootstrap=60)
    rules = {r.name: r for r in result.rules}
    assert not result.passed and not rules["segments"].passed
    assert "district=harbour" in rules["segments"].detail
    resampled = report.get_evaluation(workspace, project, result.evaluation_id)
    assert result.evaluation_id != analytic.id and resampled.segment_bootstrap == 60
    assert {s.interval_method for s in resampled.segments} == {"bootstrap 60"}
    flags = {(s["column"], s["group"]): s["flagged"] for s in analytic.details["segments"]}
    assert {(s.column, s.group): s.flagged for s in resampled.segments}.items() <= flags.items()
    assert len(resampled.segments) == 4  # the spec's district: the gate names no other column
    assert gating.gate(workspace, project, run, bootstrap=60).evaluation_id == result.evaluation_id
    assert rules["stability"].passed and rules["latency"].passed and rules["target"].passed


def test_a_failing_edge_case_is_a_finding_not_a_crash() -> None:
    from cockpit.evaluation.robustness import edge_cases
    from cockpit.features import ColumnSpec
    from cockpit.projects import Project

    class Brittle:
        classes_ = [0, 1]

        def predict(self, frame):
            if frame["x"].isna().any():
                raise ValueError("Input X contains NaN")
            return np.zeros(len(frame), dtype=int)

        def predict_proba(self, frame):
            self.predict(frame)
            return np.tile([0.5, 0.5], (len(frame), 1))

    project = Project(1, "p", "binary", "y", "", None)
    frame = pd.DataFrame({"x": np.arange(20.0), "y": [0, 1] * 10})
    found = edge_cases(Brittle(), frame, project, [ColumnSpec("x"), ColumnSpec("y", role="target")])
    missing = next(c for c in found if c["case"] == "missing values")
    assert not missing["ok"] and "contains NaN" in missing["detail"]


def test_wilson_interval() -> None:
    low, high = wilson(40, 50)
    assert low < 0.8 < high and low == pytest.approx(0.6696, abs=1e-3)
    assert high == pytest.approx(0.8876, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_markdown_report_names_each_interval_method(evaluated) -> None:
    from cockpit.evaluation.markdown import to_markdown

    project, run, evaluation = evaluated
    segment_lines = [
        line
        for line in to_markdown(evaluation, run.label).splitlines()
        if line.startswith("| district | ") and "–" in line
    ]
    assert len(segment_lines) == 4 and all("(DeLong)" in line for line in segment_lines)


def test_cli_segments_headless(run_cli, shop_workspace, evaluated) -> None:
    workspace = shop_workspace
    project, run, _ = evaluated
    out = run_cli(
        "evaluate",
        str(run.id),
        "--split",
        "validation",
        "--segments",
        "age,district",
        "--seeds",
        "0",
        "--bootstrap",
        "50",
        "--json",
        workspace=workspace.root,
    )
    assert out.exit_code == 0, out.stderr
    details = json.loads(out.stdout)["details"]
    assert details["segment_columns"] == ["district", "age"] and "stability" not in details
    assert {s["interval_method"] for s in details["segments"]} == {"bootstrap 50"}
    assert details["segment_bootstrap"] == 50
    bad = run_cli("evaluate", str(run.id), "--segments", "nope", workspace=workspace.root)
    assert bad.exit_code == 2 and "nope" in bad.stderr
    with pytest.raises(CockpitError):
        report.evaluate(workspace, project, run, "validation", segments=["nope"])


def test_a_stored_evaluation_reads_back_as_typed_segments_and_checks(evaluated, shop_workspace) -> None:
    """What the evaluation screen shows: segments, fairness, stability, edge cases, latency,
    read back from the store as typed records with the values the evaluation recorded."""
    from cockpit.evaluation.report import get_evaluation

    project, _, recorded = evaluated
    evaluation = get_evaluation(shop_workspace, project, recorded.id)
    stored = recorded.details["segments"]
    segments = evaluation.segments
    assert [(s.column, s.group, s.rows, s.value, s.low, s.high) for s in segments] == [
        (s["column"], s["group"], s["rows"], s["value"], s["low"], s["high"]) for s in stored
    ]
    harbour = segments[0]
    assert (harbour.group, harbour.flagged, harbour.flag) == ("harbour", True, "WEAK")
    assert harbour.low <= harbour.value <= harbour.high
    district = next(g for g in evaluation.fairness if g.column == "district")
    assert district.selection_rate_ratio == next(
        g["selection_rate_ratio"] for g in recorded.details["fairness"] if g["column"] == "district"
    )
    assert evaluation.stability.seeds == 3 and evaluation.stability.stable
    assert [c.case for c in evaluation.edge_cases] == [c["case"] for c in recorded.details["edge_cases"]]
    latency = evaluation.latency
    assert latency.p50_ms <= latency.p95_ms <= latency.p99_ms and latency.batch_rows_per_s > 0
    assert [(i.column, i.importance, i.std, i.scoring) for i in evaluation.importance] == [
        (i["column"], i["importance"], i["std"], i["scoring"]) for i in recorded.details["importance"]
    ]
    assert evaluation.segment_metric == recorded.details["segment_metric"]
    assert (
        evaluation.segment_columns == recorded.details["segment_columns"]
        and "district" in evaluation.segment_columns
    )
    assert evaluation.baseline_metrics == recorded.baseline["metrics"] and evaluation.reference_metrics == {}
