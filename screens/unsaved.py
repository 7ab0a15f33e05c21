"""Unsaved edits are not thrown away unasked: a screen that holds edits (the problem form,
the feature spec) says what they are and asks before a key takes the user elsewhere.

The app asks the screen before it leaves it (`confirm_leave`, for number keys and a project
switch); Esc asks through the screen's `go_back` (screens/base.py). Keeping the edits is the default:
Enter, Esc and `n` stay; only `y` discards them (the screen goes back to its saved state)
and goes on.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea

from cockpit.deployment.moves import Move
from screens.base import OVERVIEW, StageScreen

MAX_LINES = 8  # changes listed; the rest are counted


class DiscardEdits(ModalScreen[bool]):
    """True when the user chose to discard the edits; False (stay) by default."""

    BINDINGS = [
        Binding("y", "dismiss(True)", "Discard", id="discard.yes"),
        Binding("n,escape,enter", "dismiss(False)", "Stay", id="discard.no"),
    ]

    def __init__(self, question: str, changes: tuple[Move, ...]) -> None:
        super().__init__()
        self.question, self.changes = question, changes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            for change in self.changes[:MAX_LINES]:
                yield Label(change.line(), classes="dialog-change")
            if len(self.changes) > MAX_LINES:
                yield Label(f"… and {len(self.changes) - MAX_LINES} more", classes="dialog-change")
            yield Label("y discards them and goes on · n, Enter or Esc stays (ctrl+s saves)")


class GuardsEdits(StageScreen):
    """A screen whose edits leaving it would lose. Subclasses say what the edits are
    (`unsaved_changes`) and how to drop them (`discard_edits`)."""

    EDITS = "edits"  # in the question: "Discard unsaved <EDITS>?"

    def unsaved_changes(self) -> tuple[Move, ...]:
        raise NotImplementedError

    def discard_edits(self) -> None:
        raise NotImplementedError

    def confirm_leave(self, then: Callable[[], object]) -> None:
        """Run `then` (which leaves the screen) now if nothing is unsaved, else once the user
        chose to discard the edits; choosing to stay runs nothing."""
        changes = self.unsaved_changes()
        if not changes:
            then()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.discard_edits()
                then()

        self.app.push_screen(DiscardEdits(f"Discard unsaved {self.EDITS}?", changes), answered)

    async def go_back(self) -> None:
        """Esc: as on every stage screen, but going back with unsaved edits asks first."""
        if isinstance(self.focused, (Input, TextArea)) or not self.unsaved_changes():
            await super().go_back()
        else:
            self.confirm_leave(lambda: self.app.switch_mode(OVERVIEW))
