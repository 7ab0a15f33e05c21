"""A confirm dialog that asks for a reason: deploys, promotions and rollbacks are recorded."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class ConfirmReason(ModalScreen[str | None]):
    """Returns the reason typed (the action is confirmed), or None (cancelled)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="confirm.cancel")]

    def __init__(self, question: str, default: str = "") -> None:
        super().__init__()
        self.question, self.default = question, default

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            yield Label("Why? (kept in the ledger) — Enter confirms, Esc cancels")
            yield Input(value=self.default, placeholder="the reason")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())
        else:
            self.notify("A reason is needed", severity="warning")
