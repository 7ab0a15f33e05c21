"""The launch-readiness review: can the team reproduce, evaluate, deploy, monitor and
replace this model? Each step is answered from the store with its evidence, the classic
failure modes are named, and a reviewer approves, blocks or waives each step."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

STEPS = ("reproducible", "evaluated", "deployable", "monitored", "replaceable")
DECISIONS = ("approve", "block", "waive")


@dataclass
class Step:
    name: str
    passed: bool
    evidence: list[tuple[bool, str]]
    decision: str | None = None
    reviewer: str | None = None
    comment: str | None = None

    @property
    def ok(self) -> bool:
        if self.decision == "block":
            return False
        return self.passed or self.decision == "waive"


@dataclass
class Review:
    version: int
    steps: list[Step]
    failure_modes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(step.ok for step in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "ready": self.ready,
            "failure_modes": self.failure_modes,
            "steps": [{**asdict(s), "ok": s.ok} for s in self.steps],
        }


def review(ws: Workspace, project: Project, ref: int | str) -> Review:
    from cockpit.deployment import registry
    from cockpit.evaluation.gate import latest_gate
    from cockpit.problem import current_spec
    from cockpit.training.reproduce import last_reproduction
    from cockpit.training.runs import get_run

    version = registry.get_version(ws, project, ref)
    run = get_run(ws, project, version.run_id)
    spec = current_spec(ws, project)
    store = ws.store
    reproduction = last_reproduction(ws, run.id)
    reproducible = [
        (run.git_commit is not None, f"code commit {(run.git_commit or 'none')[:12]}"),
        (
            run.git_dirty is False,
            "working tree clean when trained"
            if run.git_dirty is False
            else "trained from a dirty tree or outside git",
        ),
        (run.version_id is not None, f"data version v{run.version_id} pinned by sha256"),
        (bool(run.library_versions) and run.seed is not None, f"environment and seed {run.seed} recorded"),
        (
            bool(reproduction and reproduction["identical"]),
            "last reproduce: "
            + (
                "identical"
                if reproduction and reproduction["identical"]
                else "differs"
                if reproduction
                else "never run (cockpit reproduce)"
            ),
        ),
    ]
    gate = latest_gate(ws, run.id)
    evaluation = (
        store.one("SELECT looks_before, details FROM evaluations WHERE id = ?", [gate.evaluation_id])
        if gate
        else None
    )
    looks = evaluation["looks_before"] if evaluation else None
    details = json.loads(evaluation["details"]) if evaluation else {}
    leaks, accepted = _split_leaks(ws, project, run.split_id)
    evaluated = [
        (
            bool(gate and gate.passed),
            "gate passed on test"
            if gate and gate.passed
            else ("gate failed: " + ", ".join(r.name for r in gate.rules if not r.passed))
            if gate
            else "never gated",
        ),
        (
            looks == 0,
            "test split looked at once"
            if looks == 0
            else f"test split looked at {looks} times before"
            if looks is not None
            else "no test look",
        ),
        (
            bool(details.get("segment_columns")),
            "segments checked: " + (", ".join(details.get("segment_columns", [])) or "none named"),
        ),
        (leaks == 0, "no leakage flagged in its split" if not leaks else f"{leaks} leak(s) flagged"),
        *[
            (
                True,
                f"leak finding {f['id']} accepted by {f['accepted']['accepted_by']}: "
                f"{f['accepted']['reason']}",
            )
            for f in accepted
        ],
    ]
    try:
        ws.artifacts.verified_path(version.artifact_sha256)
        artifact_ok = True
    except Exception:  # noqa: BLE001 - evidence, not an error
        artifact_ok = False
    fallback = store.scalar("SELECT 1 FROM fallbacks WHERE project_id = ?", [project.id])
    others = store.scalar(
        "SELECT count(*) FROM model_versions WHERE project_id = ? AND id != ? AND status = 'active'",
        [project.id, version.id],
    )
    deployable = [
        (artifact_ok, "artifact verified (sha256)" if artifact_ok else "artifact missing/changed"),
        (
            bool(others or fallback),
            "a rollback target or fallback exists" if others or fallback else "nothing to fall back to",
        ),
        (bool(fallback), "fallback rule defined" if fallback else "no fallback rule"),
    ]
    rules = store.scalar("SELECT count(*) FROM alert_rules WHERE project_id = ?", [project.id])
    batches = store.scalar("SELECT count(*) FROM batches WHERE project_id = ?", [project.id])
    newest = store.scalar("SELECT max(at) FROM batches WHERE project_id = ?", [project.id])
    checked = store.scalar("SELECT max(computed_at) FROM monitor_windows WHERE project_id = ?", [project.id])
    monitored = [
        (bool(rules), f"{rules} alert rules"),
        (
            bool(batches),
            f"{batches} production batches watched" + (f", newest {newest[:10]}" if newest else ""),
        ),
        (
            bool(checked),
            f"last checked {checked[:16]}" if checked else "never checked (cockpit monitor check)",
        ),
    ]
    triggers = store.scalar("SELECT 1 FROM retrain_triggers WHERE project_id = ?", [project.id])
    replaceable = [
        (bool(triggers), "retrain triggers set" if triggers else "no retrain trigger"),
        (bool(spec.human_path), "human path: " + (spec.human_path or "none named")),
    ]
    steps = [
        Step(name, all(ok for ok, _ in evidence), evidence)
        for name, evidence in zip(
            STEPS, (reproducible, evaluated, deployable, monitored, replaceable), strict=True
        )
    ]
    for step in steps:
        row = store.one(
            "SELECT decision, reviewer, comment FROM signoffs WHERE version_id = ? "
            "AND step = ? ORDER BY id DESC LIMIT 1",
            [version.id, step.name],
        )
        if row:
            step.decision, step.reviewer, step.comment = row["decision"], row["reviewer"], row["comment"]
    modes = []
    if run.git_commit is None or run.git_dirty or run.version_id is None:
        modes.append("notebook-only model: no clean code commit or pinned data")
    if leaks or (looks or 0) > 0:
        modes.append("leaky evaluation: " + ("leakage flagged" if leaks else "test split reused"))
    if not rules or not batches:
        modes.append("no monitoring: " + ("no alert rules" if not rules else "no production data"))
    if not spec.human_path:
        modes.append("no human path: nobody named who can review, override or appeal")
    return Review(version.version, steps, modes)


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
