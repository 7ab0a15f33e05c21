"""`cockpit report review VERSION`: a version's launch-readiness review (cockpit/review.py)
with its model card (cockpit/deployment/card.py), the gate that applies to it and the
curves of the test evaluation that gate judged, as a page. The card is the Markdown
`cockpit card` prints, rendered (raw HTML in it escaped)."""

from __future__ import annotations

from html import escape

from cockpit.deployment.card import model_card
from cockpit.evaluation.gate import judged
from cockpit.projects import Project
from cockpit.reporting.curves import curves
from cockpit.reporting.evaluation import gate_section
from cockpit.reporting.page import Report, cell, figure, header, paragraph, section, table, text
from cockpit.review import Review, review
from cockpit.workspace import Workspace


def review_report(ws: Workspace, project: Project, ref: int | str) -> Report:
    from cockpit.deployment.registry import get_version

    version = get_version(ws, project, ref)
    found = review(ws, project, version.version)
    gate, evaluation = judged(ws, project, version.run_id)
    card = model_card(ws, project, version.version)
    data = {
        "project": project.name,
        "review": found.as_dict(),
        "evaluation": evaluation.as_dict() if evaluation else None,
        "gate": gate.as_dict() if gate else None,
        "card": card,
    }
    body = [
        header(project, f"model version v{figure(found.version, '/review/version')} of run {version.run_id}"),
        _verdict(found),
        _steps(found),
        _failure_modes(found),
        gate_section(gate, "/gate") if gate else "",
        curves(evaluation) if evaluation else "",
        section("Model card", f'<div class="card">{card_html(card)}</div>'),
    ]
    title = f"Launch review: {project.name} v{found.version}"
    return Report(title, data, "\n".join(b for b in body if b))


def card_html(markdown: str) -> str:
    """The card's Markdown as HTML: CommonMark with tables; HTML in the text is escaped."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    # the card's own headings sit under the report's
    return (
        renderer.render(markdown)
        .replace("<h1>", "<h3>")
        .replace("</h1>", "</h3>")
        .replace("<h2>", "<h3>")
        .replace("</h2>", "</h3>")
    )


def _verdict(found: Review) -> str:
    css = "pass" if found.ready else "fail"
    verdict = f'<span class="{css}">{figure(found.verdict(), "/review/verdict")}</span>'
    reasons = "".join(
        f"<li>{figure(reason, f'/review/reasons/{i}')}</li>" for i, reason in enumerate(found.reasons())
    )
    signed = f"{found.signed} of {len(found.steps)} steps signed off"
    return paragraph(verdict) + (f"<ul>{reasons}</ul>" if reasons else "") + paragraph(text(signed), "meta")


def _steps(found: Review) -> str:
    rows = []
    for i, step in enumerate(found.steps):
        key = f"/review/steps/{i}"
        evidence = "".join(
            f"<li>{'ok' if ok else '<b>NO</b>'} {figure(said, f'{key}/evidence/{j}/1')}</li>"
            for j, (ok, said) in enumerate(step.evidence)
        )
        signed = ""
        if step.decision:
            signed = (
                f"{figure(step.decision, key + '/decision')} by {figure(step.signer, key + '/signed_by')}: "
                f"{figure(step.comment, key + '/comment')}"
            )
        mark = '<span class="pass">✓</span>' if step.ok else '<span class="fail">✗</span>'
        rows.append(
            [
                f"<td>{mark} {escape(step.name)}</td>",
                f"<td><ul>{evidence}</ul></td>",
                f"<td>{signed or '-'}</td>",
            ]
        )
    return section("Steps", table(["step", "evidence", "sign-off"], rows))


def _failure_modes(found: Review) -> str:
    if not found.failure_modes:
        return section("Failure modes", paragraph("None of the classic failure modes found."))
    rows = [[cell(mode, f"/review/failure_modes/{i}")] for i, mode in enumerate(found.failure_modes)]
    return section("Failure modes", table(["found"], rows))
