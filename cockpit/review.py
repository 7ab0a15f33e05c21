"""The launch-readiness review: can the team reproduce, evaluate, deploy, monitor and
replace this model? Each step is answered from the store with its evidence, the classic
failure modes are named, and a reviewer approves, blocks or waives each step."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from cockpit.audit import current_user, login_user, who
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.text import counted
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    from cockpit.deployment.registry import ModelVersion
    from cockpit.evaluation.gate import GateResult
    from cockpit.monitoring.alerts import Alert
    from cockpit.monitoring.served import Served
    from cockpit.problem.spec import ProblemSpec
    from cockpit.training.runs import Run

STEPS = ("reproducible", "evaluated", "deployable", "monitored", "replaceable")
DECISIONS = ("approve", "block", "waive")
SERVING = ("production", "canary")  # the aliases that answer requests, so production alerts are theirs


class Evidence(NamedTuple):
    ok: bool
    text: str


@dataclass(frozen=True, slots=True)
class Step:
    """One question of the review: its evidence, what holds it back whatever a reviewer
    signs (`held`: a critical alert firing on the version), and its latest sign-off."""

    name: str
    passed: bool
    evidence: list[Evidence]
    decision: str | None = None
    reviewer: str | None = None
    comment: str | None = None
    os_user: str | None = None
    held: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        if self.decision == "block" or self.held:
            return False
        return self.passed or self.decision == "waive"

    @property
    def signer(self) -> str | None:
        """Who signed as the system knows it, with the name claimed beside it: "root (as
        demo-lead)" (audit.who); None when nobody signed."""
        return who(self.os_user, self.reviewer) if self.reviewer else None

    @property
    def failing(self) -> list[str]:
        """The texts of the evidence that says NO."""
        return [text for ok, text in self.evidence if not ok]


@dataclass(frozen=True, slots=True)
class Review:
    version: int
    steps: list[Step]
    failure_modes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(step.ok for step in self.steps)

    @property
    def signed(self) -> int:
        """How many steps carry a sign-off."""
        return sum(step.decision is not None for step in self.steps)

    def reasons(self) -> list[str]:
        """Why the version is not ready, most pressing first: what holds a step (a critical
        alert), the steps a reviewer blocked, then the failing steps nobody waived."""
        held = [text for step in self.steps for text in step.held]
        blocked = [s.name for s in self.steps if s.decision == "block"]
        failing = [s.name for s in self.steps if not s.ok and not s.held and s.decision != "block"]
        return [
            *held,
            *(["blocked: " + ", ".join(blocked)] if blocked else []),
            *(["failing: " + ", ".join(failing)] if failing else []),
        ]

    def verdict(self) -> str:
        """One line: 'v1 ✓ READY' or 'v1 ✗ NOT READY · <the first reason>'."""
        if self.ready:
            return f"v{self.version} ✓ READY"
        return f"v{self.version} ✗ NOT READY · {self.reasons()[0]}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "ready": self.ready,
            "verdict": self.verdict(),
            "reasons": self.reasons(),
            "failure_modes": self.failure_modes,
            "steps": [{**asdict(s), "ok": s.ok, "signed_by": s.signer} for s in self.steps],
        }


def review_subject(ws: Workspace, project: Project) -> ModelVersion | None:
    """The version a review looks at unless told: production, else the newest version."""
    from cockpit.deployment import registry

    production = registry.alias_version_id(ws, project, "production")
    if production is not None:
        return registry.version_by_id(ws, production)
    versions = registry.list_versions(ws, project)
    return versions[-1] if versions else None


def review(ws: Workspace, project: Project, ref: int | str) -> Review:
    """Each step's evidence from the store, its latest sign-off, and the failure modes."""
    from cockpit.deployment import registry
    from cockpit.monitoring.served import served
    from cockpit.problem import current_spec
    from cockpit.training.runs import get_run

    version = registry.get_version(ws, project, ref)
    run = get_run(ws, project, version.run_id)
    spec = current_spec(ws, project)
    traffic = served(ws, project, version.version)
    alerts, held_by = _critical_alerts(ws, project, version, traffic)
    evidence = (
        _reproducible(ws, run),
        _evaluated(ws, project, run),
        _deployable(ws, project, version),
        _monitored(ws, project, traffic) + alerts,
        _replaceable(ws, project, spec),
    )
    held = {"monitored": held_by}
    steps = [
        _signed(ws, version.id, Step(name, all(ok for ok, _ in found), found, held=held.get(name, ())))
        for name, found in zip(STEPS, evidence, strict=True)
    ]
    return Review(version.version, steps, _failure_modes(ws, project, run, spec, traffic))


def _critical_alerts(
    ws: Workspace, project: Project, version: ModelVersion, traffic: Served
) -> tuple[list[Evidence], tuple[str, ...]]:
    """The evidence on critical alerts about the version's own traffic and what they hold
    back. A critical alert firing and not acknowledged holds back the version that answered
    rows in the alert's window; one without a window (not about a window's traffic) holds
    the versions that serve now. No sign-off lifts it, acknowledging the alert (or its
    resolving) does."""
    from cockpit.deployment import registry
    from cockpit.monitoring.attention import alert_state

    serving = {a.name for a in registry.aliases(ws, project).values() if a.version_id == version.id}
    serves_now = bool(serving & set(SERVING))
    if not serves_now and not traffic.windows:
        return [], ()

    def its_own(alert: Alert) -> bool:
        return alert.window in traffic.windows if alert.window else serves_now

    alerts = alert_state(ws, project)
    critical = [a for a in alerts.critical if its_own(a)]
    accounts = _acknowledging_accounts(ws, project)
    acknowledged = [
        Evidence(
            True,
            f"critical alert {a.id} acknowledged by "
            f"{who(accounts.get(a.id), a.acknowledged_by or '')}: {a.comment}",
        )
        for a in alerts.acknowledged
        if a.severity == "critical" and its_own(a)
    ]
    if not critical:
        return [Evidence(True, "no critical alert firing on its traffic"), *acknowledged], ()
    evidence = [
        Evidence(
            False,
            f"critical alert {a.id} firing: {a.message} "
            f"(act on it, or acknowledge: cockpit monitor ack {a.id} --comment TEXT)",
        )
        for a in critical
    ]
    return [*evidence, *acknowledged], tuple(f"critical alert {a.id} firing" for a in critical)


def _acknowledging_accounts(ws: Workspace, project: Project) -> dict[int, str]:
    """Each acknowledged alert's OS account, from the audit event of its (latest)
    acknowledgement: the alert row keeps only the name claimed, as a sign-off's reviewer."""
    rows = ws.store.rows(
        "SELECT json_extract(details, '$.alert') AS alert, os_user FROM events "
        "WHERE project_id = ? AND stage = 'monitoring' AND action = 'alert acknowledged' ORDER BY id",
        [project.id],
    )
    return {row["alert"]: row["os_user"] for row in rows if row["os_user"]}


def _reproducible(ws: Workspace, run: Run) -> list[Evidence]:
    """Code commit, a clean tree, pinned data, environment and seed, the last reproduce."""
    from cockpit.training.origin import model_text, origin_text
    from cockpit.training.reproduce import last_reproduction

    # where a model not of the catalogue came from (a catalogue family is named by the run)
    made = [Evidence(True, f"model {model_text(run)}, {origin_text(run)}")] if run.kind != "catalog" else []
    if run.kind == "file":  # nothing of how it was made is known: no code, data or seed
        return [
            *made,
            Evidence(False, "no code, training data or seed recorded: it cannot be trained again"),
            Evidence(
                run.version_id is not None, f"scored on data version v{run.version_id} pinned by sha256"
            ),
        ]
    reproduction = last_reproduction(ws, run.id)
    identical = bool(reproduction and reproduction["identical"])
    return [
        *made,
        Evidence(
            run.git_commit is not None,
            f"code commit {run.git_commit[:12]}" if run.git_commit else "no code commit: trained outside git",
        ),
        Evidence(
            run.git_dirty is False,
            "working tree clean when trained"
            if run.git_dirty is False
            else "trained from uncommitted changes"
            if run.git_dirty
            else "working tree unknown: trained outside git",
        ),
        Evidence(run.version_id is not None, f"data version v{run.version_id} pinned by sha256"),
        Evidence(
            bool(run.library_versions) and run.seed is not None, f"environment and seed {run.seed} recorded"
        ),
        Evidence(
            identical,
            "last reproduce: "
            + ("identical" if identical else "differs" if reproduction else "never run (cockpit reproduce)"),
        ),
    ]


def _test_look(ws: Workspace, run: Run) -> tuple[GateResult | None, int | None, dict[str, Any]]:
    """The run's latest gate, how often the test split was looked at before the run's latest
    test evaluation (a look again after the gate counts: its choice may rest on it), and the
    details of the evaluation the gate judged (the segments it checked)."""
    from cockpit.evaluation.gate import latest_gate

    gate = latest_gate(ws, run.id)
    looks = ws.store.scalar(
        "SELECT looks_before FROM evaluations WHERE run_id = ? AND part = 'test' ORDER BY id DESC LIMIT 1",
        [run.id],
    )
    judged = gate and ws.store.scalar("SELECT details FROM evaluations WHERE id = ?", [gate.evaluation_id])
    return gate, looks, json.loads(judged) if judged else {}


def _evaluated(ws: Workspace, project: Project, run: Run) -> list[Evidence]:
    """The gate, one look at the test split, segments checked, no leak in its split (and
    the leaks a person accepted, with who and why)."""
    gate, looks, details = _test_look(ws, run)
    leaks, accepted = _split_leaks(ws, project, run.split_id)
    return [
        Evidence(
            bool(gate and gate.passed),
            "gate passed on test"
            if gate and gate.passed
            else ("gate failed: " + ", ".join(r.name for r in gate.rules if not r.passed))
            if gate
            else "never gated",
        ),
        Evidence(
            looks == 0,
            "test split looked at once"
            if looks == 0
            else f"test split looked at {counted(looks, 'time')} before"
            if looks is not None
            else "no test look",
        ),
        Evidence(
            bool(details.get("segment_columns")),
            "segments checked: " + (", ".join(details.get("segment_columns", [])) or "none named"),
        ),
        Evidence(leaks == 0, "no leakage flagged in its split" if not leaks else f"{leaks} leak(s) flagged"),
        *[
            Evidence(
                True,
                f"leak finding {f['id']} accepted by {f['accepted']['accepted_by']}: "
                f"{f['accepted']['reason']}",
            )
            for f in accepted
        ],
    ]


def _deployable(ws: Workspace, project: Project, version: ModelVersion) -> list[Evidence]:
    """The artifact verified, something to roll back or fall back to, a fallback rule."""
    try:
        ws.artifacts.verified_path(version.artifact_sha256)
        artifact_ok = True
    except Exception:  # noqa: BLE001 - evidence, not an error
        artifact_ok = False
    fallback = ws.store.scalar("SELECT 1 FROM fallbacks WHERE project_id = ?", [project.id])
    target, text = _rollback_target(ws, project, version)
    if target is None and fallback:
        text += "; the fallback rule answers instead"
    return [
        Evidence(artifact_ok, "artifact verified (sha256)" if artifact_ok else "artifact missing/changed"),
        Evidence(target is not None or bool(fallback), text),
        Evidence(bool(fallback), "fallback rule defined" if fallback else "no fallback rule"),
    ]


def _rollback_target(ws: Workspace, project: Project, version: ModelVersion) -> tuple[Any, str]:
    """The version a rollback would return to, as `cockpit rollback` finds it: for the version
    in production, the one it replaced; for another, production itself (any other registered
    version was no rollback target: rollback said 'v1 replaced none')."""
    from cockpit.deployment import registry

    production = registry.alias_version_id(ws, project, "production")
    if production is None:
        return None, "nothing to roll back to: no version in production"
    if production != version.id:
        current = registry.version_by_id(ws, production)
        return current, f"rollback target: v{current.version} (production now)"
    try:
        target = registry.plan_rollback(ws, project).target
    except CockpitError as exc:
        return None, str(exc)
    return target, f"rollback target: v{target.version} (production replaced it)"


def _rules(ws: Workspace, project: Project) -> int:
    return ws.store.scalar("SELECT count(*) FROM alert_rules WHERE project_id = ?", [project.id])


def _monitored(ws: Workspace, project: Project, traffic: Served) -> list[Evidence]:
    """Alert rules, the production traffic the version answered (what monitoring watched of
    it), and a check that ran. A version that has answered nothing yet says so: before its
    launch the project's watched batches show monitoring works."""
    rules = _rules(ws, project)
    checked = ws.store.scalar(
        "SELECT max(computed_at) FROM monitor_windows WHERE project_id = ?", [project.id]
    )
    return [
        Evidence(bool(rules), f"{rules} alert rules"),
        Evidence(bool(traffic.project_batches or traffic.requests), _traffic_text(traffic)),
        Evidence(
            bool(checked),
            f"last checked {checked[:16]}" if checked else "never checked (cockpit monitor check)",
        ),
    ]


def _traffic_text(traffic: Served) -> str:
    """'5 production batches watched (3,100 rows answered by v1), 33 requests answered (95
    rows), newest …'."""
    if not traffic.anything:
        watched = traffic.project_batches
        return f"v{traffic.version} has answered no production batch or request yet" + (
            f" (monitoring watches the project's {counted(watched, 'batch', 'batches')})"
            if watched
            else " and the project has no production data"
        )
    parts = []
    if traffic.batches:
        parts.append(
            f"{counted(traffic.batches, 'production batch', 'production batches')} watched "
            f"({traffic.rows:,} rows answered by v{traffic.version})"
        )
    if traffic.requests:
        parts.append(
            f"{counted(traffic.requests, 'request')} answered ({counted(traffic.request_rows, 'row')})"
        )
    return ", ".join(parts) + (f", newest {traffic.newest[:10]}" if traffic.newest else "")


def _replaceable(ws: Workspace, project: Project, spec: ProblemSpec) -> list[Evidence]:
    """A retrain trigger in force (the triggers stage 8 and `retrain --if-due` use, their
    defaults included), and a human path named in the spec."""
    from cockpit.retraining.policy import Triggers, triggers

    settings = triggers(ws, project)
    on = [
        *([f"every {settings.schedule_days:g} days"] if settings.schedule_days else []),
        *(["on alert"] if settings.on_alert else []),
        *([f"after {settings.new_labels} new labels"] if settings.new_labels else []),
    ]
    defaults = " (the defaults)" if settings == Triggers() else ""
    return [
        Evidence(
            bool(on),
            f"retrain triggers: {', '.join(on)}{defaults}"
            if on
            else "no retrain trigger: all off (cockpit retrain triggers set)",
        ),
        Evidence(bool(spec.human_path), "human path: " + (spec.human_path or "none named")),
    ]


def _signed(ws: Workspace, version_id: int, step: Step) -> Step:
    """The step with its latest sign-off, if any."""
    row = ws.store.one(
        "SELECT decision, reviewer, comment, os_user FROM signoffs WHERE version_id = ? "
        "AND step = ? ORDER BY id DESC LIMIT 1",
        [version_id, step.name],
    )
    if row is None:
        return step
    return replace(
        step,
        decision=row["decision"],
        reviewer=row["reviewer"],
        comment=row["comment"],
        os_user=row["os_user"],
    )


def _failure_modes(
    ws: Workspace, project: Project, run: Run, spec: ProblemSpec, traffic: Served
) -> list[str]:
    """The classic ways a model fails to launch, as found in the store: each names only the
    conditions that are missing, as the evidence lines say them."""
    _, looks, _ = _test_look(ws, run)
    leaks, _ = _split_leaks(ws, project, run.split_id)
    rules = _rules(ws, project)
    modes = []
    if run.kind == "file":
        modes.append("model from a file: the code and data that trained it are not recorded")
    elif missing := _not_reproducible(run):
        modes.append("notebook-only model: " + "; ".join(missing))
    if leaks or (looks or 0) > 0:
        modes.append("leaky evaluation: " + ("leakage flagged" if leaks else "test split reused"))
    if not rules or not (traffic.project_batches or traffic.requests):
        modes.append("no monitoring: " + ("no alert rules" if not rules else "no production data"))
    if not spec.human_path:
        modes.append("no human path: nobody named who can review, override or appeal")
    return modes


def _not_reproducible(run: Run) -> list[str]:
    """What is missing to train the run again from code, each with what to do."""
    missing = []
    if run.git_commit is None:
        missing.append(
            "no code commit: the run was not made in a git repository with a commit "
            "(git init && git add -A && git commit, then train again)"
        )
    elif run.git_dirty:
        missing.append("trained from uncommitted changes (commit them, then train again)")
    if run.version_id is None:
        missing.append("no data version pinned")
    return missing


def _split_leaks(ws: Workspace, project: Project, split_id: int | None) -> tuple[int, list[dict]]:
    """The leak findings standing on the run's split, and those a person accepted."""
    from cockpit.data.splits import get_split

    if split_id is None:
        return 0, []
    split = get_split(ws, project, split_id)
    accepted = [f for f in split.leakage if f.get("accepted") and f["severity"] == "error"]
    return split.leaks or 0, accepted


def sign(
    ws: Workspace,
    project: Project,
    ref: int | str,
    step: str,
    decision: str,
    comment: str,
    reviewer: str | None = None,
) -> int:
    from cockpit.deployment import registry

    if step not in STEPS:
        raise CockpitError(f"step {step!r} is not one of {', '.join(STEPS)}")
    if decision not in DECISIONS:
        raise CockpitError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if decision in ("block", "waive") and not comment.strip():
        raise CockpitError(f"to {decision} a step, say why (--comment)")
    version = registry.get_version(ws, project, ref)
    with ws.store.transaction():
        signoff = ws.store.insert(
            "signoffs",
            {
                "project_id": project.id,
                "version_id": version.id,
                "step": step,
                "decision": decision,
                "reviewer": reviewer or current_user(),
                "os_user": login_user(),
                "comment": comment,
                "at": clock.now_iso(),
            },
        )
        ws.record(
            "review",
            "sign",
            project.id,
            {"version": version.version, "step": step, "decision": decision, "comment": comment},
        )
    return signoff
