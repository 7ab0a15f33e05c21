"""Stage 8: the champion vs challenger pipeline (retrain) and retirement.

`retrain` takes the reference data plus the new labelled production rows (the
cleaning recipe replayed on them), validates, trains with the production model's
config, then judges champion and challenger on the newest labelled window neither
trained on. A better challenger is registered and started as a canary (or
shadow); a worse one raises an alert and leaves production alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.projects import Project
from cockpit.retraining.policy import due, triggers
from cockpit.workspace import Workspace
from storage import clock, faults

if TYPE_CHECKING:
    import pandas as pd


def _labelled_production(ws: Workspace, project: Project, schema: dict[str, Any]):
    """Production rows whose labels arrived, the label in the target column, with their
    batch window. Rows and labels join by entity key (cockpit.entity): the id column's
    value, or the hash of the feature values when the model has no id column."""
    import pandas as pd

    from cockpit.deployment.batch import list_batches, load_batch
    from cockpit.entity import schema_keys

    labels = pd.DataFrame(
        ws.store.rows(
            "SELECT entity AS _key, label AS _label FROM labels WHERE project_id = ?", [project.id]
        ),
        columns=["_key", "_label"],
    )
    frames = []
    for found in list_batches(ws, project, 10_000):
        inputs, _ = load_batch(ws, found)
        frames.append(inputs.assign(_window=found["at"][:7]))
    if not frames or labels.empty:
        return pd.DataFrame()
    rows = pd.concat(frames, ignore_index=True).drop(columns=[project.target], errors="ignore")
    try:
        rows["_key"] = schema_keys(rows, schema).astype(str).to_numpy()
    except KeyError as exc:
        raise CockpitError(f"production batches cannot be joined with labels: {exc.args[0]}") from None
    joined = rows.merge(labels, on="_key", how="inner")
    return joined.drop(columns=["_key"]).rename(columns={"_label": project.target})


MIN_HOLDOUT_ROWS = 30


def holdout_window(new: pd.DataFrame, project: Project) -> str:
    """The newest labelled window fit to judge on: at least MIN_HOLDOUT_ROWS rows and, for
    classes, two of them (a one-row window measures nothing). Rows of newer, smaller windows
    are trained on like the older ones."""
    for window in sorted(new["_window"].unique(), reverse=True):
        rows = new[new["_window"] == window]
        if len(rows) >= MIN_HOLDOUT_ROWS and (
            project.task == "regression" or rows[project.target].nunique() >= 2
        ):
            return window
    raise CockpitError(
        f"no labelled production window holds {MIN_HOLDOUT_ROWS} rows"
        + ("" if project.task == "regression" else " of two classes or more")
        + " to judge the models on: label more rows (cockpit monitor labels FILE)"
    )


def as_target(labels: pd.Series, reference: pd.Series) -> pd.Series:
    """Stored labels (text) typed like the reference target: "False" is False for a
    True/False target (astype(bool) would make it True), "1" is 1 for integer classes."""
    if reference.dtype.kind == "b":
        truth = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False}
        typed = labels.map(lambda v: truth.get(str(v).strip().lower()))
        if typed.isna().any():
            odd = labels[typed.isna()].iloc[0]
            raise CockpitError(f"label {odd!r} is not True or False, as the target {reference.name!r} is")
        return typed.astype(reference.dtype)
    try:
        return labels.astype(reference.dtype)
    except (TypeError, ValueError):
        shown = labels.iloc[0]
    if reference.dtype.kind in "iuf":  # "1.0" is the integer class 1; "1.5" and "cat" are not
        import pandas as pd

        typed = pd.to_numeric(labels, errors="coerce")
        bad = typed.isna() | ((typed % 1 != 0) if reference.dtype.kind in "iu" else False)
        if not bad.any():
            return typed.astype(reference.dtype)
        shown = labels[bad].iloc[0]
    raise CockpitError(
        f"label {shown!r} cannot be read as the target {reference.name!r} "
        f"({reference.dtype}): correct it in the labels file and run "
        "cockpit monitor labels again"
    )


def retrain(ws: Workspace, project: Project, if_due: bool = False, now: str | None = None) -> dict[str, Any]:
    """The retrain pipeline; every step is recorded on the retrain's row."""
    import pandas as pd

    from cockpit.data import checks, recipes
    from cockpit.data.datasets import get_version as get_data
    from cockpit.data.datasets import load_frame, save_frame
    from cockpit.data.splits import get_split, make_split
    from cockpit.deployment import registry
    from cockpit.problem import current_spec
    from cockpit.training import runs

    reasons = due(ws, project, now)
    if if_due and not reasons:
        return {"decision": "not due", "reasons": []}
    champion = registry.get_version(ws, project, "production")
    champion_run = runs.get_run(ws, project, champion.run_id)
    steps: list[str] = []
    new = _labelled_production(ws, project, champion.input_schema)
    if new.empty:
        raise CockpitError("no labelled production rows yet: cockpit monitor labels FILE")
    base_version = get_data(ws, project, champion_run.version_id)
    reference = load_frame(ws, base_version)
    # typed before anything is written: a label that cannot be read stops here, whole
    new[project.target] = as_target(new[project.target], reference[project.target])
    window = holdout_window(new, project)
    holdout = new[new["_window"] == window]
    fresh = new[new["_window"] != window].drop(columns=["_window"])
    steps.append(f"{len(fresh):,} new labelled rows; {len(holdout):,} held out from {window}")
    if base_version.recipe:
        fresh, _ = recipes.apply_recipe(fresh, [r["step"] for r in base_version.recipe])
        steps.append(f"cleaning recipe replayed ({len(base_version.recipe)} steps)")
    combined = pd.concat([reference, fresh[[c for c in reference.columns if c in fresh]]], ignore_index=True)
    version, _ = save_frame(
        ws,
        project,
        combined,
        f"{base_version.name}+production",
        source=f"retrain with {len(fresh)} production rows",
    )
    findings = checks.validate(ws, project, version).findings
    errors = [f.message for f in findings if f.severity == "error"]
    if errors:
        return _record(
            ws,
            project,
            reasons,
            steps + [f"validation failed: {errors[0]}"],
            window,
            champion,
            None,
            None,
            None,
            "stopped: validation errors",
            None,
        )
    steps.append(f"data v{version.id} validated ({len(combined):,} rows)")
    old_split = get_split(ws, project, champion_run.split_id)
    make_split(
        ws,
        project,
        old_split.strategy,
        old_split.seed,
        old_split.val_fraction,
        old_split.test_fraction,
        old_split.group_column,
        old_split.time_column,
        version,
    )
    challenger = runs.train(ws, project, champion_run.family, champion_run.params, champion_run.seed)
    if challenger.status != "finished":
        return _record(
            ws,
            project,
            reasons,
            steps + [f"training failed: {challenger.error}"],
            window,
            champion,
            challenger.id,
            None,
            None,
            "stopped: training failed",
            None,
        )
    steps.append(f"{challenger.label} trained with the production config")
    spec = current_spec(ws, project)
    metric = metrics.primary_metric(project.task, spec.metric)
    labelled = new
    from cockpit.evaluation.report import ensure_threshold
    from cockpit.retraining.challenger import compare

    threshold, _ = ensure_threshold(ws, project, challenger)
    comparison = compare(
        project,
        {
            "champion": (ws.artifacts.load(champion.artifact_sha256), champion.threshold),
            "challenger": (ws.artifacts.load(challenger.artifact_sha256), threshold),
        },
        labelled,
        window,
        metric,
        spec.segments,
    )
    primary = next((m for m in comparison["metrics"] if m["name"] == metric), None)
    if primary is None:
        return _record(
            ws,
            project,
            reasons,
            steps + [f"{metric} cannot be measured on {window}"],
            window,
            champion,
            challenger.id,
            None,
            None,
            "stopped: no comparison",
            None,
            metric,
            comparison,
        )
    scores = {side: primary[side] for side in ("champion", "challenger")}
    better = scores["challenger"] is not None and (
        scores["champion"] is None or metrics.better(metric, scores["challenger"], scores["champion"])
    )
    steps.append(
        f"on {window}: champion {metric} {scores['champion']:.4f}, challenger {scores['challenger']:.4f}"
    )
    if better:
        settings = triggers(ws, project)
        new_version = registry.register(
            ws,
            project,
            challenger.id,
            f"retrain: beats production v{champion.version} on {window} ({metric} "
            f"{scores['challenger']:.4f} vs {scores['champion']:.4f})",
        )
        percent = settings["canary_percent"] if settings["strategy"] == "canary" else None
        registry.deploy(
            ws,
            project,
            new_version.version,
            settings["strategy"],
            percent,
            f"retrain challenger ({'; '.join(reasons) or 'manual'})",
        )
        steps.append(f"registered v{new_version.version}, started as {settings['strategy']}")
        return _record(
            ws,
            project,
            reasons,
            steps,
            window,
            champion,
            challenger.id,
            scores["champion"],
            scores["challenger"],
            "deployed",
            new_version.id,
            metric,
            comparison,
        )
    _raise_alert(
        ws,
        project,
        f"retrained {challenger.label} is not better than production "
        f"v{champion.version} on {window} ({metric} {scores['challenger']:.4f} vs "
        f"{scores['champion']:.4f}); production kept",
    )
    steps.append("not better: alert raised, production kept")
    return _record(
        ws,
        project,
        reasons,
        steps,
        window,
        champion,
        challenger.id,
        scores["champion"],
        scores["challenger"],
        "kept production",
        None,
        metric,
        comparison,
    )


def _raise_alert(ws: Workspace, project: Project, message: str) -> None:
    with ws.store.transaction():
        rule_id = ws.store.scalar(
            "SELECT id FROM alert_rules WHERE project_id = ? AND metric = 'retrain'", [project.id]
        )
        if rule_id is None:
            rule_id = ws.store.insert(
                "alert_rules",
                {
                    "project_id": project.id,
                    "metric": "retrain",
                    "op": "<",
                    "threshold": 0,
                    "windows": 1,
                    "severity": "warning",
                    "action": "look into the data or the model",
                    "source": "retrain",
                },
            )
        alert_id = ws.store.insert(
            "alerts",
            {
                "project_id": project.id,
                "rule_id": rule_id,
                "status": "firing",
                "message": message,
                "fired_at": clock.now_iso(),
            },
        )
        ws.record("monitoring", "alert fired", project.id, {"alert": alert_id, "metric": "retrain"})


def _record(
    ws,
    project,
    reasons,
    steps,
    window,
    champion,
    challenger_id,
    champion_score,
    challenger_score,
    decision,
    version_id,
    metric=None,
    comparison=None,
) -> dict[str, Any]:
    with ws.store.transaction():
        retrain_id = ws.store.insert(
            "retrains",
            {
                "project_id": project.id,
                "reasons": reasons,
                "steps": steps,
                "window": window,
                "champion_version": champion.version,
                "challenger_run_id": challenger_id,
                "champion_score": champion_score,
                "challenger_score": challenger_score,
                "metric": metric,
                "decision": decision,
                "version_id": version_id,
                "comparison": comparison,
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("retrain:after_record")
        ws.record("retrain", "retrain", project.id, {"retrain": retrain_id, "decision": decision})
    return {
        "id": retrain_id,
        "decision": decision,
        "reasons": reasons,
        "steps": steps,
        "window": window,
        "champion_score": champion_score,
        "challenger_score": challenger_score,
        "challenger_run": challenger_id,
        "comparison": comparison,
    }


def list_retrains(ws: Workspace, project: Project) -> list[dict[str, Any]]:
    rows = ws.store.rows("SELECT * FROM retrains WHERE project_id = ? ORDER BY id DESC", [project.id])
    for row in rows:
        row["reasons"], row["steps"] = json.loads(row["reasons"]), json.loads(row["steps"])
        row["comparison"] = json.loads(row["comparison"]) if row.get("comparison") else None
    return rows


def _still_served(ws: Workspace, version) -> bool:
    """Whether another version that is not retired uses the same model file."""
    return bool(
        ws.store.scalar(
            "SELECT count(*) FROM model_versions WHERE artifact_sha256 = ? AND id != ? AND "
            "status != 'retired'",
            [version.artifact_sha256, version.id],
        )
    )


def retire(
    ws: Workspace, project: Project, ref: int | str, reason: str, successor: int | str | None = None
) -> dict[str, Any]:
    """Stop serving a version on purpose: aliases cleared, artifact archived, card updated."""
    from cockpit.deployment import registry

    if not reason.strip():
        raise CockpitError("retiring takes a reason (--reason)")
    version = registry.get_version(ws, project, ref)
    if version.status == "retired":
        raise CockpitError(f"{version.label} is retired already")
    after = registry.get_version(ws, project, successor) if successor is not None else None
    held = [a for a, info in registry.aliases(ws, project).items() if info["version_id"] == version.id]
    if "production" in held and after is None:
        raise CockpitError(f"{version.label} is in production: name its --successor")
    with ws.store.transaction():
        if "production" in held:
            registry._set_alias(
                ws,
                project,
                "production",
                after.id,
                None,
                "promote",
                None,
                f"successor of retired v{version.version}: {reason}",
            )
        for alias in held:
            if alias != "production":
                registry._set_alias(
                    ws, project, alias, None, None, "clear", None, f"v{version.version} retired: {reason}"
                )
        ws.store.update(
            "model_versions",
            {"id": version.id},
            {
                "status": "retired",
                "retired_reason": reason,
                "successor_id": after.id if after else None,
                "archived_at": clock.now_iso(),
            },
        )
        ws.record(
            "retrain",
            "retire",
            project.id,
            {"version": version.version, "reason": reason, "successor": after.version if after else None},
        )
    if not _still_served(ws, version):  # after the commit: a crash leaves it live, not lost
        ws.artifacts.archive(version.artifact_sha256)
    return {
        "version": version.version,
        "successor": after.version if after else None,
        "aliases_cleared": held,
    }
