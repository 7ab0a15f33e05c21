"""A table that fits the terminal at both ends: its long-text column (`flex`) takes the
width the others leave, so text grows with the terminal instead of being cut at a fixed
length; on a wide terminal a column's cap grows to its share of the width; on a narrow one,
when the columns need more than the table's width, the widest text columns give way first,
each down to its label, so the table does not run off the screen's edge, where a cut number
would read as a smaller one. Columns named in `whole` (numbers, short facts) are never cut.
The full text of a row stays reachable (`full_row`, shown by Enter through
screens/row_detail.py)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.screen import Screen
from textual.widgets import DataTable, TabbedContent

from cockpit.text import cut
from screens.row_detail import show_row

MIN_FLEX = 12  # the long column never shrinks below this, even when the table must scroll
MIN_CELL = 4  # a text column given way on a narrow terminal keeps at least this (or its label)


class FitTable(DataTable):
    """Columns sized to their content (each at most `cap` cells wide, more on a wide
    terminal), except `flex`, which gets the rest of the table's width. Cells cut to fit end
    in '…'; `whole` columns are never cut; with `wrap`, the flex column's text wraps onto
    more lines instead (for few rows that must be read whole)."""

    def __init__(
        self,
        columns: Sequence[str],
        flex: str,
        *,
        whole: Sequence[str] = (),
        cap: int = 24,
        wrap: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.labels, self.flex, self.cap, self.wrap = list(columns), flex, cap, wrap
        self.whole = set(whole)
        self.full: list[tuple[list[str], str | None]] = []  # each row uncut, with its key
        self._filled_for = -1

    def set_rows(self, rows: Sequence[tuple[Sequence[str], str | None]]) -> None:
        """Replace the rows: (cells uncut, row key or None); the cursor keeps its place."""
        self.full = [([str(c) for c in cells], key) for cells, key in rows]
        self._fill(self.scrollable_content_region.width)
        # rows set while the table is hidden or before its layout settles are filled for a stale
        # width, and no Resize may follow (a tab shown at the size it had): check once drawn
        self.call_after_refresh(self._refit)

    def full_row(self) -> dict[str, str]:
        """The cursor row's uncut cells by column label (empty when there is no row)."""
        if not self.full or not self.is_valid_row_index(self.cursor_row):
            return {}
        return dict(zip(self.labels, self.full[self.cursor_row][0], strict=True))

    def show_full_row(self, title: str) -> None:
        """Open the cursor row in full (screens/row_detail.py)."""
        show_row(self.screen, self, full=self.full_row(), title=title)

    def on_resize(self) -> None:
        self._refit()

    def on_show(self) -> None:
        self._refit()

    def _refit(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._filled_for:
            self._fill(width)

    def widths(self, width: int) -> list[int]:
        """Each column's width at a table `width` cells wide."""
        cap = max(self.cap, width // len(self.labels))  # a wide terminal lifts the cap
        sizes = [
            min(cap, max([len(label)] + [len(cells[i]) for cells, _ in self.full]))
            for i, label in enumerate(self.labels)
        ]
        at = self.labels.index(self.flex)
        padding = 2 * self.cell_padding * len(sizes)
        sizes[at] = max(MIN_FLEX, width - padding - sum(sizes) + sizes[at])
        over = sum(sizes) + padding - width
        floors = [self._floor(label, size) for label, size in zip(self.labels, sizes, strict=True)]
        while over > 0:
            give = [i for i, size in enumerate(sizes) if size > floors[i]]
            if not give:
                break
            widest = max(give, key=lambda i: sizes[i] - floors[i])
            sizes[widest] -= 1
            over -= 1
        return sizes

    def _floor(self, label: str, size: int) -> int:
        if label in self.whole or label == self.flex:
            return size  # the flex column is already at its own minimum when space runs out
        return min(size, max(MIN_CELL, len(label)))

    def _fill(self, width: int) -> None:
        self._filled_for = width
        row = self.cursor_row
        self.clear(columns=True)
        sizes = self.widths(width)
        for label, size in zip(self.labels, sizes, strict=True):
            self.add_column(label, width=size, key=label)
        at = self.labels.index(self.flex)
        for cells, key in self.full:
            shown: list[str | Text] = [cut(c, size) for c, size in zip(cells, sizes, strict=True)]
            if self.wrap:
                shown[at] = Text(cells[at])
            self.add_row(*shown, key=key, height=None if self.wrap else 1)
        if self.full:
            self.move_cursor(row=min(max(row, 0), len(self.full) - 1))


def show_active_row(screen: Screen, title: str) -> None:
    """Open the highlighted row of the table in the screen's active tab, in full (Enter
    reaches it whether the table or the tab strip has the focus)."""
    tabbed = screen.query_one(TabbedContent)
    pane = tabbed.get_pane(tabbed.active) if tabbed.active else None
    tables = pane.query(DataTable) if pane is not None else None
    if not tables:
        screen.notify("No table on this tab", severity="warning")
        return
    table = tables.first()
    if isinstance(table, FitTable):
        table.show_full_row(f"{title} · {tabbed.active}")
    else:
        show_row(screen, table, title=f"{title} · {tabbed.active}")
