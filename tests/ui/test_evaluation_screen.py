"""The evaluation screen by keys: gate the best run, read the tabs, export Markdown; every
tab follows the run picked (never another run's data), numbers whole and rounded at every
size, the run picker as a list, and the threshold each number uses."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from textual.app import App
from textual.widgets import DataTable, Input, TabbedContent

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.evaluation import gate as gating
from cockpit.evaluation.report import latest_evaluation
from cockpit.evaluation.view import run_evaluation
from cockpit.projects import create_project, get_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.evaluation import EvaluationScreen, Loaded, Subject
from screens.evaluation_tabs import fmt
from screens.run_picker import NO_RUN, RunPicker
from tests.training_here import trained_here

SIZES = [(80, 24), (120, 40), (60, 20)]


def _subs_workspace(folder: Path) -> Workspace:
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "subs", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 800)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(0, 1, 800),
            "plan": rng.choice(["a", "b"], 800),
            "left": (x + rng.normal(0, 1, 800) > 0.5).astype(int),
        }
    )
    frame.to_csv(folder / "subs.csv", index=False)
    datasets.import_dataset(ws, project, folder / "subs.csv")
    make_split(ws, project, "stratified")
    return ws


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory) -> Path:
    """Runs 1 (logistic regression) and 2 (random forest) gated, with the spec's segment
    column; run 3 (dummy) never evaluated. Run 2 was evaluated last: the screen opens on it."""
    folder = tmp_path_factory.mktemp("three") / "w"
    folder.mkdir()
    ws = _subs_workspace(folder)
    project = get_project(ws, "subs")
    spec = problem.ProblemSpec(metric="recall", metric_target=0.6, segments=["plan"])
    problem.save_spec(ws, project, spec)
    first = trained_here(ws, project, "logistic_regression")
    second = trained_here(ws, project, "random_forest", {"n_estimators": 20, "max_depth": 3})
    trained_here(ws, project, "dummy")
    gating.gate(ws, project, first)
    gating.gate(ws, project, second)
    ws.close()
    return folder


def screen_text(app: App) -> str:
    """What the terminal shows, as plain text (the frame export_screenshot draws)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def _settle(app: App, pilot) -> None:
    await app.screen.workers.wait_for_complete()
    await pilot.pause()


async def _pick(app: App, pilot, run_id: int) -> None:
    """Open the run picker with `r`, move to `run_id` with the arrow keys, Enter."""
    await pilot.press("r")
    picker = app.screen
    assert isinstance(picker, RunPicker)
    ids = [c.run_id for c in picker.choices]
    table = picker.query_one(DataTable)
    step = ids.index(run_id) - table.cursor_row
    await pilot.press(*(["down"] * step if step > 0 else ["up"] * -step), "enter")
    await _settle(app, pilot)


async def _tab_texts(app: App, pilot) -> dict[str, str]:
    """Each tab's screen, visited with `]` from the first."""
    screen = app.screen
    tabs = screen.query_one(TabbedContent)
    tabs.active = "metrics"
    await pilot.pause()
    texts = {}
    for tab in EvaluationScreen.TABS:
        assert tabs.active == tab
        texts[tab] = screen_text(app)
        await pilot.press("right_square_bracket")
    return texts


async def test_every_tab_follows_the_run_picked(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    project = get_project(ws, "subs")
    second = latest_evaluation(ws, project, 2, "test")
    assert second is not None
    app = CockpitApp(ws, "subs")
    app.animation_level = "none"  # the tab underline still sliding would differ between visits
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        fresh = await _tab_texts(app, pilot)  # run 2, as the screen opens on it

        await _pick(app, pilot, 1)
        screen = app.screen
        assert isinstance(screen, EvaluationScreen) and screen.run_id == 1
        await _tab_texts(app, pilot)  # every tab drawn for run 1

        await _pick(app, pilot, 2)
        after = await _tab_texts(app, pilot)
        assert after == fresh  # every tab exactly as run 2 shows on its own
        assert re.search(rf"▶ recall\s+{fmt(second.metrics['recall'])}", after["metrics"])
        stability = second.stability
        assert stability is not None and fmt(stability.values[0]) in after["robustness"]
        assert second.segments[0].group in after["segments"]
        for tab in EvaluationScreen.TABS:
            assert "run 2 (random_forest) ·" in after[tab], tab

        await _pick(app, pilot, 3)  # never evaluated: no tab keeps run 2's numbers
        empty = await _tab_texts(app, pilot)
        for tab, text in empty.items():
            assert "run 3 (dummy) · not evaluated yet" in text, tab
            assert "run 2" not in text and "0." not in text, tab
    ws.close()


async def test_a_late_result_for_another_run_is_dropped(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    project = get_project(ws, "subs")
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, EvaluationScreen) and screen.run_id == 2
        before = screen_text(app)
        screen.post_message(Loaded(Subject(project.id, 1), run_evaluation(ws, project, 1)))
        await pilot.pause()
        assert screen.run_id == 2 and screen.view is not None and screen.view.run.id == 2
        assert screen_text(app) == before

        screen.show_run(1)  # a new subject: every tab says so until its data is read
        assert all("Loading run 1…" in str(screen.query_one(f"#{t}-note").render()) for t in screen.TABS)
        await _settle(app, pilot)
        assert "run 1 (logistic_regression)" in str(screen.query_one("#verdict").render())
    ws.close()


async def test_switching_project_leaves_nothing_of_the_last_one(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    create_project(ws, "fresh", "binary", "churned")
    app = CockpitApp(ws, "subs")
    app.animation_level = "none"
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        app.project = get_project(ws, "fresh")  # what the project switcher (p) does
        await _settle(app, pilot)
        for tab, text in (await _tab_texts(app, pilot)).items():
            assert "No finished run to evaluate yet" in text, tab
            assert "run 2" not in text and "0." not in text, tab
        app.project = get_project(ws, "subs")
        await _settle(app, pilot)
        assert "run 2 (random_forest) · test split" in screen_text(app)
    ws.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_metrics_are_whole_and_rounded_on_first_display(three_runs, private_copy, size) -> None:
    ws = Workspace.open(private_copy(three_runs))
    evaluation = latest_evaluation(ws, get_project(ws, "subs"), 2, "test")
    assert evaluation is not None
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=size) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        text = screen_text(app)
        table = app.screen.query_one("#metrics-table", DataTable).content_region
    lines = text.splitlines()
    assert re.match(r"\s*Metric\s+Model\s+Baseline\s+Threshold", lines[table.y])
    shown = []
    for line in lines[table.y + 1 : table.bottom]:
        cells = line[table.x : table.right].replace("▶", " ").split()
        if cells:
            name, value = cells[0], cells[1]
            assert name in evaluation.metrics, f"{name!r} cut:\n{text}"
            assert value == fmt(evaluation.metrics[name]), f"{name} {value}:\n{text}"
            shown.append(name)
    # every row that fits, each whole and rounded: all of them at 120x40
    assert len(shown) == len(evaluation.metrics) if size == (120, 40) else len(shown) >= 3, text
    ws.close()


async def test_the_threshold_each_number_uses_is_shown(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    evaluation = latest_evaluation(ws, get_project(ws, "subs"), 2, "test")
    assert evaluation is not None and evaluation.threshold is not None
    threshold = f"{evaluation.threshold:.3f}"
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        note = str(app.screen.query_one("#metrics-note").render())
        assert f"test split 1 (data v1) at threshold {threshold}, tuned on validation" in note
        assert "the runs table uses 0.500" in note and evaluation.threshold_reason in note
        text = screen_text(app)
        assert re.search(rf"▶ recall\s+{fmt(evaluation.metrics['recall'])}\s+\S+\s+{threshold}", text)
        assert re.search(rf"roc_auc\s+{fmt(evaluation.metrics['roc_auc'])}\s+\S+\s+scores", text)
        await pilot.press("r")
        await pilot.pause()
        picker_note = str(app.screen.query_one("#picker-note").render())
        assert "Validation: recall@.5, scored as on the runs table" in picker_note
    ws.close()


async def test_the_run_picker_lists_runs_and_picks_by_keys(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        screen = app.screen
        await pilot.press("r")
        picker = app.screen
        assert isinstance(picker, RunPicker)
        rows = {c.run_id: c for c in picker.choices}
        assert set(rows) == {1, 2, 3}
        verdict = gating.latest_gate(ws, 2)
        assert verdict is not None and rows[2].status == ("gate pass" if verdict.passed else "gate FAIL")
        assert rows[3].status == "not evaluated" and rows[3].family == "dummy"
        table = picker.query_one(DataTable)
        assert picker.choices[table.cursor_row].run_id == 2  # the current run highlighted
        assert "●" in str(table.get_row_at(table.cursor_row)[0])
        await pilot.press("escape")  # cancels: nothing changes
        assert app.screen is screen and screen.run_id == 2

        await _pick(app, pilot, 3)
        assert screen.run_id == 3
        assert "run 3 (dummy) · not evaluated yet" in str(screen.query_one("#verdict").render())
    ws.close()


async def test_the_reference_is_picked_from_a_list(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    first = runs.get_run(ws, get_project(ws, "subs"), 1)
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, EvaluationScreen) and screen.run_id == 2
        await pilot.press("a")
        picker = app.screen
        assert isinstance(picker, RunPicker)
        assert picker.ids[0] == NO_RUN and sorted(picker.ids[1:]) == [1, 3]  # never itself
        await pilot.press(*["down"] * picker.ids.index(1), "enter")
        assert screen.reference_id == 1

        await pilot.press("V")  # evaluate against it: its numbers at its own threshold
        await _settle(app, pilot)
        await _settle(app, pilot)
        note = str(screen.query_one("#metrics-note").render())
        trained = "reference run 1 (trained on split 1, data v1) scored on these same rows"
        assert f"{trained} at its own threshold {first.threshold:.3f}" in note
        assert "Reference" in screen_text(app)

        await pilot.press("a")
        picker = app.screen
        assert isinstance(picker, RunPicker)
        assert picker.ids[picker.query_one(DataTable).cursor_row] == 1  # the current reference
        await pilot.press("up", "enter")
        assert screen.reference_id is None
    ws.close()


async def test_square_brackets_cycle_the_tabs(three_runs, private_copy) -> None:
    ws = Workspace.open(private_copy(three_runs))
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        tabs = app.screen.query_one(TabbedContent)
        await pilot.press("left_square_bracket")
        assert tabs.active == "importance"  # wraps backwards
        seen = []
        for _ in EvaluationScreen.TABS:
            await pilot.press("right_square_bracket")
            seen.append(tabs.active)
        assert seen == list(EvaluationScreen.TABS)
    ws.close()


async def test_gate_tabs_and_export_by_keys(tmp_path, frozen_clock) -> None:
    (tmp_path / "w").mkdir()
    ws = _subs_workspace(tmp_path / "w")
    project = get_project(ws, "subs")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.7))
    best = trained_here(ws, project, "logistic_regression")
    trained_here(ws, project, "dummy")

    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, EvaluationScreen) and screen.run_id == best.id
        assert "not evaluated yet" in str(screen.query_one("#verdict").render())
        await pilot.press("v")
        await _settle(app, pilot)
        await _settle(app, pilot)  # the evaluation, then reading it back
        verdict = str(screen.query_one("#verdict").render())
        assert "GATE ✓ PASS" in verdict and "roc_auc" in verdict
        metrics_table = screen.query_one("#metrics-table", DataTable)
        assert metrics_table.row_count >= 8
        await pilot.press("right_square_bracket", "c")
        assert screen.query_one(TabbedContent).active == "curves" and screen.curve == 1
        await pilot.press("right_square_bracket")
        confusion = screen.query_one("#confusion-table", DataTable)
        assert confusion.row_count == 2
        await pilot.press("right_square_bracket")
        assert screen.query_one("#rules-table", DataTable).row_count == 6
        await pilot.press("right_square_bracket")
        assert "No segment columns" in str(screen.query_one("#segments-note").render())
        await pilot.press("right_square_bracket")
        robustness = str(screen.query_one("#robustness-text").render())
        assert "Stability" in robustness and "Latency per row" in robustness
        assert "timed: wall clock per row after a warm-up call" in robustness  # the gate's method

        target = tmp_path / "report.md"
        await pilot.press("e")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        assert "**Gate: PASS**" in target.read_text()

        await _pick(app, pilot, 2)
        await pilot.press("v")
        await _settle(app, pilot)
        await _settle(app, pilot)
        assert "GATE ✗ FAIL" in str(screen.query_one("#verdict").render())
        assert "looked at before" in str(screen.query_one("#verdict").render())
    ws.close()


async def test_coming_back_redraws_only_what_changed(three_runs, private_copy) -> None:
    """Back on the screen, an unchanged run's tabs are left as drawn (no second drawing of every
    table and plot); a change to what the screen shows (here the spec's statement) is drawn."""
    ws = Workspace.open(private_copy(three_runs))
    app = CockpitApp(ws, "subs")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await _settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, EvaluationScreen)
        drawn: list[int] = []
        show = screen._show
        screen._show = lambda view: (drawn.append(view.run.id), show(view))  # type: ignore[method-assign]

        await pilot.press("4")
        await pilot.press("5")
        await _settle(app, pilot)
        assert drawn == []
        assert "run 2" in str(screen.query_one("#verdict").render()).lower()

        project = get_project(ws, "subs")
        spec = problem.current_spec(ws, project)
        problem.save_spec(ws, project, problem.ProblemSpec(**{**spec.as_dict(), "statement": "changed"}))
        await pilot.press("4")
        await pilot.press("5")
        await _settle(app, pilot)
        assert drawn == [2]
