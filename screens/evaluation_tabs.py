"""What each tab of the evaluation screen shows of one run's evaluation: rows for its tables
and lines for its text, each number formatted once (`fmt`), never cut."""

from __future__ import annotations

from textual.widgets import DataTable
from textual_plotext import PlotextPlot

from cockpit.evaluation import gate as gating
from cockpit.evaluation import metrics
from cockpit.evaluation.report import Evaluation
from cockpit.evaluation.view import RunEvaluation, threshold_note, threshold_of
from cockpit.text import cut

NAME_ROOM = 28  # an importance bar's column name: whole up to this, then cut with …

Rows = list[list[str]]


def fmt(value: float | None, signed: bool = False) -> str:
    """A metric's value, rounded (never cut): 4 decimals, thousands grouped above 1,000."""
    if value is None:
        return "-"
    sign = "+" if signed else ""
    return f"{value:{sign},.1f}" if abs(value) >= 1000 else f"{value:{sign}.4f}"


def fill(table: DataTable, columns: list[str], rows: Rows) -> None:
    """Replace the table's columns and rows; each column as wide as its widest cell, so
    nothing is cut whatever the terminal's width (the table scrolls sideways instead)."""
    table.clear(columns=True)
    for index, label in enumerate(columns):
        width = max([len(label), *(len(row[index]) for row in rows)])
        table.add_column(label, width=width)
    for row in rows:
        table.add_row(*row)


def metrics_rows(view: RunEvaluation, e: Evaluation) -> tuple[list[str], Rows]:
    """Metric, model, baseline (+ reference, Δ), and the threshold each number uses."""
    task = view.project.task
    columns = ["Metric", "Model", "Baseline"]
    columns += ["Reference", "Δ ref"] if e.reference else []
    columns += ["Threshold"] if task == "binary" else []
    base, ref = e.baseline_metrics, e.reference_metrics
    rows = []
    for name, value in e.metrics.items():
        row = [("▶ " if name == view.metric else "  ") + name, fmt(value), fmt(base.get(name))]
        if e.reference:
            other = ref.get(name)
            row += [fmt(other), "-" if other is None else fmt(value - other, signed=True)]
        if task == "binary":
            row.append(threshold_of(e, task, name))
        rows.append(row)
    return columns, rows


def metrics_note(view: RunEvaluation, e: Evaluation) -> str:
    note = threshold_note(e, view.project.task)
    if e.reference:
        own = e.reference.get("threshold")
        at = f" at its own threshold {own:.3f}" if isinstance(own, float) else " at its own threshold"
        note += f" · reference run {e.reference_run}{at if view.project.task == 'binary' else ''}"
    return note


def confusion_rows(e: Evaluation) -> tuple[list[str], Rows]:
    confusion = e.confusion
    if confusion is not None:
        columns = ["actual \\ predicted", *[str(label)[:12] for label in confusion.labels]]
        rows = [
            [str(label)[:18], *[str(v) for v in counts]]
            for label, counts in zip(confusion.labels, confusion.counts, strict=True)
        ]
        return columns, rows
    if e.error_by_range is not None:
        bands = [[f"{b.low:,.4g} – {b.high:,.4g}", f"{b.mae:,.4g}", str(b.rows)] for b in e.error_by_range]
        return ["Target range", "MAE", "Rows"], bands
    return [], []


def rules_rows(gate: gating.GateResult | None) -> tuple[list[str], Rows]:
    rules = gate.rules if gate else []
    return ["Rule", "Verdict", "Detail"], [
        [r.name, {"pass": "✓ pass", "FAIL": "✗ FAIL"}.get(r.verdict, "· n/a"), r.detail] for r in rules
    ]


def segments_rows(e: Evaluation) -> tuple[list[str], Rows]:
    rows = []
    for seg in e.segments:
        flag = "✗ WEAK" if seg.flagged else ("small" if seg.small else "")
        rows.append([seg.column, seg.group, str(seg.rows), fmt(seg.value), seg.interval, flag])
    return ["Column", "Group", "Rows", "Value", "95% interval", "Flag"], rows


def fairness_lines(e: Evaluation) -> list[str]:
    if e.segment_columns:
        lines = [
            f"{e.segment_metric} per group, weak first; weak = more than "
            "the margin below overall, small groups never flagged"
        ]
    else:
        lines = [
            "No segment columns: name them in the problem spec (segments) or "
            "cockpit evaluate RUN --segments a,b"
        ]
    for gap in e.fairness:
        recall = "-" if gap.recall_gap is None else f"{gap.recall_gap:.3f}"
        lines.append(
            f"{'✗' if gap.flagged else '✓'} {gap.column}: recall gap {recall} "
            f"(weakest {gap.worst_recall_group}), selection-rate ratio "
            f"{gap.selection_rate_ratio:.2f}"
        )
    return lines


def robustness_lines(e: Evaluation) -> list[str]:
    lines = []
    st = e.stability
    if st is not None and st.not_applicable:
        lines.append(f"· Stability: not applicable: {st.not_applicable}")
    elif st is not None:
        values = ", ".join(fmt(v) for v in st.values)
        lines.append(
            f"{'✓' if st.stable else '✗'} Stability: {st.metric} over "
            f"{st.seeds} seeds on bootstrap samples: {values}"
        )
        lines.append(f"  spread {fmt(st.spread)} · tolerance {st.tolerance:.3f}")
    for case in e.edge_cases:
        lines.append(f"{'✓' if case.ok else '✗'} Edge case, {case.case} ({case.rows} rows): {case.detail}")
    lat = e.latency
    if lat is not None:
        mark = "·" if lat.within_budget is None else ("✓" if lat.within_budget else "✗")
        budget = (
            f" vs budget {lat.budget_ms:g} ms" if lat.budget_ms is not None else " (no budget in the spec)"
        )
        lines.append(
            f"{mark} Latency per row: p50 {lat.p50_ms:.1f} · p95 {lat.p95_ms:.1f} · "
            f"p99 {lat.p99_ms:.1f} ms{budget}"
        )
        lines.append(f"  batch: {lat.batch_rows_per_s:,.0f} rows/s")
        if lat.method:  # the gate's least-of-repeats rule: the p95 on a loaded machine is read by it
            lines.append(f"  timed: {lat.method}")
    return lines or ["This evaluation recorded no stability, edge-case or latency checks."]


def headline(view: RunEvaluation, e: Evaluation) -> str:
    """The numbers that matter first: the spec's metric against its target, skill over the
    dummy baseline, the difference from the reference."""
    spec, metric = view.spec, view.metric
    value = e.metrics.get(metric)
    parts = [f"{metric} {fmt(value)}"]
    if spec.metric_target is not None and value is not None:
        met = not metrics.better(metric, spec.metric_target, value)
        parts[0] += f" (target {spec.metric_goal().split(' ', 1)[1]} {'✓' if met else '✗'})"
    skill = gating.SKILL_METRIC.get(view.project.task, metric)
    base = e.baseline_metrics.get(skill)
    if base is not None and e.metrics.get(skill) is not None:
        parts.append(f"{skill} {fmt(e.metrics[skill])} vs baseline {fmt(base)}")
    if e.reference_run is not None:
        ref = e.reference_metrics.get(metric)
        if ref is not None and value is not None:
            parts.append(f"vs run {e.reference_run}: {fmt(value - ref, signed=True)}")
    return " · ".join(parts)


def draw_importance(plot: PlotextPlot, e: Evaluation) -> str:
    """Draw the permutation importance; the tab's note."""
    plt = plot.plt
    plt.clear_figure()
    found = e.importance[:10]
    if found:
        plt.bar(
            [cut(i.column, NAME_ROOM) for i in found][::-1],
            [i.importance for i in found][::-1],
            orientation="horizontal",
            marker="hd",
        )
    plot.refresh()
    if not found:
        return "This evaluation recorded no permutation importance."
    return f"Permutation importance: {found[0].scoring} drop when each column is shuffled"


CURVES = {
    "binary": ["roc", "pr", "threshold_curve", "calibration"],
    "multiclass": [],
    "regression": ["residuals", "actual_vs_predicted", "error_by_range"],
}


def draw_curve(plot: PlotextPlot, view: RunEvaluation, e: Evaluation, index: int) -> str:
    """Draw the `index`th curve the evaluation has (cycling); the tab's note."""
    plt = plot.plt
    plt.clear_figure()
    names = [n for n in CURVES[view.project.task] if n in e.details]
    if not names:
        plot.refresh()
        return "No curves for this task: see the Confusion tab."
    name = names[index % len(names)]
    title = _CURVE_DRAWERS[name](plt, e.details[name], view, e)
    plt.title(title)
    plot.refresh()
    return f"{title} · c: next curve ({index % len(names) + 1} of {len(names)})"


def _roc(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    plt.plot(data["fpr"], data["tpr"], marker="dot", label="model")
    plt.plot([0, 1], [0, 1], marker="-", label="chance")
    return "ROC curve"


def _pr(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    plt.plot(data["recall"], data["precision"], marker="dot", label="model")
    return "Precision vs recall"


def _threshold(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    plt.plot(data["threshold"], data["precision"], marker="dot", label="precision")
    plt.plot(data["threshold"], data["recall"], marker="x", label="recall")
    if e.threshold is not None:
        plt.vertical_line(e.threshold)
    spec = view.spec
    if spec.metric_target is not None and spec.metric in ("recall", "precision"):
        plt.horizontal_line(spec.metric_target)
    return "Precision and recall by threshold; lines: chosen threshold, target"


def _calibration(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    plt.plot(data["predicted"], data["observed"], marker="dot", label="model")
    plt.plot([0, 1], [0, 1], marker="-", label="perfect")
    return "Calibration: observed rate by predicted probability"


def _residuals(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    edges = data["edges"]
    plt.bar([(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)], data["counts"], marker="hd")
    return "Residuals (predicted - actual)"


def _actual_vs_predicted(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    plt.scatter(data["actual"], data["predicted"], marker="x", label="rows")
    low, high = min(data["actual"]), max(data["actual"])
    plt.plot([low, high], [low, high], marker="-", label="perfect")
    return "Predicted vs actual"


def _error_by_range(plt, data, view: RunEvaluation, e: Evaluation) -> str:
    plt.bar([f"{b['low']:.3g}" for b in data], [b["mae"] for b in data], marker="hd")
    return "MAE by target range"


_CURVE_DRAWERS = {
    "roc": _roc,
    "pr": _pr,
    "threshold_curve": _threshold,
    "calibration": _calibration,
    "residuals": _residuals,
    "actual_vs_predicted": _actual_vs_predicted,
    "error_by_range": _error_by_range,
}
