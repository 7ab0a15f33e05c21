"""Stage 5 screen: the gate verdict and the three numbers that matter first, then tabs
for metrics, curves, the confusion matrix and the gate's rules."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from cockpit.errors import CockpitError
from cockpit.evaluation import gate as gating
from cockpit.evaluation import metrics
from cockpit.evaluation import report as reporting
from cockpit.problem import current_spec
from cockpit.training import query
from cockpit.training.runs import get_run
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.dialogs_input import PromptDialog
from screens.guard import guarded, notify_errors
from screens.keys import Key, bindings
from screens.work import Job, WorkFailed

EVALUATION_KEYS = [
    Key(
        "evaluation.evaluate",
        "v",
        "evaluate('test')",
        "Evaluate",
        cli="evaluate",
        help="Evaluate on the test split and run the gate (a recorded look at the test split)",
    ),
    Key(
        "evaluation.validation",
        "V",
        "evaluate('validation')",
        "On validation",
        show=False,
        cli="evaluate --split",
        help="Evaluate on the validation split (free while iterating)",
    ),
    Key(
        "evaluation.run",
        "r",
        "pick_run",
        "Run",
        cli="evaluate",
        help="Choose the run to evaluate (default: the best on validation)",
    ),
    Key(
        "evaluation.against",
        "a",
        "pick_reference",
        "Against",
        show=False,
        cli="gate --against",
        help="Compare with another run, or 'production'",
    ),
    Key(
        "evaluation.curve",
        "c",
        "next_curve",
        "Curve",
        show=False,
        help="The next curve: ROC, precision-recall, threshold, calibration",
    ),
    Key(
        "evaluation.export",
        "e",
        "export",
        "Export",
        cli="evaluate --markdown",
        help="Write the report as Markdown (cockpit evaluate RUN --markdown)",
    ),
    Key("evaluation.next_tab", "right_square_bracket", "next_tab(1)", "Tabs", help="Next tab"),
    Key(
        "evaluation.prev_tab",
        "left_square_bracket",
        "next_tab(-1)",
        "Previous tab",
        show=False,
        help="Previous tab",
    ),
]
CURVES = {
    "binary": ["roc", "pr", "threshold_curve", "calibration"],
    "multiclass": [],
    "regression": ["residuals", "actual_vs_predicted", "error_by_range"],
}


class EvaluationScreen(StageScreen):
    """Does the model pass the gate, and by how much?"""

    TITLE = "Evaluation"
    CSS_PATH = "evaluation.tcss"
    BINDINGS = bindings(EVALUATION_KEYS)
    KEYS = EVALUATION_KEYS
    TABS = ("metrics", "curves", "confusion", "rules", "segments", "robustness", "importance")

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.run_id: int | None = None
        self.reference_id: int | None = None
        self.evaluation: reporting.Evaluation | None = None
        self.gate_result: gating.GateResult | None = None
        self.curve = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="verdict")
        with TabbedContent(initial="metrics"):
            with TabPane("Metrics", id="metrics"):
                yield DataTable(id="metrics-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Curves", id="curves"):
                yield PlotextPlot(id="curve-plot")
            with TabPane("Confusion", id="confusion"):
                yield DataTable(id="confusion-table", cursor_type="row")
            with TabPane("Gate", id="rules"):
                yield DataTable(id="rules-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Segments", id="segments"):
                yield DataTable(id="segments-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="fairness", classes="detail")
            with TabPane("Robustness", id="robustness"):
                yield Static(id="robustness-text")
            with TabPane("Importance", id="importance"):
                yield PlotextPlot(id="importance-plot")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rules-table", DataTable).add_columns("Rule", "Verdict", "Detail")
        self.query_one("#segments-table", DataTable).add_columns(
            "Column", "Group", "Rows", "Value", "95% interval", "Flag"
        )
        self.refresh_data()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        if self.run_id is None or get_run(self.workspace, project, self.run_id) is None:
            self.run_id = self._default_run(project)
        if self.run_id is None:
            self.query_one("#verdict", Static).update(
                "No finished run to evaluate yet: train one on the Experiments screen (4)."
            )
            return
        self.evaluation = reporting.latest_evaluation(self.workspace, project, self.run_id, part=None)
        self.gate_result = gating.latest_gate(self.workspace, self.run_id)
        self._show()

    def _default_run(self, project) -> int | None:
        evaluated = reporting.last_evaluated_run(self.workspace, project)
        if evaluated is not None:
            return evaluated
        metric = metrics.primary_metric(project.task, current_spec(self.workspace, project).metric)
        return query.best_run_id(self.workspace, project.id, metric)

    # -- drawing ---------------------------------------------------------------

    def _show(self) -> None:
        project = self.app.project
        run = get_run(self.workspace, project, self.run_id)
        verdict = self.query_one("#verdict", Static)
        if self.evaluation is None:
            verdict.update(
                f"{run.label} · not evaluated yet: v evaluates it on the test split "
                "(a recorded look), V on validation, r picks another run."
            )
            for table_id in ("#metrics-table", "#confusion-table", "#rules-table"):
                self.query_one(table_id, DataTable).clear()
            return
        e = self.evaluation
        gate_text = ""
        if self.gate_result and e.part == "test":
            gate_text = " · GATE ✓ PASS" if self.gate_result.passed else " · GATE ✗ FAIL"
        threshold = f" · threshold {e.threshold:.3f}" if e.threshold is not None else ""
        lines = [f"{run.label} · {e.part} split{threshold}{gate_text}", self._numbers(e)]
        lines += [f"! {w}" for w in e.warnings]
        verdict.update("\n".join(lines))
        self._fill_metrics(e)
        self._fill_confusion(e)
        self._fill_rules()
        self._draw_curve()
        self._fill_segments(e)
        self._fill_robustness(e)
        self._draw_importance(e)

    def _fill_segments(self, e: reporting.Evaluation) -> None:
        table = self.query_one("#segments-table", DataTable)
        table.clear()
        for seg in e.segments:
            interval = f"{seg.low:.3f}–{seg.high:.3f}" if seg.low is not None else "-"
            flag = "✗ WEAK" if seg.flagged else ("small" if seg.small else "")
            table.add_row(seg.column[:14], seg.group[:16], str(seg.rows), _fmt(seg.value), interval, flag)
        lines = []
        if e.segment_columns:
            lines.append(
                f"{e.segment_metric} per group, weak first; weak = more than "
                "the margin below overall, small groups never flagged"
            )
        else:
            lines.append(
                "No segment columns: name them in the problem spec (segments) or "
                "cockpit evaluate RUN --segments a,b"
            )
        for gap in e.fairness:
            recall = "-" if gap.recall_gap is None else f"{gap.recall_gap:.3f}"
            lines.append(
                f"{'✗' if gap.flagged else '✓'} {gap.column}: recall gap {recall} "
                f"(weakest {gap.worst_recall_group}), selection-rate ratio "
                f"{gap.selection_rate_ratio:.2f}"
            )
        self.query_one("#fairness", Static).update("\n".join(lines))

    def _fill_robustness(self, e: reporting.Evaluation) -> None:
        lines = []
        st = e.stability
        if st is not None:
            values = ", ".join(_fmt(v) for v in st.values)
            lines.append(
                f"{'✓' if st.stable else '✗'} Stability: {st.metric} over "
                f"{st.seeds} seeds on bootstrap samples: {values}"
            )
            lines.append(f"  spread {_fmt(st.spread)} · tolerance {st.tolerance:.3f}")
        for case in e.edge_cases:
            lines.append(
                f"{'✓' if case.ok else '✗'} Edge case, {case.case} ({case.rows} rows): {case.detail}"
            )
        lat = e.latency
        if lat is not None:
            mark = "·" if lat.within_budget is None else ("✓" if lat.within_budget else "✗")
            budget = (
                f" vs budget {lat.budget_ms:g} ms"
                if lat.budget_ms is not None
                else " (no budget in the spec)"
            )
            lines.append(
                f"{mark} Latency per row: p50 {lat.p50_ms:.1f} · p95 "
                f"{lat.p95_ms:.1f} · p99 {lat.p99_ms:.1f} ms{budget}"
            )
            lines.append(f"  batch: {lat.batch_rows_per_s:,.0f} rows/s")
        self.query_one("#robustness-text", Static).update(
            "\n".join(lines) or "Evaluate (v) to see stability, edge cases and latency."
        )

    def _draw_importance(self, e: reporting.Evaluation) -> None:
        plot = self.query_one("#importance-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        found = e.importance[:10]
        if found:
            plt.bar(
                [i.column[:14] for i in found][::-1],
                [i.importance for i in found][::-1],
                orientation="horizontal",
                marker="hd",
            )
            plt.title(f"Permutation importance ({found[0].scoring} drop when shuffled)")
        plot.refresh()

    def _numbers(self, e: reporting.Evaluation) -> str:
        spec = current_spec(self.workspace, self.app.project)
        value = e.metrics.get(e.metric)
        parts = [f"{e.metric} {value:.4f}" if value is not None else f"{e.metric} -"]
        if spec.metric_target is not None and value is not None:
            met = not metrics.better(e.metric, spec.metric_target, value)
            parts[0] += f" (target {spec.metric_goal().split(' ', 1)[1]} {'✓' if met else '✗'})"
        skill = gating.SKILL_METRIC.get(self.app.project.task, e.metric)
        base = e.baseline_metrics.get(skill)
        if base is not None and e.metrics.get(skill) is not None:
            parts.append(f"{skill} {e.metrics[skill]:.3f} vs baseline {base:.3f}")
        if e.reference_run is not None:
            ref = e.reference_metrics.get(e.metric)
            if ref is not None and value is not None:
                parts.append(f"vs run {e.reference_run}: {value - ref:+.4f}")
        return " · ".join(parts)

    def _fill_metrics(self, e: reporting.Evaluation) -> None:
        table = self.query_one("#metrics-table", DataTable)
        table.clear(columns=True)
        columns = ["Metric", "Model", "Baseline"] + (["Reference", "Δ ref"] if e.reference else [])
        table.add_columns(*columns)
        base, ref = e.baseline_metrics, e.reference_metrics
        for name, value in e.metrics.items():
            row = [("▶ " if name == e.metric else "  ") + name, f"{value:.4f}", _fmt(base.get(name))]
            if e.reference:
                other = ref.get(name)
                row += [_fmt(other), "-" if other is None else f"{value - other:+.4f}"]
            table.add_row(*row)

    def _fill_confusion(self, e: reporting.Evaluation) -> None:
        table = self.query_one("#confusion-table", DataTable)
        table.clear(columns=True)
        confusion = e.confusion
        if confusion is not None:
            table.add_columns("actual \\ predicted", *[str(label)[:12] for label in confusion.labels])
            for label, row in zip(confusion.labels, confusion.counts, strict=True):
                table.add_row(str(label)[:18], *[str(v) for v in row])
        elif e.error_by_range is not None:
            table.add_columns("Target range", "MAE", "Rows")
            for b in e.error_by_range:
                table.add_row(f"{b.low:,.4g} – {b.high:,.4g}", f"{b.mae:,.4g}", str(b.rows))

    def _fill_rules(self) -> None:
        table = self.query_one("#rules-table", DataTable)
        table.clear()
        if self.gate_result is None:
            return
        for rule in self.gate_result.rules:
            table.add_row(rule.name, "✓ pass" if rule.passed else "✗ FAIL", rule.detail)

    def _draw_curve(self) -> None:
        e = self.evaluation
        plot = self.query_one("#curve-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        names = [n for n in CURVES[self.app.project.task] if e and n in e.details]
        if not names:
            plt.title("no curves for this task (see the confusion tab)")
            plot.refresh()
            return
        name = names[self.curve % len(names)]
        data = e.details[name]
        spec = current_spec(self.workspace, self.app.project)
        if name == "roc":
            plt.plot(data["fpr"], data["tpr"], marker="dot", label="model")
            plt.plot([0, 1], [0, 1], marker="-", label="chance")
            plt.title("ROC curve (c: next curve)")
        elif name == "pr":
            plt.plot(data["recall"], data["precision"], marker="dot", label="model")
            plt.title("Precision vs recall (c: next curve)")
        elif name == "threshold_curve":
            plt.plot(data["threshold"], data["precision"], marker="dot", label="precision")
            plt.plot(data["threshold"], data["recall"], marker="x", label="recall")
            if e.threshold is not None:
                plt.vertical_line(e.threshold)
            if spec.metric_target is not None and spec.metric in ("recall", "precision"):
                plt.horizontal_line(spec.metric_target)
            plt.title("Precision and recall by threshold; lines: chosen threshold, target")
        elif name == "calibration":
            plt.plot(data["predicted"], data["observed"], marker="dot", label="model")
            plt.plot([0, 1], [0, 1], marker="-", label="perfect")
            plt.title("Calibration: observed rate by predicted probability")
        elif name == "residuals":
            edges = data["edges"]
            plt.bar(
                [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)], data["counts"], marker="hd"
            )
            plt.title("Residuals (predicted - actual)")
        elif name == "actual_vs_predicted":
            plt.scatter(data["actual"], data["predicted"], marker="x", label="rows")
            low, high = min(data["actual"]), max(data["actual"])
            plt.plot([low, high], [low, high], marker="-", label="perfect")
            plt.title("Predicted vs actual")
        else:
            plt.bar([f"{b['low']:.3g}" for b in data], [b["mae"] for b in data], marker="hd")
            plt.title("MAE by target range")
        plot.refresh()

    # -- actions ---------------------------------------------------------------

    def action_next_curve(self) -> None:
        self.curve += 1
        self.query_one(TabbedContent).active = "curves"
        self._draw_curve()

    def action_evaluate(self, part: str) -> None:
        if self.run_id is None:
            self.notify("No run to evaluate", severity="warning")
            return
        self.query_one("#verdict", Static).update(f"Evaluating run {self.run_id} on {part}…")
        self.start_work("Evaluation", functools.partial(_evaluate, self.run_id, part, self.reference_id))

    @guarded
    def on_evaluated(self, done: Evaluated) -> None:
        result = done.result
        if isinstance(result, gating.GateResult):
            self.notify(
                f"Gate {'PASS' if result.passed else 'FAIL'}",
                severity="information" if result.passed else "error",
            )
        self.refresh_data()

    def work_failed(self, failed: WorkFailed) -> None:
        self.refresh_data()

    def action_pick_run(self) -> None:
        def chosen(text: str | None) -> None:
            if text:
                try:
                    self.run_id = get_run(self.workspace, self.app.project, int(text)).id
                except (ValueError, CockpitError) as exc:
                    self.notify(str(exc), severity="error")
                    return
                self.refresh_data()

        self.app.push_screen(PromptDialog("Run to evaluate", "run id", str(self.run_id or "")), chosen)

    def action_pick_reference(self) -> None:
        from cockpit.evaluation.references import production_run

        def chosen(text: str | None) -> None:
            if not text:
                self.reference_id = None
                self.notify("No reference model")
                return
            try:
                if text == "production":
                    found = production_run(self.workspace, self.app.project)
                    if found is None:
                        raise CockpitError("no production model yet")
                    self.reference_id = found.id
                else:
                    self.reference_id = get_run(self.workspace, self.app.project, int(text)).id
            except (ValueError, CockpitError) as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"Reference: run {self.reference_id} (v evaluates against it)")

        self.app.push_screen(
            PromptDialog("Reference run (id, or 'production'; empty for none)", "run id"), chosen
        )

    @notify_errors
    def action_export(self) -> None:
        from pathlib import Path

        from cockpit.evaluation.markdown import to_markdown

        if self.evaluation is None:
            self.notify("Evaluate first (v)", severity="warning")
            return
        run = get_run(self.workspace, self.app.project, self.run_id)
        default = str(self.workspace.root / f"evaluation-run-{run.id}.md")

        def chosen(path: str | None) -> None:
            if path:
                target = Path(path).expanduser()
                target.write_text(to_markdown(self.evaluation, run.label, self.gate_result))
                self.notify(f"Wrote {target}")

        self.app.push_screen(PromptDialog("Write the report to", value=default), chosen)


@dataclass
class Evaluated(Message):
    """A run was evaluated; on the test split the result is the gate's verdict."""

    result: gating.GateResult | reporting.Evaluation


def _evaluate(run_id: int, part: str, reference_id: int | None, job: Job) -> Evaluated:
    ws, project = job.workspace, job.project
    run = get_run(ws, project, run_id)
    against = get_run(ws, project, reference_id) if reference_id else None
    if part == "test":
        return Evaluated(gating.gate(ws, project, run, against))
    return Evaluated(reporting.evaluate(ws, project, run, part, against))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
