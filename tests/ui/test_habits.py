"""Habits of terminal users, on every screen: `?` help that scrolls and fits, j/k in lists,
Esc that empties a filter then goes back, `[`/`]` through tabs, a bad filter shown refused."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual import events
from textual.app import App
from textual.widgets import DataTable, Input, OptionList, TabbedContent, Tabs

from cockpit import problem
from cockpit.projects import get_project
from screens import stages
from screens.app import CockpitApp
from screens.dialogs import HelpScreen, HelpTable
from screens.run_dialogs import NewRunDialog

SCREENS = [stages.OVERVIEW, *stages.BUILT_STAGES]


def screen_text(app: App) -> str:
    """What the terminal shows, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


# -- ? help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_help_scrolls_to_its_last_row_and_shows_the_cli_twin(two_projects, size) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=size) as pilot:
        await pilot.press("4", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(HelpTable)
        text = screen_text(app)
        assert "CLI twin" in text and "cockpit train" in text  # the first key's twin, in view
        assert table.max_scroll_x == 0  # nothing is off to the right
        assert table.max_scroll_y > 0 and "Leave the cockpit" not in text
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        assert "q" in screen_text(app) and "Leave the cockpit" in screen_text(app)


async def test_help_scrolls_with_the_mouse_wheel(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "question_mark")
        table = app.screen.query_one(HelpTable)
        for _ in range(table.max_scroll_y):
            table.post_message(events.MouseScrollDown(table, 1, 1, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert table.scroll_y == table.max_scroll_y > 0
        assert "Leave the cockpit" in screen_text(app)


# -- j / k ------------------------------------------------------------------------------------


async def test_j_and_k_move_the_focused_table_like_the_arrows(two_projects) -> None:
    project = get_project(two_projects, "churn")
    problem.save_spec(two_projects, project, problem.ProblemSpec(statement="Who leaves next month"))
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        events_table = app.screen.query_one("#events", DataTable)
        assert app.focused is events_table and events_table.row_count == 2
        await pilot.press("j")
        assert events_table.cursor_row == 1
        await pilot.press("k")
        assert events_table.cursor_row == 0
        await pilot.press("question_mark", "j", "j")
        assert app.screen.query_one(HelpTable).cursor_row == 2
        await pilot.press("escape", "slash", "j", "k")  # typed into the filter, not moves
        assert app.screen.query_one("#events-filter", Input).value == "jk"
        await pilot.press("escape", "escape", "p", "j")
        assert app.screen.query_one(OptionList).highlighted == 1
        await pilot.press("k")
        assert app.screen.query_one(OptionList).highlighted == 0


async def test_home_and_end_go_to_the_first_and_last_row_and_stay_a_text_fields_own(two_projects) -> None:
    """Textual's tables scroll sideways on Home / End; in a table of rows (the help, the
    events) they go to its first and last row, and in a text field they still move its cursor."""
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        table = app.screen.query_one(HelpTable)
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1 > 0
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("escape", "slash", "c", "h", "u")
        field = app.screen.query_one("#events-filter", Input)
        await pilot.press("home")
        assert field.cursor_position == 0 and field.value == "chu"
        await pilot.press("end")
        assert field.cursor_position == 3


async def test_j_and_k_are_left_to_a_screen_that_binds_either(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.check_action("cursor", (1,)) is True
        await pilot.press("3")  # Features binds k to another action
        assert {"k"} & {key.key for key in app.screen.KEYS}
        assert app.check_action("cursor", (1,)) is False
        assert app.check_action("cursor", (-1,)) is False


# -- Esc --------------------------------------------------------------------------------------


async def test_esc_empties_the_filter_then_goes_back_to_the_overview(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "slash", *"family=dummy", "enter")
        screen = app.screen
        field = screen.query_one("#runs-filter", Input)
        assert screen.filter_text == "family=dummy" and app.focused is not field
        await pilot.press("escape")
        assert field.value == "" and screen.filter_text == ""
        assert app.current_mode == "experiments"
        await pilot.press("slash", *"family", "escape")  # typing: the first Esc empties it
        assert field.value == "" and app.focused is not field and app.current_mode == "experiments"
        await pilot.press("escape")
        assert app.current_mode == "overview"
        await pilot.press("escape")  # home: nothing further, the app keeps running
        assert app.current_mode == "overview" and app.is_running


async def test_esc_in_a_form_field_leaves_the_field_first(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1")
        await pilot.pause()
        field = app.screen.query(Input).first()
        field.focus()
        await pilot.pause()
        await pilot.press("escape")
        assert app.focused is None and app.current_mode == "problem"
        await pilot.press("escape")
        assert app.current_mode == "overview"


async def test_esc_still_closes_dialogs_and_goes_no_further(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "n")
        assert isinstance(app.screen, NewRunDialog)
        await pilot.press("escape")
        assert app.current_mode == "experiments" and not isinstance(app.screen, NewRunDialog)
        await pilot.press("question_mark", "escape")
        assert app.current_mode == "experiments" and not isinstance(app.screen, HelpScreen)


# -- [ / ] ------------------------------------------------------------------------------------


def _tab_ids(tabbed: TabbedContent) -> list[str]:
    strip = tabbed.query_children(Tabs).first()
    return [tab.id.removeprefix("--content-tab-") for tab in strip.query("Tab") if tab.display]


@pytest.mark.parametrize("stage", SCREENS, ids=[s.key for s in SCREENS])
async def test_brackets_cycle_the_tabs_of_every_tabbed_screen(two_projects, stage) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        app.switch_mode(stage.key)
        await pilot.pause()
        found = app.screen.query(TabbedContent)
        if not found:  # nothing to cycle: the keys do nothing, and fail nothing
            await pilot.press("right_square_bracket", "left_square_bracket")
            assert app.current_mode == stage.key and app.is_running
            return
        tabbed = found.first()
        order = _tab_ids(tabbed)
        assert len(order) > 1
        app.set_focus(None)
        start = order.index(tabbed.active)
        for step in range(1, len(order) + 1):
            await pilot.press("right_square_bracket")
            await pilot.pause()
            assert tabbed.active == order[(start + step) % len(order)], (stage.key, step)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert tabbed.active == order[(start - 1) % len(order)]


# -- a bad filter -----------------------------------------------------------------------------


async def test_a_bad_filter_is_shown_as_rejected_until_it_changes(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "slash", *"recall>>x", "enter")
        await pilot.pause()
        field = app.screen.query_one("#runs-filter", Input)
        assert field.has_class("filter-rejected") and field.value == "recall>>x"
        assert "recall takes a number" in str(field.tooltip)
        notes = [n for n in app._notifications if n.title == "Filter rejected"]
        assert notes and "recall takes a number" in notes[-1].message
        field.focus()
        await pilot.press("backspace")
        assert not field.has_class("filter-rejected") and field.tooltip is None
