"""An evaluation (and its gate) as Markdown, for a pull request or a model card."""

from __future__ import annotations

from cockpit.evaluation.gate import GateResult
from cockpit.evaluation.report import Evaluation


def to_markdown(evaluation: Evaluation, run_label: str, gate: GateResult | None = None) -> str:
    lines = [f"# Evaluation of {run_label} on the {evaluation.part} split", ""]
    if gate is not None:
        lines += [f"**Gate: {'PASS' if gate.passed else 'FAIL'}**", "", "| rule | verdict | detail |",
                  "| --- | --- | --- |"]
        lines += [f"| {r.name} | {'pass' if r.passed else 'FAIL'} | {r.detail} |" for r in gate.rules]
        lines.append("")
    for warning in evaluation.warnings:
        lines += [f"> Warning: {warning}", ""]
    if evaluation.threshold is not None:
        lines += [f"Decision threshold {evaluation.threshold:.4f}: {evaluation.threshold_reason}", ""]
    lines += ["| metric | model | baseline |" + (" reference |" if evaluation.reference else ""),
              "| --- | --- | --- |" + (" --- |" if evaluation.reference else "")]
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
        lines += ["", "Confusion matrix (rows: actual, columns: predicted)", "",
                  "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        lines += [f"| {label} | " + " | ".join(str(v) for v in row) + " |"
                  for label, row in zip(labels, details["confusion"], strict=True)]
    if "error_by_range" in details:
        lines += ["", "Error by target range", "", "| range | MAE | rows |", "| --- | --- | --- |"]
        lines += [f"| {b['low']:,.4g} – {b['high']:,.4g} | {b['mae']:,.4g} | {b['rows']} |"
                  for b in details["error_by_range"]]
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
