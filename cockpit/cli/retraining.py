"""`cockpit retrain [deploy | triggers show|set | feedback | history]` and `cockpit retire`."""

from __future__ import annotations

import click

from cockpit.cli.context import CliContext, Refused, cli_context, emit_json, print_table
from cockpit.cli.options import CANARY_PERCENT, COUNT, MOMENT, NON_NEGATIVE

pass_cli = click.make_pass_decorator(CliContext)


@click.group(invoke_without_command=True)
@click.option("--if-due", is_flag=True, help="Only when a trigger says so (for cron).")
@click.option("--now", type=MOMENT, metavar="ISO-DATE", help="Judge the schedule at this time.")
@click.option(
    "--override",
    metavar="REASON",
    help="Deploy a challenger that beats production even if it fails its gate; the reason, "
    "who and the failed rules go to the ledger.",
)
@click.option("--reason", default="", help="Why you run it (kept with the retrain).")
@click.option(
    "--command",
    metavar="COMMAND",
    help='Train the challenger by running this command (e.g. "python train.py --fast") in the '
    "current folder; the new data version is in COCKPIT_DATA_VERSION, and the run its "
    "cockpit.start_run logs is the challenger.",
)
@click.option(
    "--refit",
    is_flag=True,
    help="For a champion trained by a script: fit a clone of its model on the new data instead "
    "of running the script again.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def retrain(
    ctx: click.Context,
    if_due: bool,
    now: str | None,
    override: str | None,
    reason: str,
    command: str | None,
    refit: bool,
    as_json: bool,
) -> None:
    """Retrain on reference + new labelled production data. A challenger that beats production
    on the newest labelled window is gated against production: it starts as the triggers say
    (canary or shadow) only if it passes, or with --override REASON; otherwise it is
    registered as a candidate, nothing is deployed, an alert says why, and the exit code is 1.
    A worse challenger raises an alert (exit 0: production is still the best).

    The challenger trains as production's model did: a catalogue run's recipe again; a
    script's recorded command again (COCKPIT_DATA_VERSION names the new data); a clone of a
    model from a notebook or a file, refitted. Training that fails exits 1, production kept."""
    given = [
        name for name, value in _options(if_due, now, override, reason, command, refit, as_json) if value
    ]
    if ctx.invoked_subcommand is not None:
        if given:
            raise Refused(
                f"{', '.join(given)} belong(s) to `cockpit retrain` itself, not to "
                f"`retrain {ctx.invoked_subcommand}`"
            )
        return
    from cockpit.retraining.cycle import TRAINING_FAILED
    from cockpit.retraining.cycle import retrain as run_retrain
    from cockpit.retraining.rollout import CANDIDATE, DEPLOY_ANYWAY

    cli = cli_context(ctx)
    result = run_retrain(
        cli.workspace(), cli.project(), if_due, now, override, reason, command=command, refit=refit
    )
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"retrain: {result.decision}")
        for why in result.reasons:
            click.echo(f"  why: {why}")
        for step in result.steps:
            click.echo(f"  - {step}")
        if result.decision == CANDIDATE:
            click.echo(f"to deploy it anyway: {DEPLOY_ANYWAY}")
    if result.decision in (CANDIDATE, TRAINING_FAILED):
        raise SystemExit(1)


def _options(
    if_due: bool,
    now: str | None,
    override: str | None,
    reason: str,
    command: str | None,
    refit: bool,
    as_json: bool,
):
    """The retrain options as (flag, value), to name those given with a subcommand."""
    return [
        ("--if-due", if_due),
        ("--now", now),
        ("--override", override is not None),
        ("--reason", reason),
        ("--command", command is not None),
        ("--refit", refit),
        ("--json", as_json),
    ]


@retrain.command("deploy")
@click.option("--override", metavar="REASON", required=True, help="Why deploy it despite its gate.")
@pass_cli
def deploy_anyway(ctx: CliContext, override: str) -> None:
    """Deploy the latest retrain's challenger that failed its gate (registered as a candidate)
    as the triggers say; the reason, who and the failed gate rules go to the ledger."""
    from cockpit.retraining.rollout import deploy_anyway as deploy

    done = deploy(ctx.workspace(), ctx.project(), override)
    failed = ", ".join(done.failed)
    click.echo(f"v{done.version} deployed despite its gate ({failed}): {done.moves()[0].line()}")


@retrain.group("triggers", invoke_without_command=True)
@click.pass_context
def triggers_group(ctx: click.Context) -> None:
    """Show or set the retrain triggers."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(triggers_show)


@triggers_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def triggers_show(ctx: CliContext, as_json: bool = False) -> None:
    """The triggers and whether a retrain is due now."""
    from cockpit.retraining.policy import due, triggers

    workspace, project = ctx.workspace(), ctx.project()
    settings, reasons = triggers(workspace, project), due(workspace, project)
    if as_json:
        emit_json({**settings.as_dict(), "due": reasons})
        return
    for key, value in settings.as_dict().items():
        click.echo(f"{key:15} {value}")
    click.echo("due now: " + ("; ".join(reasons) if reasons else "no"))


@triggers_group.command("set")
@click.option("--schedule-days", type=NON_NEGATIVE, help="Retrain every N days (0: never).")
@click.option("--on-alert/--no-on-alert", default=None, help="Retrain while an alert fires.")
@click.option("--new-labels", type=COUNT, help="Retrain after N new labelled rows.")
@click.option("--strategy", type=click.Choice(["canary", "shadow"]), help="How a winner starts.")
@click.option(
    "--canary-percent",
    type=CANARY_PERCENT,
    help="The share a winning challenger starts with (more than 0, less than 100).",
)
@pass_cli
def triggers_set(ctx: CliContext, schedule_days, on_alert, new_labels, strategy, canary_percent) -> None:
    """Change the triggers named; the others keep their values."""
    from cockpit.retraining.policy import set_triggers

    if all(v is None for v in (schedule_days, on_alert, new_labels, strategy, canary_percent)):
        raise click.UsageError("name at least one trigger to change (see --help)")
    merged = set_triggers(
        ctx.workspace(),
        ctx.project(),
        schedule_days=schedule_days,
        on_alert=None if on_alert is None else int(on_alert),
        new_labels=new_labels,
        strategy=strategy,
        canary_percent=canary_percent,
    )
    click.echo(", ".join(f"{k}={v}" for k, v in merged.as_dict().items()))


@retrain.command("feedback")
@click.argument("verdict", type=click.Choice(["useful", "not-useful"]))
@click.option("--comment", default="", help="What the people acting on predictions said.")
@pass_cli
def feedback(ctx: CliContext, verdict: str, comment: str) -> None:
    """Record a verdict on the predictions' usefulness (not-useful triggers a retrain)."""
    from cockpit.retraining.policy import add_feedback

    click.echo(add_feedback(ctx.workspace(), ctx.project(), verdict, comment))


@retrain.command("history")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def history(ctx: CliContext, as_json: bool) -> None:
    """Every retrain: why, what it decided, champion vs challenger."""
    from cockpit.retraining.cycle import list_retrains

    found = [r.row() for r in list_retrains(ctx.workspace(), ctx.project())]
    if as_json:
        emit_json(found)
        return
    print_table(
        found,
        ["id", "created_at", "window", "champion_score", "challenger_score", "decision"],
        empty="no retrains yet",
    )


@click.command()
@click.argument("version")
@click.option("--reason", required=True, help="Why it is retired.")
@click.option("--successor", help="The version replacing it (needed if it is in production).")
@pass_cli
def retire(ctx: CliContext, version: str, reason: str, successor: str | None) -> None:
    """Retire VERSION: it stops serving, its artifact is archived, its card says why."""
    from cockpit.retraining.cycle import retire as retire_version

    result = retire_version(ctx.workspace(), ctx.project(), version, reason, successor)
    click.echo(
        f"v{result.version} retired" + (f"; successor v{result.successor}" if result.successor else "")
    )


COMMANDS = [retrain, retire]
