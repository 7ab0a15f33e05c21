"""`cockpit gc` and `cockpit delete run|data|project`: the store over time."""

from __future__ import annotations

from datetime import timedelta

import click

from cockpit.cli.context import CliContext, Refused, emit_json
from cockpit.cli.options import NON_NEGATIVE, ROW_ID

pass_cli = click.make_pass_decorator(CliContext)

DRY_RUN = click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
REASON = click.option("--reason", required=True, help="Why (kept in the audit log with who and what).")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def _show_collection(collection, verb: str) -> None:
    for item in collection.removed:
        click.echo(
            f"{verb}  {item.sha256[:12]}  {item.kind:<12} {_size(item.size):>10}  {', '.join(item.files)}"
        )
    click.echo(
        f"{verb} {len(collection.removed)} artifact(s), {_size(collection.bytes_freed)}"
        + (f"; kept {collection.kept_recent} younger than the minimum age" if collection.kept_recent else "")
    )
    for failure in collection.failed:
        click.echo(f"cockpit: could not delete {failure}", err=True)


@click.command("gc")
@DRY_RUN
@click.option(
    "--min-age",
    type=NON_NEGATIVE,
    default=60,
    show_default=True,
    metavar="MINUTES",
    help="Keep unreferenced artifacts younger than this (one may be on its way to a run).",
)
@AS_JSON
@pass_cli
def gc_command(cli: CliContext, dry_run: bool, min_age: float, as_json: bool) -> None:
    """Remove the artifacts no run, dataset version, split, model version, batch or
    reproduction names (live and archived); prints each and the bytes freed. Exit 1 when a
    file could not be deleted."""
    from cockpit import gc

    collection = gc.collect(cli.workspace(), dry_run=dry_run, min_age=timedelta(minutes=min_age))
    if as_json:
        emit_json(collection.as_dict())
    else:
        _show_collection(collection, "would remove" if dry_run else "removed")
    if collection.failed:
        raise SystemExit(1)


@click.group("delete")
def delete() -> None:
    """Delete a run, a dataset version or a project for good: one transaction, recorded in the
    audit log with who and why, refused (exit 2, naming what) while anything live depends on
    it; the files nothing names any more are removed after it."""


def _show(deletion, as_json: bool) -> None:
    if as_json:
        emit_json(deletion.as_dict())
        return
    rows = ", ".join(f"{n} {table}" for table, n in deletion.removed.items())
    if deletion.dry_run:
        click.echo(f"would delete {deletion.what}: {rows}")
        _show_collection(deletion.artifacts, "would remove")
        return
    click.echo(f"deleted {deletion.what}: {rows} (event {deletion.event_id})")
    _show_collection(deletion.artifacts, "removed")


@delete.command("run")
@click.argument("run_id", type=ROW_ID)
@REASON
@DRY_RUN
@AS_JSON
@pass_cli
def delete_run(cli: CliContext, run_id: int, reason: str, dry_run: bool, as_json: bool) -> None:
    """Delete run RUN_ID with its evaluations, gates, steps, reproductions and retired model
    versions, and its model file unless another row names it. Refused while it runs, while a
    model version that is not retired comes from it, or once it looked at a test set."""
    from cockpit.deletion import delete_run as run_deletion

    _show(run_deletion(cli.workspace(), cli.project(), run_id, reason, dry_run), as_json)


@delete.command("data")
@click.argument("version", type=ROW_ID)
@REASON
@DRY_RUN
@AS_JSON
@pass_cli
def delete_data(cli: CliContext, version: int, reason: str, dry_run: bool, as_json: bool) -> None:
    """Delete dataset VERSION (its rows file too: personal data) with its validations. Refused
    while a child version, a split or a run is built on it."""
    from cockpit.deletion import delete_data as data_deletion

    _show(data_deletion(cli.workspace(), cli.project(), version, reason, dry_run), as_json)


@delete.command("project")
@click.argument("name")
@REASON
@click.option("--yes", is_flag=True, help="Do not ask to type the project's name to confirm.")
@DRY_RUN
@AS_JSON
@pass_cli
def delete_project(cli: CliContext, name: str, reason: str, yes: bool, dry_run: bool, as_json: bool) -> None:
    """Delete project NAME and everything in it (data, runs, models and their aliases,
    production included, batches, request log, labels, its events), and the files nothing else
    names. Refused while a run or sweep runs or its prediction service does. Asks you to type
    NAME to confirm, unless --yes (or --dry-run)."""
    from cockpit.deletion import delete_project as project_deletion
    from cockpit.deletion import live_aliases
    from cockpit.projects import resolve_project

    ws = cli.workspace()
    project = resolve_project(ws, name)
    if not (yes or dry_run):
        live = ", ".join(f"its {alias} model v{v}" for alias, v in live_aliases(ws, project).items())
        try:
            typed = click.prompt(
                f"This deletes project {name!r} and everything in it{f' ({live} too)' if live else ''}. "
                "Type its name to confirm",
                err=True,
            )
        except click.Abort:
            raise Refused("deleting a project asks you to type its name (or pass --yes)") from None
        if typed != name:
            raise Refused(f"you typed {typed!r}, not {name!r}: nothing was deleted")
    _show(project_deletion(ws, project, reason, dry_run), as_json)


COMMANDS = (gc_command, delete)
