"""Dialogs as a user meets them (issue 23): their lines wrap at the dialog's width instead
of being cut (at 60 columns the confirm dialog's "Why? …" line reads whole), and j/k move
a picker's cursor as in every list."""

from textual.widgets import Label

from screens.app import CockpitApp
from screens.confirm import ConfirmReason

HINT = "Why? (kept in the ledger) — Enter confirms, Esc cancels"


async def test_the_confirm_dialogs_hint_wraps_whole_at_60_columns(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(60, 20)) as pilot:
        app.push_screen(ConfirmReason("Deploy v2 to production?"))
        await pilot.pause()
        hint = next(label for label in app.screen.query(Label) if str(label.render()) == HINT)
        room = hint.parent.content_region
        assert hint.region.right <= room.right
        assert hint.size.height == 2  # wrapped onto a second line, nothing cut
        shown = [
            "".join(segment.text for segment in line).strip()
            for line in hint.render_lines(hint.region.reset_offset)
        ]
        assert " ".join(shown) == HINT


async def test_j_and_k_move_the_run_pickers_cursor(two_projects) -> None:
    from textual.widgets import DataTable

    from cockpit.evaluation.view import RunChoice
    from screens.run_picker import RunPicker

    choices = [RunChoice(run_id, "dummy", "recall@.5", 0.5, "not evaluated") for run_id in (3, 2, 1)]
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        picked: list[int | None] = []
        app.push_screen(RunPicker(choices, current=3), picked.append)
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k", "enter")
        await pilot.pause()
        assert picked == [2]
