"""The row detail: a table row shown in full, opened with one call, closed with Esc or Enter."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from screens.row_detail import RowDetail, row_fields, show_row

LONG = "drift on tenure_months PSI 0.31 above 0.25: retrain on the last 90 days and redeploy as canary"


class TableApp(App):
    CSS_PATH = "../../screens/app.tcss"

    def __init__(self, rows: int = 3, full: dict[str, object] | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.full = full

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Id", width=3)
        table.add_column("Message", width=20)
        for n in range(self.rows):
            table.add_row(str(n), Text(f"{n} {LONG}"[:19] + "…"))
        table.focus()

    def on_data_table_row_selected(self) -> None:
        show_row(self.screen, self.query_one(DataTable), self.full, title="Alert")


def _shown(app: App) -> list[str]:
    return [str(field.content) for field in app.screen.query(".row-field").results(Static)]


async def test_enter_opens_the_cursor_row_in_full_and_esc_closes_it() -> None:
    app = TableApp(full=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("down", "enter")
        assert isinstance(app.screen, RowDetail)
        assert _shown(app) == ["Id: 1", "Message: " + (f"1 {LONG}"[:19] + "…")]
        await pilot.press("escape")
        assert not isinstance(app.screen, RowDetail)
        await pilot.press("enter")
        assert isinstance(app.screen, RowDetail)
        await pilot.press("enter")
        assert not isinstance(app.screen, RowDetail)


async def test_full_values_replace_cut_cells_and_add_fields() -> None:
    app = TableApp(full={"Message": LONG, "Proposed action": "retrain (cockpit retrain)"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        assert _shown(app) == ["Id: 0", f"Message: {LONG}", "Proposed action: retrain (cockpit retrain)"]
        # The long value wraps inside the dialog instead of being cut.
        message = list(app.screen.query(".row-field").results(Static))[1]
        assert message.size.height >= 2


async def test_a_long_row_scrolls_to_its_last_field_at_80x24() -> None:
    full = {f"field {n}": LONG for n in range(12)}
    app = TableApp(full=full)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        scroll = app.screen.query_one("#row-fields", VerticalScroll)
        last = list(app.screen.query(".row-field").results(Static))[-1]
        assert scroll.max_scroll_y > 0
        assert last.region.bottom > scroll.region.bottom  # off screen at first
        await pilot.press("j", "j")
        await pilot.pause()
        assert scroll.scroll_y == 2  # j scrolls like the down arrow
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        assert scroll.region.contains_region(last.region.intersection(scroll.region))
        assert last.region.bottom <= scroll.region.bottom


async def test_an_empty_table_says_so_instead_of_opening() -> None:
    app = TableApp(rows=0)
    async with app.run_test(size=(80, 24)) as pilot:
        assert show_row(app.screen, app.query_one(DataTable)) is False
        await pilot.pause()
        assert not isinstance(app.screen, RowDetail)


async def test_row_fields_keeps_the_column_order_and_unnamed_columns_with_a_value() -> None:
    app = TableApp(rows=0)
    async with app.run_test(size=(80, 24)):
        table = DataTable()
        await app.screen.mount(table)
        table.add_column("", width=2)
        table.add_column("Run")
        table.add_column("Note")
        table.add_row("★", "14", "")
        assert row_fields(table, {"Run": 14}) == [("·", "★"), ("Run", "14"), ("Note", "")]
