"""The registry: model versions, aliases (candidate, shadow, canary, production), and the
promotion ledger — every alias change with who, when, why and from which version, so
"what was in production on date X" has an answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any

from cockpit.audit import current_user
from cockpit.deployment.moves import Move, Slot, as_confirmed, moves_between
from cockpit.deployment.standing import Standing, check_override, ledger_reason, left_behind, standing
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training.runs import check_has_model, get_run
from cockpit.workspace import Workspace
from storage import clock, faults

ALIASES = ("candidate", "shadow", "canary", "production")
STRATEGIES = ("shadow", "canary", "blue-green")


@dataclass(frozen=True, slots=True)
class ModelVersion:
    id: int
    project_id: int
    version: int
    run_id: int
    artifact_sha256: str
    threshold: float | None
    gate_id: int | None
    gate_passed: bool
    override_reason: str | None
    input_schema: dict[str, Any]
    status: str
    retired_reason: str | None
    successor_id: int | None
    created_at: str
    created_by: str
    archived_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def feature_columns(self) -> list[str]:
        """The input columns the model reads as features."""
        return [name for name, column in self.input_schema["columns"].items() if column["role"] == "feature"]

    @property
    def label(self) -> str:
        return f"v{self.version} (run {self.run_id})"

    @property
    def gate_label(self) -> str:
        """The gate's verdict: "pass", "fail" or "none" (no gate ran); an override is a reason
        kept beside it (override_reason), not a verdict."""
        return "none" if self.gate_id is None else "pass" if self.gate_passed else "fail"


def _from_row(row: dict) -> ModelVersion:
    return ModelVersion(
        **{
            **row,
            "gate_passed": bool(row["gate_passed"]),
            "input_schema": json.loads(row["input_schema"] or "{}"),
        }
    )


def list_versions(ws: Workspace, project: Project) -> list[ModelVersion]:
    rows = ws.store.rows("SELECT * FROM model_versions WHERE project_id = ? ORDER BY version", [project.id])
    return [_from_row(r) for r in rows]


def get_version(ws: Workspace, project: Project, ref: int | str) -> ModelVersion:
    """A version by number, or by alias ('production', 'canary', ...)."""
    if isinstance(ref, str) and not ref.isdigit():
        if ref.lower().startswith("v") and ref[1:].isdigit():
            ref = int(ref[1:])
        else:
            version_id = alias_version_id(ws, project, ref)
            if version_id is None:
                raise CockpitError(f"no model has the alias {ref!r} in project {project.name!r}")
            row = ws.store.one("SELECT * FROM model_versions WHERE id = ?", [version_id])
            assert row is not None  # an alias's version_id is a foreign key to model_versions
            return _from_row(row)
    number = int(ref)
    row = (
        ws.store.one(
            "SELECT * FROM model_versions WHERE project_id = ? AND version = ?", [project.id, number]
        )
        if 0 < number < 2**63
        else None
    )
    if row is None:
        raise CockpitError(f"no model version {ref} in project {project.name!r}")
    return _from_row(row)


def version_by_id(ws: Workspace, version_id: int) -> ModelVersion:
    row = ws.store.one("SELECT * FROM model_versions WHERE id = ?", [version_id])
    if row is None:
        raise CockpitError(f"no model version with id {version_id}")
    return _from_row(row)


@dataclass(frozen=True, slots=True)
class Alias:
    """A name traffic is routed by (production, canary, shadow, candidate) and its version."""

    name: str
    version_id: int
    percent: float | None  # the canary's share of entities; None for the others

    @property
    def label(self) -> str:
        """'canary 30%', or the bare name."""
        return f"{self.name} {self.percent:g}%" if self.percent else self.name


def aliases(ws: Workspace, project: Project) -> dict[str, Alias]:
    """The aliases in use, by name."""
    rows = ws.store.rows(
        "SELECT alias, version_id, percent FROM aliases WHERE project_id = ? AND version_id IS NOT NULL",
        [project.id],
    )
    return {r["alias"]: Alias(r["alias"], r["version_id"], r["percent"]) for r in rows}


def alias_labels(ws: Workspace, project: Project) -> dict[int, list[str]]:
    """version id -> the labels of the aliases it holds."""
    by_version: dict[int, list[str]] = {}
    for alias in aliases(ws, project).values():
        by_version.setdefault(alias.version_id, []).append(alias.label)
    return by_version


def alias_version_id(ws: Workspace, project: Project, alias: str) -> int | None:
    found = aliases(ws, project).get(alias)
    return found.version_id if found else None


def input_schema(ws: Workspace, project: Project, run) -> dict[str, Any]:
    """Columns, types, allowed categories, seen ranges and null counts of the model's inputs
    (the training domain: cockpit/deployment/domain.py)."""
    from cockpit.data.datasets import get_version as get_data
    from cockpit.data.datasets import load_profile
    from cockpit.data.splits import get_split, split_frames
    from cockpit.evaluation.inputs import model_specs
    from cockpit.features import spec_at

    specs = spec_at(ws, project, run.feature_spec_version)
    profile = {c["name"]: c for c in load_profile(ws, get_data(ws, project, run.version_id))}
    train = split_frames(ws, project, get_split(ws, project, run.split_id))["train"]
    if run.input_schema:
        # a model that records its inputs takes those columns; the project's id column still
        # keys routing, overrides and labels, whatever the model reads (and stays the key when
        # the model reads it too)
        ids = [s for s in specs if s.role == "id"]
        taken = [
            replace(s, role="id") if s.column in {i.column for i in ids} else s
            for s in model_specs(specs, run)
        ]
        specs = taken + [s for s in ids if s.column not in {t.column for t in taken}]
    else:
        specs = [s for s in specs if s.role in ("feature", "id")]
    columns = {}
    for spec in specs:
        column = profile.get(spec.column, {})
        entry: dict[str, Any] = {
            "kind": spec.kind,
            "role": spec.role,
            "dtype": column.get("dtype", ""),
            "nulls": column.get("nulls"),
        }
        if spec.kind == "numeric":
            entry.update(min=column.get("min"), max=column.get("max"))
        elif spec.kind == "categorical" and column.get("distinct", 0) <= 200:
            entry["categories"] = sorted(train[spec.column].dropna().astype(str).unique().tolist())
        columns[spec.column] = entry
    return {
        "target": project.target,
        "task": project.task,
        "columns": columns,
        "entity": next((s.column for s in specs if s.role == "id"), None),
    }


def register(
    ws: Workspace, project: Project, run_id: int, override_reason: str | None = None
) -> ModelVersion:
    """Register a finished run as the next model version, alias 'candidate'. A run whose
    gate failed (or was never run) needs an override with a reason."""
    from cockpit.evaluation.gate import latest_gate
    from cockpit.evaluation.report import ensure_threshold

    run = get_run(ws, project, run_id)
    check_has_model(run, "registered")
    if run.split_id is None:  # logged on rows cockpit did not hold: no training domain to check
        raise CockpitError(
            f"{run.label} has no data in cockpit yet: score it on a data version first "
            f"(cockpit evaluate {run.id} --data VERSION)"
        )
    gate = latest_gate(ws, run.id)
    if (gate is None or not gate.passed) and not (override_reason or "").strip():
        why = (
            "has not been gated"
            if gate is None
            else "failed the gate: " + ", ".join(r.name for r in gate.rules if not r.passed)
        )
        raise CockpitError(f"{run.label} {why}; register it anyway with --override 'reason'")
    threshold, _ = ensure_threshold(ws, project, run)
    schema = input_schema(ws, project, run)
    number = next_model_version(ws, project.id)
    with ws.store.transaction():
        version_id = ws.store.insert(
            "model_versions",
            {
                "project_id": project.id,
                "version": number,
                "run_id": run.id,
                "artifact_sha256": run.artifact_sha256,
                "threshold": threshold,
                "gate_id": gate.id if gate else None,
                "gate_passed": int(bool(gate and gate.passed)),
                "override_reason": override_reason,
                "input_schema": schema,
                "status": "active",
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("registry.register:after_insert")
        set_alias(
            ws, project, "candidate", version_id, action="register", reason=override_reason or "registered"
        )
        ws.record(
            "deployment",
            "register",
            project.id,
            {
                "version": number,
                "run": run.id,
                "gate_passed": bool(gate and gate.passed),
                "override": override_reason or "",
            },
        )
    return version_by_id(ws, version_id)


def set_alias(
    ws: Workspace,
    project: Project,
    alias: str,
    version_id: int | None,
    *,
    action: str,
    reason: str,
    percent: float | None = None,
    strategy: str | None = None,
) -> None:
    """Point `alias` at a version (None clears it) and write the move to the ledger; the
    caller holds the transaction and records the audit event."""
    previous = alias_version_id(ws, project, alias)
    now = clock.now_iso()
    ws.store.conn.execute(
        "INSERT INTO aliases (project_id, alias, version_id, percent, updated_at) VALUES "
        "(?, ?, ?, ?, ?) ON CONFLICT (project_id, alias) DO UPDATE SET version_id = "
        "excluded.version_id, percent = excluded.percent, updated_at = excluded.updated_at",
        [project.id, alias, version_id, percent, now],
    )
    ws.store.insert(
        "ledger",
        {
            "project_id": project.id,
            "alias": alias,
            "version_id": version_id,
            "previous_version_id": previous,
            "percent": percent,
            "action": action,
            "strategy": strategy,
            "reason": reason,
            "user": current_user(),
            "at": now,
        },
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One alias an action sets: to a version (None clears it), with the ledger's action and
    a fixed reason (None: the reason the user gives)."""

    alias: str
    version_id: int | None
    action: str
    percent: float | None = None
    strategy: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What an action will do, worked out before it acts: the version it acts on, the aliases
    it sets, and what changes, from → to. The confirm dialog shows `moves`; the action
    carries out the same plan and returns it."""

    target: ModelVersion
    steps: tuple[Step, ...]
    moves: tuple[Move, ...]
    # the target's gate when it would become production without a passed gate: it needs an
    # override (cockpit.deployment.standing); None otherwise
    gate: Standing | None = None

    @property
    def needs_override(self) -> bool:
        return self.gate is not None


def _slots(ws: Workspace, project: Project) -> dict[str, Slot]:
    return {
        name: Slot(version_by_id(ws, alias.version_id).version, alias.percent)
        for name, alias in aliases(ws, project).items()
    }


def _plan(
    ws: Workspace, project: Project, version: ModelVersion, steps: list[Step], judge: bool = False
) -> Plan:
    """`judge`: the version becomes production by a person's choice (promote, blue-green),
    so a gate that did not pass needs an override; a rollback goes back and is not judged."""
    before = _slots(ws, project)
    after = dict(before)
    for step in steps:
        if step.version_id is None:
            after.pop(step.alias, None)
        else:
            after[step.alias] = Slot(version_by_id(ws, step.version_id).version, step.percent)
    moves = moves_between(before, after)
    found = standing(ws, project, version) if judge and moves else None
    if found is None or found.passed:
        return Plan(version, tuple(steps), moves)
    return Plan(version, tuple(steps), (*moves, found.move()), found)


def _carry_out(
    ws: Workspace,
    project: Project,
    plan: Plan,
    reason: str,
    event: str,
    payload: dict,
    override: str | None = None,
) -> None:
    """Set the plan's aliases and record `event`; the caller planned inside its transaction.
    With an override, production's ledger line says who overrode which gate rules, and why
    (after the reason the person gave, if any: payload's)."""
    with ws.store.transaction():
        for step in plan.steps:
            why = step.note or reason
            if override and plan.gate is not None and step.alias == "production":
                why = ledger_reason(plan.gate, override, payload.get("reason", ""))
            set_alias(
                ws,
                project,
                step.alias,
                step.version_id,
                action=step.action,
                reason=why,
                percent=step.percent,
                strategy=step.strategy,
            )
        ws.record(
            "deployment", event, project.id, {**payload, **({"override": override} if override else {})}
        )


def deployable(ws: Workspace, project: Project, strategy: str | None = None) -> list[ModelVersion]:
    """The active versions that are not production, newest first: what a canary, shadow or
    blue-green deploy offers (the newest is the default). With a strategy, the version that
    already holds its alias is left out too (the canary is not offered as the canary)."""
    held = aliases(ws, project)
    taken = {held[a].version_id for a in ("production", _ALIAS_OF.get(strategy or "", "")) if a in held}
    return [v for v in reversed(list_versions(ws, project)) if v.status == "active" and v.id not in taken]


_ALIAS_OF = {"shadow": "shadow", "canary": "canary", "blue-green": "production"}


def plan_deploy(
    ws: Workspace, project: Project, ref: int | str, strategy: str, percent: float | None = None
) -> Plan:
    """shadow: scored and logged, never answered; canary: a percent of entities (sticky);
    blue-green: production switches at once, the previous one kept for rollback (and the
    version stops being the canary or shadow it was). Refuses what cannot be deployed."""
    version = get_version(ws, project, ref)
    if version.status != "active":
        raise CockpitError(f"{version.label} is {version.status}; deploy an active version")
    if strategy not in STRATEGIES:
        raise CockpitError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    production = alias_version_id(ws, project, "production")
    if strategy in ("canary", "shadow") and production == version.id:
        raise CockpitError(
            f"{version.label} is already production: a {strategy} of it would only compare it "
            "with itself; deploy another version as the " + strategy
        )
    if strategy == "canary":
        if percent is None or not 0 < percent < 100:
            raise CockpitError("a canary takes --percent between 0 and 100 (exclusive)")
        if production is None:
            raise CockpitError(
                "a canary needs a production model to share traffic with; deploy "
                "the first model with --strategy blue-green"
            )
    alias = _ALIAS_OF[strategy]
    share = percent if strategy == "canary" else None
    step = Step(alias, version.id, "deploy", share, strategy)
    steps = _around(ws, project, version, step, f"{version.label} is {alias} now")
    return _plan(ws, project, version, steps, judge=alias == "production")


def _around(ws: Workspace, project: Project, version: ModelVersion, step: Step, note: str) -> list[Step]:
    """`step` with the aliases the version stops holding as it takes step.alias
    (standing.left_behind: no longer a candidate once it serves, so that is cleared first;
    production is never also the canary or shadow, so those are cleared after)."""
    held = {name: alias.version_id for name, alias in aliases(ws, project).items()}
    cleared = [Step(other, None, "clear", note=note) for other in left_behind(held, version.id, step.alias)]
    return [
        *(c for c in cleared if c.alias == "candidate"),
        step,
        *(c for c in cleared if c.alias != "candidate"),
    ]


def deploy(
    ws: Workspace,
    project: Project,
    ref: int | str,
    strategy: str,
    percent: float | None = None,
    reason: str = "",
    expect: tuple[Move, ...] | None = None,
    override: str | None = None,
) -> Plan:
    """Carry out `plan_deploy`; returns the plan carried out. `expect`: the moves a person
    confirmed; a plan that differs now is refused, nothing done (so for every action). A
    version whose model cannot load or answer is refused before any alias moves; so is a
    blue-green of a version whose gate did not pass, without `override` (a reason)."""
    check_override(None, override, "deploy")
    check_answers(ws, project, get_version(ws, project, ref))
    with ws.store.transaction():
        plan = plan_deploy(ws, project, ref, strategy, percent)
        as_confirmed(expect, plan.moves)
        taken = check_override(plan.gate, override, "deploy")
        payload = {"version": plan.target.version, "strategy": strategy, "percent": percent, "reason": reason}
        _carry_out(ws, project, plan, reason or f"{strategy} deploy", "deploy", payload, taken)
    return plan


def check_answers(ws: Workspace, project: Project, version: ModelVersion) -> None:
    """The version's model loads here and predicts one row of its own split (validation): a
    model that cannot (its class defined in a script's __main__, a module not installed, a
    pickle this scikit-learn cannot read) would only answer with errors once routed."""
    from cockpit.data.splits import get_split, split_frames
    from cockpit.training.fit import predict
    from cockpit.training.runs import load_pipeline

    run = get_run(ws, project, version.run_id)
    try:
        pipeline = load_pipeline(ws, run)
        if run.split_id is not None:
            parts = split_frames(ws, project, get_split(ws, project, run.split_id))
            row = next((parts[p] for p in ("validation", "test", "train") if len(parts[p])), None)
            if row is not None:
                predict(pipeline, row.head(1).drop(columns=[project.target], errors="ignore"), project.task)
    except Exception as exc:  # whatever stops the model answering is the refusal
        reason = str(exc) if isinstance(exc, CockpitError) else f"{type(exc).__name__}: {exc}"
        raise CockpitError(
            f"{version.label} cannot be deployed: its model cannot answer here ({reason})"[:400]
        ) from None


def plan_canary_percent(ws: Workspace, project: Project, percent: float) -> Plan:
    canary = alias_version_id(ws, project, "canary")
    if canary is None:
        raise CockpitError("no canary is running")
    if not 0 < percent < 100:
        raise CockpitError("the canary percent is between 0 and 100 (exclusive)")
    step = Step("canary", canary, "percent", percent, "canary")
    return _plan(ws, project, version_by_id(ws, canary), [step])


def set_canary_percent(
    ws: Workspace, project: Project, percent: float, reason: str = "", expect: tuple[Move, ...] | None = None
) -> Plan:
    """The canary's share of entities changes; returns what changed."""
    with ws.store.transaction():
        plan = plan_canary_percent(ws, project, percent)
        as_confirmed(expect, plan.moves)
        payload = {"percent": percent}
        _carry_out(ws, project, plan, reason or f"canary at {percent:g}%", "canary percent", payload)
    return plan


def plan_promote(ws: Workspace, project: Project, ref: int | str | None = None) -> Plan:
    """Make a version production: by default the canary. The canary or shadow alias it held
    is cleared."""
    if ref is None:
        canary = alias_version_id(ws, project, "canary")
        if canary is None:
            raise CockpitError("nothing to promote: no canary is running (or name a version)")
        version = version_by_id(ws, canary)
    else:
        version = get_version(ws, project, ref)
    if version.status != "active":
        raise CockpitError(f"{version.label} is {version.status}; promote an active version")
    steps = _around(ws, project, version, Step("production", version.id, "promote"), "promoted to production")
    return _plan(ws, project, version, steps, judge=True)


def promote(
    ws: Workspace,
    project: Project,
    ref: int | str | None = None,
    reason: str = "",
    expect: tuple[Move, ...] | None = None,
    override: str | None = None,
) -> Plan:
    """Carry out `plan_promote`. A version whose gate did not pass is refused without
    `override` (a reason; the ledger keeps it with the failed rules)."""
    check_override(None, override, "promote")
    with ws.store.transaction():
        plan = plan_promote(ws, project, ref)
        as_confirmed(expect, plan.moves)
        taken = check_override(plan.gate, override, "promote")
        payload = {"version": plan.target.version, "reason": reason}
        _carry_out(ws, project, plan, reason or "promoted", "promote", payload, taken)
    return plan


def plan_rollback(ws: Workspace, project: Project, reason: str = "") -> Plan:
    """Production goes back to the version it held before the current one; canary stops, and
    so does the shadow if it is that version."""
    blocked = rollback_blocker(ws, project)
    if blocked is not None:
        raise CockpitError(blocked)
    target = _rollback_target(ws, project)
    assert target is not None  # rollback_blocker said there is one
    steps = [Step("production", target.id, "rollback")]
    if alias_version_id(ws, project, "canary") is not None:
        steps.append(Step("canary", None, "clear", note="rollback: " + reason))
    if alias_version_id(ws, project, "shadow") == target.id:
        steps.append(Step("shadow", None, "clear", note=f"rollback: {target.label} is production now"))
    return _plan(ws, project, target, steps)


def _rollback_target(ws: Workspace, project: Project) -> ModelVersion | None:
    """The version production held before the current one (None: none, or no production)."""
    current = alias_version_id(ws, project, "production")
    row = ws.store.one(
        "SELECT previous_version_id FROM ledger WHERE project_id = ? AND alias = "
        "'production' AND version_id = ? AND previous_version_id IS NOT NULL "
        "AND previous_version_id != ? ORDER BY id DESC LIMIT 1",
        [project.id, current, current],
    )
    return None if current is None or row is None else version_by_id(ws, row["previous_version_id"])


def rollback_blocker(ws: Workspace, project: Project) -> str | None:
    """Why production cannot be rolled back now, or None when it can."""
    current = alias_version_id(ws, project, "production")
    if current is None:
        return "no production model to roll back"
    target = _rollback_target(ws, project)
    if target is None:
        version = version_by_id(ws, current).version
        return f"production has no earlier version to roll back to (v{version} replaced none)"
    if target.status != "active":  # its model file is archived: it would only answer errors
        return f"the version production replaced, {target.label}, is {target.status}"
    return None


def rollback(ws: Workspace, project: Project, reason: str, expect: tuple[Move, ...] | None = None) -> Plan:
    if not (reason or "").strip():
        raise CockpitError("a rollback needs a reason (--reason)")
    with ws.store.transaction():
        plan = plan_rollback(ws, project, reason)
        as_confirmed(expect, plan.moves)
        payload = {"to_version": plan.target.version, "reason": reason}
        _carry_out(ws, project, plan, reason, "rollback", payload)
    return plan


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One move of an alias: who pointed it where, from which version, and why."""

    id: int
    project_id: int
    alias: str
    version_id: int | None  # None: the alias was cleared
    previous_version_id: int | None
    percent: float | None
    action: str
    strategy: str | None
    reason: str | None
    user: str
    at: str
    version: int | None  # the version numbers of version_id and previous_version_id
    previous_version: int | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def ledger(ws: Workspace, project: Project, limit: int = 200) -> list[LedgerEntry]:
    """The project's alias moves, newest first."""
    rows = ws.store.rows(
        "SELECT l.*, v.version AS version, p.version AS previous_version FROM ledger l "
        "LEFT JOIN model_versions v ON v.id = l.version_id "
        "LEFT JOIN model_versions p ON p.id = l.previous_version_id "
        "WHERE l.project_id = ? ORDER BY l.id DESC LIMIT ?",
        [project.id, limit],
    )
    return [LedgerEntry(**row) for row in rows]


def production_at(ws: Workspace, project: Project, when: str) -> int | None:
    """The version number that was production at an ISO time."""
    row = ws.store.one(
        "SELECT v.version FROM ledger l LEFT JOIN model_versions v ON "
        "v.id = l.version_id WHERE l.project_id = ? AND l.alias = 'production' "
        "AND l.at <= ? ORDER BY l.id DESC LIMIT 1",
        [project.id, when],
    )
    return row["version"] if row else None


# settings key: the highest version number of the project's model versions a deletion removed
MODEL_VERSION_FLOOR = "model_version_floor.{project_id}"


def next_model_version(ws: Workspace, project_id: int) -> int:
    """One more than any version number the project ever had, a deleted one included (after
    `cockpit delete run` took a retired v3, the next version is v4, not v3 again)."""
    highest = ws.store.scalar("SELECT max(version) FROM model_versions WHERE project_id = ?", [project_id])
    floor = ws.setting(MODEL_VERSION_FLOOR.format(project_id=project_id))
    return max(highest or 0, int(floor or 0)) + 1
