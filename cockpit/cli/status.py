"""`cockpit status`: the overview's lifecycle map, headless — each stage's status and detail
read by the same functions the overview reads, and the next step with its command lines."""

from __future__ import annotations

from typing import Any

import click

from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.lifecycle import StageState

pass_cli = click.make_pass_decorator(CliContext)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the stages and the next step as JSON.")
@pass_cli
def status(ctx: CliContext, as_json: bool) -> None:
    """Every stage's status and detail, and the next step (what the overview shows)."""
    from cockpit.lifecycle import next_step
    from cockpit.stage_status import stage_states

    project = ctx.project()
    states = stage_states(ctx.workspace(), project)
    step = next_step(states)
    if as_json:
        emit_json(
            {
                "project": project.name,
                "stages": [_stage(state) for state in states],
                "next": {"stage": step.stage.key, **_next(step)} if step else None,
            }
        )
        return
    print_table(
        [
            {"n": s.stage.number, "stage": s.stage.title, "status": s.status.value, "detail": s.detail}
            for s in states
        ],
        ["n", "stage", "status", "detail"],
    )
    if step is None or step.next_action is None:
        click.echo("next: nothing here needs you right now")
        return
    action = step.next_action
    commands = f": {', or '.join(action.commands)}" if action.commands else ""
    click.echo(f"next ({step.stage.number} {step.stage.title}): {action.what}{commands}")


def _stage(state: StageState) -> dict[str, Any]:
    return {
        "key": state.stage.key,
        "number": state.stage.number,
        "title": state.stage.title,
        "status": state.status.value,
        "detail": state.detail,
        "next": _next(state) if state.next_action else None,
    }


def _next(state: StageState) -> dict[str, Any]:
    action = state.next_action
    assert action is not None  # callers pass a state that asks for something
    return {"what": action.what, "commands": list(action.commands)}


COMMANDS = [status]
