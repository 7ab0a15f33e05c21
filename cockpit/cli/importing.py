"""`cockpit import mlflow [TRACKING_URI]`: runs tracked with MLflow, as cockpit's runs."""

from __future__ import annotations

import time

import click

from cockpit.cli.context import CliContext, emit_json
from cockpit.cli.options import POSITIVE, ROW_ID

pass_cli = click.make_pass_decorator(CliContext)


@click.group("import")
def import_group() -> None:
    """Bring runs tracked by another system into cockpit (exit 1 when a run failed to import)."""


@import_group.command("mlflow")
@click.argument("tracking_uri", required=False, metavar="[TRACKING_URI]")
@click.option(
    "--experiment", metavar="NAME", help="Import this experiment only (default: every one with runs)."
)
@click.option(
    "--task", type=click.Choice(["binary", "multiclass", "regression"]), help="A new project's task."
)
@click.option("--target", metavar="COLUMN", help="A new project's target column.")
@click.option(
    "--data",
    "data_version",
    type=ROW_ID,
    metavar="VERSION",
    help="Score the imported scikit-learn models on this data version's split (its newest, or --split).",
)
@click.option("--split", "split_id", type=ROW_ID, help="The split of --data to score on.")
@click.option(
    "--trust",
    multiple=True,
    metavar="TYPE",
    help="A type of the runs' .skops models to trust (repeat it; a model's note lists the types it needs).",
)
@click.option(
    "--watch",
    type=POSITIVE,
    metavar="SECONDS",
    help="Keep importing what is new every SECONDS, one line a pass, until Ctrl-C.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_cli
def mlflow(
    ctx: CliContext,
    tracking_uri: str | None,
    experiment: str | None,
    task: str | None,
    target: str | None,
    data_version: int | None,
    split_id: int | None,
    trust: tuple[str, ...],
    watch: float | None,
    as_json: bool,
) -> None:
    """Import an MLflow store: each experiment becomes a project, each run an external run.

    TRACKING_URI is a sqlite:///mlflow.db database or a file: folder (./mlruns); default:
    MLFLOW_TRACKING_URI, then ./mlflow.db, then ./mlruns. The store is read through MLflow's
    own client (pip install 'cockpit[mlflow]') and never changed: a database is read from a
    copy. A second import adds only what is new and follows runs still running in MLflow.
    --project NAME imports into that project (default: one project per experiment, named
    after it).
    """
    from cockpit.importing.mlflow_import import Options, import_store
    from cockpit.importing.mlflow_store import require_mlflow, resolve_uri

    if split_id is not None and data_version is None:
        raise click.UsageError("--split goes with --data VERSION")
    # --project (before or after the command) imports into that project; COCKPIT_PROJECT from
    # the environment does not send every experiment to one project
    project_name = ctx.project_named()
    require_mlflow()
    info = resolve_uri(tracking_uri)
    options = Options(experiment, project_name, task, target, data_version, split_id, tuple(trust))
    workspace = ctx.workspace()
    if watch is None:
        result = import_store(workspace, info, options)
        if as_json:
            emit_json(result.as_dict())
        else:
            if result.upgraded_from:
                click.echo(f"read a copy of {info.uri} upgraded from MLflow schema {result.upgraded_from}")
            for line in [e.line for e in result.experiments] or [f"{info.uri}: no experiment has runs"]:
                click.echo(line)
        if not result.ok:
            raise SystemExit(1)
        return
    _watch(workspace, info, options, watch, as_json)


def _watch(workspace, info, options, seconds: float, as_json: bool) -> None:
    """One import a pass, one line a pass, until Ctrl-C; exit 1 when the last pass failed a run."""
    import json

    from cockpit.importing.mlflow_import import import_store

    number, ok = 0, True
    try:
        while True:
            number += 1
            result = import_store(workspace, info, options)
            ok = result.ok
            exps = result.experiments
            if as_json:
                click.echo(json.dumps({"pass": number, **result.as_dict()}, sort_keys=True, default=str))
            else:
                failed = sum(len(e.failed) for e in exps) + sum(1 for e in exps if e.refused)
                click.echo(
                    f"{time.strftime('%H:%M:%S')} pass {number}: {sum(e.new for e in exps)} new, "
                    f"{sum(e.updated for e in exps)} updated, {sum(e.unchanged for e in exps)} unchanged, "
                    f"{failed} failed"
                )
                for e in exps:
                    if e.failed or e.refused:
                        click.echo(f"  {e.line}")
            time.sleep(seconds)
    except KeyboardInterrupt:
        click.echo(f"stopped after {number} pass{'es' if number != 1 else ''}", err=True)
    if not ok:
        raise SystemExit(1)


COMMANDS = [import_group]
