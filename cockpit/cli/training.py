"""`cockpit features show|set`, `cockpit train`, `cockpit runs`: twins of stages 3 and 4."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.cluster_options import cluster_options
from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.cli.options import JOBS, POSITIVE, ROW_ID, SEED
from cockpit.errors import CockpitError
from cockpit.training.catalog import FAMILIES

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
    from cockpit import features as stage

    workspace, project = ctx.workspace(), ctx.project()
    version, specs = stage.current_spec(workspace, project)
    if as_json:
        emit_json({"version": version, "columns": [s.as_dict() for s in specs]})
        return
    label = f"version {version}" if version else "not saved yet: inferred from the data profile"
    click.echo(f"{project.name} feature spec · {label}")
    print_table(
        [
            {"column": s.column, "role": s.role, "kind": s.kind, "how": s.summary(), "note": s.note}
            for s in specs
        ],
        ["column", "role", "kind", "how", "note"],
    )
    for column, problem in stage.spec_problems(workspace, project, specs):
        click.echo(f"! {column} {problem}: it does not fit the data; `features set` to change it", err=True)
    if preview:
        from cockpit.data.datasets import get_version, load_frame
        from cockpit.feature_pipeline import preview as transform_preview

        frame = load_frame(workspace, get_version(workspace, project)).head(500)
        shown = transform_preview(specs, frame)
        click.echo(f"\n{shown.shape[1]} model inputs; the first rows:")
        click.echo(shown.iloc[:, :8].round(3).to_string())


@features.command("set")
@click.option("--file", "path", type=click.Path(path_type=Path), help="A spec in TOML or JSON.")
@click.option(
    "--column",
    "column_changes",
    multiple=True,
    metavar="COLUMN:FIELD=VALUE",
    help="Change one field of one column, e.g. region:role=ignore (repeatable).",
)
@click.option("--comment", default="", help="Why the spec changed.")
@pass_cli
def features_set(ctx: CliContext, path: Path | None, column_changes: tuple[str, ...], comment: str) -> None:
    """Save a new feature spec version; prints it."""
    from cockpit import features as stage

    if path is None and not column_changes:
        raise CockpitError("give --file spec.toml or at least one --column COLUMN:FIELD=VALUE")
    workspace, project = ctx.workspace(), ctx.project()
    specs = stage.load_spec_file(path) if path else stage.editable_spec(workspace, project)
    kinds = stage.column_kinds(workspace, project) if column_changes else {}
    for change in column_changes:
        specs = apply_change(specs, change, kinds, column_changes)
    source = str(path) if path else "feature spec"
    version = stage.save_spec(workspace, project, specs, comment, source=source)
    if version is None:
        click.echo("unchanged", err=True)
        version = stage.current_spec(workspace, project)[0]
    click.echo(version)


def apply_change(specs, change: str, kinds=None, changes: tuple[str, ...] = ()):
    """One COLUMN:FIELD=VALUE. A kind goes through features.with_kind (a column of years made a
    date takes the part year), unless `changes` also set the column's date parts."""
    from dataclasses import replace

    from cockpit.features import with_kind

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
    if field == "kind" and not any(_sets(c, column, "date_parts") for c in changes):
        changed = with_kind(target, value, (kinds or {}).get(column))
    else:
        changed = replace(target, **{field: parsed})
    return [changed if s is target else s for s in specs]


def _sets(change: str, column: str, field: str) -> bool:
    name, _, assignment = change.partition(":")
    return name == column and assignment.partition("=")[0] == field


MODEL_HELP = (
    f"A catalogue family ({', '.join(FAMILIES)}) or any importable scikit-learn estimator "
    "class as module.Class (e.g. lightgbm.LGBMClassifier), with the feature spec's transformer in front."
)
PIPELINE_HELP = (
    "module:function returning a whole unfitted scikit-learn Pipeline that takes the spec's "
    "feature columns as they are (instead of --model)."
)


def model_name(model: str | None, pipeline: str | None) -> str:
    """The one model a command names: --model or --pipeline."""
    if bool(model) == bool(pipeline):
        raise CockpitError("give either --model NAME or --pipeline module:function")
    if pipeline:
        if ":" not in pipeline:
            raise CockpitError(
                f"--pipeline {pipeline!r}: write module:function (e.g. mymodels:make_pipeline)"
            )
        return pipeline.strip()
    assert model is not None
    if ":" in model:
        raise CockpitError(f"--model {model!r}: a function that builds a Pipeline goes in --pipeline")
    return model.strip()


@click.command()
@click.option("--model", "family", metavar="NAME", help=MODEL_HELP)
@click.option("--pipeline", metavar="MODULE:FUNCTION", help=PIPELINE_HELP)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="An estimator parameter (repeatable); step__name for a step of a --pipeline.",
)
@click.option("--seed", default=42, show_default=True, type=SEED, help="Random seed (recorded).")
@click.option("--split", "split_id", type=ROW_ID, help="Split id (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the finished run as JSON.")
@pass_cli
def train(
    ctx: CliContext,
    family: str | None,
    pipeline: str | None,
    params: tuple[str, ...],
    seed: int,
    split_id: int | None,
    as_json: bool,
) -> None:
    """Train one run in a child process; prints the run id (Ctrl-C cancels it).

    Exits 2 when the request is unusable (unknown model or parameter, a value the
    estimator refuses): nothing is written. Exits 1 when the fit fails: a failed run.
    """
    from cockpit.training.runs import train as run_training

    name = model_name(family, pipeline)
    workspace, project = ctx.workspace(), ctx.project()
    shown = {"last": -1.0}

    def progress(fraction: float, message: str) -> None:
        if sys.stderr.isatty() and fraction - shown["last"] >= 0.1:
            click.echo(f"  {fraction:4.0%} {message}", err=True)
            shown["last"] = fraction

    run = run_training(workspace, project, name, list(params), seed, split_id, progress)
    if as_json:
        emit_json(run.as_dict())
    else:
        detail = f"{run.metric} {run.score:.4f}" if run.score is not None else run.error or ""
        click.echo(f"{run.label}: {run.status} · {detail}", err=True)
        click.echo(run.id)
    if run.status != "finished":
        raise SystemExit(1)


@click.command()
@click.option(
    "--sort",
    default="id",
    show_default=True,
    help="id (newest first), score, seed, duration or a metric, by the problem spec's "
    "name too (f1_macro): best first, lowest first for error metrics.",
)
@click.option("--asc", is_flag=True, help="Ascending order, whatever the metric.")
@click.option(
    "--filter",
    "filter_text",
    default="",
    metavar="QUERY",
    help="e.g. 'recall>0.8 family=random_forest status=finished sweep=2' "
    "(family=lightgbm.LGBMClassifier for a model outside the catalogue).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def runs(ctx: CliContext, sort: str, asc: bool, filter_text: str, limit: int, as_json: bool) -> None:
    """Training runs: sorted and filtered in SQL, newest first by default."""
    from cockpit.evaluation import metrics
    from cockpit.problem import current_spec
    from cockpit.training import query
    from cockpit.training.runs import EXTERNAL_SOURCES, mark_interrupted

    workspace, project = ctx.workspace(), ctx.project()
    mark_interrupted(workspace, project)
    metric = metrics.primary_metric(project.task, current_spec(workspace, project).metric)
    made = query.make_query(
        project.id, sort, filter_text, descending=False if asc else None, score_metric=metric
    )
    measured = query.task_metrics(project.task)
    if made.sort in query.METRIC_FIELDS and made.sort not in measured:
        raise CockpitError(
            f"--sort {sort}: runs of a {project.task} project have no {made.sort}; "
            f"sort by id, score, seed, duration or {', '.join(measured)}"
        )
    rows = query.page(workspace.store, made, 0, limit)
    if as_json:
        emit_json([row.as_dict() for row in rows])
        return
    total = query.count(workspace.store, made)
    shown = [
        {
            "id": r.id,
            "model": None if r.family in EXTERNAL_SOURCES and not r.model_class else r.model_name,
            "source": r.kind,
            "status": r.status,
            "metric": r.metric,
            "score": r.score,
            "seed": r.seed,
            "sweep": r.sweep_id,
            "seconds": r.duration_s,
            "split": None if r.split_id is None else f"{r.split_id} (data v{r.version_id})",
        }
        for r in rows
    ]
    sources = ["source"] if any(r.kind != "catalog" for r in rows) else []  # shown when it tells
    # validation scores of two splits are on different rows: the column says which is which
    splits = ["split"] if len({r.split_id for r in rows}) > 1 else []
    print_table(
        shown,
        ["id", "model", *sources, "status", "metric", "score", *splits, "seed", "sweep", "seconds"],
        empty="no runs match" if filter_text else "no runs yet: cockpit train --model dummy",
    )
    if total > len(rows):
        click.echo(f"({len(rows)} of {total:,} runs; --limit shows more)", err=True)


@click.command()
@click.option("--model", "family", metavar="NAME", help=MODEL_HELP)
@click.option("--pipeline", metavar="MODULE:FUNCTION", help=PIPELINE_HELP)
@click.option(
    "--grid",
    "grid_file",
    type=click.Path(path_type=Path),
    help="A TOML/JSON file: each parameter with the list of values to try.",
)
@click.option(
    "--random",
    "random_trials",
    type=click.IntRange(1, 100_000),
    help="Draw this many trials from the family's default search space, or with --grid from "
    "the grid's values (models outside the catalogue have no default space).",
)
@click.option(
    "--seed",
    default=42,
    show_default=True,
    type=SEED,
    help="Seed of the random draws and of every trial (recorded).",
)
@click.option(
    "--search",
    type=click.Choice(["optuna"]),
    help="optuna: Optuna's TPE chooses each of --trials N from the results so far, pruning "
    "staged fits (the cockpit[optuna] extra; the space: the family's default or --grid's values).",
)
@click.option("--trials", "n_trials", type=click.IntRange(1, 100_000), help="How many trials --search runs.")
@click.option(
    "--jobs",
    "n_jobs",
    type=JOBS,
    help="Trials run in parallel [default: 2; on a Dask cluster, every worker thread].",
)
@click.option(
    "--backend",
    help="joblib backend on this machine: loky (the default), threading, or one registered "
    "with joblib (ray). For Dask: --scheduler or --dask-local.",
)
@cluster_options("Run the trials", ", unless --backend is given")
@click.option(
    "--time-budget",
    "time_budget",
    type=POSITIVE,
    metavar="SECONDS",
    help="Start no new trial once this much time is spent.",
)
@click.option(
    "--target",
    "stop_on_target",
    is_flag=True,
    help="Stop starting trials once one meets the problem spec's target.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the sweep result as JSON.")
@pass_cli
def sweep(
    ctx: CliContext,
    family: str | None,
    pipeline: str | None,
    grid_file: Path | None,
    random_trials: int | None,
    seed: int,
    search: str | None,
    n_trials: int | None,
    n_jobs: int | None,
    backend: str | None,
    scheduler: str | None,
    dask_local: int | None,
    time_budget: float | None,
    stop_on_target: bool,
    as_json: bool,
) -> None:
    """Grid, random or Optuna search: every trial a run in one sweep; prints the sweep id.

    Trials run on this machine (joblib) or on a Dask cluster (--scheduler, --dask-local):
    see docs/cluster.md. Ctrl-C keeps the finished trials and records the running ones as
    cancelled.
    """
    from cockpit import cluster as clusters
    from cockpit.evaluation import metrics
    from cockpit.problem import current_spec
    from cockpit.training import models, spaces
    from cockpit.training.search import OptunaSearch
    from cockpit.training.sweeps import SweepInterrupted, run_sweep

    name = model_name(family, pipeline)
    if search:
        if random_trials or not n_trials:
            raise CockpitError("--search optuna takes --trials N (not --random); --grid FILE gives its space")
    elif n_trials:
        raise CockpitError("--trials goes with --search optuna; a random search takes --random N")
    elif not grid_file and not random_trials:
        raise CockpitError("give --grid FILE, --random N, or both (N drawn from the grid's values)")
    if backend == "dask":
        raise CockpitError("Dask is not a --backend here: give --scheduler ADDRESS or --dask-local N")
    if backend and (scheduler or dask_local):
        raise CockpitError("--backend runs on this machine: give it or --scheduler/--dask-local, not both")
    cluster = clusters.choose(scheduler, dask_local, {} if backend else None)
    if cluster:
        clusters.require_dask()
    workspace, project = ctx.workspace(), ctx.project()
    models.resolve(name, project.task)  # an unusable model is named before the grid is read
    trials: list[dict] | OptunaSearch
    if search:
        space = spaces.DEFAULT_SPACES.get(name)
        if grid_file:
            grid = spaces.load_grid(grid_file)
            spaces.check_grid(grid, name, project.task, str(grid_file))
            space = spaces.grid_space(grid)
        if not space:
            raise CockpitError(f"no default search space for {name}: give --grid FILE for its values")
        metric = metrics.primary_metric(project.task, current_spec(workspace, project).metric)
        assert n_trials is not None  # checked above
        trials, kind = OptunaSearch(space, n_trials, seed, metric), "optuna"
    elif grid_file:
        grid = spaces.load_grid(grid_file)
        spaces.check_grid(grid, name, project.task, str(grid_file))
        if random_trials:
            trials, kind = spaces.random_trials(name, random_trials, seed, spaces.grid_space(grid)), "random"
        else:
            trials, kind = spaces.grid_trials(grid), "grid"
    else:
        assert random_trials is not None  # one of --grid and --random at least (checked above)
        trials, kind = spaces.random_trials(name, random_trials, seed), "random"

    def progress(done: int, total: int, message: str) -> None:
        click.echo(f"  {done}/{total} {message}", err=True)

    try:
        result = run_sweep(
            workspace,
            project,
            name,
            trials,
            kind,
            seed,
            n_jobs,
            backend or "loky",
            time_budget,
            stop_on_target,
            progress,
            cluster,
        )
    except SweepInterrupted as stopped:
        result = stopped.result
        click.echo(f"sweep {result.sweep_id} cancelled: {len(result.run_ids)} trials recorded", err=True)
        raise SystemExit(130) from None
    if as_json:
        emit_json(
            {
                "id": result.sweep_id,
                "runs": result.run_ids,
                "status": result.status,
                "reason": result.reason,
                "best_run": result.best_run_id,
            }
        )
        return
    note = f" ({result.reason})" if result.reason else ""
    click.echo(
        f"sweep {result.sweep_id} {result.status}{note}: {len(result.run_ids)} runs, "
        f"best run {result.best_run_id}",
        err=True,
    )
    click.echo(result.sweep_id)


@click.command()
@click.argument("run_ids", nargs=-1, type=ROW_ID, required=True)
@click.option("--all", "show_all", is_flag=True, help="Show equal fields too.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@pass_cli
def compare(ctx: CliContext, run_ids: tuple[int, ...], show_all: bool, as_json: bool) -> None:
    """Runs side by side: params, data, feature spec, code, metrics (differences only)."""
    from cockpit.training.compare import compare as compare_runs

    result = compare_runs(ctx.workspace(), ctx.project(), list(run_ids), not show_all)
    if as_json:
        emit_json(result.as_dict())
        return
    rows = [
        {"field": row.field, **{f"run {i}": v for i, v in zip(run_ids, row.values, strict=True)}}
        for row in result.rows
    ]
    print_table(rows, ["field", *[f"run {i}" for i in run_ids]], empty="no differences")


@click.command()
@click.argument("run_id", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@pass_cli
def reproduce(ctx: CliContext, run_id: int, as_json: bool) -> None:
    """Refit a run from its pinned inputs in a fresh process; exit 1 unless identical. A script
    run (cockpit.start_run) is re-run at its commit in a temporary git worktree; a model from a
    file or a notebook has nothing to re-run (exit 2)."""
    from cockpit.training.reproduce import reproduce as refit

    result = refit(ctx.workspace(), ctx.project(), run_id)
    if as_json:
        emit_json(result.as_dict())
    else:
        verdict = "identical" if result.identical else "DIFFERS"
        click.echo(
            f"run {run_id}: {verdict} · artifact sha256 "
            f"{'matches' if result.artifact_match else 'differs'} · {result.detail}"
        )
        if result.code_differs:
            click.echo("  the code commit differs from the run's (or the tree is dirty)")
        for name, (old, new) in result.libraries_differ.items():
            click.echo(f"  {name}: {old} at training, {new} now")
    if not result.identical:
        raise SystemExit(1)


COMMANDS = [features, train, runs, sweep, compare, reproduce]


@click.command()
@click.argument("run_id", type=ROW_ID, required=False)
@click.option("--sweep", "sweep_id", type=ROW_ID, help="Stop a running sweep instead (like Ctrl-C).")
@click.option("--reason", default="", help="Why: recorded with the cancelled run.")
@pass_cli
def cancel(ctx: CliContext, run_id: int | None, sweep_id: int | None, reason: str) -> None:
    """Stop a running run at once (its child process is killed), or a sweep (--sweep ID)."""
    from cockpit.training.runs import cancel_run
    from cockpit.training.sweeps import stop_sweep

    if sweep_id is not None and run_id is None:
        stop_sweep(ctx.workspace(), ctx.project(), sweep_id)
        click.echo(f"sweep {sweep_id}: stopping (finished trials stay recorded)")
        return
    if run_id is None or sweep_id is not None:
        raise CockpitError("give a RUN id or --sweep ID")
    run = cancel_run(ctx.workspace(), ctx.project(), run_id, reason)
    click.echo(f"{run.label}: {run.status}")


COMMANDS.append(cancel)
