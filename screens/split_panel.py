"""The split summary: sizes, target balance per part, leakage verdicts, and each
feature's distribution per part side by side."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from cockpit.data.findings import Finding
from cockpit.data.splits import PARTS, Split
from cockpit.text import cut

MAX_NAME = 28  # a longer feature name is cut with "…"; the plot's title gives it whole
VERDICT_MARK = {"ok": "✓", "info": "·", "warning": "!", "error": "✗ LEAK"}
# Series differ by marker as well as colour, so the plot reads with NO_COLOR.
PART_MARKERS = {"train": "dot", "validation": "x", "test": "+"}


class SplitPanel(Vertical):
    """Shows one split; the feature table's highlighted row picks the plotted column."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.split: Split | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="split-summary")
        with Horizontal(id="split-body"):
            yield DataTable(id="split-features", cursor_type="row", zebra_stripes=True)
            yield PlotextPlot(id="split-plot")

    def on_mount(self) -> None:
        self._feature_column(["Feature"])

    def show(self, split: Split | None, target: str) -> None:
        self.split = split
        summary = self.query_one("#split-summary", Static)
        table = self.query_one("#split-features", DataTable)
        table.clear()
        if split is None:
            summary.update("No split of this version yet: press s to make one (or cockpit data split).")
            self.query_one("#split-plot", PlotextPlot).display = False
            return
        self.query_one("#split-plot", PlotextPlot).display = True
        sizes = " · ".join(f"{part} {split.sizes[part]:,}" for part in PARTS)
        lines = [f"{split.label} of v{split.version_id}: {sizes}", _balance_line(split, target)]
        lines += [_verdict(f) for f in split.findings if f.severity != "ok" or f.check == "target_predictor"]
        summary.update("\n".join(lines))
        self._feature_column(list(split.distributions))
        for column in split.distributions:
            table.add_row(cut(column, MAX_NAME), key=column)
        if split.distributions:
            self.plot(next(iter(split.distributions)))

    def _feature_column(self, names: list[str]) -> None:
        """The feature list as wide as its longest name (up to MAX_NAME): the plot gets the rest."""
        table = self.query_one("#split-features", DataTable)
        width = min(MAX_NAME, max(len(n) for n in ["Feature", *names]))
        table.clear(columns=True)
        table.add_column("Feature", key="feature", width=width)
        table.styles.width = width + 4  # cell padding and the scrollbar

    def plot(self, column: str) -> None:
        spec = self.split.distribution(column) if self.split is not None else None
        if spec is None:
            return
        widget = self.query_one("#split-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_figure()
        plt.title(f"{column}: share of rows per part")
        if spec.kind == "numeric":
            edges = spec.edges
            xs = list(range(1, len(spec.parts["train"]) + 1))
            for part in PARTS:
                counts = spec.parts[part]
                total = sum(counts) or 1
                plt.plot(xs, [c / total for c in counts], marker=PART_MARKERS[part], label=part)
            ticks = [1, len(xs)]
            plt.xticks(ticks, [f"{edges[0]:.3g}", f"{edges[-1]:.3g}"])
        else:
            xs = list(range(1, len(spec.categories) + 1))
            for part in PARTS:
                plt.plot(xs, spec.parts[part], marker=PART_MARKERS[part], label=part)
            plt.xticks(xs, [str(c)[:8] for c in spec.categories])
        widget.refresh()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self.plot(event.row_key.value)
            event.stop()


def _balance_line(split: Split, target: str) -> str:
    train = split.balance["train"]
    if "mean" in train:
        return f"{target} mean: " + " · ".join(f"{part} {split.balance[part]['mean']:,.4g}" for part in PARTS)
    positive = sorted(train)[-1]
    return f"{target}={positive}: " + " · ".join(
        f"{part} {split.balance[part].get(positive, 0):.1%}" for part in PARTS
    )


def _verdict(finding: Finding) -> str:
    """A finding a person accepted reads as accepted (by whom), never as a standing leak."""
    if finding.accepted_by is not None:
        return f"✓ accepted by {finding.accepted_by}: {finding.message}"
    return f"{VERDICT_MARK[finding.severity]} {finding.message}"
