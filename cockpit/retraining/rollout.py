"""What a retrain may change in what production serves, and the rule that decides it.

A challenger that beats production is gated against production on its own test split. It
starts as the triggers say (canary or shadow) only when it passes that gate, or when a person
overrides the gate with a reason; otherwise it is registered as a candidate, nothing is
deployed, and an alert says which gate rules failed and how to deploy it anyway. Production
itself never changes here: a retrain starts a canary or a shadow, a person promotes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cockpit.audit import current_user
from cockpit.deployment.moves import Move, Slot, as_confirmed
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.retraining.policy import Triggers, triggers
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    from cockpit.deployment.registry import ModelVersion
    from cockpit.evaluation.gate import GateResult
    from cockpit.retraining.cycle import Outcome

DEPLOYED = "deployed"
OVERRIDDEN = "deployed (override)"
CANDIDATE = "candidate: gate failed"
DEPLOY_ANYWAY = "cockpit retrain deploy --override 'REASON'"


def check_override(override: str | None) -> str | None:
    """An override is a reason a person gives: blank is refused, before anything runs."""
    if override is not None and not override.strip():
        raise CockpitError("--override takes a reason: why deploy a challenger that failed its gate")
    return override.strip() if override else None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a retrain started now would change, given the triggers and the aliases: the
    challenger (registered as version `challenger`) takes the triggers' alias only if it
    beats production and passes its gate; production stays as it is either way."""

    production: Slot
    held: Slot | None  # what the triggers' alias (canary or shadow) holds now
    challenger: int
    settings: Triggers

    def started(self) -> Slot:
        """The alias as the challenger would hold it."""
        canary = self.settings.strategy == "canary"
        return Slot(self.challenger, self.settings.canary_percent if canary else None)

    def moves(self) -> tuple[Move, ...]:
        """What may change, the conditions said in words."""
        return (
            Move(
                self.settings.strategy,
                _text(self.held),
                f"{self.started().text()} if it wins and passes its gate",
            ),
            Move("production", self.production.text(), "unchanged"),
            Move("gate", "not known yet", f"if it fails: v{self.challenger} a candidate, nothing deployed"),
        )

    def question(self) -> str:
        return (
            f"Retrain now? A challenger (v{self.challenger}) is trained and judged against "
            f"production {self.production.text()} on the newest labelled month."
        )


def _text(slot: Slot | None) -> str:
    return slot.text() if slot else "none"


def plan(ws: Workspace, project: Project) -> Plan:
    """What `retrain` would change now (the challenger does not exist yet: its gate is not
    known, so each branch is said)."""
    from cockpit.deployment import registry

    settings = triggers(ws, project)
    held = registry.aliases(ws, project)
    numbers = {v.id: v.version for v in registry.list_versions(ws, project)}

    def slot(alias: str) -> Slot | None:
        found = held.get(alias)
        if found is None or found.version_id not in numbers:
            return None
        return Slot(numbers[found.version_id], found.percent if alias == "canary" else None)

    production = slot("production")
    if production is None:
        raise CockpitError(
            "no production model to retrain against: deploy one first "
            "(cockpit deploy VERSION --strategy blue-green)"
        )
    return Plan(production, slot(settings.strategy), max(numbers.values(), default=0) + 1, settings)


def as_planned(ws: Workspace, project: Project, expect: tuple[Move, ...] | None) -> None:
    """Refuse a retrain whose plan differs from the one a person confirmed (None: nobody
    was asked): the aliases or the versions changed meanwhile."""
    as_confirmed(expect, plan(ws, project).moves())


def gate_challenger(ws: Workspace, project: Project, champion: ModelVersion, judged: Outcome) -> GateResult:
    """The challenger that beat production, gated against production (before the retrain's
    transaction: the gate's evaluation does not hold the write lock)."""
    from cockpit.evaluation.gate import gate
    from cockpit.training.runs import get_run

    assert judged.challenger_run is not None  # only a challenger that won is gated
    challenger = get_run(ws, project, judged.challenger_run)
    return gate(ws, project, challenger, against=get_run(ws, project, champion.run_id))


def release(
    ws: Workspace,
    project: Project,
    champion: ModelVersion,
    judged: Outcome,
    verdict: GateResult,
    reasons: list[str],
    override: str | None,
) -> Outcome:
    """The challenger beat production; by its gate's verdict, deploy it (gate passed, or
    overridden with a reason) or register it as a candidate and raise an alert. The caller
    holds the retrain's transaction."""
    from cockpit.deployment import registry

    assert judged.challenger_run is not None  # only a challenger that won is released
    challenger = judged.challenger_run
    rules = ", ".join(r.name for r in verdict.rules if not r.passed)
    if verdict.passed:
        steps = [f"gate passed against v{champion.version}"]
        steps += ["the override was not needed"] if override else []
        registered = registry.register(ws, project, challenger)
        why = f"retrain challenger ({'; '.join(reasons) or 'manual'})"
        return _started(ws, project, _with(judged, steps), registered, why, DEPLOYED)
    if override:
        registered = registry.register(ws, project, challenger, override)
        why = f"override by {current_user()}: {override} (gate failed: {rules})"
        judged = _with(judged, [f"gate failed: {rules}; overridden: {override}"])
        return _started(ws, project, judged, registered, why, OVERRIDDEN)
    return _candidate(ws, project, champion, judged, rules)


def _with(judged: Outcome, steps: list[str]) -> Outcome:
    return replace(judged, steps=[*judged.steps, *steps])


def _candidate(
    ws: Workspace, project: Project, champion: ModelVersion, judged: Outcome, rules: str
) -> Outcome:
    """Register the gate-failed challenger as a candidate only and say so in an alert."""
    from cockpit.deployment import registry

    assert judged.challenger_run is not None  # only a challenger that won gets here
    registered = registry.register(
        ws, project, judged.challenger_run, f"retrain challenger, a candidate only: failed its gate ({rules})"
    )
    raise_alert(
        ws,
        project,
        f"retrained {registered.label} beats production v{champion.version} on {judged.window} "
        f"({judged.metric} {judged.challenger_score:.4f} vs {judged.champion_score:.4f}) but "
        f"failed its gate ({rules}): registered as candidate, nothing deployed; to deploy it "
        f"anyway: {DEPLOY_ANYWAY}",
    )
    steps = [
        f"gate failed: {rules}",
        f"registered v{registered.version} as candidate; nothing deployed, alert raised",
    ]
    return replace(_with(judged, steps), decision=CANDIDATE, version_id=registered.id)


def _started(
    ws: Workspace, project: Project, judged: Outcome, version: ModelVersion, why: str, decision: str
) -> Outcome:
    """Start a registered challenger as the triggers say (canary or shadow)."""
    settings = start(ws, project, version, why)
    started = f"registered v{version.version}, started as {settings.strategy}" + (
        f" ({settings.canary_percent:g}%)" if settings.strategy == "canary" else ""
    )
    return replace(judged, decision=decision, steps=[*judged.steps, started], version_id=version.id)


def start(ws: Workspace, project: Project, version: ModelVersion, why: str) -> Triggers:
    """Deploy `version` as the triggers say; the ledger keeps `why`. Returns the triggers.
    The deploy clears the candidate alias it held (cockpit.deployment.standing.left_behind)."""
    from cockpit.deployment import registry

    settings = triggers(ws, project)
    percent = settings.canary_percent if settings.strategy == "canary" else None
    registry.deploy(ws, project, version.version, settings.strategy, percent, why)
    return settings


def raise_alert(ws: Workspace, project: Project, message: str) -> None:
    """A firing alert of the project's retrain rule (made on first use)."""
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


def failed_rules(ws: Workspace, version: ModelVersion) -> list[str]:
    """The names of the gate rules `version`'s gate failed (none when it passed)."""
    from cockpit.evaluation.gate import latest_gate

    verdict = latest_gate(ws, version.run_id)
    return [] if verdict is None else [r.name for r in verdict.rules if not r.passed]


@dataclass(frozen=True, slots=True)
class Pending:
    """The latest retrain's challenger, registered as a candidate because it failed its gate:
    what deploying it anyway would change."""

    retrain: int
    version: int
    failed: list[str]
    plan: Plan
    candidate: bool  # it still holds the candidate alias

    def moves(self) -> tuple[Move, ...]:
        """What deploying it anyway changes (it serves, so it is no longer a candidate)."""
        found = self.plan
        return (
            Move(found.settings.strategy, _text(found.held), found.started().text()),
            *([Move("candidate", f"v{self.version}", "none")] if self.candidate else []),
            Move("production", found.production.text(), "unchanged"),
            Move("gate", f"failed ({', '.join(self.failed)})", "overridden, your reason in the ledger"),
        )

    def question(self) -> str:
        return (
            f"v{self.version} beat production but FAILED its gate ({', '.join(self.failed)}): "
            "it is a candidate, nothing is deployed. Deploy it anyway? "
            "The reason you type overrides the gate."
        )


def pending(ws: Workspace, project: Project) -> Pending | None:
    """The latest retrain's challenger when it waits as a candidate after failing its gate
    (still active, not deployed since); None otherwise."""
    from cockpit.deployment import registry

    row = ws.store.one(
        "SELECT id, decision, version_id FROM retrains WHERE project_id = ? ORDER BY id DESC LIMIT 1",
        [project.id],
    )
    if row is None or row["decision"] != CANDIDATE or row["version_id"] is None:
        return None
    version = registry.version_by_id(ws, row["version_id"])
    aliases = registry.aliases(ws, project)
    held = {a.version_id for name, a in aliases.items() if name != "candidate"}
    if version.status != "active" or version.id in held:
        return None
    found = replace(plan(ws, project), challenger=version.version)
    candidate = "candidate" in aliases and aliases["candidate"].version_id == version.id
    return Pending(row["id"], version.version, failed_rules(ws, version), found, candidate)


def deploy_anyway(
    ws: Workspace, project: Project, override: str | None, expect: tuple[Move, ...] | None = None
) -> Pending:
    """Deploy the latest retrain's gate-failed candidate as the triggers say: the ledger
    keeps who, the reason and the failed gate rules; the retrain's record says so too.
    `expect`: the moves a person confirmed; if they differ now, nothing is done."""
    reason = check_override(override)
    if reason is None:
        raise CockpitError("deploying a challenger that failed its gate takes --override 'REASON'")
    with ws.store.transaction():
        found = _waiting(ws, project)
        as_confirmed(expect, found.moves())
        _deploy_pending(ws, project, found, reason)
    return found


def _waiting(ws: Workspace, project: Project) -> Pending:
    found = pending(ws, project)
    if found is None:
        last = ws.store.scalar(
            "SELECT decision FROM retrains WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project.id]
        )
        said = f"the latest retrain decided {last!r}" if last else "no retrain yet"
        raise CockpitError(f"no retrained candidate waits for an override ({said})")
    return found


def _deploy_pending(ws: Workspace, project: Project, found: Pending, reason: str) -> None:
    """The caller holds the transaction."""
    import json

    from cockpit.deployment import registry

    version = registry.get_version(ws, project, found.version)
    why = f"override by {current_user()}: {reason} (gate failed: {', '.join(found.failed)})"
    steps = json.loads(ws.store.scalar("SELECT steps FROM retrains WHERE id = ?", [found.retrain]))
    settings = start(ws, project, version, why)
    started = f"deployed anyway as {settings.strategy} by {current_user()}: {reason}"
    ws.store.update("retrains", {"id": found.retrain}, {"decision": OVERRIDDEN, "steps": [*steps, started]})
    _settle_alert(ws, project, version, started)


def _settle_alert(ws: Workspace, project: Project, version: ModelVersion, comment: str) -> None:
    """The candidate's alert ("nothing deployed") is acknowledged with what was done."""
    from cockpit.monitoring.alerts import acknowledge

    alert_id = ws.store.scalar(
        "SELECT a.id FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.project_id = ? "
        "AND r.metric = 'retrain' AND a.status = 'firing' AND a.message LIKE ? ORDER BY a.id DESC",
        [project.id, f"retrained {version.label} %"],
    )
    if alert_id is not None:
        acknowledge(ws, project, alert_id, comment)
