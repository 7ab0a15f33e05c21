"""`cockpit report evaluation RUN`: a run's stored evaluation as a page — the Markdown
report's tables (cockpit/evaluation/markdown.py) with the screen's curves. Nothing is
evaluated again: the page reads the evaluation `cockpit evaluate` stored."""

from __future__ import annotations

from typing import Any

from cockpit.errors import CockpitError
from cockpit.evaluation.gate import GateResult, latest_gate
from cockpit.evaluation.references import reference_where
from cockpit.evaluation.report import Evaluation, latest_evaluation
from cockpit.evaluation.segments import interval_text
from cockpit.projects import Project
from cockpit.reporting.curves import curves
from cockpit.reporting.page import (
    Report,
    cell,
    figure,
    header,
    number,
    paragraph,
    plots,
    pointer,
    section,
    table,
    text,
)
from cockpit.reporting.svg import bar_chart
from cockpit.workspace import Workspace


def evaluation_report(ws: Workspace, project: Project, run_id: int, part: str = "test") -> Report:
    from cockpit.training.runs import get_run

    run = get_run(ws, project, run_id)
    evaluation = latest_evaluation(ws, project, run.id, part)
    if evaluation is None:
        raise CockpitError(_not_evaluated(ws, project, run, part))
    gate = gate_of(ws, evaluation)
    data = {
        "project": project.name,
        "run_label": run.label,
        "evaluation": evaluation.as_dict(),
        "gate": gate.as_dict() if gate else None,
    }
    title = f"Evaluation of {run.label} on the {evaluation.part} split"
    when = figure(evaluation.created_at, "/evaluation/created_at")
    meta = header(project, f"evaluation {figure(evaluation.id, '/evaluation/id')} of {when}")
    body = [meta, *evaluation_sections(evaluation, gate, "/evaluation", "/gate")]
    return Report(title, data, "\n".join(body))


def _not_evaluated(ws: Workspace, project: Project, run, part: str) -> str:
    """Where to go when `run` has no evaluation on `part`: the one it has on the other part
    first (evaluating on test is a recorded look at the test split), else evaluate it."""
    evaluate = f"cockpit evaluate {run.id}" + (f" --split {part}" if part != "test" else "")
    missing = f"{run.label} has no evaluation on the {part} split yet"
    other = "validation" if part == "test" else "test"
    if latest_evaluation(ws, project, run.id, other) is None:
        return f"{missing}: {evaluate}"
    report = f"cockpit report evaluation {run.id}" + (f" --split {other}" if other != "test" else "")
    return f"{missing}; it has one on the {other} split: {report} (or {evaluate})"


def gate_of(ws: Workspace, evaluation: Evaluation) -> GateResult | None:
    """The run's latest gate when it judged this evaluation."""
    gate = latest_gate(ws, evaluation.run_id)
    return gate if gate is not None and gate.evaluation_id == evaluation.id else None


def evaluation_sections(
    evaluation: Evaluation, gate: GateResult | None, key: str, gate_key: str
) -> list[str]:
    """The evaluation's sections, each figure pointing into the JSON under `key`."""
    out = []
    if gate is not None:
        out.append(gate_section(gate, gate_key))
    out += [paragraph("Warning: " + text(w), "warning") for w in evaluation.warnings]
    out.append(_metrics(evaluation, key))
    out.append(curves(evaluation))
    details, dkey = evaluation.details, key + "/details"
    if evaluation.confusion is not None:
        out.append(_confusion(evaluation, dkey))
    if "error_by_range" in details:
        out.append(_error_by_range(details["error_by_range"], dkey + "/error_by_range"))
    out += [_segments(details, dkey), _robustness(details, dkey), _importance(details, dkey)]
    if evaluation.notes:
        items = "".join(
            f"<li>{figure(n, key + pointer('details', 'notes', i))}</li>"
            for i, n in enumerate(evaluation.notes)
        )
        out.append(section("Notes", f"<ul>{items}</ul>"))
    return [o for o in out if o]


def gate_section(gate: GateResult, key: str) -> str:
    verdict = "PASS" if gate.passed else "FAIL"
    rows = [
        [
            cell(r.name, f"{key}/rules/{i}/name"),
            cell(r.verdict),  # from passed and applicable in the JSON
            cell(r.detail, f"{key}/rules/{i}/detail"),
        ]
        for i, r in enumerate(gate.rules)
    ]
    shown = f'<span class="{"pass" if gate.passed else "fail"}">Gate: {verdict}</span>'
    return section("Gate", paragraph(shown), table(["rule", "verdict", "detail"], rows))


def _metrics(e: Evaluation, key: str) -> str:
    threshold = ""
    if e.threshold is not None:
        threshold = paragraph(
            "Decision threshold "
            + figure(e.threshold, key + "/threshold", f"{e.threshold:.4f}")
            + ": "
            + figure(e.threshold_reason, key + "/threshold_reason")
        )
    headers = ["metric", "model", "baseline"] + (["reference"] if e.reference else [])
    base, ref = e.baseline_metrics, e.reference_metrics
    rows = []
    for name, value in e.metrics.items():
        row = [
            cell(name),
            number(value, f"{key}{pointer('metrics', name)}"),
            number(base.get(name), f"{key}{pointer('baseline', 'metrics', name)}"),
        ]
        if e.reference:
            row.append(number(ref.get(name), f"{key}{pointer('reference', 'metrics', name)}"))
        rows.append(row)
    against = ""
    if e.reference_run is not None:
        trained = reference_where(e.reference or {})
        against = paragraph(
            "Reference: run "
            + figure(e.reference_run, key + "/reference/run_id")
            + text(f" ({trained})" if trained else "")
            + text(", scored on these same rows")
        )
    return section(f"Metrics on the {e.rows_label}", threshold, table(headers, rows), against)


def _confusion(e: Evaluation, key: str) -> str:
    confusion = e.confusion
    assert confusion is not None
    rows = [
        [cell(label)] + [number(v, f"{key}/confusion/{i}/{j}") for j, v in enumerate(counts)]
        for i, (label, counts) in enumerate(zip(confusion.labels, confusion.counts, strict=True))
    ]
    return section(
        "Confusion matrix (rows: actual, columns: predicted)", table(["", *confusion.labels], rows)
    )


def _error_by_range(bands: list[dict[str, Any]], key: str) -> str:
    rows = [
        [
            cell(f"{b['low']:,.4g} – {b['high']:,.4g}"),
            number(b["mae"], f"{key}/{i}/mae"),
            number(b["rows"], f"{key}/{i}/rows"),
        ]
        for i, b in enumerate(bands)
    ]
    return section("Error by target range", table(["range", "MAE", "rows"], rows))


def _interval_method(segment: dict[str, Any]) -> str:
    """The method, and why there is no interval where it gave zero width."""
    if segment.get("interval_note"):
        return interval_text(None, None, segment.get("interval_method"), segment["interval_note"])
    return segment.get("interval_method") or "-"


def _segments(d: dict[str, Any], key: str) -> str:
    if not d.get("segments"):
        return ""
    rows, labels, values, weak = [], [], [], []
    for i, s in enumerate(d["segments"]):
        k = f"{key}/segments/{i}"
        flag = "WEAK" if s["flagged"] else ("small" if s["small"] else "")
        rows.append(
            [
                cell(s["column"], k + "/column"),
                cell(s["group"], k + "/group"),
                number(s["rows"], k + "/rows"),
                number(s["value"], k + "/value"),
                number(s["low"], k + "/low", 3),
                number(s["high"], k + "/high", 3),
                cell(_interval_method(s)),
                cell(flag),
            ]
        )
        labels.append(str(s["group"]))
        values.append(s["value"])
        weak.append(bool(s["flagged"]))
    metric = d["segment_metric"]
    chart = bar_chart(f"{metric} by segment (weak in red)", labels, values, metric, weak)
    fairness = [
        paragraph(
            f"Fairness by {figure(g['column'], f'{key}/fairness/{i}/column')}: recall gap "
            + figure(
                g["recall_gap"],
                f"{key}/fairness/{i}/recall_gap",
                "-" if g["recall_gap"] is None else f"{g['recall_gap']:.3f}",
            )
            + f" (weakest: {figure(g['worst_recall_group'], f'{key}/fairness/{i}/worst_recall_group')}), "
            + "selection-rate ratio "
            + figure(
                g["selection_rate_ratio"],
                f"{key}/fairness/{i}/selection_rate_ratio",
                f"{g['selection_rate_ratio']:.2f}",
            )
            + (" — flagged" if g["flagged"] else "")
        )
        for i, g in enumerate(d.get("fairness", []))
    ]
    headers = ["column", "group", "rows", "value", "95% low", "95% high", "interval", "flag"]
    return section(f"Segments by {metric} (weak first)", table(headers, rows), plots(chart), *fairness)


def _robustness(d: dict[str, Any], key: str) -> str:
    out = []
    stability = d.get("stability")
    if stability and stability.get("not_applicable"):
        out.append(paragraph("Stability: not applicable: " + text(stability["not_applicable"])))
    elif stability:
        k = key + "/stability"
        values = ", ".join(
            figure(v, f"{k}/values/{i}", f"{v:.4f}") for i, v in enumerate(stability["values"])
        )
        spread = figure(stability["spread"], k + "/spread", format(stability["spread"], ".4f"))
        tolerance = figure(stability["tolerance"], k + "/tolerance", format(stability["tolerance"], ".3f"))
        out.append(
            paragraph(
                f"Stability: {text(stability['metric'])} over {figure(stability['seeds'], k + '/seeds')} "
                f"seeds on bootstrap samples: {values} (spread {spread}, tolerance {tolerance})"
            )
        )
    if "edge_cases" in d:
        rows = [
            [
                cell(c["case"], f"{key}/edge_cases/{i}/case"),
                cell("yes" if c["ok"] else "NO"),
                cell(c["detail"], f"{key}/edge_cases/{i}/detail"),
            ]
            for i, c in enumerate(d["edge_cases"])
        ]
        out.append(table(["edge case", "ok", "detail"], rows))
    if "latency" in d:
        lat, k = d["latency"], key + "/latency"
        budget = ""
        if lat["budget_ms"] is not None:
            budget = (
                f" (budget {figure(lat['budget_ms'], k + '/budget_ms', format(lat['budget_ms'], 'g'))} ms)"
            )
        quantiles = ", ".join(
            f"{name} {figure(lat[name + '_ms'], f'{k}/{name}_ms', format(lat[name + '_ms'], '.1f'))} ms"
            for name in ("p50", "p95", "p99")
        )
        rate = figure(
            lat["batch_rows_per_s"], k + "/batch_rows_per_s", format(lat["batch_rows_per_s"], ",.0f")
        )
        out.append(paragraph(f"Latency per row: {quantiles}{budget}; batch {rate} rows/s"))
        if lat.get("method"):  # how the gate's p95 was measured (older reports: one call per row)
            out.append(paragraph("Timed: " + figure(lat["method"], k + "/method"), "meta"))
    return section("Stability, edge cases and latency", *out) if out else ""


def _importance(d: dict[str, Any], key: str) -> str:
    found = d.get("importance") or []
    if not found:
        return ""
    top = found[:15]
    rows = [
        [
            cell(i["column"], f"{key}/importance/{n}/column"),
            number(i["importance"], f"{key}/importance/{n}/importance"),
            number(i["std"], f"{key}/importance/{n}/std"),
        ]
        for n, i in enumerate(top)
    ]
    chart = bar_chart(
        "Permutation importance",
        [i["column"] for i in top],
        [i["importance"] for i in top],
        found[0]["scoring"],
    )
    return section(
        f"Permutation importance ({found[0]['scoring']})",
        table(["column", "importance", "std"], rows),
        plots(chart),
    )
