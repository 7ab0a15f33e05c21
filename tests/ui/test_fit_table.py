"""FitTable: text gets the room a wide terminal has; a narrow one cuts text, never numbers,
and the table stays on screen; a wrapping table shows its long text whole on more lines."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from screens.fit_table import FitTable

ROWS = [
    (["days_since_last_activity", "162", "162 extreme values in column 'days_since_last_activity'"], "a"),
    (["mentor_notes", "4458", "4458 missing values (37.9%)"], "b"),
]


class OneTable(App):
    def compose(self) -> ComposeResult:
        yield FitTable(("Column", "Rows", "Finding"), "Finding", whole=("Rows",), cap=12)

    def on_mount(self) -> None:
        self.query_one(FitTable).set_rows(ROWS)


def _drawn(table: FitTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


@pytest.mark.parametrize("width", [40, 60, 120])
async def test_the_table_fits_and_numbers_stay_whole(width) -> None:
    app = OneTable()
    async with app.run_test(size=(width, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(FitTable)
        needed = sum(c.get_render_width(table) for c in table.ordered_columns)
        assert needed <= table.scrollable_content_region.width
        assert [row[1] for row in _drawn(table)] == ["162", "4458"]
        column = _drawn(table)[0][0]
        if width >= 120:  # room enough: the cap grows with the terminal
            assert column == "days_since_last_activity"
        else:
            assert column.endswith("…") and "days_since_last_activity".startswith(column[:-1])


class WrappingTable(App):
    def compose(self) -> ComposeResult:
        yield FitTable(("Column", "Rows", "Finding"), "Finding", whole=("Rows",), cap=12, wrap=True)

    def on_mount(self) -> None:
        self.query_one(FitTable).set_rows(ROWS)


async def test_a_wrapping_table_keeps_its_long_text_whole_on_more_lines() -> None:
    app = WrappingTable()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(FitTable)
        assert str(table.get_row_at(0)[2]) == ROWS[0][0][2]  # whole, not cut
        assert table.rows[table.coordinate_to_cell_key((0, 0)).row_key].height > 1
        assert [row[1] for row in _drawn(table)] == ["162", "4458"]
