"""Stage 8: the champion vs challenger pipeline (retrain) and retirement.

`retrain` takes the reference data plus the new labelled production rows (the
cleaning recipe replayed on them), validates, trains with the production model's
config (for a model trained outside cockpit: its script again, or a clone of it refitted;
cockpit.retraining.trainer), then judges champion and challenger on the newest labelled window neither
trained on. A better challenger is gated against production: it starts as a canary (or
shadow) only when it passes, or when a person overrides the gate with a reason; otherwise
it is registered as a candidate and an alert says why (cockpit.retraining.rollout). A worse
one raises an alert. Production itself never changes here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.deployment.moves import Move
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.projects import Project
from cockpit.retraining import rollout
from cockpit.retraining.challenger import Comparison, compare
from cockpit.retraining.policy import due
from cockpit.text import counted
from cockpit.workspace import Workspace
from storage import clock, faults

if TYPE_CHECKING:
    import pandas as pd

    from cockpit.data.datasets import DatasetVersion
    from cockpit.data.splits import Split
    from cockpit.deployment.registry import ModelVersion
    from cockpit.evaluation.gate import GateResult
    from cockpit.training.runs import Run


def _labelled_production(ws: Workspace, project: Project, schema: dict[str, Any]):
    """Production rows whose labels arrived, the label in the target column, with their
    batch window. Rows and labels join by entity key (cockpit.entity): the id column's
    value, or the hash of the feature values when the model has no id column."""
    import numpy as np
    import pandas as pd

    from cockpit.deployment.batch import list_batches
    from cockpit.entity import schema_keys

    labels = pd.DataFrame(
        ws.store.rows(
            "SELECT entity AS _key, label AS _label FROM labels WHERE project_id = ?", [project.id]
        ),
        columns=["_key", "_label"],
    )
    if labels.empty:
        return pd.DataFrame()
    # A file predicted and then ingested is two batches of one stored inputs artifact: it is
    # read and keyed once (a row's key depends on its values alone).
    stored: dict[str, pd.DataFrame] = {}
    frames, digests = [], []
    for found in list_batches(ws, project, 10_000):
        digest = found["inputs_sha256"]
        if digest not in stored:
            stored[digest] = pd.read_parquet(ws.artifacts.verified_path(digest, ".parquet"))
        frames.append(stored[digest].assign(_window=found["at"][:7]))
        digests.append(digest)
    if not frames:
        return pd.DataFrame()
    once = pd.concat(stored.values(), ignore_index=True).drop(columns=[project.target], errors="ignore")
    try:
        keys = schema_keys(once, schema).astype(str).to_numpy()
    except KeyError as exc:
        raise CockpitError(f"production batches cannot be joined with labels: {exc.args[0]}") from None
    starts = dict(zip(stored, np.cumsum([0, *map(len, stored.values())]), strict=False))
    rows = pd.concat(frames, ignore_index=True).drop(columns=[project.target], errors="ignore")
    rows["_key"] = np.concatenate([keys[starts[d] : starts[d] + len(stored[d])] for d in digests])
    joined = rows.merge(labels, on="_key", how="inner")
    return joined.drop(columns=["_key"]).rename(columns={"_label": project.target})


MIN_HOLDOUT_ROWS = 30
TRAINING_FAILED = "stopped: training failed"


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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a retrain found and decided, before it is recorded."""

    decision: str
    steps: list[str]
    window: str
    challenger_run: int | None = None
    champion_score: float | None = None
    challenger_score: float | None = None
    metric: str | None = None
    comparison: Comparison | None = None
    version_id: int | None = None  # the challenger's new model version, when registered
    wins: bool | None = None  # the challenger beat production (None: not compared)


@dataclass(frozen=True, slots=True)
class Retrain:
    """A recorded retrain: why it ran, its steps, champion vs challenger, the decision. One
    that was not due records nothing (id None)."""

    id: int | None
    decision: str
    reasons: list[str]
    steps: list[str] = field(default_factory=list)
    window: str | None = None
    champion_version: int | None = None
    challenger_run: int | None = None
    champion_score: float | None = None
    challenger_score: float | None = None
    metric: str | None = None
    version_id: int | None = None
    comparison: Comparison | None = None
    created_at: str = ""
    created_by: str = ""
    project_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as `cockpit retrain --json` prints it."""
        if self.id is None:
            return {"decision": self.decision, "reasons": self.reasons}
        return {
            "id": self.id,
            "decision": self.decision,
            "reasons": self.reasons,
            "steps": self.steps,
            "window": self.window,
            "champion_score": self.champion_score,
            "challenger_score": self.challenger_score,
            "challenger_run": self.challenger_run,
            "version_id": self.version_id,
            "comparison": self.comparison.as_dict() if self.comparison else None,
        }

    def row(self) -> dict[str, Any]:
        """The stored row as `cockpit retrain history --json` prints it."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "reasons": self.reasons,
            "steps": self.steps,
            "window": self.window,
            "champion_version": self.champion_version,
            "challenger_run_id": self.challenger_run,
            "champion_score": self.champion_score,
            "challenger_score": self.challenger_score,
            "metric": self.metric,
            "decision": self.decision,
            "version_id": self.version_id,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "comparison": self.comparison.as_dict() if self.comparison else None,
        }


def retrain(
    ws: Workspace,
    project: Project,
    if_due: bool = False,
    now: str | None = None,
    override: str | None = None,
    asked: str = "",
    expect: tuple[Move, ...] | None = None,
    command: str | None = None,
    refit: bool = False,
) -> Retrain:
    """The retrain pipeline; every step is recorded on the retrain's row. A challenger that
    beats production is deployed only if it passes its gate, or `override` (a reason) says
    to deploy it anyway (cockpit.retraining.rollout); `asked` is a person's reason to run it,
    `expect` the plan's moves they confirmed (refused, nothing done, if they differ now or
    when the challenger is settled). How the challenger is trained (the champion's recipe,
    its script, a clone of its model with `refit`, or `command`): cockpit.retraining.trainer."""
    from cockpit.deployment import registry

    override = rollout.check_override(override)
    if if_due and override:
        raise CockpitError(
            "--override is a person's decision about one challenger, not a standing rule for "
            "scheduled runs (--if-due): deploy the candidate a scheduled run leaves with "
            "cockpit retrain deploy --override REASON"
        )
    rollout.as_planned(ws, project, expect)
    reasons = due(ws, project, now)
    if if_due and not reasons:
        return Retrain(None, "not due", [])
    if asked.strip():
        reasons = [*reasons, f"asked: {asked.strip()}"]
    champion = registry.get_version(ws, project, "production")
    judged = _challenge(ws, project, champion, command, refit)
    verdict = rollout.gate_challenger(ws, project, champion, judged) if judged.wins else None
    # the challenger's fate (registered, deployed or alerted) and the retrain's row: all or nothing
    with ws.store.transaction():
        rollout.as_planned(ws, project, expect)  # nothing changed while it trained
        settled = _settle(ws, project, champion, judged, verdict, reasons, override)
        return _record(ws, project, reasons, champion, settled)


def _settle(
    ws: Workspace,
    project: Project,
    champion: ModelVersion,
    judged: Outcome,
    verdict: GateResult | None,
    reasons: list[str],
    override: str | None,
) -> Outcome:
    """A better challenger is released by its gate's verdict (rollout.release); a worse one
    raises an alert; a retrain that stopped before the comparison writes nothing here."""
    if verdict is not None:
        return rollout.release(ws, project, champion, judged, verdict, reasons, override)
    if judged.wins is None or judged.challenger_run is None:
        return judged
    from cockpit.training.runs import get_run

    challenger = get_run(ws, project, judged.challenger_run)
    rollout.raise_alert(
        ws,
        project,
        f"retrained {challenger.label} is not better than production "
        f"v{champion.version} on {judged.window} ({judged.metric} {judged.challenger_score:.4f} "
        f"vs {judged.champion_score:.4f}); production kept",
    )
    return replace(judged, steps=[*judged.steps, "not better: alert raised, production kept"])


def _challenge(
    ws: Workspace, project: Project, champion: ModelVersion, command: str | None, refit: bool
) -> Outcome:
    """Train a challenger on the reference and new labelled rows, judge both models on the
    held-out window (what then happens to it: _settle)."""
    from cockpit.data import checks
    from cockpit.data.datasets import get_version as get_data
    from cockpit.data.datasets import load_frame
    from cockpit.retraining import trainer
    from cockpit.training import runs

    champion_run = runs.get_run(ws, project, champion.run_id)
    how = trainer.choose(ws, project, champion_run, command, refit)  # before anything is written
    new = _labelled_production(ws, project, champion.input_schema)
    if new.empty:
        raise CockpitError("no labelled production rows yet: cockpit monitor labels FILE")
    base = get_data(ws, project, champion_run.version_id)
    reference = load_frame(ws, base)
    # typed before anything is written: a label that cannot be read stops here, whole
    new[project.target] = as_target(new[project.target], reference[project.target])
    window = holdout_window(new, project)
    if command is None and not (new["_window"] != window).any():
        # the champion's recipe on the champion's data again: a copy of it, judged 'not better'
        raise CockpitError(
            f"no new labelled rows to learn from: all {len(new):,} are in {window}, held out to judge "
            "the models on; label rows of another window too (cockpit monitor labels FILE)"
        )
    version, rows, steps = _combined_data(ws, project, base, reference, new, window)
    findings = checks.validate(ws, project, version).findings
    errors = [f.message for f in findings if f.severity == "error"]
    if errors:
        return Outcome("stopped: validation errors", [*steps, f"validation failed: {errors[0]}"], window)
    steps.append(f"data v{version.id} validated ({rows:,} rows)")
    split = _split_like(ws, project, champion_run, version)
    trained = how.train(ws, project, version.id, split.id)
    if trained.error is not None:
        return Outcome(TRAINING_FAILED, [*steps, trained.step()], window, trained.run_id)
    assert trained.run_id is not None, "a challenger that trained has its run"
    steps.append(trained.step())
    challenger = runs.get_run(ws, project, trained.run_id)
    return _judge(ws, project, champion, challenger, new, window, steps)


def _combined_data(
    ws: Workspace,
    project: Project,
    base: DatasetVersion,
    reference: pd.DataFrame,
    new: pd.DataFrame,
    window: str,
) -> tuple[DatasetVersion, int, list[str]]:
    """A new dataset version: the champion's data plus the new rows outside the held-out
    window, its cleaning recipe replayed on them. Returns the version, its row count and
    the steps taken."""
    import pandas as pd

    from cockpit.data import recipes
    from cockpit.data.datasets import save_frame

    fresh = new[new["_window"] != window].drop(columns=["_window"])
    held = len(new) - len(fresh)
    steps = [f"{len(fresh):,} new labelled rows; {held:,} held out from {window}"]
    if base.recipe:
        fresh = recipes.replay(fresh, [r["step"] for r in base.recipe], reference)
        steps.append(f"cleaning recipe replayed ({len(base.recipe)} steps)")
    combined = pd.concat([reference, fresh[[c for c in reference.columns if c in fresh]]], ignore_index=True)
    source = f"retrain with {counted(len(fresh), 'production row')}"
    version, _ = save_frame(ws, project, combined, f"{base.name}+production", source=source, parent=base)
    return version, len(combined), steps


def _split_like(ws: Workspace, project: Project, champion_run: Run, version: DatasetVersion) -> Split:
    """The new data split as the champion's data was (strategy, seed, fractions, columns)."""
    from cockpit.data.splits import get_split, make_split

    old = get_split(ws, project, champion_run.split_id)
    return make_split(
        ws,
        project,
        old.strategy,
        old.seed,
        old.val_fraction,
        old.test_fraction,
        old.group_column,
        old.time_column,
        version,
    )


def _judge(
    ws: Workspace,
    project: Project,
    champion: ModelVersion,
    challenger: Run,
    new: pd.DataFrame,
    window: str,
    steps: list[str],
) -> Outcome:
    """Champion and challenger on the same held-out rows: whether the challenger wins."""
    comparison = _compare(ws, project, champion, challenger, new, window)
    metric, primary = comparison.metric, comparison.primary()
    if primary is None:
        return Outcome(
            "stopped: no comparison",
            [*steps, f"{metric} cannot be measured on {window}"],
            window,
            challenger.id,
            metric=metric,
            comparison=comparison,
        )
    ours, theirs = primary.champion, primary.challenger
    judged = Outcome(
        "kept production",
        [*steps, f"on {window}: champion {metric} {ours:.4f}, challenger {theirs:.4f}"],
        window,
        challenger.id,
        ours,
        theirs,
        metric,
        comparison,
    )
    wins = theirs is not None and (ours is None or metrics.better(metric, theirs, ours))
    return replace(judged, wins=wins)


def _compare(
    ws: Workspace, project: Project, champion: ModelVersion, challenger: Run, new: pd.DataFrame, window: str
) -> Comparison:
    """Both models, each with its threshold, on the spec's metric and segments."""
    from cockpit.evaluation.report import ensure_threshold
    from cockpit.problem import current_spec

    spec = current_spec(ws, project)
    threshold, _ = ensure_threshold(ws, project, challenger)
    assert challenger.artifact_sha256 is not None, "a finished run has its model file"
    models = {
        "champion": (ws.artifacts.load(champion.artifact_sha256), champion.threshold),
        "challenger": (ws.artifacts.load(challenger.artifact_sha256), threshold),
    }
    metric = metrics.primary_metric(project.task, spec.metric)
    return compare(project, models, new, window, metric, spec.segments)


def _record(
    ws: Workspace, project: Project, reasons: list[str], champion: ModelVersion, outcome: Outcome
) -> Retrain:
    recorded = Retrain(
        None,
        outcome.decision,
        reasons,
        outcome.steps,
        outcome.window,
        champion.version,
        outcome.challenger_run,
        outcome.champion_score,
        outcome.challenger_score,
        outcome.metric,
        outcome.version_id,
        outcome.comparison,
        clock.now_iso(),
        current_user(),
        project.id,
    )
    with ws.store.transaction():
        stored = {k: v for k, v in recorded.row().items() if k != "id"}
        retrain_id = ws.store.insert("retrains", stored)
        faults.point("retrain:after_record")
        ws.record("retrain", "retrain", project.id, {"retrain": retrain_id, "decision": outcome.decision})
    return replace(recorded, id=retrain_id)


def list_retrains(ws: Workspace, project: Project) -> list[Retrain]:
    rows = ws.store.rows("SELECT * FROM retrains WHERE project_id = ? ORDER BY id DESC", [project.id])
    return [
        Retrain(
            row["id"],
            row["decision"],
            json.loads(row["reasons"]),
            json.loads(row["steps"]),
            row["window"],
            row["champion_version"],
            row["challenger_run_id"],
            row["champion_score"],
            row["challenger_score"],
            row["metric"],
            row["version_id"],
            Comparison.from_dict(json.loads(row["comparison"])) if row.get("comparison") else None,
            row["created_at"],
            row["created_by"],
            row["project_id"],
        )
        for row in rows
    ]


def _still_served(ws: Workspace, version) -> bool:
    """Whether another version that is not retired uses the same model file."""
    return bool(
        ws.store.scalar(
            "SELECT count(*) FROM model_versions WHERE artifact_sha256 = ? AND id != ? AND "
            "status != 'retired'",
            [version.artifact_sha256, version.id],
        )
    )


@dataclass(frozen=True, slots=True)
class Retirement:
    """A version retired: its successor in production, if it was there, and the aliases it
    held (cleared, or production handed to the successor)."""

    version: int
    successor: int | None
    aliases_cleared: list[str]


def retire(
    ws: Workspace, project: Project, ref: int | str, reason: str, successor: int | str | None = None
) -> Retirement:
    """Stop serving a version on purpose: aliases cleared, artifact archived, card updated."""
    from cockpit.deployment import registry

    if not reason.strip():
        raise CockpitError("retiring takes a reason (--reason)")
    version = registry.get_version(ws, project, ref)
    if version.status == "retired":
        raise CockpitError(f"{version.label} is retired already")
    after = registry.get_version(ws, project, successor) if successor is not None else None
    held = [a for a, info in registry.aliases(ws, project).items() if info.version_id == version.id]
    if "production" in held and after is None:
        raise CockpitError(f"{version.label} is in production: name its --successor")
    with ws.store.transaction():
        if "production" in held:
            assert after is not None  # refused above without a successor
            registry.set_alias(
                ws,
                project,
                "production",
                after.id,
                action="promote",
                reason=f"successor of retired v{version.version}: {reason}",
            )
        for alias in held:
            if alias != "production":
                registry.set_alias(
                    ws, project, alias, None, action="clear", reason=f"v{version.version} retired: {reason}"
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
    return Retirement(version.version, after.version if after else None, held)
