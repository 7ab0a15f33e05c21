"""`cockpit problem show|set|history|diff`: the headless twin of the problem screen."""

from __future__ import annotations

from pathlib import Path

import click

from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.cli.options import ROW_ID
from cockpit.errors import CockpitError

pass_cli = click.make_pass_decorator(CliContext)


@click.group()
def problem() -> None:
    """The problem spec: show it, set it (a new version), see its history."""


@problem.command("show")
@click.option("--version", "version", type=ROW_ID, help="An older version (default: current).")
@click.option("--json", "as_json", is_flag=True, help="Print the spec and its grade as JSON.")
@pass_cli
def show(ctx: CliContext, version: int | None, as_json: bool) -> None:
    """Show the spec and its readiness grade."""
    from cockpit import problem as stage
    from cockpit.problem.grader import grade

    workspace, project = ctx.workspace(), ctx.project()
    versions = stage.history(workspace, project)
    chosen = _pick(versions, version)
    spec = chosen.spec if chosen else stage.current_spec(workspace, project)
    result = grade(spec)
    if as_json:
        emit_json(
            {
                "project": project.name,
                "version": chosen.version if chosen else None,
                "spec": spec.as_dict(),
                "grade": result.as_dict(),
            }
        )
        return
    label = f"version {chosen.version}" if chosen else "no spec saved yet"
    click.echo(f"{project.name} · {label} · readiness {result.score}%")
    for name, value in spec.as_dict().items():
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"  {name:18} {shown if shown not in ('', None) else '-'}")
    if result.problems:
        click.echo("to fix:")
        for finding in result.problems:
            click.echo(f"  {finding.field:18} {finding.status:8} {finding.why}")


def _pick(versions, number: int | None):
    if number is None:
        return versions[-1] if versions else None
    for version in versions:
        if version.version == number:
            return version
    raise CockpitError(
        f"no spec version {number} (versions: {', '.join(str(v.version) for v in versions) or 'none'})"
    )


@problem.command("set")
@click.option("--file", "path", type=click.Path(path_type=Path), help="A spec in .toml or .json.")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Change one field of the current spec (repeatable).",
)
@click.option("--comment", default="", help="Why the spec changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the new version as JSON.")
@pass_cli
def set_(
    ctx: CliContext, path: Path | None, assignments: tuple[str, ...], comment: str, as_json: bool
) -> None:
    """Save a new spec version from a file and/or FIELD=VALUE changes; prints the version."""
    from cockpit import problem as stage
    from cockpit.problem.grader import grade

    if path is None and not assignments:
        raise CockpitError("give --file spec.toml or at least one --set FIELD=VALUE")
    workspace, project = ctx.workspace(), ctx.project()
    base = stage.load_spec_file(path) if path else stage.current_spec(workspace, project)
    changes = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep:
            raise CockpitError(f"--set {item!r}: write FIELD=VALUE")
        changes[name.strip()] = value
    spec = stage.spec_from_mapping({**base.as_dict(), **changes}, "--set") if changes else base
    saved = stage.save_spec(workspace, project, spec, comment)
    if saved is None:
        saved = stage.current(workspace, project)
        assert saved is not None  # save_spec keeps a spec unchanged only when there is one
        click.echo(f"unchanged: the spec is already version {saved.version}", err=True)
    if as_json:
        emit_json({"id": saved.version, **saved.as_dict(), "grade": grade(saved.spec).as_dict()})
    else:
        click.echo(saved.version)


@problem.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print every version as JSON.")
@pass_cli
def history(ctx: CliContext, as_json: bool) -> None:
    """Every spec version, who saved it, its score and what it changed."""
    from cockpit import problem as stage

    versions = stage.history(ctx.workspace(), ctx.project())
    if as_json:
        emit_json([v.as_dict() for v in versions])
        return
    rows, previous = [], stage.ProblemSpec()
    for v in versions:
        changed = ", ".join(stage.diff(previous, v.spec))
        rows.append(
            {
                "version": v.version,
                "score": f"{v.score}%",
                "at": v.created_at,
                "by": v.created_by,
                "changed": changed,
                "comment": v.comment,
            }
        )
        previous = v.spec
    print_table(
        rows,
        ["version", "score", "at", "by", "changed", "comment"],
        empty="no spec yet: cockpit problem set --file spec.toml",
    )


@problem.command("diff")
@click.argument("old", type=ROW_ID)
@click.argument("new", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the changed fields as JSON.")
@pass_cli
def diff(ctx: CliContext, old: int, new: int, as_json: bool) -> None:
    """The fields that differ between spec versions OLD and NEW."""
    from cockpit import problem as stage

    versions = stage.history(ctx.workspace(), ctx.project())
    changes = stage.diff(_pick(versions, old).spec, _pick(versions, new).spec)
    if as_json:
        emit_json({name: {"old": a, "new": b} for name, (a, b) in changes.items()})
        return
    for name, (a, b) in changes.items():
        click.echo(f"{name}:\n  - {a!r}\n  + {b!r}")
    if not changes:
        click.echo("no differences")


COMMANDS = [problem]
