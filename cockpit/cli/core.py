"""Workspace, project and audit-log commands, the demo and the doctor."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cockpit import workspace as workspaces
from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.projects import TASKS, create_project, list_projects

pass_cli = click.make_pass_decorator(CliContext)


def _warn(message: str) -> None:
    click.echo(f"cockpit: warning: {message}", err=True)


# A workspace others can read: one line on stderr when a command opens it.
workspaces.print_permission_warnings(_warn)


@click.command()
@click.argument("path", required=False, default=".", type=click.Path(file_okay=False))
@click.option(
    "--share-with-group",
    "group",
    metavar="GROUP",
    help="Share the workspace with GROUP (files 0660, folders 2770) instead of keeping it owner-only.",
)
def init(path: str, group: str | None) -> None:
    """Create a workspace (.cockpit/) in PATH (default: the current folder), owner-only."""
    from cockpit.doctor import share_with_group
    from cockpit.workspace import Workspace

    workspace, created = Workspace.init(Path(path), share_with_group=group)
    if not created and group and workspace.shared_group != group:
        share_with_group(workspace, group)
    verb = "created" if created else "already exists:"
    click.echo(f"workspace {verb} {workspace.dir}")
    if workspace.shared_group:
        click.echo(f"shared with group {workspace.shared_group!r}")
    workspaces.announce_permission_warning(workspace)


@click.command()
@click.option(
    "--path",
    "path",
    type=click.Path(file_okay=False),
    help="Folder to build the demo workspace in (default: the --workspace folder, else cockpit-demo).",
)
@click.option("--no-tui", is_flag=True, help="Only build the workspace; do not open the cockpit.")
@click.option("--rebuild", is_flag=True, help="Delete an existing demo workspace there first.")
@pass_cli
def demo(ctx: CliContext, path: str | None, no_tui: bool, rebuild: bool) -> None:
    """Build a complete demo workspace from the sample data and open it."""
    from cockpit.demo import DEMO_PROJECT, build_demo

    path = ctx.folder_for(path, "--path") or "cockpit-demo"

    started = time.monotonic()
    workspace, built = build_demo(
        Path(path),
        rebuild=rebuild,
        progress=lambda message: click.echo(f"  {time.monotonic() - started:5.1f}s  {message}", err=True),
    )
    if not built:
        click.echo(f"demo workspace already built at {workspace.root} (use --rebuild to start over)")
    else:
        click.echo(f"demo workspace ready at {workspace.root}")
    workspaces.announce_permission_warning(workspace)
    if not no_tui:
        ctx.project_option = ctx.project_option or DEMO_PROJECT
        ctx.open_ui(workspace)


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
    print_table(
        [p.as_dict() for p in found],
        ["id", "name", "task", "target", "created_at"],
        empty="no projects yet: cockpit project new NAME --task binary --target COLUMN",
    )


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--grep", "text", default="", help="Only events whose text contains this.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def log(ctx: CliContext, limit: int, text: str, as_json: bool) -> None:
    """The audit log, newest first (of --project if given, else the whole workspace).

    USER is the OS account that acted, followed by "(as NAME)" when COCKPIT_USER claimed
    another name."""
    from cockpit.audit import recent_events
    from cockpit.projects import resolve_project

    workspace = ctx.workspace()
    project_id = resolve_project(workspace, ctx.project_option).id if ctx.project_option else None
    events = recent_events(workspace.store, project_id, limit=limit, text=text)
    if as_json:
        emit_json([e.as_dict() for e in events])
        return
    # the OS account, and a differing COCKPIT_USER beside it: "alice (as bob)"
    rows = [{**e.as_dict(), "user": e.who, "details": e.summary()} for e in events]
    print_table(rows, ["id", "at", "user", "project", "stage", "action", "details"], empty="no events")


@click.command()
@click.option("--fix", is_flag=True, help="Set every folder's and file's mode to the policy.")
@click.option(
    "--share-with-group",
    "group",
    metavar="GROUP",
    help="Opt in to sharing the workspace with GROUP (recorded), then fix.",
)
@click.option("--owner-only", is_flag=True, help="Stop sharing: back to owner-only, then fix.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_cli
def doctor(ctx: CliContext, fix: bool, group: str | None, owner_only: bool, as_json: bool) -> None:
    """Check the workspace: who can read it, journal mode, schema, artifacts (exit 1 on a
    problem, 0 when healthy)."""
    from cockpit import doctor as checks
    from cockpit.workspace import Workspace, locate
    from storage import StoreError

    if group and owner_only:
        raise click.UsageError("--share-with-group and --owner-only exclude each other")
    dot_dir = locate(ctx.workspace_option)
    fixed: list[str] = []
    try:
        ws = Workspace(dot_dir)
    except StoreError:
        shared = checks.guess_shared_group(dot_dir)  # its setting cannot be read
        if fix:  # e.g. a store made unreadable: the modes first, then try again
            fixed = checks.fix(dot_dir, shared)
        try:
            ws = Workspace(dot_dir)
        except StoreError as again:
            report = checks.diagnose(None, dot_dir, shared, store_error=str(again))
            report.fixed = fixed
            _show_doctor(report, as_json)
            sys.exit(1)
    with ws:
        if group or owner_only:
            fixed += checks.share_with_group(ws, None if owner_only else group)
        elif fix:
            fixed += checks.fix(ws.dir, ws.shared_group)
        if fix:
            fixed += checks.remove_stale_temporary(ws)
        report = checks.diagnose(ws, ws.dir, param_defaults=_param_defaults)
    report.fixed = fixed
    _show_doctor(report, as_json)
    if not report.healthy:
        sys.exit(1)


def _param_defaults(family: str, task: str, seed: int) -> dict:
    """The params a run of `family` gets when none are given: doctor's train commands leave
    them out."""
    from cockpit.training import models

    try:
        defaults = models.resolve(family, task).resolve_params({})
    except Exception:  # e.g. a model class no longer importable: every param is given
        return {}
    if defaults.get("random_state", "absent") is None:
        defaults["random_state"] = seed
    return defaults


def _show_doctor(report, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_dict())
        return
    data = report.as_dict()
    perms = data["permissions"]
    click.echo(f"workspace     {report.dot_dir}")
    click.echo(f"sharing       {perms['sharing']}")
    click.echo(f"who can read  {perms['who_can_read']}")
    entries = report.entries
    shown = [e for e in entries if e.kind != "file" or "/artifacts/" not in e.path or e.problem]
    hidden = len(entries) - len(shown)
    for e in shown[:40]:
        state = e.problem or "ok"
        click.echo(f"  {e.mode:04o}  {e.owner}:{e.group}  {e.path}  ({state})")
    if hidden:
        click.echo(f"  ... and {hidden} artifact files, all as wanted")
    if len(shown) > 40:
        click.echo(f"  ... and {len(shown) - 40} more (see --json)")
    if report.journal:
        click.echo(f"journal       {report.journal['mode']}: {report.journal['reason']}")
    if report.schema:
        s = report.schema
        click.echo(
            f"schema        version {s['version']} of {s['known']} ({s['latest']}), "
            f"integrity {s['integrity']}"
        )
    if report.artifacts:
        a = report.artifacts
        extra = [f"{len(a.missing)} missing", f"{len(a.changed)} changed"]
        if a.unrecorded:
            extra.append(f"{len(a.unrecorded)} unrecorded files")
        if a.temporary:
            extra.append(f"{len(a.temporary)} unfinished temporary files")
        click.echo(f"artifacts     {a.recorded} recorded, {a.verified} verified; {', '.join(extra)}")
    for line in report.fixed:
        click.echo(f"fixed         {line}")
    if report.healthy:
        click.echo("healthy")
        return
    click.echo(f"{len(report.problems)} problem(s):")
    for problem in report.problems:
        click.echo(f"  - {problem}")
    if any(e.problem for e in entries) and not report.fixed:
        click.echo("run `cockpit doctor --fix` to set the modes right")


COMMANDS = [init, demo, project, projects, log, doctor]
