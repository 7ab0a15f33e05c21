"""Which versions may become production, and which aliases a deploy leaves.

A version whose gate failed (or never ran) becomes production only with an override: a
reason a person gives, kept in the ledger beside the failed rules. It is the rule
`retrain --override` follows for a challenger; registering with an override only made the
version a candidate, it did not decide that it serves everyone. Rolling back is exempt: it
goes back to what served before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cockpit.audit import current_user
from cockpit.deployment.moves import Move
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    from cockpit.deployment.registry import ModelVersion

SERVING = ("production", "canary", "shadow")  # the aliases that score traffic


@dataclass(frozen=True, slots=True)
class Standing:
    """A version's gate as it applies now: the run's newest gate (what review reads)."""

    version: int
    gated: bool
    failed: tuple[str, ...]  # the names of the rules it failed

    @property
    def passed(self) -> bool:
        return self.gated and not self.failed

    def sentence(self) -> str:
        """'v3 failed its gate: reference, latency', or 'v3 was never gated'."""
        if not self.gated:
            return f"v{self.version} was never gated"
        return f"v{self.version} failed its gate: {', '.join(self.failed)}"

    def move(self) -> Move:
        """The override, said as a change the confirm dialog and the CLI list."""
        before = "never run" if not self.gated else f"failed ({', '.join(self.failed)})"
        return Move("gate", before, "overridden, the reason in the ledger")


def standing(ws: Workspace, project: Project, version: ModelVersion) -> Standing:
    from cockpit.evaluation.gate import judged

    verdict, _ = judged(ws, project, version.run_id)
    if verdict is None:
        return Standing(version.version, False, ())
    return Standing(version.version, True, tuple(r.name for r in verdict.rules if not r.passed))


def check_override(found: Standing | None, override: str | None, verb: str) -> str | None:
    """The override to record (stripped), or None when none is needed; refuses a version
    that needs one and has none, and a blank reason."""
    if override is not None and not override.strip():
        raise CockpitError("--override takes a reason: why it should serve despite its gate")
    if found is None or found.passed:
        return None
    if not override:
        raise CockpitError(
            f"{found.sentence()}; {verb} it anyway with --override 'REASON' (kept in the ledger)"
        )
    return override.strip()


def ledger_reason(found: Standing, override: str, reason: str) -> str:
    """Who overrode which failed rules, and why (with the action's own reason, if any)."""
    why = f"override by {current_user()}: {override} ({found.sentence()})"
    return f"{reason}; {why}" if reason and reason != override else why


def left_behind(held: dict[str, int], version_id: int, taking: str) -> list[str]:
    """The aliases `version_id` stops holding when it takes `taking`: a version that serves is
    no longer a candidate, and production is never also the canary or shadow. `held`: alias
    name -> version id, as now. The one rule for the CLI, the screens and retraining."""
    if taking not in SERVING:
        return []
    dropped = ["candidate"]
    if taking == "production":
        dropped += ["canary", "shadow"]
    return [alias for alias in dropped if held.get(alias) == version_id]
