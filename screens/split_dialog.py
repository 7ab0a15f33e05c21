"""The new-split dialog: strategy, seed, fractions and the column a strategy needs."""

from __future__ import annotations

from typing import Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from cockpit.data.splits import STRATEGIES


class SplitDialog(ModalScreen[dict | None]):
    """Returns the arguments of `make_split`, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="split.cancel"),
        Binding("ctrl+s", "submit", "Split", id="split.submit", priority=True),
    ]

    def __init__(self, columns: list[str], dates: list[str]) -> None:
        super().__init__()
        self.columns = columns
        self.dates = dates

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog split-dialog"):
            yield Label("New split  (Tab next field · ctrl+s split · Esc cancel)", classes="dialog-title")
            yield self._row(
                "Strategy",
                Select(
                    [(s, s) for s in STRATEGIES],
                    value="stratified",
                    allow_blank=False,
                    id="strategy",
                    compact=True,
                ),
            )
            yield self._row("Seed", _number("42", "integer", "seed"))
            yield self._row("Validation", _number("0.15", "number", "val"))
            yield self._row("Test", _number("0.15", "number", "test"))
            yield self._row(
                "Group column",
                Select([(c, c) for c in self.columns], id="group", prompt="for group", compact=True),
            )
            yield self._row(
                "Time column",
                Select([(c, c) for c in self.dates], id="time", prompt="for time", compact=True),
            )

    @staticmethod
    def _row(label: str, widget) -> Horizontal:
        return Horizontal(Label(label, classes="dialog-label"), widget, classes="dialog-row")

    def on_mount(self) -> None:
        self.query_one("#strategy", Select).focus()

    def action_submit(self) -> None:
        def value(widget_id: str):
            widget = self.query_one(f"#{widget_id}")
            return None if widget.value in (Select.NULL, "") else widget.value

        try:
            self.dismiss(
                {
                    "strategy": value("strategy"),
                    "seed": int(value("seed") or 42),
                    "val": float(value("val") or 0.15),
                    "test": float(value("test") or 0.15),
                    "group": value("group"),
                    "time": value("time"),
                }
            )
        except ValueError as exc:
            self.notify(f"Not a number: {exc}", severity="error")


def _number(value: str, kind: Literal["integer", "number"], widget_id: str) -> Input:
    """A number field; entering it puts the cursor after the number (as in every form), so
    a key typed there edits it rather than replacing it unseen."""
    return Input(value, type=kind, id=widget_id, compact=True, select_on_focus=False)
