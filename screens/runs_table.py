"""A virtual table on Textual's Line API: it renders only the visible rows, fetched a
block at a time, so 100,000 runs page as fast as 100 (DESIGN.md stack facts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cockpit.text import cut
from cockpit.training.query import RunRow

BLOCK = 100


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    cell: Callable[[RunRow], str]
    align_right: bool = False
    metric: str = ""  # the metric the column shows, if any


class RunsTable(ScrollView, can_focus=True):
    """Rows come from `fetch(offset, limit)`; `total()` says how many there are."""

    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("ctrl+home,home", "jump(0)", "First", show=False),
        Binding("ctrl+end,end", "jump(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES = {"runs-table--header", "runs-table--cursor", "runs-table--best", "runs-table--marked"}
    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    RunsTable > .runs-table--header { text-style: bold; background: $panel; }
    RunsTable > .runs-table--cursor { background: $accent 40%; text-style: bold; }
    RunsTable:focus > .runs-table--cursor { background: $accent; color: $text; }
    RunsTable > .runs-table--best { text-style: bold; color: $success; }
    RunsTable > .runs-table--marked { color: $warning; }
    """

    class Highlighted(Message):
        def __init__(self, row: RunRow | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, columns: list[Column], **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns = columns
        self.fetch: Callable[[int, int], list[RunRow]] = lambda offset, limit: []
        self.rows_total = 0
        self.cursor = 0
        self.marked: set[int] = set()
        self.best_id: int | None = None
        self._blocks: dict[int, list[RunRow]] = {}

    # -- data ------------------------------------------------------------------

    def set_columns(self, columns: list[Column]) -> None:
        self.columns = columns
        self.virtual_size = Size(sum(c.width + 1 for c in columns), self.rows_total + 1)
        self.refresh()

    def load(
        self,
        fetch: Callable[[int, int], list[RunRow]],
        total: int,
        keep: int | None = None,
        locate: Callable[[int], int | None] | None = None,
    ) -> None:
        """Show new rows. The cursor goes to the first row, or with `keep` stays on that run:
        where it was if the run is still there, else where `locate(keep)` finds it (a run
        the new rows leave out keeps the cursor's row number)."""
        self.fetch, self.rows_total = fetch, total
        self._blocks.clear()
        self.set_columns(self.columns)
        if keep is None:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        else:
            self.cursor = min(self.cursor, max(0, total - 1))
            row = self.row_at(self.cursor)
            if (row is None or row.id != keep) and locate is not None:
                found = locate(keep)
                self.cursor = self.cursor if found is None else found
            self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.row_at(self.cursor)))

    def row_at(self, index: int) -> RunRow | None:
        if not 0 <= index < self.rows_total:
            return None
        block = index // BLOCK
        if block not in self._blocks:
            if len(self._blocks) > 50:
                self._blocks.clear()
            self._blocks[block] = self.fetch(block * BLOCK, BLOCK)
        rows = self._blocks[block]
        offset = index - block * BLOCK
        return rows[offset] if offset < len(rows) else None

    @property
    def current(self) -> RunRow | None:
        return self.row_at(self.cursor)

    # -- drawing -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            text = self._format(None)
            style = self.get_component_rich_style("runs-table--header")
            return Strip([Segment(text.ljust(width)[:width], style)]).crop(
                int(self.scroll_x), int(self.scroll_x) + width
            )
        index = int(self.scroll_y) + y - 1
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width, self.rich_style)
        style = self.rich_style
        if row.id == self.best_id:
            style += self.get_component_rich_style("runs-table--best")
        if row.id in self.marked:
            style += self.get_component_rich_style("runs-table--marked")
        if index == self.cursor:
            style += self.get_component_rich_style("runs-table--cursor")
        text = self._format(row)
        line = Strip([Segment(text.ljust(max(width, len(text))), style or Style())])
        return line.crop(int(self.scroll_x), int(self.scroll_x) + width)

    def _format(self, row: RunRow | None) -> str:
        """One line of cells: the row's, or the column titles when row is None."""
        cells = []
        for column in self.columns:
            value = column.title if row is None else column.cell(row)
            value = cut(value, column.width)
            cells.append(
                value.rjust(column.width)
                if column.align_right and row is not None
                else value.ljust(column.width)
            )
        return " " + " ".join(cells)

    # -- cursor ------------------------------------------------------------------

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        if not self.rows_total:
            return
        self.cursor = max(0, min(self.rows_total - 1, index))
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self.current))

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + self._visible_rows():
            self.scroll_to(y=self.cursor - self._visible_rows() + 1, animate=False)

    def action_move(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_cursor_down(self) -> None:
        """What the app's j does in a focused list (screens/keys.move_cursor)."""
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        """What the app's k does in a focused list."""
        self.move_to(self.cursor - 1)

    def action_page(self, step: int) -> None:
        self.move_to(self.cursor + step * self._visible_rows())

    def action_jump(self, where: int) -> None:
        self.move_to(0 if where == 0 else self.rows_total - 1)

    def toggle_mark(self) -> None:
        row = self.current
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.refresh()
