"""Small modal dialogs shared by every screen: the project switcher and the key help."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, OptionList
from textual.widgets.option_list import Option

from cockpit.projects import Project
from screens.keys import NAVIGATION, Key, list_bindings, move_cursor

KEY_LABELS = {"question_mark": "?", "slash": "/", "left_square_bracket": "[", "right_square_bracket": "]"}


class ProjectSwitcher(ModalScreen[str | None]):
    """Pick a project; returns its name, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="switcher.cancel"),
        *list_bindings("switcher"),
    ]

    def __init__(self, projects: list[Project], current: str | None) -> None:
        super().__init__()
        self.projects = projects
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Switch project  (Enter choose · Esc cancel)", classes="dialog-title")
            yield OptionList(
                *[
                    Option(
                        f"{'●' if p.name == self.current else ' '} {p.name}  [dim]{p.task} → {p.target}[/]",
                        id=p.name,
                    )
                    for p in self.projects
                ]
            )

    async def action_cursor(self, step: int) -> None:
        await move_cursor(self.focused, step)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [p.name for p in self.projects]
        options.highlighted = names.index(self.current) if self.current in names else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class HelpTable(DataTable):
    """The help's keys: columns sized to the table's width and long text wrapped, so the CLI
    twin stays in view at 80 columns and every row is reachable by scrolling."""

    TWIN_SHARE = 0.4  # of the room the key column leaves

    def __init__(self, keys: list[Key]) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True)
        self.keys = keys
        self._filled_for = -1

    def on_resize(self) -> None:
        # The vertical scrollbar's room is always kept: a table that grows one does not
        # then scroll sideways.
        width = self.size.width - self.styles.scrollbar_size_vertical
        if width != self._filled_for:
            self._fill(width)

    def _fill(self, width: int) -> None:
        self._filled_for = width
        row = self.cursor_row
        self.clear(columns=True)
        key_width = max(3, *(len(key_label(k.key)) for k in self.keys))
        # Each column has `cell_padding` cells on either side.
        room = max(20, width - key_width - 3 * 2 * self.cell_padding)
        twin_width = min(max(12, int(room * self.TWIN_SHARE)), max(len(_twin(k)) for k in self.keys))
        self.add_column("Key", width=key_width)
        self.add_column("Does", width=room - twin_width)
        self.add_column("CLI twin", width=twin_width)
        for key in self.keys:
            cells = (key_label(key.key), key.help or key.description, _twin(key))
            self.add_row(*(Text(cell) for cell in cells), height=None)
        self.move_cursor(row=row)


class HelpScreen(ModalScreen[None]):
    """Every key of the current screen and of the app, with what it does."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="help.close"),
        Binding("question_mark", "dismiss(None)", "Close", show=False, id="help.close2"),
        *list_bindings("help"),
    ]

    def __init__(self, screen_title: str, keys: list[Key]) -> None:
        super().__init__()
        self.screen_title = screen_title
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(
                f"Keys · {self.screen_title}  (↑↓ scroll · Esc close)",
                classes="dialog-title",
            )
            yield HelpTable(self.keys)

    async def action_cursor(self, step: int) -> None:
        await move_cursor(self.focused, step)

    def on_mount(self) -> None:
        self.query_one(HelpTable).focus()


def key_label(key: str) -> str:
    """How a binding's key is written for people: `?` for question_mark."""
    return KEY_LABELS.get(key, key)


def _twin(key: Key) -> str:
    return "" if key.cli == NAVIGATION else f"cockpit {key.cli}"
