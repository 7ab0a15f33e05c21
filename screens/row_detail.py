"""One table row in full: every column's name and its whole value, wrapped and scrollable.

Tables cut long text to fit their columns; `show_row(screen, table)` opens the focused
row's cells uncut. A screen whose cells are cut strings passes the full values itself
(`full={"Reason": entry.reason}`); names that are not columns are shown after them."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label, Static

from screens.keys import list_bindings, move_cursor

Field = tuple[str, str | Text]


class RowDetail(ModalScreen[None]):
    """The fields of one row, one per paragraph; Esc or Enter closes it."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="row.close"),
        Binding("enter", "dismiss(None)", "Close", show=False, id="row.close2"),
        *list_bindings("row"),
    ]

    def __init__(self, title: str, fields: list[Field]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog row-detail"):
            yield Label(f"{self.title_text}  (Esc/Enter close · ↑↓ scroll)", classes="dialog-title")
            with VerticalScroll(id="row-fields"):
                for name, value in self.fields:
                    yield Static(_field_text(name, value), classes="row-field")

    async def action_cursor(self, step: int) -> None:
        await move_cursor(self.focused, step)

    def on_mount(self) -> None:
        self.query_one("#row-fields", VerticalScroll).focus()


def row_fields(table: DataTable, full: Mapping[str, object] | None = None) -> list[Field]:
    """The cursor row of `table` as (column label, value) pairs; `full` replaces the value of
    the columns it names and adds the names that are not columns, in its order."""
    full = dict(full or {})
    cells = table.get_row_at(table.cursor_row)
    fields: list[Field] = []
    for column, cell in zip(table.ordered_columns, cells, strict=True):
        name = column.label.plain.strip()
        value = full.pop(name) if name in full else cell
        if name or _plain(value):
            fields.append((name or "·", _value(value)))
    fields.extend((name, _value(value)) for name, value in full.items())
    return fields


def show_row(
    screen: Screen,
    table: DataTable,
    full: Mapping[str, object] | None = None,
    title: str = "",
) -> bool:
    """Open the focused row of `table` in full; False (and a note) when it has no row."""
    if table.row_count == 0 or not table.is_valid_row_index(table.cursor_row):
        screen.notify("No row to show", severity="warning")
        return False
    screen.app.push_screen(RowDetail(title or f"{screen.title or 'Row'} · row", row_fields(table, full)))
    return True


def _value(value: object) -> str | Text:
    return value if isinstance(value, Text) else ("" if value is None else str(value))


def _plain(value: object) -> str:
    return value.plain if isinstance(value, Text) else ("" if value is None else str(value))


def _field_text(name: str, value: str | Text) -> Text:
    """`name:` in bold and the value as plain text: a value is never read as markup."""
    text = Text.assemble((f"{name}: ", "bold"))
    text.append_text(value if isinstance(value, Text) else Text(value))
    return text
