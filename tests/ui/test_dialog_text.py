"""A dialog's lines wrap at the dialog's width instead of being cut (issue 23): at 60
columns the confirm dialog's "Why? …" line reads whole."""

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
