"""`cockpit register|models|deploy|promote|rollback|override|fallback|predict|package`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cockpit.cli.cluster_options import cluster_options
from cockpit.cli.context import CliContext, emit_json, print_table
from cockpit.cli.options import CANARY_PERCENT, MOMENT, ROW_ID

if TYPE_CHECKING:
    from cockpit.deployment.registry import Plan

pass_cli = click.make_pass_decorator(CliContext)

ALLOW_FALLBACK = (
    "When a routed model cannot answer (its file changed, truncated or missing), answer its "
    "rows with the fallback rule instead of refusing; each such row is stored with route "
    "'fallback' and the model's error, and stderr says so."
)


@click.command()
@click.argument("run_id", type=ROW_ID, required=False)
@click.option(
    "--file",
    "model_file",
    type=click.Path(path_type=Path),
    help="A model trained elsewhere (.joblib, .pkl or .skops) to record as a run and register.",
)
@click.option(
    "--data", "data_version", type=ROW_ID, metavar="VERSION", help="The data version to score --file on."
)
@click.option(
    "--split",
    "split_id",
    type=ROW_ID,
    metavar="SPLIT",
    help="The split of --data to score on (default: its newest).",
)
@click.option(
    "--trust",
    multiple=True,
    metavar="TYPE",
    help="A type of a .skops file to trust (repeat it; the refusal lists the types the file needs).",
)
@click.option(
    "--override",
    "override_reason",
    metavar="REASON",
    help="Register even though the gate failed (or never ran), saying why.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
@pass_cli
def register(
    ctx: CliContext,
    run_id: int | None,
    model_file: Path | None,
    data_version: int | None,
    split_id: int | None,
    trust: tuple[str, ...],
    override_reason: str | None,
    as_json: bool,
) -> None:
    """Register a run as a model version (alias candidate); prints the version number.

    With --file and --data instead of RUN: a model trained elsewhere is checked, recorded as
    a run scored on the data version's split, gated on its test part, then registered. Exit 2:
    refused before anything is written; exit 1: recorded and gated, but it failed the gate
    (register the run with --override to ship it anyway).
    """
    from cockpit.deployment.registry import register as register_run

    if (run_id is None) == (model_file is None):
        raise click.UsageError("name a RUN, or a model --file with --data VERSION (not both)")
    if model_file is None and (data_version or split_id or trust):
        raise click.UsageError("--data, --split and --trust go with --file")
    workspace, project = ctx.workspace(), ctx.project()
    if model_file is not None:
        version = _register_file(ctx, model_file, data_version, split_id, trust, override_reason)
    else:
        assert run_id is not None
        version = register_run(workspace, project, run_id, override_reason)
    if as_json:
        emit_json({**version.as_dict(), "id": version.version})
    else:
        click.echo(version.version)


def _register_file(
    ctx: CliContext,
    path: Path,
    data_version: int | None,
    split_id: int | None,
    trust: tuple[str, ...],
    override_reason: str | None,
):
    from cockpit.deployment.model_file import register_file

    if data_version is None:
        raise click.UsageError("--file needs --data VERSION: the data version to score the model on")
    done = register_file(ctx.workspace(), ctx.project(), path, data_version, split_id, trust, override_reason)
    for note in done.notes:
        click.echo(f"note: {note}", err=True)
    metric = done.run.metric or ""
    score = "-" if done.run.score is None else f"{done.run.score:.4f}"
    click.echo(
        f"{done.run.label} recorded from {path.name}: validation {metric} {score}; "
        f"gate {'PASS' if done.gate.passed else 'FAIL'}",
        err=True,
    )
    if done.refused:  # the run and its gate are recorded: not a usage error, a verdict (exit 1)
        click.echo(f"cockpit: {done.refused}", err=True)
        raise SystemExit(1)
    assert done.version is not None
    return done.version


@click.command()
@click.option("--ledger", "show_ledger", is_flag=True, help="Show the promotion ledger instead.")
@click.option("--at", "when", type=MOMENT, metavar="ISO-TIME", help="Which version was production at a time.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def models(ctx: CliContext, show_ledger: bool, when: str | None, as_json: bool) -> None:
    """Model versions with their aliases, gate verdicts and override reasons."""
    from cockpit.deployment import registry

    workspace, project = ctx.workspace(), ctx.project()
    if when:
        found = registry.production_at(workspace, project, when)
        emit_json({"at": when, "production": found}) if as_json else click.echo(
            f"production at {when}: {'v' + str(found) if found else 'none'}"
        )
        return
    if show_ledger:
        rows = registry.ledger(workspace, project)
        if as_json:
            emit_json([r.as_dict() for r in rows])
            return
        print_table(
            [
                {
                    **r.as_dict(),
                    "version": f"v{r.version}" if r.version else "-",
                    "from": f"v{r.previous_version}" if r.previous_version else "-",
                }
                for r in rows
            ],
            ["at", "alias", "action", "version", "from", "percent", "user", "reason"],
            empty="no alias changes yet",
        )
        return
    versions = registry.list_versions(workspace, project)
    by_version = registry.alias_labels(workspace, project)
    if as_json:
        emit_json([{**v.as_dict(), "aliases": by_version.get(v.id, [])} for v in versions])
        return
    print_table(
        [
            {
                "version": f"v{v.version}",
                "run": v.run_id,
                "gate": v.gate_label,
                "aliases": ", ".join(by_version.get(v.id, [])) or "-",
                "status": v.status,
                "created_at": v.created_at,
            }
            for v in versions
        ],
        ["version", "run", "gate", "aliases", "status", "created_at"],
        empty="no model versions yet: cockpit register RUN",
    )


@click.command()
@click.argument("version")
@click.option("--strategy", type=click.Choice(["shadow", "canary", "blue-green"]), required=True)
@click.option(
    "--percent", type=CANARY_PERCENT, help="The canary's share of entities (more than 0, less than 100)."
)
@click.option("--reason", default="", help="Why (kept in the ledger).")
@click.option(
    "--override",
    metavar="REASON",
    help="Make production a version whose gate failed (or never ran), saying why (kept in the ledger).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@pass_cli
def deploy(
    ctx: CliContext,
    version: str,
    strategy: str,
    percent: float | None,
    reason: str,
    override: str | None,
    as_json: bool,
) -> None:
    """Deploy VERSION as shadow, canary (--percent, sticky by entity) or blue-green; prints
    what changed, from → to. A blue-green of a version whose gate did not pass is refused
    (exit 2) without --override."""
    from cockpit.deployment import registry

    if percent is not None and strategy != "canary":
        raise click.UsageError(f"--percent is the canary's share; {strategy} takes none")
    workspace, project = ctx.workspace(), ctx.project()
    plan = registry.deploy(workspace, project, version, strategy, percent, reason, override=override)
    share = f" at {percent:g}%" if percent is not None else ""
    _done(
        plan,
        f"deployed v{plan.target.version} as {strategy}{share}",
        as_json,
        strategy=strategy,
        percent=percent,
    )


@click.command()
@click.argument("version", required=False)
@click.option(
    "--percent", type=CANARY_PERCENT, help="Only change the canary's percent (more than 0, less than 100)."
)
@click.option("--reason", default="", help="Why (kept in the ledger).")
@click.option(
    "--override",
    metavar="REASON",
    help="Make production a version whose gate failed (or never ran), saying why (kept in the ledger).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@pass_cli
def promote(
    ctx: CliContext,
    version: str | None,
    percent: float | None,
    reason: str,
    override: str | None,
    as_json: bool,
) -> None:
    """Make the canary (or VERSION) production; --percent changes the canary share instead.
    A version whose gate did not pass is refused (exit 2) without --override."""
    from cockpit.deployment import registry

    workspace, project = ctx.workspace(), ctx.project()
    if percent is not None:
        if version is not None:
            raise click.UsageError("--percent changes the running canary's share; name no VERSION with it")
        if override is not None:
            raise click.UsageError("--override goes with a promotion, not with --percent")
        plan = registry.set_canary_percent(workspace, project, percent, reason)
        _done(plan, f"canary v{plan.target.version} at {percent:g}%", as_json, percent=percent)
        return
    plan = registry.promote(workspace, project, version, reason, override=override)
    _done(plan, f"promoted v{plan.target.version} to production", as_json)


@click.command()
@click.option("--reason", required=True, help="Why (kept in the ledger).")
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@pass_cli
def rollback(ctx: CliContext, reason: str, as_json: bool) -> None:
    """Production back to the version before it, in one step; any canary stops."""
    from cockpit.deployment import registry

    workspace, project = ctx.workspace(), ctx.project()
    plan = registry.rollback(workspace, project, reason)
    _done(plan, f"rolled production back to v{plan.target.version}", as_json)


def _done(plan: Plan, did: str, as_json: bool, **extra: object) -> None:
    """One line: what was done and what changed, from → to (`--json`: the same as an object)."""
    from cockpit.deployment.moves import summary

    if as_json:
        emit_json(
            {
                "version": plan.target.version,
                "run": plan.target.run_id,
                **extra,
                "changes": [m.as_dict() for m in plan.moves],
            }
        )
    else:
        click.echo(f"{did} ({summary(plan.moves)})")


@click.group()
def override() -> None:
    """Per-entity human overrides, applied by every scoring path."""


@override.command("add")
@click.argument("entity")
@click.argument("prediction")
@click.option("--reason", required=True, help="Who asked, and why.")
@click.option("--expires", type=MOMENT, metavar="ISO-TIME", help="When it stops applying.")
@pass_cli
def override_add(ctx: CliContext, entity: str, prediction: str, reason: str, expires: str | None) -> None:
    """Force PREDICTION for ENTITY; prints the override id."""
    from cockpit.deployment.rules import add_override

    click.echo(add_override(ctx.workspace(), ctx.project(), entity, prediction, reason, expires))


@override.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def override_list(ctx: CliContext, as_json: bool) -> None:
    """Active overrides."""
    from cockpit.deployment.rules import active_overrides

    found = [o.as_dict() for o in active_overrides(ctx.workspace(), ctx.project()).values()]
    if as_json:
        emit_json(found)
        return
    print_table(
        found,
        ["id", "entity", "prediction", "reason", "created_by", "expires_at"],
        empty="no active overrides",
    )


@override.command("remove")
@click.argument("override_id", type=ROW_ID)
@pass_cli
def override_remove(ctx: CliContext, override_id: int) -> None:
    """Stop an override."""
    from cockpit.deployment.rules import remove_override

    remove_override(ctx.workspace(), ctx.project(), override_id)
    click.echo(f"override {override_id} removed")


@click.group()
def fallback() -> None:
    """The rule that answers when the model cannot."""


@fallback.command("set")
@click.argument("rule")
@pass_cli
def fallback_set(ctx: CliContext, rule: str) -> None:
    """RULE: 'COLUMN > VALUE -> A else B' or 'constant A'."""
    from cockpit.deployment.rules import set_fallback

    click.echo(set_fallback(ctx.workspace(), ctx.project(), rule)["text"])


@fallback.command("show")
@click.option("--json", "as_json", is_flag=True)
@pass_cli
def fallback_show(ctx: CliContext, as_json: bool) -> None:
    """The project's fallback rule."""
    from cockpit.deployment.rules import get_fallback

    rule = get_fallback(ctx.workspace(), ctx.project())
    if as_json:
        emit_json(rule.as_dict() if rule else None)
    else:
        click.echo(rule.text if rule else "no fallback rule: cockpit fallback set RULE")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--model",
    default="production",
    show_default=True,
    help="production (with canary routing) or a version number.",
)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the scores (.csv or .parquet).",
)
@click.option("--at", "when", type=MOMENT, metavar="ISO-DATE", help="The batch's date (default: now).")
@click.option("--allow-fallback", is_flag=True, help=ALLOW_FALLBACK)
@cluster_options("Score the chunks")
@click.option("--json", "as_json", is_flag=True, help="Print the batch summary as JSON.")
@pass_cli
def predict(
    ctx: CliContext,
    file: Path,
    model: str,
    out: Path,
    when: str | None,
    allow_fallback: bool,
    scheduler: str | None,
    dask_local: int | None,
    as_json: bool,
) -> None:
    """Score FILE with routing and overrides, chunk by chunk (bounded memory); the batch is
    logged. A model that cannot answer refuses the file (exit 2) unless --allow-fallback is
    given. With --scheduler / --dask-local the chunks are scored on a Dask cluster; this
    process reads FILE and writes the results (the same as scored here)."""
    from cockpit import cluster
    from cockpit.deployment.batch import predict_file

    choice = cluster.choose(scheduler, dask_local)
    summary = predict_file(ctx.workspace(), ctx.project(), file, out, model, when, allow_fallback, choice)
    for note in summary["fallback"]:
        click.echo(f"warning: {note}", err=True)
    if as_json:
        emit_json(summary)
        return
    for warning in summary["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    routes = ", ".join(f"{k} {v}" for k, v in summary["routes"].items())
    click.echo(f"{summary['rows']} rows scored ({routes}) -> {summary['output']}", err=True)
    click.echo(summary["id"])


@click.command()
@click.argument("version")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="The folder to write the bundle into (new or empty).",
)
@pass_cli
def package(ctx: CliContext, version: str, out: Path) -> None:
    """Write a self-contained bundle: model, schema, config, requirements, Dockerfile, card."""
    from cockpit.deployment.bundle import write_bundle

    manifest = write_bundle(ctx.workspace(), ctx.project(), version, out)
    click.echo(f"bundle of v{manifest['version']} written to {out} ({len(manifest['files'])} files)")


COMMANDS = [register, models, deploy, promote, rollback, override, fallback, predict, package]


@click.command()
@click.argument("version")
@pass_cli
def card(ctx: CliContext, version: str) -> None:
    """The model card of VERSION in Markdown (every number from the store)."""
    from cockpit.deployment.card import model_card

    click.echo(model_card(ctx.workspace(), ctx.project(), version), nl=False)


COMMANDS.append(card)
