"""`cockpit monitor ingest|labels|check|ack|rules`: twins of the monitoring screen."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.cli.context import CliContext, emit_json, print_table

pass_cli = click.make_pass_decorator(CliContext)


@click.group()
def monitor() -> None:
    """Production batches, drift, decay once labels arrive, and alerts."""


@monitor.command("ingest")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--at", "when", metavar="ISO-DATE", help="When the batch happened (default: now).")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def ingest(ctx: CliContext, file: Path, when: str | None, as_json: bool) -> None:
    """Score a production FILE with the live routing and log it as a batch; prints its id."""
    from cockpit.monitoring.checks import ingest as ingest_file

    result = ingest_file(ctx.workspace(), ctx.project(), file, when)
    if as_json:
        emit_json(result)
        return
    for warning in result["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result["id"])


@monitor.command("labels")
@click.argument("file", type=click.Path(path_type=Path))
@pass_cli
def labels(ctx: CliContext, file: Path) -> None:
    """Labels that arrived later (entity id + target column, optional labelled_at)."""
    from cockpit.monitoring.checks import ingest_labels

    result = ingest_labels(ctx.workspace(), ctx.project(), file)
    click.echo(f"{result['rows']} labels recorded")


@monitor.command("check")
@click.option("--now", metavar="ISO-DATE", help="Judge freshness at this time (default: the "
              "newest batch).")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def check(ctx: CliContext, now: str | None, as_json: bool) -> None:
    """Recompute every window and the alerts; exit 1 while any alert fires."""
    from cockpit.monitoring.alerts import check as run_check

    result = run_check(ctx.workspace(), ctx.project(), now)
    if as_json:
        emit_json({"windows": [{k: v for k, v in w.items() if k != "features"} | {
            "drifted": sorted(f for f, s in w["features"].items() if (s["psi"] or 0) > 0.2)}
            for w in result["windows"]], "firing": result["firing"],
            "freshness_days": result["freshness_days"]})
    else:
        rows = [{"window": w["window"], "rows": w["rows"], "max_psi": w["max_psi"],
                 "drifted": ", ".join(sorted(f for f, s in w["features"].items()
                                             if (s["psi"] or 0) > 0.2)) or "-",
                 "metric": w.get("metric_value"), "labelled": w.get("labelled", 0),
                 "requests": w.get("requests", 0), "p95_ms": w.get("p95_latency_ms"),
                 "errors": w.get("error_rate")}
                for w in result["windows"]]
        print_table(rows, ["window", "rows", "max_psi", "drifted", "metric", "labelled",
                           "requests", "p95_ms", "errors"],
                    empty="no production batches yet: cockpit predict or cockpit monitor ingest")
        for alert in result["firing"]:
            click.echo(f"ALERT {alert['id']} [{alert['severity']}] {alert['message']}")
    if result["firing"]:
        raise SystemExit(1)


@monitor.command("window")
@click.argument("size", required=False, type=click.Choice(["day", "week", "month"]))
@pass_cli
def window(ctx: CliContext, size: str | None) -> None:
    """Show or set the monitoring window: day, week or month (the stored windows are
    recomputed at the next check)."""
    from cockpit.monitoring.service import set_window_size, window_size

    workspace, project = ctx.workspace(), ctx.project()
    if size:
        set_window_size(workspace, project, size)
    click.echo(f"monitoring windows: by {window_size(workspace, project)}")


@monitor.command("ack")
@click.argument("alert_id", type=int)
@click.option("--comment", required=True, help="What is being done about it.")
@pass_cli
def ack(ctx: CliContext, alert_id: int, comment: str) -> None:
    """Acknowledge an alert with a comment (recorded)."""
    from cockpit.monitoring.alerts import acknowledge

    acknowledge(ctx.workspace(), ctx.project(), alert_id, comment)
    click.echo(f"alert {alert_id} acknowledged")


@monitor.command("rules")
@click.option("--add", "new_rule", metavar="METRIC OP VALUE",
              help="Add a rule, e.g. 'max_psi > 0.3'.")
@click.option("--windows", default=1, show_default=True, help="Windows in a row before firing.")
@click.option("--severity", default="warning", show_default=True)
@click.option("--action", default="investigate", show_default=True, help="What should happen.")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def rules(ctx: CliContext, new_rule: str | None, windows: int, severity: str, action: str,
          as_json: bool) -> None:
    """The alert rules (defaults come from the problem spec)."""
    from cockpit.errors import CockpitError
    from cockpit.monitoring.alerts import add_rule, ensure_rules

    workspace, project = ctx.workspace(), ctx.project()
    if new_rule:
        parts = new_rule.split()
        if len(parts) != 3:
            raise CockpitError(f"--add {new_rule!r}: write METRIC OP VALUE, e.g. 'max_psi > 0.3'")
        try:
            threshold = float(parts[2])
        except ValueError:
            raise CockpitError(f"--add {new_rule!r}: the value is a number") from None
        add_rule(workspace, project, parts[0], parts[1], threshold, windows, severity, action)
    found = ensure_rules(workspace, project)
    if as_json:
        emit_json(found)
        return
    print_table(found, ["id", "metric", "op", "threshold", "windows", "severity", "action",
                        "source"])


COMMANDS = [monitor]
