"""A FitTable (screens/fit_table.py) that also fits the terminal at both ends: on a wide one
a column's cap grows to its share of the width, so text is not cut where there is room; on
a narrow one, when the columns need more than the table's width, the widest text columns
give way first, each down to its label, so the table does not run off the screen's edge,
where a cut number would read as a smaller one. Numbers and other short facts named in
`whole` are never cut."""

from __future__ import annotations

from collections.abc import Sequence

from screens.fit_table import MIN_FLEX, FitTable

MIN_CELL = 4


class SnugTable(FitTable):
    def __init__(
        self,
        columns: Sequence[str],
        flex: str,
        *,
        whole: Sequence[str] = (),
        cap: int = 24,
        id: str | None = None,
    ) -> None:
        super().__init__(columns, flex, cap=cap, id=id)
        self.whole = set(whole)

    def widths(self, width: int) -> list[int]:
        # A wide terminal lifts the cap: each column may take its share of the width.
        cap = max(self.cap, width // len(self.labels))
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
