"""`cockpit features show|set`, `cockpit train`, `cockpit runs`: twins of stages 3 and 4."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.errors import CockpitError

pass_cli = click.make_pass_decorator(CliContext)


@click.group()
def features() -> None:
    """The feature spec: how each column becomes model input."""


@features.command("show")
@click.option("--preview", is_flag=True, help="Also show the transformed columns on a sample.")
@click.option("--json", "as_json", is_flag=True, help="Print the spec as JSON.")
@pass_cli
def features_show(ctx: CliContext, preview: bool, as_json: bool) -> None:
    """The current spec (or the defaults inferred from the newest data)."""
    from cockpit.features import current_spec

    workspace, project = ctx.workspace(), ctx.project()
    version, specs = current_spec(workspace, project)
    if as_json:
        emit_json({"version": version, "columns": [s.as_dict() for s in specs]})
        return
    label = f"version {version}" if version else "not saved yet: inferred from the data profile"
    click.echo(f"{project.name} feature spec · {label}")
    print_table([{"column": s.column, "role": s.role, "kind": s.kind, "how": s.summary()}
                 for s in specs], ["column", "role", "kind", "how"])
    if preview:
        from cockpit.data.versions import get_version, load_frame
        from cockpit.feature_pipeline import preview as transform_preview

        frame = load_frame(workspace, get_version(workspace, project)).head(500)
        shown = transform_preview(specs, frame)
        click.echo(f"\n{shown.shape[1]} model inputs; the first rows:")
        click.echo(shown.iloc[:, :8].round(3).to_string())


@features.command("set")
@click.option("--file", "path", type=click.Path(path_type=Path), help="A spec in TOML or JSON.")
@click.option("--column", "column_changes", multiple=True, metavar="COLUMN:FIELD=VALUE",
              help="Change one field of one column, e.g. region:role=ignore (repeatable).")
@click.option("--comment", default="", help="Why the spec changed.")
@pass_cli
def features_set(ctx: CliContext, path: Path | None, column_changes: tuple[str, ...],
                 comment: str) -> None:
    """Save a new feature spec version; prints it."""
    from cockpit import features as stage

    if path is None and not column_changes:
        raise CockpitError("give --file spec.toml or at least one --column COLUMN:FIELD=VALUE")
    workspace, project = ctx.workspace(), ctx.project()
    specs = stage.load_spec_file(path) if path else stage.current_spec(workspace, project)[1]
    for change in column_changes:
        specs = apply_change(specs, change)
    version = stage.save_spec(workspace, project, specs, comment)
    if version is None:
        click.echo("unchanged", err=True)
        version = stage.current_spec(workspace, project)[0]
    click.echo(version)


def apply_change(specs, change: str):
    from dataclasses import replace

    column, colon, assignment = change.partition(":")
    field, equals, value = assignment.partition("=")
    if not colon or not equals:
        raise CockpitError(f"--column {change!r}: write COLUMN:FIELD=VALUE")
    target = next((s for s in specs if s.column == column), None)
    if target is None:
        raise CockpitError(f"--column {change!r}: no column {column!r} in the spec")
    if field not in target.__dataclass_fields__ or field == "column":
        raise CockpitError(f"--column {change!r}: unknown field {field!r}")
    current = getattr(target, field)
    if isinstance(current, list):
        parsed: object = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(current, int):
        try:
            parsed = int(value)
        except ValueError:
            raise CockpitError(f"--column {change!r}: {field} takes a whole number") from None
    else:
        parsed = value
    return [replace(s, **{field: parsed}) if s is target else s for s in specs]


@click.command()
@click.option("--model", "family", required=True,
              help="Model family: dummy, logistic_regression, linear_regression, ridge, "
              "decision_tree, random_forest, hist_gradient_boosting.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="An estimator parameter (repeatable).")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed (recorded).")
@click.option("--split", "split_id", type=int, help="Split id (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_cli
def train(ctx: CliContext, family: str, params: tuple[str, ...], seed: int, split_id: int | None,
          as_json: bool) -> None:
    """Train one run in a child process; prints the run id (Ctrl-C cancels it).

    Exits 2 when the request is unusable and 1 when the fit fails; both are
    recorded as failed runs.
    """
    from cockpit.training.runs import train as run_training

    workspace, project = ctx.workspace(), ctx.project()
    shown = {"last": -1.0}

    def progress(fraction: float, message: str) -> None:
        if sys.stderr.isatty() and fraction - shown["last"] >= 0.1:
            click.echo(f"  {fraction:4.0%} {message}", err=True)
            shown["last"] = fraction

    run = run_training(workspace, project, family, list(params), seed, split_id, progress)
    if as_json:
        emit_json(run.as_dict())
    else:
        detail = f"{run.metric} {run.score:.4f}" if run.score is not None else run.error or ""
        click.echo(f"{run.label}: {run.status} · {detail}", err=True)
        click.echo(run.id)
    if run.status != "finished":
        raise SystemExit(1)


@click.command()
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def runs(ctx: CliContext, limit: int, as_json: bool) -> None:
    """Training runs, newest first."""
    from cockpit.training.runs import list_runs

    found = list_runs(ctx.workspace(), ctx.project(), limit)
    if as_json:
        emit_json([r.as_dict() for r in found])
        return
    rows = [{"id": r.id, "family": r.family, "status": r.status, "metric": r.metric,
             "score": r.score, "seed": r.seed, "data": f"v{r.version_id}" if r.version_id else "-",
             "split": r.split_id, "seconds": r.duration_s, "created_at": r.created_at}
            for r in found]
    print_table(rows, ["id", "family", "status", "metric", "score", "seed", "data", "split",
                       "seconds", "created_at"], empty="no runs yet: cockpit train --model dummy")


COMMANDS = [features, train, runs]


@click.command()
@click.argument("run_id", type=int)
@pass_cli
def cancel(ctx: CliContext, run_id: int) -> None:
    """Stop a running run at once (its child process is killed) and record it cancelled."""
    from cockpit.training.runs import cancel_run

    run = cancel_run(ctx.workspace(), ctx.project(), run_id)
    click.echo(f"{run.label}: {run.status}")


COMMANDS.append(cancel)
