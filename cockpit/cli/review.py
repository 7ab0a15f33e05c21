"""`cockpit review VERSION` and `cockpit review sign`: the launch-readiness review."""

from __future__ import annotations

import click
from click_default_group import DefaultGroup

from cockpit.cli.context import CliContext, emit_json

pass_cli = click.make_pass_decorator(CliContext)


@click.group(cls=DefaultGroup, default="show", default_if_no_args=False)
def review() -> None:
    """The launch-readiness review of a model version (exit 1 when not ready)."""


@review.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def show(ctx: CliContext, version: str, as_json: bool) -> None:
    """The checklist of VERSION with its evidence and sign-offs; exit 1 when not ready."""
    from cockpit.review import review as run_review

    result = run_review(ctx.workspace(), ctx.project(), version)
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"v{result.version}: {'READY' if result.ready else 'NOT READY'}")
        for reason in result.reasons():
            click.echo(f"  not ready: {reason}")
        for step in result.steps:
            signed = f" [{step.decision} by {step.signer}: {step.comment}]" if step.decision else ""
            click.echo(f"  {'✓' if step.ok else '✗'} {step.name}{signed}")
            for ok, text in step.evidence:
                click.echo(f"      {'ok ' if ok else 'NO '} {text}")
        for mode in result.failure_modes:
            click.echo(f"  failure mode: {mode}")
    if not result.ready:
        raise SystemExit(1)


@review.command("sign")
@click.argument("version")
@click.option("--step", required=True, help="reproducible, evaluated, deployable, monitored, replaceable")
@click.option("--decision", required=True, type=click.Choice(["approve", "block", "waive"]))
@click.option("--comment", default="", help="Why (needed to block or waive).")
@click.option("--reviewer", help="Who signs (default: the current user).")
@pass_cli
def sign(ctx: CliContext, version: str, step: str, decision: str, comment: str, reviewer: str | None) -> None:
    """Sign off one step of VERSION's review."""
    from cockpit.review import sign as sign_step

    click.echo(sign_step(ctx.workspace(), ctx.project(), version, step, decision, comment, reviewer))


COMMANDS = [review]
