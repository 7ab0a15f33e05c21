"""--workspace and --project: before the command (`cockpit --project churn runs`) or after it
(`cockpit runs --project churn`, `cockpit data import f.csv -p churn`), with one meaning and
one help. Given twice with different values, the command is refused (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cockpit.cli.context import CliContext, Refused

SHARED: dict[str, dict[str, Any]] = {
    "workspace": {
        "flags": ("--workspace", "-w"),
        "metavar": "PATH",
        "envvar": "COCKPIT_WORKSPACE",
        "help": "The project folder or its .cockpit/ (default: found from the current folder up).",
    },
    "project": {
        "flags": ("--project", "-p"),
        "metavar": "NAME",
        "envvar": "COCKPIT_PROJECT",
        "help": "The project to act on (needed when the workspace holds several).",
    },
}
F = TypeVar("F", bound=Callable[..., Any])
# Commands that create a workspace rather than act on one: --workspace after them would
# read as "create it there", which is not what it means.
WITHOUT = frozenset({"init"})


def root_option(name: str) -> Callable[[F], F]:
    """The option on `cockpit` itself, read from its environment variable when not given."""
    spec = SHARED[name]
    return click.option(
        *spec["flags"], name, metavar=spec["metavar"], envvar=spec["envvar"], help=spec["help"]
    )


def subcommand_option(name: str) -> click.Option:
    """The same option on a subcommand: it sets what the root option set, and says so when
    the two disagree."""
    spec = SHARED[name]
    return click.Option(
        [*spec["flags"], name],
        metavar=spec["metavar"],
        help=spec["help"],
        expose_value=False,
        callback=_given_after,
    )


def add_to_subcommands(group: click.Group) -> None:
    """Give every command under `group` (nested groups too) the shared options."""
    for command_name, command in group.commands.items():
        if command_name in WITHOUT:
            continue
        taken = {flag for param in command.params for flag in param.opts}
        for name, spec in SHARED.items():
            if not taken & set(spec["flags"]):
                command.params.append(subcommand_option(name))
        if isinstance(command, click.Group):
            add_to_subcommands(command)


def _given_after(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    cli_context = ctx.find_object(CliContext)
    if cli_context is None:  # only reached when a subcommand is run without the root group
        raise Refused(f"{param.opts[0]} needs the `cockpit` command around it")
    assert param.name is not None
    cli_context.give(param.name, value, ctx.command_path)
