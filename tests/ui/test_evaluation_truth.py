"""The evaluation screen says which rows each number is on (issue 23, tour items 2, 9, 10,
12): the split and data version in the header, a reference trained on some of the rows
flagged, stability labelled validation at 0.5, importance one labelled bar per column, the
gate's details whole, the metrics table's Threshold column kept at 60x20; Experiments says
its runs span two splits and ranks ★ among the newest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Static, TabbedContent

from cockpit.evaluation import gate as gating
from cockpit.evaluation.report import latest_evaluation
from cockpit.projects import get_project
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.evaluation import EvaluationScreen
from tests.two_splits import cancer_on_two_splits
from tests.ui.test_evaluation_screen import screen_text


@pytest.fixture(scope="module")
def two_splits(tmp_path_factory) -> Path:
    """Breast cancer with a patient id; run 1 on split 1, run 2 on split 2 of the same data,
    run 2 gated against run 1 (which was trained on some of run 2's test patients)."""
    folder = tmp_path_factory.mktemp("truth") / "w"
    folder.mkdir()
    ws, project, reference, candidate = cancer_on_two_splits(folder)
    gating.gate(ws, project, candidate, against=reference)
    ws.close()
    return folder


async def _evaluation(app: App, pilot) -> EvaluationScreen:
    await pilot.press("5")
    screen = app.screen
    assert isinstance(screen, EvaluationScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def _tab(app: App, pilot, tab: str) -> str:
    app.screen.query_one(TabbedContent).active = tab
    await pilot.pause()
    return screen_text(app)


async def test_each_number_says_its_rows_at_80x24(two_splits, private_copy) -> None:
    ws = Workspace.open(private_copy(two_splits))
    project = get_project(ws, "cancer")
    e = latest_evaluation(ws, project, 2, "test")
    assert e is not None and e.reference is not None
    overlap = e.reference["trained_on_rows"]
    assert overlap > 0
    app = CockpitApp(ws, "cancer")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _evaluation(app, pilot)
        verdict = str(screen.query_one("#verdict", Static).render())
        assert f"run 2 (logistic_regression) · test split 2 (data v1) at {e.threshold:.3f}" in verdict
        assert re.search(r"vs run 1 on the same rows: [+-]\d\.\d{4} !", verdict.replace("\n", " "))
        assert f"reference run 1 was trained on {overlap} of these {e.reference['rows']} test rows" in (
            verdict.replace("\n", " ")
        )
        metrics = await _tab(app, pilot, "metrics")
        assert "reference run 1 (trained on split 1, data v1) scored on these same rows" in " ".join(
            line.strip() for line in metrics.splitlines()
        )

        # the gate's details: whole, wrapped within the screen, never cut
        await _tab(app, pilot, "rules")
        table = screen.query_one("#rules-table", DataTable)
        verdict_rules = gating.latest_gate(ws, 2)
        assert verdict_rules is not None
        for index, rule in enumerate(verdict_rules.rules):
            detail = str(table.get_row_at(index)[2])
            assert detail.replace("\n", " ") == rule.detail
        assert sum(c.width + 2 for c in table.columns.values()) <= 80
        reference_rule = next(r for r in verdict_rules.rules if r.name == "reference")
        assert "on the same rows, test split 2 (data v1)" in reference_rule.detail

        # stability: validation, at the model's own 0.5, not the tuned threshold
        robustness = " ".join(line.strip() for line in (await _tab(app, pilot, "robustness")).splitlines())
        assert "Stability: validation recall at threshold 0.500 (the model's own predict" in robustness
        stability = e.stability
        assert stability is not None and f"{stability.values[0]:.4f}" in robustness

        # importance: one row per column, its name and its bar on the same line
        shown = await _tab(app, pilot, "importance")
        importance = screen.query_one("#importance-table", DataTable)
        assert importance.row_count == len(e.importance)
        for entry in e.importance[:5]:
            line = next(line for line in shown.splitlines() if f" {entry.column} " in line)
            assert f"{entry.importance:+.4f}" in line
            if entry.importance > 0:
                assert "█" in line or any(c in line for c in "▏▎▍▌▋▊▉")
        assert not any(c in shown for c in "▀▐▝▘")  # no half-block bars
    ws.close()


async def test_the_metrics_table_keeps_its_threshold_column_at_60x20(two_splits, private_copy) -> None:
    ws = Workspace.open(private_copy(two_splits))
    e = latest_evaluation(ws, get_project(ws, "cancer"), 2, "test")
    assert e is not None
    app = CockpitApp(ws, "cancer")
    app.animation_level = "none"
    async with app.run_test(size=(60, 20)) as pilot:
        screen = await _evaluation(app, pilot)
        text = await _tab(app, pilot, "metrics")
        table = screen.query_one("#metrics-table", DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert labels == ["Metric", "Model", "Base", "Ref", "Δ ref", "Thr"]
        assert sum(c.width + 2 for c in table.columns.values()) <= 60 - 4
        header = next(line for line in text.splitlines() if line.split()[:2] == ["Metric", "Model"])
        assert header.split() == ["Metric", "Model", "Base", "Ref", "Δ", "ref", "Thr"]
        rows = {str(table.get_row_at(i)[0]).strip(" ▶"): table.get_row_at(i) for i in range(table.row_count)}
        assert [str(v) for v in rows["recall"][1:2]] == [f"{e.metrics['recall']:.4f}"]
        assert str(rows["recall"][-1]) == f"{e.threshold:.3f}" and str(rows["roc_auc"][-1]) == "scores"
        assert "bal_acc" in rows and "Thr: threshold" in " ".join(text.split())
    ws.close()


async def test_experiments_says_its_runs_span_two_splits(two_splits, private_copy) -> None:
    ws = Workspace.open(private_copy(two_splits))
    app = CockpitApp(ws, "cancer")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        summary = " ".join(str(app.screen.query_one("#runs-summary", Static).render()).split())
        assert "2 runs on 2 splits (scores on other rows do not rank)" in summary
        assert "★ best on split 2: val. recall@.5" in summary and "(run 2)" in summary
    ws.close()


async def test_the_run_picker_names_each_runs_split_when_they_differ(two_splits, private_copy) -> None:
    from screens.run_picker import RunPicker

    app = CockpitApp(Workspace.open(private_copy(two_splits)), "cancer")
    async with app.run_test(size=(80, 24)) as pilot:
        await _evaluation(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, RunPicker)
        note = str(picker.query_one("#picker-note", Static).render())
        assert "Runs on 2 splits: compare within one." in note
        table = picker.query_one(DataTable)
        splits = table.get_column_at(3)
        assert [str(c.label) for c in table.columns.values()][3] == "Split"
        assert sorted(str(cell).strip() for cell in splits) == ["1", "2"]
