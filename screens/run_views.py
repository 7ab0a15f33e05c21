"""Views of several runs: the side-by-side diff, and a metric against a param of a sweep."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static
from textual_plotext import PlotextPlot

from cockpit.training.compare import Comparison


class CompareView(ModalScreen[None]):
    """Runs side by side; `d` toggles differences only."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="compare.close"),
        Binding("d", "toggle", "Differences only", id="compare.toggle"),
    ]

    def __init__(self, comparison: Comparison) -> None:
        super().__init__()
        self.comparison = comparison
        self.differences_only = True

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Label(id="compare-title", classes="dialog-title")
            yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Field", key="field", width=24)
        for run_id in self.comparison.runs:
            table.add_column(f"run {run_id}", key=str(run_id), width=18)
        self._fill()
        table.focus()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in self.comparison.rows:
            if self.differences_only and not row.differs:
                continue
            marker = "≠ " if row.differs else "  "
            table.add_row(marker + row.field, *["-" if v is None else str(v) for v in row.values])
        which = "differences only" if self.differences_only else "all fields"
        self.query_one("#compare-title", Label).update(
            f"Runs {', '.join(map(str, self.comparison.runs))} · {which} (d toggles · Esc closes)"
        )

    def action_toggle(self) -> None:
        self.differences_only = not self.differences_only
        self._fill()


HISTORY = "trial"  # the view after the params: each trial's score and the best so far


def _axis_order(value) -> tuple:
    """Numbers first, by value (max_depth 8 before 12), then the rest by text (None last)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


class SweepPlot(ModalScreen[None]):
    """A metric against one param across the runs of a sweep, the target marked; `p` picks
    the next param, and after the params the optimisation history (score by trial, in the
    order they came back, and the best so far)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close", id="sweepplot.close"),
        Binding("p", "next_param", "Next param", id="sweepplot.next"),
    ]

    def __init__(
        self, sweep_id: int | str, metric: str, points: list[tuple[dict, float]], target: float | None
    ) -> None:
        """`sweep_id`: a sweep's id, or what else groups the runs ("MLflow experiment cancer")."""
        super().__init__()
        self.label = f"Sweep {sweep_id}" if isinstance(sweep_id, int) else sweep_id
        self.metric, self.points, self.target = metric, points, target
        # a param is plotted when the runs that have it tried more than one value
        varied = {
            k for params, _ in points for k in params if len({repr(p[k]) for p, _ in points if k in p}) > 1
        }
        self.params = sorted(varied) or sorted(points[0][0]) if points else []
        self.views = [*self.params, HISTORY] if points else []
        self.index = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Label(id="plot-title", classes="dialog-title")
            yield PlotextPlot(id="sweep-plot")
            yield Static(id="plot-note")

    def on_mount(self) -> None:
        self._draw()

    def action_next_param(self) -> None:
        if self.views:
            self.index = (self.index + 1) % len(self.views)
            self._draw()

    def _draw(self) -> None:
        plot = self.query_one("#sweep-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        if not self.views:
            return
        name = self.views[self.index]
        if name == HISTORY:
            self._draw_history(plt)
            plot.refresh()
            return
        self.query_one("#plot-title", Label).update(
            f"{self.label}: {self.metric} by {name}  (p next param · Esc close)"
        )
        # runs that did not log this param (MLflow runs of one experiment need not share
        # params) are left out and counted, not drawn as a value they never had
        having = [(params[name], score) for params, score in self.points if name in params]
        values = [v for v, _ in having]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        scores = [score for _, score in having]
        if numeric:
            plt.scatter(values, scores, marker="x", label="runs")
            if max(values) / max(min(values), 1e-12) > 100 and min(values) > 0:
                plt.xscale("log")
        else:
            labels = list(dict.fromkeys(str(v) for v in sorted(values, key=_axis_order)))
            plt.scatter([labels.index(str(v)) + 1 for v in values], scores, marker="x", label="runs")
            plt.xticks(list(range(1, len(labels) + 1)), labels)
        if self.target is not None:
            plt.horizontal_line(self.target)
        plt.xlabel(name)
        plt.ylabel(self.metric)
        plot.refresh()
        note = f"{len(having)} runs"
        if len(having) < len(self.points):
            note += f" · {len(self.points) - len(having)} without {name}, not shown"
        if self.target is not None:
            note += f" · the line marks the target {self.target:g}"
        self.query_one("#plot-note", Static).update(note)

    def _draw_history(self, plt) -> None:
        from cockpit.training.sweeps import best_so_far

        self.query_one("#plot-title", Label).update(
            f"{self.label}: {self.metric} by trial, best so far  (p next · Esc close)"
        )
        scores = [score for _, score in self.points]
        numbers = list(range(1, len(scores) + 1))
        plt.scatter(numbers, scores, marker="x", label="trials")
        plt.plot(numbers, best_so_far(scores, self.metric), label="best so far")
        if self.target is not None:
            plt.horizontal_line(self.target)
        plt.xlabel("trial, in the order they came back")
        plt.ylabel(self.metric)
        note = f"{len(scores)} runs · the line is the best score so far"
        if self.target is not None:
            note += f" · target {self.target:g}"
        self.query_one("#plot-note", Static).update(note)
