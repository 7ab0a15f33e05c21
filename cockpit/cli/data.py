"""`cockpit data import|list|profile|validate|recipe|clean|split|splits|leakage`: twins of
the data screen."""

from __future__ import annotations

import math
from pathlib import Path

import click

from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.cli.options import FRACTION, ROW_ID, SEED
from cockpit.errors import CockpitError
from cockpit.text import counted

pass_cli = click.make_pass_decorator(CliContext)
version_option = click.option(
    "--version", "version_id", type=ROW_ID, help="A dataset version id (default: the newest)."
)


@click.group()
def data() -> None:
    """Datasets: import, profile, validate and clean immutable versions."""


@data.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", help="A name for the version (default: the file name).")
@click.option("--delimiter", default=",", show_default=True, help="CSV field separator.")
@click.option("--encoding", default="utf-8", show_default=True, help="CSV text encoding.")
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
@pass_cli
def import_(
    ctx: CliContext, file: Path, name: str | None, delimiter: str, encoding: str, as_json: bool
) -> None:
    """Import a CSV or Parquet FILE as a dataset version; prints its id."""
    from cockpit.data.datasets import import_dataset

    delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
    version, created = import_dataset(ctx.workspace(), ctx.project(), file, name, delimiter, encoding)
    if not created:
        click.echo(f"already imported: identical content is version {version.id}", err=True)
    if as_json:
        emit_json({**version.as_dict(), "created": created})
    else:
        click.echo(version.id)


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def list_(ctx: CliContext, as_json: bool) -> None:
    """Every dataset version of the project, with its lineage."""
    from cockpit.data.datasets import list_versions

    versions = list_versions(ctx.workspace(), ctx.project())
    if as_json:
        emit_json([v.as_dict() for v in versions])
        return
    rows = [
        {
            **v.as_dict(),
            "parent": f"v{v.parent_id}" if v.parent_id else "-",
            "sha256": v.content_sha256[:12],
            "recipe": f"{len(v.recipe)} steps" if v.recipe else "-",
        }
        for v in versions
    ]
    print_table(
        rows,
        ["id", "name", "rows", "n_columns", "parent", "recipe", "sha256", "created_at"],
        empty="no data yet: cockpit data import FILE",
    )


@data.command("profile")
@version_option
@click.option("--column", help="Only this column.")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@pass_cli
def profile(ctx: CliContext, version_id: int | None, column: str | None, as_json: bool) -> None:
    """Each column's type, nulls, distinct values, range and top values."""
    from cockpit.data.datasets import get_version, load_profile

    workspace, project = ctx.workspace(), ctx.project()
    version = get_version(workspace, project, version_id)
    columns = load_profile(workspace, version)
    if column:
        columns = [c for c in columns if c["name"] == column]
        if not columns:
            raise CockpitError(f"{version.label} has no column {column!r}")
    if as_json:
        emit_json({"version": version.id, "columns": columns})
        return
    click.echo(f"{version.label}: {version.rows} rows x {version.n_columns} columns")
    rows = [
        {
            **c,
            "null_pct": f"{c['null_pct']:.1f}%",
            "range": _range(c),
            "top": ", ".join(f"{v} ({n})" for v, n in c["top"][:3]),
        }
        for c in columns
    ]
    print_table(rows, ["name", "type", "null_pct", "distinct", "range", "top"])


def _range(column: dict) -> str:
    if column.get("min") is None:
        return "-"
    return f"{column['min']:.4g} .. {column['max']:.4g} (mean {column['mean']:.4g})"


@data.command("validate")
@version_option
@click.option(
    "--range",
    "ranges",
    multiple=True,
    metavar="COLUMN=MIN:MAX",
    help="Set an allowed range (kept for the project; either end may be empty).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_cli
def validate(ctx: CliContext, version_id: int | None, ranges: tuple[str, ...], as_json: bool) -> None:
    """Run every check; exit 1 when an error-level check fails."""
    from cockpit.data import checks
    from cockpit.data.datasets import get_version

    workspace, project = ctx.workspace(), ctx.project()
    version = get_version(workspace, project, version_id)
    parsed = [_parse_range(item) for item in ranges]  # every range checked before any is kept
    for column, _, _ in parsed:
        if column not in version.schema:
            raise CockpitError(f"--range: {version.label} has no column {column!r}")
    with workspace.store.transaction():  # the ranges of one command: all kept or none
        for column, low, high in parsed:
            checks.set_column_range(workspace, project, column, low, high)
    report = checks.validate(workspace, project, version)
    if as_json:
        emit_json(report.as_dict())
    else:
        verdict = "passed" if report.passed else "FAILED"
        named = (("error", "error"), ("warning", "warning"), ("info", "note"))
        counts = [counted(report.count(severity), noun) for severity, noun in named]
        click.echo(f"{version.label}: {verdict} · {', '.join(counts)}")
        print_table(
            [f.as_dict() for f in report.findings],
            ["severity", "check", "column", "rows", "message"],
            empty="no findings",
        )
    if not report.passed:
        raise SystemExit(1)


def _parse_range(item: str) -> tuple[str, float | None, float | None]:
    """COLUMN=MIN:MAX with finite numbers, MIN <= MAX; the column name may hold '=' or ':'
    (the bounds are what follows the last '=')."""
    column, sep, bounds = item.rpartition("=")
    low, colon, high = bounds.partition(":")
    if not sep or not colon or not column:
        raise CockpitError(f"--range {item!r}: write COLUMN=MIN:MAX (either end may be empty)")
    try:
        low_value = float(low) if low.strip() else None
        high_value = float(high) if high.strip() else None
    except ValueError:
        raise CockpitError(f"--range {item!r}: MIN and MAX must be numbers") from None
    if any(v is not None and not math.isfinite(v) for v in (low_value, high_value)):
        raise CockpitError(
            f"--range {item!r}: MIN and MAX must be finite numbers (leave an end empty for no bound)"
        )
    if low_value is None and high_value is None:
        raise CockpitError(f"--range {item!r}: give MIN, MAX or both")
    if low_value is not None and high_value is not None and low_value > high_value:
        raise CockpitError(f"--range {item!r}: MIN {low_value:g} is above MAX {high_value:g}")
    return column, low_value, high_value


@data.command("recipe")
@version_option
@pass_cli
def recipe(ctx: CliContext, version_id: int | None) -> None:
    """Print the cleaning recipe validation suggests, as TOML to edit and pass to `clean`."""
    from cockpit.data import checks
    from cockpit.data.datasets import get_version
    from cockpit.data.recipes import recipe_to_toml, suggest_recipe

    workspace, project = ctx.workspace(), ctx.project()
    version = get_version(workspace, project, version_id)
    report = checks.latest_report(workspace, version) or checks.validate(workspace, project, version)
    steps = suggest_recipe(report.findings)
    if not steps:
        click.echo(f"# {version.label}: validation suggests no cleaning", err=True)
        return
    click.echo(recipe_to_toml(steps), nl=False)


@data.command("clean")
@version_option
@click.option(
    "--recipe",
    "recipe_file",
    type=click.Path(path_type=Path),
    help="A recipe in TOML or JSON (see `cockpit data recipe`).",
)
@click.option("--suggested", is_flag=True, help="Apply the recipe validation suggests.")
@click.option("--name", help="A name for the new version.")
@click.option("--json", "as_json", is_flag=True, help="Print the new version and step effects.")
@pass_cli
def clean(
    ctx: CliContext,
    version_id: int | None,
    recipe_file: Path | None,
    suggested: bool,
    name: str | None,
    as_json: bool,
) -> None:
    """Apply a cleaning recipe: a new child version; prints its id (with --suggested and
    nothing to clean, the version's own id: no new version)."""
    from cockpit.data import checks
    from cockpit.data.datasets import get_version
    from cockpit.data.recipes import clean_version, load_recipe, suggest_recipe

    if bool(recipe_file) == suggested:
        raise CockpitError("give either --recipe FILE or --suggested")
    workspace, project = ctx.workspace(), ctx.project()
    version = get_version(workspace, project, version_id)
    if recipe_file:
        steps = load_recipe(recipe_file)
    else:
        report = checks.latest_report(workspace, version) or checks.validate(workspace, project, version)
        steps = suggest_recipe(report.findings)
        if not steps and report.count("error"):
            raise CockpitError(
                f"validation suggests no cleaning for the errors of {version.label}: "
                "write a recipe (cockpit data recipe) and clean with --recipe FILE"
            )
        if not steps:  # clean data is no error: a script's `&& cockpit data split` goes on
            click.echo(f"nothing to clean in {version.label}: it stays the version to use", err=True)
            if as_json:
                emit_json({**version.as_dict(), "steps": []})
            else:
                click.echo(version.id)
            return
    child, results = clean_version(workspace, project, steps, version, name)
    if as_json:
        emit_json({**child.as_dict(), "steps": [r.as_dict() for r in results]})
        return
    for result in results:
        click.echo(f"  {result.summary()}", err=True)
    click.echo(child.id)


COMMANDS = [data]


@data.command("split")
@version_option
@click.option(
    "--strategy",
    type=click.Choice(["random", "stratified", "group", "time"]),
    default="stratified",
    show_default=True,
    help="How rows are assigned.",
)
@click.option("--seed", default=42, show_default=True, type=SEED, help="Random seed (recorded).")
@click.option("--val", default=0.15, show_default=True, type=FRACTION, help="Validation fraction (0 to 1).")
@click.option(
    "--test",
    default=0.15,
    show_default=True,
    type=FRACTION,
    help="Test fraction (0 to 1; with --val, leave at least 10% for training).",
)
@click.option("--group", metavar="COLUMN", help="Entity column kept within one part (group).")
@click.option("--time", "time_column", metavar="COLUMN", help="Date column to split on (time).")
@click.option("--json", "as_json", is_flag=True, help="Print the split and its checks as JSON.")
@pass_cli
def split(
    ctx: CliContext,
    version_id: int | None,
    strategy: str,
    seed: int,
    val: float,
    test: float,
    group: str | None,
    time_column: str | None,
    as_json: bool,
) -> None:
    """Split into train/validation/test and check for leaks; prints the split id.

    The split is recorded either way. Exit 0 when no leak finding stands, 1 while one
    does: a column that alone predicts the target with evidence of a leak (no-error
    separation, a name like the target's, a date, far stronger than every other column
    together), rows copied across parts, entities or times crossing parts. A strong but
    plausible column is a note, not a leak. When a finding is not a leak (a real
    measurement known before the outcome), accept it with `cockpit data leakage accept
    FINDING --reason TEXT`: it stops counting, here and in `review`, for every split of
    the project. Rows without a label are left out of every part. Exit 2: bad options,
    or too few rows to split.
    """
    from cockpit.data.datasets import get_version
    from cockpit.data.splits import make_split

    if val + test >= 0.9:
        raise CockpitError(
            f"--val {val:g} and --test {test:g} leave {1 - val - test:.0%} for "
            "training; their sum must stay below 0.9"
        )
    workspace, project = ctx.workspace(), ctx.project()
    version = get_version(workspace, project, version_id)
    made = make_split(workspace, project, strategy, seed, val, test, group, time_column, version)
    if as_json:
        emit_json(made.as_dict())
    else:
        click.echo(f"{made.label} of v{version.id}: {_sizes(made.sizes)}", err=True)
        for finding in made.leakage:
            click.echo(f"  {_mark(finding)} {finding['message']}", err=True)
        click.echo(made.id)
    if made.leaks:
        raise SystemExit(1)


MARKS = {"ok": "ok   ", "info": "note ", "warning": "WARN ", "error": "LEAK "}


def _mark(finding: dict) -> str:
    return "ACCEPTED" if finding.get("accepted") else MARKS[finding["severity"]]


def _sizes(sizes: dict[str, int]) -> str:
    from cockpit.data.splits import PARTS

    shown = ", ".join(f"{part} {sizes[part]:,}" for part in PARTS)
    return shown + (
        f" ({sizes['unlabelled']:,} rows without a label left out)" if sizes.get("unlabelled") else ""
    )


@data.group("leakage", invoke_without_command=True)
@click.option("--split", "split_id", type=ROW_ID, help="A split id (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_cli
@click.pass_context
def leakage(click_ctx: click.Context, ctx: CliContext, split_id: int | None, as_json: bool) -> None:
    """The leakage findings of a split (default: the newest), each with its id and, once
    accepted, who accepted it and why. Accept one with `leakage accept`."""
    if click_ctx.invoked_subcommand:
        return
    from cockpit.data.splits import get_split

    found = get_split(ctx.workspace(), ctx.project(), split_id)
    if as_json:
        emit_json({"split": found.id, "leaks": found.leaks, "findings": found.leakage})
        return
    click.echo(f"{found.label}: {found.leaks} leak finding(s) standing", err=True)
    rows = [{**f, "verdict": _mark(f).strip(), "accepted": _accepted(f)} for f in found.leakage]
    print_table(rows, ["id", "verdict", "message", "accepted"], empty="no findings")


def _accepted(finding: dict) -> str | None:
    accepted = finding.get("accepted")
    if not accepted:
        return None
    return f"by {accepted['accepted_by']} {accepted['at'][:10]}: {accepted['reason']}"


@leakage.command("accept", short_help="Accept a finding as not a leak, with a reason.")
@click.argument("finding")
@click.option("--reason", required=True, help="Why it is not a leak (recorded and audited).")
@click.option("--split", "split_id", type=ROW_ID, help="A split id (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print the acceptance as JSON.")
@pass_cli
@click.pass_context
def leakage_accept(
    click_ctx: click.Context, ctx: CliContext, finding: str, reason: str, split_id: int | None, as_json: bool
) -> None:
    """Accept FINDING (its id, e.g. 'target_predictor:worst perimeter', or its column) as
    not a leak, with a reason: it no longer makes `split` exit 1 or counts in `review`
    (which shows it as accepted), for every split of the project. Prints the acceptance id."""
    from cockpit.data.leakage import accept_finding
    from cockpit.data.splits import get_split

    given = click_ctx.parent.params.get("split_id") if click_ctx.parent else None
    if given is not None and split_id is not None and given != split_id:
        raise CockpitError(f"--split {given} and --split {split_id} name different splits")
    workspace, project = ctx.workspace(), ctx.project()
    found = get_split(workspace, project, split_id if split_id is not None else given)
    record = accept_finding(workspace, project, found.id, found.leakage, finding, reason)
    if as_json:
        emit_json(record)
        return
    standing = get_split(workspace, project, found.id).leaks
    click.echo(
        f"accepted {record['finding']} on split {found.id}; {standing} leak finding(s) still standing there",
        err=True,
    )
    click.echo(record["id"])


@data.command("splits")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_cli
def splits(ctx: CliContext, as_json: bool) -> None:
    """Every split of the project: strategy, seed, sizes and leaks."""
    from cockpit.data.splits import PARTS, list_splits

    found = list_splits(ctx.workspace(), ctx.project())
    if as_json:
        emit_json([s.as_dict() for s in found])
        return
    rows = [
        {**s.as_dict(), "version": f"v{s.version_id}", "sizes": " / ".join(f"{s.sizes[p]:,}" for p in PARTS)}
        for s in found
    ]
    print_table(
        rows,
        ["id", "version", "strategy", "seed", "sizes", "leaks", "created_at"],
        empty="no splits yet: cockpit data split",
    )
