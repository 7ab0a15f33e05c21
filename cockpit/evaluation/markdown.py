"""An evaluation (and its gate) as Markdown, for a pull request or a model card."""

from __future__ import annotations

from cockpit.evaluation.gate import GateResult
from cockpit.evaluation.report import Evaluation
from cockpit.evaluation.segments import interval_text
from cockpit.evaluation.view import reference_note


def to_markdown(evaluation: Evaluation, run_label: str, gate: GateResult | None = None) -> str:
    lines = [f"# Evaluation of {run_label} on the {evaluation.rows_label}", ""]
    if gate is not None:
        lines += [
            f"**Gate: {'PASS' if gate.passed else 'FAIL'}**",
            "",
            "| rule | verdict | detail |",
            "| --- | --- | --- |",
        ]
        lines += [f"| {r.name} | {r.verdict} | {r.detail} |" for r in gate.rules]
        lines.append("")
    for warning in evaluation.warnings:
        lines += [f"> Warning: {warning}", ""]
    if evaluation.threshold is not None:
        lines += [f"Decision threshold {evaluation.threshold:.4f}: {evaluation.threshold_reason}", ""]
    if evaluation.reference:
        lines += [f"The {reference_note(evaluation, 'binary' if evaluation.threshold else '')}.", ""]
    lines += [
        "| metric | model | baseline |" + (" reference |" if evaluation.reference else ""),
        "| --- | --- | --- |" + (" --- |" if evaluation.reference else ""),
    ]
    base = evaluation.baseline.get("metrics", {})
    ref = (evaluation.reference or {}).get("metrics", {})
    for name, value in evaluation.metrics.items():
        row = f"| {name} | {value:.4f} | {_fmt(base.get(name))} |"
        if evaluation.reference:
            row += f" {_fmt(ref.get(name))} |"
        lines.append(row)
    details = evaluation.details
    if "confusion" in details:
        labels = details["labels"]
        lines += [
            "",
            "Confusion matrix (rows: actual, columns: predicted)",
            "",
            "| | " + " | ".join(labels) + " |",
            "|---" * (len(labels) + 1) + "|",
        ]
        lines += [
            f"| {label} | " + " | ".join(str(v) for v in row) + " |"
            for label, row in zip(labels, details["confusion"], strict=True)
        ]
    if "error_by_range" in details:
        lines += ["", "Error by target range", "", "| range | MAE | rows |", "| --- | --- | --- |"]
        lines += [
            f"| {b['low']:,.4g} – {b['high']:,.4g} | {b['mae']:,.4g} | {b['rows']} |"
            for b in details["error_by_range"]
        ]
    lines += _beyond(details)
    if evaluation.notes:
        lines += ["", "Notes", ""] + [f"- {note}" for note in evaluation.notes]
    return "\n".join(lines) + "\n"


def _beyond(details: dict) -> list[str]:
    lines: list[str] = []
    if details.get("segments"):
        metric = details["segment_metric"]
        lines += [
            "",
            f"Segments by {metric} (weak first)",
            "",
            "| column | group | rows | value | 95% interval | flag |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for s in details["segments"]:
            interval = interval_text(s["low"], s["high"], s.get("interval_method"), s.get("interval_note"))
            flag = "WEAK" if s["flagged"] else ("small" if s["small"] else "")
            lines.append(
                f"| {s['column']} | {s['group']} | {s['rows']} | {_fmt(s['value'])} | {interval} | {flag} |"
            )
    for gap in details.get("fairness", []):
        recall_gap = "-" if gap["recall_gap"] is None else f"{gap['recall_gap']:.3f}"
        lines.append(
            f"\nFairness by {gap['column']}: recall gap {recall_gap} "
            f"(weakest: {gap['worst_recall_group']}), selection-rate ratio "
            f"{gap['selection_rate_ratio']:.2f}{' — flagged' if gap['flagged'] else ''}"
        )
    if details.get("stability", {}).get("not_applicable"):
        lines += ["", f"Stability: not applicable: {details['stability']['not_applicable']}"]
    elif "stability" in details:
        st = details["stability"]
        values = ", ".join(_fmt(v) for v in st["values"])
        lines += [
            "",
            f"Stability: {st['metric']} over {st['seeds']} seeds on bootstrap samples: "
            f"{values} (spread {_fmt(st['spread'])}, tolerance {st['tolerance']:.3f})",
        ]
    if "edge_cases" in details:
        lines += ["", "| edge case | ok | detail |", "| --- | --- | --- |"]
        lines += [
            f"| {c['case']} | {'yes' if c['ok'] else 'NO'} | {c['detail']} |" for c in details["edge_cases"]
        ]
    if "latency" in details:
        lat = details["latency"]
        budget = f" (budget {lat['budget_ms']:g} ms)" if lat["budget_ms"] is not None else ""
        lines += [
            "",
            f"Latency per row: p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, "
            f"p99 {lat['p99_ms']:.1f} ms{budget}; batch {lat['batch_rows_per_s']:,.0f} rows/s",
        ]
        if lat.get("method"):
            lines.append(f"(timed: {lat['method']})")
    if details.get("importance"):
        lines += [
            "",
            f"Permutation importance ({details['importance'][0]['scoring']})",
            "",
            "| column | importance | std |",
            "| --- | --- | --- |",
        ]
        lines += [
            f"| {i['column']} | {i['importance']:.4f} | {i['std']:.4f} |" for i in details["importance"][:15]
        ]
    return lines


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
