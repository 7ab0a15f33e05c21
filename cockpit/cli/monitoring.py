"""`cockpit monitor ingest|labels|check|batches|drop|ack|rules|window`: twins of the
monitoring screen.

Exit codes of `monitor check`, for cron: 0 nothing fires (or nothing is deployed yet), 1 an
alert fires, 2 bad input (an option, the workspace, a batch that cannot be read); any other
failure is 3, never 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cockpit.cli.cluster_options import cluster_options
from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.cli.deployment import ALLOW_FALLBACK
from cockpit.cli.options import MOMENT, ROW_ID, FiniteFloat
from cockpit.text import counted

if TYPE_CHECKING:
    from cockpit.monitoring.alerts import Check
    from cockpit.monitoring.checks import Window

pass_cli = click.make_pass_decorator(CliContext)

CRASHED = 3  # monitor check: not 1, which means "an alert fires"


@click.group()
def monitor() -> None:
    """Production batches, drift, decay once labels arrive, and alerts."""


@monitor.command("ingest")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--at", "when", type=MOMENT, metavar="ISO-DATE", help="When the batch happened, ISO 8601 (default: now)."
)
@click.option(
    "--again", is_flag=True, help="Ingest a file whose content was ingested before (refused otherwise)."
)
@click.option("--allow-fallback", is_flag=True, help=ALLOW_FALLBACK)
@click.option("--json", "as_json", is_flag=True, help="Print the batch id, rows and warnings as JSON.")
@pass_cli
def ingest(
    ctx: CliContext, file: Path, when: str | None, again: bool, allow_fallback: bool, as_json: bool
) -> None:
    """Score a production FILE with the live routing and log it as a batch; prints its id.

    Each row is recorded with its entity key (the id column, or a hash of its feature
    values when the model has none), which `monitor labels` joins on. A routed model
    that cannot answer refuses the file (exit 2) unless --allow-fallback is given."""
    from cockpit.monitoring.batches import ingest as ingest_file

    result = ingest_file(ctx.workspace(), ctx.project(), file, when, again, allow_fallback)
    for note in result["fallback"]:
        click.echo(f"warning: {note}", err=True)
    if as_json:
        emit_json(result)
        return
    for warning in result["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result["id"])


@monitor.command("labels")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the counts (recorded, skipped) as JSON.")
@pass_cli
def labels(ctx: CliContext, file: Path, as_json: bool) -> None:
    """Labels that arrived later: the target column, an optional labelled_at, and the
    entity key of each row.

    Labels join production rows by the entity key: when the production model has an id
    column, FILE carries that column; when it has none, FILE repeats the feature columns
    (rows are keyed by a hash of their feature values, as at ingest and predict). Rows with
    a blank label are skipped and counted; a key repeated in FILE keeps its last label."""
    from cockpit.monitoring.labels import ingest_labels

    result = ingest_labels(ctx.workspace(), ctx.project(), file)
    if as_json:
        emit_json(result)
        return
    parts = [counted(result["rows"], "label") + " recorded"]
    if result["skipped_no_label"]:
        parts.append(counted(result["skipped_no_label"], "row") + " without a label skipped")
    if result["skipped_no_entity"]:
        parts.append(counted(result["skipped_no_entity"], "row") + " without an entity id skipped")
    if result["repeated_keys"]:
        parts.append(counted(result["repeated_keys"], "repeated key") + " (the last label kept)")
    click.echo("; ".join(parts))
    unseen = result["unseen_classes"]
    if unseen:
        named = ", ".join(f"{name} ({count:,})" for name, count in unseen.items())
        click.echo(
            f"warning: {counted(sum(unseen.values()), 'label')} "
            f"{'names' if sum(unseen.values()) == 1 else 'name'} a class the production model "
            f"never learned: {named}; recorded, but the model can only be wrong on them, so its "
            "metrics on labelled rows fall",
            err=True,
        )


@monitor.command("check")
@click.option(
    "--now",
    type=MOMENT,
    metavar="ISO-DATE",
    help="Judge freshness at this time, ISO 8601 (default: the current time).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the windows and firing alerts as JSON.")
@click.option(
    "--prom-textfile",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH.prom",
    help="Also write the newest window's drift, decay, freshness and alert gauges there, at once, "
    "for node_exporter's textfile collector.",
)
@cluster_options("Count the stored batches' chunks")
@pass_cli
def check(
    ctx: CliContext,
    now: str | None,
    as_json: bool,
    prom_textfile: Path | None,
    scheduler: str | None,
    dask_local: int | None,
) -> None:
    """Recompute every window and the alerts. Exit 0 when nothing fires, 1 while any alert
    fires, 2 for bad input, 3 if the check itself failed. With --scheduler / --dask-local the
    stored batches are counted on a Dask cluster; this process merges and writes (the same
    result as here)."""
    from cockpit import cluster
    from cockpit.errors import CockpitError
    from cockpit.monitoring.alerts import check as run_check
    from cockpit.monitoring.alerts import drift_threshold
    from storage import StoreError

    if prom_textfile is not None:
        from cockpit.monitoring.prom import check_path

        check_path(prom_textfile)
    choice = cluster.choose(scheduler, dask_local)
    workspace, project = ctx.workspace(), ctx.project()
    if _nothing_deployed(workspace, project, as_json, prom_textfile):
        return
    try:
        result = run_check(workspace, project, now, choice)
    except (CockpitError, StoreError):  # bad input: one line, exit 2
        raise
    except Exception as exc:  # a crash must not read as "an alert fires"
        import traceback

        traceback.print_exc(file=sys.stderr)
        click.echo(
            f"cockpit: monitor check failed ({type(exc).__name__}: {exc}); nothing was judged", err=True
        )
        raise SystemExit(CRASHED) from None
    if prom_textfile is not None:
        from cockpit.monitoring.prom import write_textfile

        write_textfile(result, project, prom_textfile)
    _show_check(result, drift_threshold(workspace, project), as_json)
    for sent in result.notifications:  # recorded either way; the check's verdict stands
        if not sent.delivered:
            click.echo(
                f"warning: alert {sent.alert_id} ({sent.event}) was not posted to its webhook after "
                f"{sent.attempts} attempt(s): {sent.error}",
                err=True,
            )
    if result.firing:
        raise SystemExit(1)


def _nothing_deployed(workspace, project, as_json: bool, prom_textfile: Path | None) -> bool:
    """No production model: nothing to judge, and not an error, even for a project named
    on the command line: a cron job set up before the first deploy would mail an error every
    run. Says so (stdout, which cron lines send to /dev/null) and exits 0. Alerts are shown
    as the store holds them (open ones, left by an earlier production, exit 1 as always)."""
    from cockpit.deployment.registry import alias_version_id
    from cockpit.monitoring.alerts import Check, open_alerts

    if alias_version_id(workspace, project, "production") is not None:
        return False
    found = Check([], open_alerts(workspace, project), None)
    if prom_textfile is not None:
        from cockpit.monitoring.prom import write_textfile

        write_textfile(found, project, prom_textfile)
    if as_json:
        emit_json({"status": "nothing deployed", **_check_json(found, 0.0)})
    else:
        click.echo(f"nothing deployed in {project.name}: nothing to check (cockpit deploy VERSION first)")
        for alert in found.firing:
            click.echo(f"alert {alert.id} still open: {alert.message}")
    if found.firing:
        raise SystemExit(1)
    return True


def _check_json(result: Check, threshold: float) -> dict:
    return {
        "windows": [w.as_dict() | {"drifted": w.drifted(threshold)} for w in result.windows],
        "firing": [a.as_dict() for a in result.firing],
        "freshness_days": result.freshness_days,
        "judged": list(result.judged),
    }


def _most_drifted(window: Window, threshold: float, shown: int = 3) -> str:
    """The largest PSIs by name and a count of the rest: 34 drifted pixels made a row 450
    characters wide (--json lists them all)."""
    drifted = sorted(window.drifted(threshold), key=lambda name: -(window.features[name].psi or 0))
    more = f" +{len(drifted) - shown} more" if len(drifted) > shown else ""
    return ", ".join(drifted[:shown]) + more or "-"


def _show_check(result: Check, threshold: float, as_json: bool) -> None:
    """The windows (a feature counts as drifted above the drift rule's PSI) and the alerts."""
    if as_json:
        emit_json({"status": "checked", **_check_json(result, threshold)})
        return
    rows = [
        {
            "window": w.window,
            "rows": w.rows,
            "max_psi": w.max_psi,
            "drifted": _most_drifted(w, threshold),
            "metric": w.metric_value,
            "labelled": w.labelled,
            "requests": w.requests or 0,
            "p95_ms": w.p95_latency_ms,
            "errors": w.error_rate,
            "warned": w.warned_rate,
        }
        for w in result.windows
    ]
    print_table(
        rows,
        [
            "window",
            "rows",
            "max_psi",
            "drifted",
            "metric",
            "labelled",
            "requests",
            "p95_ms",
            "errors",
            "warned",
        ],
        empty="no production batches yet: cockpit predict or cockpit monitor ingest",
    )
    for w in result.windows:
        for note in w.notes:
            click.echo(f"note {w.window}: {note}")
    if result.windows:
        click.echo(f"freshness: {result.freshness_days} days since the newest data")
        click.echo(
            "rules judged every window: "
            + (
                f"new or changed since the last check: {', '.join(result.judged)}"
                if result.judged
                else "none new or changed since the last check"
            )
        )
    for alert in result.firing:
        click.echo(f"ALERT {alert.id} [{alert.severity}] {alert.message}")


@monitor.command("batches")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="How many batches, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the batches as JSON.")
@pass_cli
def batches(ctx: CliContext, limit: int, as_json: bool) -> None:
    """The production batches monitoring counts (ingested files and scored batches),
    newest first."""
    from cockpit.monitoring.batches import batch_rows

    found = batch_rows(ctx.workspace(), ctx.project(), limit)
    if as_json:
        emit_json(found)
        return
    print_table(
        [{**b, "routes": ", ".join(f"{k} {v}" for k, v in b["routes"].items())} for b in found],
        ["id", "at", "kind", "source", "rows", "routes"],
        empty="no production batches yet: cockpit predict or cockpit monitor ingest",
    )


@monitor.command("drop")
@click.argument("batch_id", metavar="BATCH", type=ROW_ID)
@click.option("--reason", required=True, help="Why it goes (recorded in the audit log).")
@pass_cli
def drop(ctx: CliContext, batch_id: int, reason: str) -> None:
    """Remove a batch from monitoring and retraining (e.g. ingested with the wrong date),
    with a reason; the windows are recomputed at the next check."""
    from cockpit.monitoring.batches import drop as drop_batch

    found = drop_batch(ctx.workspace(), ctx.project(), batch_id, reason)
    click.echo(
        f"batch {found['id']} dropped ({found['rows']:,} rows from {found['source']}); "
        "cockpit monitor check recomputes the windows"
    )


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
@click.argument("alert_id", type=ROW_ID)
@click.option("--comment", required=True, help="What is being done about it.")
@pass_cli
def ack(ctx: CliContext, alert_id: int, comment: str) -> None:
    """Acknowledge an alert with a comment (recorded)."""
    from cockpit.monitoring.alerts import acknowledge

    acknowledge(ctx.workspace(), ctx.project(), alert_id, comment)
    click.echo(f"alert {alert_id} acknowledged")


def _parse_rule(text: str) -> tuple[str, str, float]:
    """'METRIC OP VALUE' with a known metric, a known operator and a finite number."""
    from cockpit.errors import CockpitError
    from cockpit.monitoring.alerts import METRICS, OPS

    parts = text.split()
    if len(parts) != 3:
        raise CockpitError(f"--add {text!r}: write METRIC OP VALUE, e.g. 'max_psi > 0.3'")
    metric, op, value = parts
    if metric not in METRICS:
        raise CockpitError(f"--add {text!r}: unknown metric {metric!r}; one of {', '.join(METRICS)}")
    if op not in OPS:
        raise CockpitError(f"--add {text!r}: operator {op!r}; use one of {', '.join(OPS)}")
    try:
        return metric, op, FiniteFloat().convert(value, None, None)
    except click.BadParameter:
        raise CockpitError(f"--add {text!r}: the value {value!r} is not a finite number") from None


@monitor.command("rules")
@click.option(
    "--add",
    "new_rule",
    metavar="METRIC OP VALUE",
    help="Add a rule, e.g. 'max_psi > 0.3' (a finite number; operators > < >= <=).",
)
@click.option(
    "--windows",
    type=click.IntRange(1, 366),
    default=1,
    show_default=True,
    help="Windows in a row before firing (1 to 366).",
)
@click.option(
    "--severity", type=click.Choice(["info", "warning", "critical"]), default="warning", show_default=True
)
@click.option("--action", default="investigate", show_default=True, help="What should happen.")
@click.option(
    "--notify",
    "notify_url",
    metavar="URL",
    help="With --add: a webhook posted Slack-compatible JSON when an alert of the rule fires and resolves.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@pass_cli
def rules(
    ctx: CliContext,
    new_rule: str | None,
    windows: int,
    severity: str,
    action: str,
    notify_url: str | None,
    as_json: bool,
) -> None:
    """The alert rules (defaults come from the problem spec); a webhook is shown by its host."""
    from cockpit.errors import CockpitError
    from cockpit.monitoring.alerts import add_rule, ensure_rules
    from cockpit.monitoring.notify import shown

    workspace, project = ctx.workspace(), ctx.project()
    if notify_url is not None and not new_rule:
        raise CockpitError("--notify names the webhook of a new rule: give the rule with --add")
    if new_rule:
        add_rule(workspace, project, *_parse_rule(new_rule), windows, severity, action, notify_url)
    found = [
        rule.as_dict() | {"notify": shown(rule.notify) if rule.notify else None}
        for rule in ensure_rules(workspace, project)
    ]
    if as_json:
        emit_json(found)
        return
    columns = ["id", "metric", "op", "threshold", "windows", "severity", "action", "source"]
    print_table(found, columns + (["notify"] if any(r["notify"] for r in found) else []))


COMMANDS = [monitor]
