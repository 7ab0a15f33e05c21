"""What each tab of the evaluation screen shows of one run's evaluation: rows for its tables
and lines for its text, each number formatted once (`fmt`), never cut."""

from __future__ import annotations

from textual.widgets import DataTable
from textual_plotext import PlotextPlot

from cockpit.evaluation import gate as gating
from cockpit.evaluation import metrics
from cockpit.evaluation.references import overlap_warning
from cockpit.evaluation.report import Evaluation
from cockpit.evaluation.view import RunEvaluation, reference_note, threshold_note, threshold_of
from cockpit.text import cut
from cockpit.training.query import recorded_threshold

NAME_ROOM = 28  # an importance bar's column name: whole up to this, then cut with …

Rows = list[list[str]]


def fmt(value: float | None, signed: bool = False) -> str:
    """A metric's value, rounded (never cut): 4 decimals, thousands grouped above 1,000."""
    if value is None:
        return "-"
    sign = "+" if signed else ""
    return f"{value:{sign},.1f}" if abs(value) >= 1000 else f"{value:{sign}.4f}"


def fill(table: DataTable, columns: list[str], rows: Rows) -> None:
    """Replace the table's columns and rows; each column as wide as its widest line, so
    nothing is cut; a cell of several lines (wrapped text) makes its row that tall."""
    table.clear(columns=True)
    for index, label in enumerate(columns):
        width = max([len(label), *(len(line) for row in rows for line in row[index].split("\n"))])
        table.add_column(label, width=width)
    for row in rows:
        table.add_row(*row, height=max(cell.count("\n") + 1 for cell in row))


# DataTable's cell padding (one each side) and the scrollbar: what `width` columns leave
CELL_PADDING = 2
TABLE_MARGIN = 4


def _fits(columns: list[str], rows: Rows, width: int) -> bool:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) + CELL_PADDING for i, c in enumerate(columns)]
    return sum(widths) + TABLE_MARGIN <= width


# Short names for a narrow terminal: the table keeps every column (Threshold last) by
# shortening names, never by cutting values.
SHORT_NAMES = {"balanced_accuracy": "bal_acc", "precision": "prec", "accuracy": "acc"}
SHORT_COLUMNS = {"Baseline": "Base", "Reference": "Ref", "Threshold": "Thr"}
SHORT_LEGEND = "Base: dummy baseline · Ref: reference · Thr: threshold"


def metrics_rows(view: RunEvaluation, e: Evaluation, width: int = 0) -> tuple[list[str], Rows]:
    """Metric, model, baseline (+ reference, Δ), and the threshold each number uses. When
    the table would not fit `width` cells (0: any), names and headers are shortened."""
    columns, rows = _metrics_rows(view, e, {})
    if not width or _fits(columns, rows, width):
        return columns, rows
    columns, rows = _metrics_rows(view, e, SHORT_NAMES)
    return [SHORT_COLUMNS.get(c, c) for c in columns], rows


def _metrics_rows(view: RunEvaluation, e: Evaluation, names: dict[str, str]) -> tuple[list[str], Rows]:
    task = view.project.task
    columns = ["Metric", "Model", "Baseline"]
    columns += ["Reference", "Δ ref"] if e.reference else []
    columns += ["Threshold"] if task == "binary" else []
    base, ref = e.baseline_metrics, e.reference_metrics
    rows = []
    for name, value in e.metrics.items():
        shown = names.get(name, name)
        row = [("▶ " if name == view.metric else "  ") + shown, fmt(value), fmt(base.get(name))]
        if e.reference:
            other = ref.get(name)
            row += [fmt(other), "-" if other is None else fmt(value - other, signed=True)]
        if task == "binary":
            row.append(threshold_of(e, task, name))
        rows.append(row)
    return columns, rows


WIDE = 100  # from this many cells the metrics note also says why the threshold was chosen


def metrics_note(view: RunEvaluation, e: Evaluation, width: int = WIDE) -> str:
    note = threshold_note(e, view.project.task, brief=width < WIDE)
    if e.reference:
        note += f" · {reference_note(e, view.project.task)}"
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


HEADS = ("Rule", "Verdict")
DETAIL_MIN = 24  # a gate rule's detail wraps at the room left, never narrower than this


def rules_rows(gate: gating.GateResult | None, width: int = 0) -> tuple[list[str], Rows]:
    """Each rule, its verdict and its whole detail: wrapped to the room `width` cells leave
    (0: one line each), so nothing is cut."""
    import textwrap

    rules = gate.rules if gate else []
    rows = [[r.name, {"pass": "✓ pass", "FAIL": "✗ FAIL"}.get(r.verdict, "· n/a"), r.detail] for r in rules]
    if width and rows:
        used = sum(max(len(h), *(len(r[i]) for r in rows)) + CELL_PADDING for i, h in enumerate(HEADS))
        room = max(DETAIL_MIN, width - used - CELL_PADDING - TABLE_MARGIN)
        for row in rows:
            row[2] = "\n".join(textwrap.wrap(row[2], room, break_on_hyphens=False)) or row[2]
    return ["Rule", "Verdict", "Detail"], rows


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


def stability_rows(task: str, metric: str) -> str:
    """The rows and threshold the stability refits are scored on: each refit's validation
    score, from its own predict (P > 0.5 for a binary model), as the runs table's are."""
    at = recorded_threshold(task, metric)
    threshold = f" at threshold {at:.3f} (the model's own predict, not the tuned one)" if at else ""
    if task == "binary" and at is None:
        threshold = " (from the scores: no threshold)"
    return f"validation {metric}{threshold}"


def robustness_lines(e: Evaluation, task: str = "binary") -> list[str]:
    """Each check with the rows (and threshold) its numbers are on."""
    lines = []
    st = e.stability
    if st is not None and st.not_applicable:
        lines.append(f"· Stability: not applicable: {st.not_applicable}")
    elif st is not None:
        values = ", ".join(fmt(v) for v in st.values)
        lines.append(
            f"{'✓' if st.stable else '✗'} Stability: {stability_rows(task, st.metric)}, "
            f"{st.seeds} refits on bootstrap samples of the training rows: {values}"
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


def short_warning(text: str) -> str:
    """A warning's first clause, for the header (the whole one is in the Gate tab or `e`)."""
    return text.split(":", 1)[0]


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
            # the warning lines under the headline say why
            mark = " !" if e.reference and overlap_warning(e.reference, e.part) else ""
            parts.append(f"vs run {e.reference_run} on the same rows: {fmt(value - ref, signed=True)}{mark}")
    return " · ".join(parts)


BAR_ROOM = 24  # the longest importance bar, in cells
EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, largest: float, room: int = BAR_ROOM) -> str:
    """A horizontal bar of `value` out of `largest` in `room` cells, to an eighth of a cell;
    nothing for a value at or below zero."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = round(value / largest * room * 8)
    return ("█" * (eighths // 8) + EIGHTHS[eighths % 8]).rstrip()


def importance_rows(e: Evaluation) -> tuple[list[str], Rows]:
    """Permutation importance, one row per column (its name, the mean drop ± its spread
    over the repeats and a bar), largest first: each bar sits on its own column's row."""
    found = e.importance
    if not found:
        return [], []
    largest = max(i.importance for i in found)
    rows = [
        [cut(i.column, NAME_ROOM), f"{i.importance:+.4f}", f"±{i.std:.4f}", bar(i.importance, largest)]
        for i in found
    ]
    return ["Column", f"{found[0].scoring} drop", "Spread", ""], rows


def importance_note(e: Evaluation) -> str:
    found = e.importance
    if not found:
        return "This evaluation recorded no permutation importance."
    return (
        f"Permutation importance on {e.rows_label} rows: the {found[0].scoring} drop when each column "
        f"is shuffled, {len(found)} columns, largest first (scores: no threshold)"
    )


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
    plot.display = bool(names)  # no empty frame under the note
    if not names:
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
