"""The `cockpit` command: headless twins of every screen action.

Errors the core raises for bad input become one line on stderr and exit 2.
Commands that create something print its id (with --json, an object with "id").
"""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource

from cockpit import __version__
from cockpit.cli import shared_options
from cockpit.cli.context import CliContext, Refused
from cockpit.errors import CockpitError


class CockpitGroup(click.Group):
    """Turns the core's errors, and click's usage errors, into one clear line and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "cockpit"
            raise Refused(f"{exc.format_message()} (see {where} --help)") from None
        except CockpitError as exc:
            raise Refused(str(exc)) from None
        except Exception as exc:
            from storage import StoreError

            if isinstance(exc, StoreError):
                raise Refused(str(exc)) from None
            raise


@click.group(
    name="cockpit",
    cls=CockpitGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="cockpit", message="%(prog)s %(version)s")
@shared_options.root_option("workspace")
@shared_options.root_option("project")
@click.pass_context
def cli(ctx: click.Context, workspace: str | None, project: str | None) -> None:
    """A keyboard-driven terminal cockpit for the whole life of a machine-learning model.

    Run without a command to open the cockpit on the workspace found from the
    current folder; every screen action has a command below. --workspace and
    --project may also follow the command (`cockpit runs --project churn`).
    """
    ctx.obj = CliContext(workspace, project)
    for name in shared_options.SHARED:
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            ctx.obj.give(name, ctx.params[name], "cockpit")
    if ctx.invoked_subcommand is None:
        ctx.obj.open_ui()


COMMAND_MODULES = (
    "core",
    "problem",
    "data",
    "training",
    "evaluation",
    "deployment",
    "serving",
    "monitoring",
    "retraining",
    "review",
    "report",
    "status",
    "importing",
    "maintenance",
    "keys",
)


def _register_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(f"cockpit.cli.{name}")
        for command in module.COMMANDS:
            cli.add_command(command)
    shared_options.add_to_subcommands(cli)


_register_commands()


def main() -> None:
    try:
        cli(prog_name="cockpit")
    except KeyboardInterrupt:
        click.echo("cockpit: interrupted", err=True)
        sys.exit(130)
