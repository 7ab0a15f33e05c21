"""Keys as data: every binding has an id, a description, and its CLI twin.

A test walks every screen's bindings and checks each one is in the footer or
the command palette, and that its CLI twin (a lifecycle action) exists in the
`cockpit` command tree. Navigation keys have no twin by nature: NAVIGATION.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.widget import Widget

NAVIGATION = "navigation"


@dataclass(frozen=True)
class Key:
    id: str
    key: str
    action: str
    description: str
    cli: str = NAVIGATION
    show: bool = True
    help: str = ""
    priority: bool = False  # before the focused widget's own binding of the key

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            id=self.id,
            tooltip=self.help or self.description,
            priority=self.priority,
        )


def bindings(keys: list[Key]) -> list[Binding]:
    return [k.binding() for k in keys]


def key_of(keys: list[Key], key_id: str) -> str:
    """The key bound to `key_id`; a Key id that is not there is a bug, said as one."""
    for key in keys:
        if key.id == key_id:
            return key.key
    raise KeyError(f"no key {key_id!r} among {[k.id for k in keys]}")


def list_bindings(prefix: str) -> list[Binding]:
    """j / k for a dialog's list (a modal screen hides the app's own): the dialog's
    `action_cursor` calls `move_cursor`."""
    return [
        Binding("j", "cursor(1)", "Down", show=False, id=f"{prefix}.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id=f"{prefix}.up"),
    ]


async def move_cursor(widget: Widget | None, step: int) -> None:
    """What ↓ (`step` 1) or ↑ (-1) does in `widget`: move its cursor, else scroll it."""
    names = ("cursor_down", "scroll_down") if step > 0 else ("cursor_up", "scroll_up")
    name = next((n for n in names if hasattr(widget, f"action_{n}")), None)
    if widget is not None and name is not None:
        await widget.run_action(name)
