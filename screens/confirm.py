"""A confirm dialog that asks for a reason: every key that changes what production serves
(deploys, promotions, rollbacks, canary shares, retrains, kills) goes through it.

It says exactly what changes, from → to (cockpit.deployment.moves.Move: the one change type
the core plans and the screens show), and its default is the safe choice: Enter with no
reason typed does nothing, Esc cancels. Only a typed reason confirms, and it is recorded.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from cockpit.deployment.moves import Move


class ConfirmReason(ModalScreen[str | None]):
    """Returns the reason typed (the action is confirmed), or None (cancelled)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="confirm.cancel")]

    def __init__(self, question: str, default: str = "", changes: tuple[Move, ...] = ()) -> None:
        super().__init__()
        self.question, self.default, self.changes = question, default, changes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            for change in self.changes:
                yield Label(change.line(), classes="dialog-change")
            yield Label("Why? (kept in the ledger) — Enter confirms, Esc cancels")
            yield Input(value=self.default, placeholder="the reason")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.notify("A reason is needed: nothing changed", severity="warning")
