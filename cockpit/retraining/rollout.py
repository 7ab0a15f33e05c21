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
class Slot:
    """One alias as it stands: which version holds it, at what share of traffic."""

    alias: str
    version: int | None
    percent: float | None = None

    def text(self) -> str:
        if self.version is None:
            return "none"
        return f"v{self.version}" + (f" ({self.percent:g}%)" if self.percent is not None else "")


@dataclass(frozen=True, slots=True)
class Plan:
    """What a retrain started now would change, given the triggers and the aliases: the
    challenger (registered as version `challenger`) takes `slot` only if it beats
    production and passes its gate; production stays as it is either way."""

    production: Slot
    slot: Slot
    challenger: int
    settings: Triggers

    def started(self) -> str:
        """The slot as the challenger would hold it."""
        share = f" ({self.settings.canary_percent:g}%)" if self.settings.strategy == "canary" else ""
        return f"v{self.challenger}{share}"

    def changes(self) -> list[tuple[str, str, str]]:
        """(what, before, after) lines, the conditions said in words."""
        return [
            (self.slot.alias, self.slot.text(), f"{self.started()} if it wins and passes its gate"),
            ("production", self.production.text(), "unchanged"),
            ("gate", "not known yet", f"if it fails: v{self.challenger} a candidate, nothing deployed"),
        ]

    def question(self) -> str:
        return (
            f"Retrain now? A challenger (v{self.challenger}) is trained and judged against "
            f"production {self.production.text()} on the newest labelled month."
        )


def plan(ws: Workspace, project: Project) -> Plan:
    """What `retrain` would change now (the challenger does not exist yet: its gate is not
    known, so each branch is said)."""
    from cockpit.deployment import registry

    settings = triggers(ws, project)
    held = registry.aliases(ws, project)
    numbers = {v.id: v.version for v in registry.list_versions(ws, project)}

    def slot(alias: str) -> Slot:
        found = held.get(alias)
        if found is None or found.version_id is None:
            return Slot(alias, None)
        return Slot(alias, numbers.get(found.version_id), found.percent if alias == "canary" else None)

    production = slot("production")
    if production.version is None:
        raise CockpitError(
            "no production model to retrain against: deploy one first "
            "(cockpit deploy VERSION --strategy blue-green)"
        )
    return Plan(production, slot(settings.strategy), max(numbers.values(), default=0) + 1, settings)


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
    A version that starts serving is no longer a candidate: that alias is cleared."""
    from cockpit.deployment import registry

    settings = triggers(ws, project)
    percent = settings.canary_percent if settings.strategy == "canary" else None
    with ws.store.transaction():
        if registry.alias_version_id(ws, project, "candidate") == version.id:
            note = f"{version.label} serves as {settings.strategy} now"
            registry.set_alias(ws, project, "candidate", None, action="clear", reason=note)
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

    def changes(self) -> list[tuple[str, str, str]]:
        """(what, before, after) lines of deploying it anyway."""
        return [
            (self.plan.slot.alias, self.plan.slot.text(), self.plan.started()),
            ("production", self.plan.production.text(), "unchanged"),
            ("gate", f"failed ({', '.join(self.failed)})", "overridden, your reason in the ledger"),
        ]

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
    held = {a.version_id for name, a in registry.aliases(ws, project).items() if name != "candidate"}
    if version.status != "active" or version.id in held:
        return None
    found = plan(ws, project)
    return Pending(
        row["id"], version.version, failed_rules(ws, version), replace(found, challenger=version.version)
    )


def deploy_anyway(ws: Workspace, project: Project, override: str | None) -> Pending:
    """Deploy the latest retrain's gate-failed candidate as the triggers say: the ledger
    keeps who, the reason and the failed gate rules; the retrain's record says so too."""
    import json

    from cockpit.deployment import registry

    reason = check_override(override)
    if reason is None:
        raise CockpitError("deploying a challenger that failed its gate takes --override 'REASON'")
    found = pending(ws, project)
    if found is None:
        last = ws.store.scalar(
            "SELECT decision FROM retrains WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project.id]
        )
        said = f"the latest retrain decided {last!r}" if last else "no retrain yet"
        raise CockpitError(f"no retrained candidate waits for an override ({said})")
    version = registry.get_version(ws, project, found.version)
    why = f"override by {current_user()}: {reason} (gate failed: {', '.join(found.failed)})"
    steps = json.loads(ws.store.scalar("SELECT steps FROM retrains WHERE id = ?", [found.retrain]))
    with ws.store.transaction():
        settings = start(ws, project, version, why)
        started = f"deployed anyway as {settings.strategy} by {current_user()}: {reason}"
        ws.store.update(
            "retrains", {"id": found.retrain}, {"decision": OVERRIDDEN, "steps": [*steps, started]}
        )
        _settle_alert(ws, project, version, started)
    return found


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
