"""Workspace, project and audit-log commands, and the demo."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.projects import TASKS, create_project, list_projects

pass_cli = click.make_pass_decorator(CliContext)


@click.command()
@click.argument("path", required=False, default=".", type=click.Path(file_okay=False))
def init(path: str) -> None:
    """Create a workspace (.cockpit/) in PATH (default: the current folder)."""
    from cockpit.workspace import Workspace

    workspace, created = Workspace.init(Path(path))
    verb = "created" if created else "already exists:"
    click.echo(f"workspace {verb} {workspace.dir}")


@click.command()
@click.option("--path", "path", default="cockpit-demo", show_default=True,
              type=click.Path(file_okay=False), help="Folder to build the demo workspace in.")
@click.option("--no-tui", is_flag=True, help="Only build the workspace; do not open the cockpit.")
@click.option("--rebuild", is_flag=True, help="Delete an existing demo workspace there first.")
@pass_cli
def demo(ctx: CliContext, path: str, no_tui: bool, rebuild: bool) -> None:
    """Build a complete demo workspace from the sample data and open it."""
    from cockpit.demo import DEMO_PROJECT, build_demo

    workspace, built = build_demo(Path(path), rebuild=rebuild, progress=_progress)
    if not built:
        click.echo(f"demo workspace already built at {workspace.root} (use --rebuild to start over)")
    else:
        click.echo(f"demo workspace ready at {workspace.root}")
    if not no_tui:
        ctx.project_option = ctx.project_option or DEMO_PROJECT
        ctx.open_ui(workspace)


def _progress(message: str) -> None:
    click.echo(f"  {message}", err=True)


@click.group()
def project() -> None:
    """Create projects (one problem each)."""


@project.command("new")
@click.argument("name")
@click.option("--task", required=True, type=click.Choice(TASKS), help="What is predicted.")
@click.option("--target", required=True, metavar="COLUMN", help="The column to predict.")
@click.option("--json", "as_json", is_flag=True, help="Print the project as JSON.")
@pass_cli
def project_new(ctx: CliContext, name: str, task: str, target: str, as_json: bool) -> None:
    """Create project NAME; prints its id."""
    created = create_project(ctx.workspace(), name, task, target)
    if as_json:
        emit_json(created.as_dict())
    else:
        click.echo(created.id)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def projects(ctx: CliContext, as_json: bool) -> None:
    """List the workspace's projects."""
    found = list_projects(ctx.workspace())
    if as_json:
        emit_json([p.as_dict() for p in found])
        return
    print_table([p.as_dict() for p in found], ["id", "name", "task", "target", "created_at"],
                empty="no projects yet: cockpit project new NAME --task binary --target COLUMN")


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--grep", "text", default="", help="Only events whose text contains this.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def log(ctx: CliContext, limit: int, text: str, as_json: bool) -> None:
    """The audit log, newest first (of --project if given, else the whole workspace)."""
    from cockpit.audit import recent_events
    from cockpit.projects import resolve_project

    workspace = ctx.workspace()
    project_id = resolve_project(workspace, ctx.project_option).id if ctx.project_option else None
    events = recent_events(workspace.store, project_id, limit=limit, text=text)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    rows = [{**e.as_dict(), "details": e.summary()} for e in events]
    print_table(rows, ["id", "at", "user", "project", "stage", "action", "details"],
                empty="no events")


COMMANDS = [init, demo, project, projects, log]
