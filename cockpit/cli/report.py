"""`cockpit report evaluation RUN | review VERSION | monitoring`: shareable reports, one
self-contained HTML file each (--html PATH), and their figures as JSON (--json)."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.cli.context import CliContext, emit_json
from cockpit.cli.options import ROW_ID
from cockpit.errors import CockpitError

pass_cli = click.make_pass_decorator(CliContext)

HTML_HELP = "Write the report to PATH: one HTML file that fetches nothing (styles and plots inline)."
JSON_HELP = "Print the report's figures as JSON (those the page shows)."


def _outputs(function):
    function = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)(function)
    return click.option(
        "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), metavar="PATH", help=HTML_HELP
    )(function)


def _deliver(report, html_path: Path | None, as_json: bool) -> None:
    if html_path is None and not as_json:
        raise CockpitError("name where the report goes: --html PATH, or --json to print its figures")
    if html_path is not None:
        report.write(html_path)
        click.echo(f"wrote {html_path}", err=as_json)  # stdout stays pure JSON with --json
    if as_json:
        emit_json(report.data)


@click.group()
def report() -> None:
    """Shareable reports for people who were not at the terminal: an evaluation, a
    version's launch review with its model card, the monitoring. Each reads what the store
    holds (nothing is evaluated or checked again)."""


@report.command("evaluation")
@click.argument("run_id", type=ROW_ID, metavar="RUN")
@click.option(
    "--split",
    "part",
    type=click.Choice(["test", "validation"]),
    default="test",
    show_default=True,
    help="Which stored evaluation: the newest on this part.",
)
@_outputs
@pass_cli
def evaluation(ctx: CliContext, run_id: int, part: str, html_path: Path | None, as_json: bool) -> None:
    """RUN's newest evaluation (cockpit evaluate RUN): gate, metrics against the baseline,
    curves, confusion or error by range, segments, stability, latency, importance."""
    from cockpit.reporting.evaluation import evaluation_report

    _deliver(evaluation_report(ctx.workspace(), ctx.project(), run_id, part), html_path, as_json)


@report.command("review")
@click.argument("version")
@_outputs
@pass_cli
def review(ctx: CliContext, version: str, html_path: Path | None, as_json: bool) -> None:
    """VERSION's launch-readiness review (cockpit review) with its model card (cockpit card)
    and its test evaluation's curves."""
    from cockpit.reporting.review import review_report

    _deliver(review_report(ctx.workspace(), ctx.project(), version), html_path, as_json)


@report.command("monitoring")
@_outputs
@pass_cli
def monitoring(ctx: CliContext, html_path: Path | None, as_json: bool) -> None:
    """The windows the last `cockpit monitor check` stored, drift and the metric over time,
    the newest window's features, and the alerts not resolved."""
    from cockpit.reporting.monitoring import monitoring_report

    _deliver(monitoring_report(ctx.workspace(), ctx.project()), html_path, as_json)


COMMANDS = [report]
