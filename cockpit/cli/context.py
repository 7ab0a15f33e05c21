"""What every command shares: the workspace and project it acts on, and output helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cockpit.workspace import WORKSPACE_DIRNAME, Workspace

if TYPE_CHECKING:
    from cockpit.projects import Project


class Refused(click.ClickException):
    """Bad usage or bad input: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"cockpit: {self.format_message()}", err=True)


class CliContext:
    def __init__(self, workspace: str | None, project: str | None) -> None:
        self.workspace_option = workspace
        self.project_option = project
        self._workspace: Workspace | None = None
        self._given: dict[str, tuple[str, str]] = {}  # option -> (value, the command it followed)

    def give(self, name: str, value: str, where: str) -> None:
        """--workspace or --project given on the command line after `where`; the same option
        given before with a different value is refused, whichever way it is spelt."""
        earlier = self._given.get(name)
        if earlier is not None and _same(name, earlier[0]) != _same(name, value):
            raise Refused(
                f"--{name} given twice with different values: {earlier[0]!r} after "
                f"`{earlier[1]}` and {value!r} after `{where}`"
            )
        self._given[name] = (value, where)
        if name == "workspace":
            self.workspace_option = value
        else:
            self.project_option = value

    def project_named(self) -> str | None:
        """The --project named on the command line (before or after the command), not the one
        COCKPIT_PROJECT gives."""
        given = self._given.get("project")
        return given[0] if given else None

    def folder_for(self, path: str | None, option: str) -> str | None:
        """The folder a command that builds a workspace uses: `path` (its own `option`), else
        the one --workspace named on the command line (not from the environment)."""
        given = self._given.get("workspace")
        if given is None:
            return path
        if path is not None and _same("workspace", path) != _same("workspace", given[0]):
            raise Refused(f"{option} {path!r} and --workspace {given[0]!r} name different folders")
        return _same("workspace", given[0])

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.open(self.workspace_option)
        return self._workspace

    def project(self) -> Project:
        from cockpit.projects import resolve_project

        return resolve_project(self.workspace(), self.project_option)

    def open_ui(self, workspace: Workspace | None = None) -> None:
        from screens.app import run_app

        run_app(workspace or self.workspace(), self.project_option)


def _same(name: str, value: str) -> str:
    """What a value means: a workspace path and its .cockpit/ are one workspace."""
    if name != "workspace":
        return value
    path = Path(value).expanduser().resolve()
    return str(path.parent if path.name == WORKSPACE_DIRNAME else path)


def cli_context(ctx: click.Context) -> CliContext:
    """The CliContext, for a group callback that needs click's own Context as well."""
    found = ctx.find_object(CliContext)
    assert found is not None  # the root group always sets it
    return found


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


def print_table(rows: list[dict[str, Any]], columns: list[str], empty: str = "(none)") -> None:
    """A plain aligned table for terminals and pipes alike."""
    if not rows:
        click.echo(empty)
        return
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    click.echo("  ".join(col.upper().ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        # a price-sized error (47,605) reads as a number, not 4.761e+04
        if 1e4 <= abs(value) < 1e15:
            return f"{value:,.0f}"
        # 2.07e-05 seconds reads as a number of its own: a tiny value is 0.0000 in four places
        return f"{value:.4f}" if 0 < abs(value) < 1e-3 else f"{value:.4g}"
    return str(value)
