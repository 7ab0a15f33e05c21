"""Small modal dialogs shared by every screen: the project switcher and the key help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, OptionList
from textual.widgets.option_list import Option

from cockpit.projects import Project
from screens.keys import Key


class ProjectSwitcher(ModalScreen[str | None]):
    """Pick a project; returns its name, or None when cancelled."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="switcher.cancel")]

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

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [p.name for p in self.projects]
        options.highlighted = names.index(self.current) if self.current in names else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class HelpScreen(ModalScreen[None]):
    """Every key of the current screen and of the app, with what it does."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="help.close"),
        Binding("question_mark", "dismiss(None)", "Close", show=False, id="help.close2"),
    ]

    def __init__(self, screen_title: str, keys: list[Key]) -> None:
        super().__init__()
        self.screen_title = screen_title
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label(
                f"Keys · {self.screen_title}   (Esc close · ctrl+p all commands)", classes="dialog-title"
            )
            yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Does", "CLI twin")
        for key in self.keys:
            label = {"question_mark": "?", "slash": "/"}.get(key.key, key.key)
            twin = "" if key.cli == "navigation" else f"cockpit {key.cli}"
            table.add_row(label, key.help or key.description, twin)
        table.focus()
