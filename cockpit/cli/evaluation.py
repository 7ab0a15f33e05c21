"""`cockpit evaluate RUN` and `cockpit gate RUN`: twins of the evaluation screen."""

from __future__ import annotations

from typing import Any

import click

from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.cli.options import NON_NEGATIVE, ROW_ID
from cockpit.errors import CockpitError
from cockpit.evaluation.intervals import RESAMPLES_MAX, RESAMPLES_MIN

pass_cli = click.make_pass_decorator(CliContext)

BOOTSTRAP_OPTION = click.option(
    "--bootstrap",
    type=click.IntRange(RESAMPLES_MIN, RESAMPLES_MAX),
    metavar="N",
    help="Segment intervals from N bootstrap resamples (default: analytic where standard: Wilson "
    "for accuracy, precision and recall, DeLong for ROC AUC, Student's t for MAE and RMSE; the "
    "bootstrap for the other metrics). A group with no errors gets no zero-width interval: "
    "'none: no errors'.",
)


def _segments_option(text: str):
    """--segments COL,COL of evaluate and gate (read by _columns)."""
    return click.option("--segments", "segment_text", default="", metavar="COL,COL", help=text)


class PartOrSplit(click.ParamType):
    """--split of evaluate: the part (test or validation), or a split id for a run logged on
    data cockpit did not hold."""

    name = "test|validation|SPLIT"

    def convert(self, value, param, ctx) -> str | int:
        if isinstance(value, int) or str(value).strip().isdigit():
            return ROW_ID.convert(value, param, ctx)
        if value in ("test", "validation"):
            return value
        self.fail(f"{value!r}: test, validation, or a split id (for a run logged without data)", param, ctx)


def _reference(ctx: CliContext, workspace, project, against: str | None):
    from cockpit.training.runs import get_run

    if against is None:
        return None
    if against == "production":
        from cockpit.evaluation.references import production_run

        found = production_run(workspace, project)
        if found is None:
            raise CockpitError("no production model yet: --against takes a run id until one is deployed")
        return found
    try:
        run_id = ROW_ID.convert(against, None, None)
    except click.BadParameter:
        raise CockpitError(f"--against {against!r}: a run id or 'production'") from None
    return get_run(workspace, project, run_id)


@click.command()
@click.argument("run_id", type=ROW_ID)
@click.option(
    "--split",
    "part",
    type=PartOrSplit(),
    default="test",
    show_default=True,
    help="The held-out part to evaluate on; or, for a run logged on data cockpit did not hold "
    "(input_example), the split (an id) to score it on, then evaluate on its test part.",
)
@click.option(
    "--data",
    "version_id",
    type=ROW_ID,
    metavar="VERSION",
    help="For a run logged on data cockpit did not hold (input_example): the data version to score "
    "it on (its newest split, unless --split names one).",
)
@click.option("--against", metavar="RUN|production", help="A reference model to compare with.")
@_segments_option("Segment columns to break down, besides the problem spec's.")
@click.option(
    "--seeds",
    default=3,
    show_default=True,
    type=click.IntRange(0, 20),
    help="Refits with other seeds for the stability check (0 skips it).",
)
@BOOTSTRAP_OPTION
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the report as Markdown.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_cli
def evaluate(
    ctx: CliContext,
    run_id: int,
    part: str | int,
    version_id: int | None,
    against: str | None,
    segment_text: str,
    seeds: int,
    bootstrap: int | None,
    as_markdown: bool,
    as_json: bool,
) -> None:
    """Evaluate a run on its held-out split (every look at the test split is recorded).

    A run whose model was logged on data cockpit did not hold is first scored on the data
    named with --data VERSION [--split SPLIT], then evaluated on that split's test part."""
    from cockpit.evaluation.markdown import to_markdown
    from cockpit.evaluation.report import evaluate as run_evaluation
    from cockpit.evaluation.view import reference_note, threshold_note, threshold_of
    from cockpit.training.runs import get_run

    workspace, project = ctx.workspace(), ctx.project()
    run, part = _with_data(workspace, project, get_run(workspace, project, run_id), version_id, part)
    result = run_evaluation(
        workspace,
        project,
        run,
        part,
        _reference(ctx, workspace, project, against),
        _columns(segment_text),
        seeds,
        bootstrap,
    )
    if as_json:
        emit_json(result.as_dict())
        return
    if as_markdown:
        click.echo(to_markdown(result, run.label), nl=False)
        return
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{run.label} · {threshold_note(result, project.task)}")
    if result.reference:
        click.echo(reference_note(result, project.task))
    base = result.baseline.get("metrics", {})
    ref = (result.reference or {}).get("metrics", {})
    rows = [
        {
            "metric": name,
            "model": value,
            "baseline": base.get(name),
            "reference": ref.get(name) if result.reference else None,
            "threshold": threshold_of(result, project.task, name),
        }
        for name, value in result.metrics.items()
    ]
    columns = ["metric", "model", "baseline"] + (["reference"] if result.reference else [])
    print_table(rows, columns + (["threshold"] if project.task == "binary" else []))
    if result.segments:
        click.echo(f"\nsegments by {result.details['segment_metric']} (worst first):")
        print_table(
            [
                {
                    "column": s.column,
                    "group": s.group,
                    "rows": s.rows,
                    "value": s.value,
                    "ci": s.interval,
                    "flag": s.flag,
                }
                for s in result.segments
            ],
            ["column", "group", "rows", "value", "ci", "flag"],
        )
    if result.notes:
        click.echo("\nnotes:")
        for note in result.notes:
            click.echo(f"  - {note}")


def _with_data(workspace, project, run, version_id: int | None, split: str | int) -> tuple[Any, str]:
    """(the run, the part to evaluate): a run logged without data is scored on the version and
    split named first; naming data for a run that has its own is refused."""
    from cockpit.data.datasets import get_version
    from cockpit.data.splits import get_split, list_splits
    from cockpit.training.external import attach_data

    split_id = split if isinstance(split, int) else None
    part = split if isinstance(split, str) else "test"
    if run.status == "finished" and not run.artifact_sha256:
        raise CockpitError(
            f"{run.label} logged no model (its code ended without log_model): nothing to evaluate"
        )
    if version_id is None and split_id is None:
        if run.split_id is None and run.external and run.status == "finished":
            raise CockpitError(
                f"{run.label} was logged on data cockpit does not hold; name the data to score it on: "
                f"`cockpit evaluate {run.id} --data VERSION --split SPLIT`"
            )
        return run, part
    if run.split_id is not None:
        raise CockpitError(
            f"{run.label} is scored on data version {run.version_id}, split {run.split_id} already: "
            "--data and a split id name the data of a run logged without it; use --split test|validation"
        )
    if split_id is not None:
        found = get_split(workspace, project, split_id)
        if version_id is not None and found.version_id != version_id:
            raise CockpitError(f"split {split_id} is of data version {found.version_id}, not {version_id}")
    else:
        assert version_id is not None
        get_version(workspace, project, version_id)
        mine = [s for s in list_splits(workspace, project) if s.version_id == version_id]
        if not mine:
            raise CockpitError(
                f"data version {version_id} has no split yet; make one with "
                f"`cockpit data split --version {version_id}`"
            )
        found = max(mine, key=lambda s: s.id)
    return attach_data(workspace, project, run.id, found.id), part


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


@click.command()
@click.argument("run_id", type=ROW_ID)
@click.option("--against", metavar="RUN|production", help="The reference model (default: none).")
@click.option(
    "--tolerance", type=NON_NEGATIVE, help="How much worse than the reference is allowed (0 or more)."
)
@_segments_option("Segment columns to check, besides the problem spec's.")
@BOOTSTRAP_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@pass_cli
def gate(
    ctx: CliContext,
    run_id: int,
    against: str | None,
    tolerance: float | None,
    segment_text: str,
    bootstrap: int | None,
    as_json: bool,
) -> None:
    """The evaluation gate for CI: exit 0 pass, 1 fail, 2 error; prints each rule."""
    from cockpit.evaluation.gate import gate as judge
    from cockpit.training.runs import get_run

    workspace, project = ctx.workspace(), ctx.project()
    run = get_run(workspace, project, run_id)
    result = judge(
        workspace,
        project,
        run,
        _reference(ctx, workspace, project, against),
        tolerance,
        segments=_columns(segment_text),
        bootstrap=bootstrap,
    )
    if as_json:
        emit_json(result.as_dict())
    else:
        click.echo(f"{run.label}: gate {'PASS' if result.passed else 'FAIL'}")
        print_table(
            [{"rule": r.name, "verdict": r.verdict, "detail": r.detail} for r in result.rules],
            ["rule", "verdict", "detail"],
        )
    if not result.passed:
        raise SystemExit(1)


COMMANDS = [evaluate, gate]
