"""Never a silent fallback in the batch paths (`cockpit predict`, `monitor ingest`).

Every model the routing would use (production, canary and shadow, or the version named
with --model) is loaded before a row is scored; one that cannot be loaded, or that fails
on rows it should answer, refuses the batch by name unless the caller allows the
fallback. Allowed, the fallback rule answers those rows (each stored with route
"fallback" and the model's error), a failed shadow's error is stored beside the batch,
and the caller is handed one line per broken model to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cockpit.deployment.registry import ModelVersion
from cockpit.errors import CockpitError

if TYPE_CHECKING:
    import pandas as pd

    from cockpit.deployment.routing import Router, Scored

ALLOW = "--allow-fallback"


@dataclass(frozen=True, slots=True)
class Broken:
    """A routed model that cannot answer, and why."""

    role: str  # production, canary, shadow, or "model" (the version --model names)
    version: ModelVersion
    reason: str
    error: BaseException | None = None  # what loading it raised

    @property
    def name(self) -> str:
        return f"{self.role} model v{self.version.version}"


@dataclass(slots=True)
class Guarded:
    """What the fallback answered in a batch scored with it allowed."""

    rows: int = 0  # rows the fallback rule answered
    notes: list[str] = field(default_factory=list)  # one line per broken model, for stderr
    unloaded: set[int] = field(default_factory=set)  # ids of the versions that cannot load

    def details(self) -> dict[str, Any]:
        """For the batch's audit event (nothing when every model answered)."""
        if not self.notes:
            return {}
        return {"fallback_rows": self.rows, "fallback_reason": "; ".join(self.notes)}


def routed(router: Router) -> list[tuple[str, ModelVersion]]:
    """(role, version) of every model the router uses, each version once."""
    if router.fixed is not None:
        return [("model", router.fixed)]
    found: dict[int, tuple[str, ModelVersion]] = {}
    for alias in ("production", "canary", "shadow"):
        if alias in router.aliases:
            version = router.alias_version(alias)
            found.setdefault(version.id, (alias, version))
    return list(found.values())


def _reason(router: Router, version: ModelVersion, exc: Exception) -> str:
    """The failure, naming the model's file (the store's errors name it already)."""
    text = str(exc)
    path = router.ws.artifacts.path_for(version.artifact_sha256)
    if path.name not in text:
        text = f"{path}: {type(exc).__name__}: {text}"
    return text[:400]


def broken_models(router: Router) -> list[Broken]:
    """The routed models whose file cannot be loaded (each is loaded once, here)."""
    broken = []
    for role, version in routed(router):
        try:
            router.pipeline(version)
        except Exception as exc:  # checked, missing, unreadable or unpicklable: it cannot answer
            broken.append(Broken(role, version, _reason(router, version, exc), exc))
    return broken


def _refusal(source: str, broken: Broken, what: str) -> CockpitError:
    instead = (
        "to score without it (its failure is stored with the batch)"
        if broken.role == "shadow"
        else "to answer its rows with the fallback rule (each marked route=fallback)"
    )
    return CockpitError(
        f"{source}: {broken.name} {what} ({broken.reason}); nothing was scored or stored. "
        f"Restore or redeploy it (cockpit doctor checks every model file), or pass {ALLOW} {instead}"
    )


def score(router: Router, frame: pd.DataFrame, source: str, allow_fallback: bool) -> tuple[Scored, Guarded]:
    """Score `frame` with the router; refused (CockpitError, nothing written) when a model
    cannot answer and the fallback is not allowed."""
    guard = Guard(router, source, allow_fallback)
    scored = guard.score(frame)
    return scored, guard.result()


class Guard:
    """The guard over a batch scored in chunks: the models are loaded (and a broken one
    refused) once, each chunk's failures are counted, and `result()` tells the whole batch."""

    def __init__(
        self, router: Router, source: str, allow_fallback: bool, broken: list[Broken] | None = None
    ) -> None:
        self.router, self.source, self.allow_fallback = router, source, allow_fallback
        self.broken = broken_models(router) if broken is None else broken
        if self.broken and not allow_fallback:
            raise _refusal(source, self.broken[0], "cannot be loaded")
        self.rows = 0  # answered by the fallback rule
        self.failed: dict[int, tuple[int, str]] = {}  # version id: (rows, first error)

    def score(self, frame: pd.DataFrame) -> Scored:
        scored = self.router.score(frame)
        known = {b.version.id for b in self.broken}
        self.rows += int((scored.frame["route"] == "fallback").sum())
        for role, version in routed(self.router):
            failed = _failures(scored, role, version)
            if failed is None:
                continue
            if role == "shadow" and scored.shadow is not None:
                # named like the rows the fallback answered: which version failed, and how
                scored.shadow["error"] = f"{version.label}: " + scored.shadow["error"].astype(str)
                scored.shadow["model_version"] = version.version
            if version.id not in known and not self.allow_fallback:
                found = Broken(role, version, failed[1])
                raise _refusal(self.source, found, f"failed on {failed[0]} rows")
            rows, first = self.failed.get(version.id, (0, failed[1]))
            self.failed[version.id] = (rows + failed[0], first)
        return scored

    def merge(self, rows: int, failed: dict[int, tuple[int, str]]) -> None:
        """Count another Guard's chunk (scored elsewhere: a Dask worker)."""
        self.rows += rows
        for version_id, (count, first) in failed.items():
            kept, kept_first = self.failed.get(version_id, (0, first))
            self.failed[version_id] = (kept + count, kept_first)

    def result(self) -> Guarded:
        guarded = Guarded(rows=self.rows, unloaded={b.version.id for b in self.broken})
        for role, version in routed(self.router):
            failed = self.failed.get(version.id)
            if version.id in guarded.unloaded:
                note = next(b for b in self.broken if b.version.id == version.id)
                guarded.notes.append(_note(note, failed, "cannot be loaded"))
            elif failed is not None:
                found = Broken(role, version, failed[1])
                guarded.notes.append(_note(found, failed, f"failed on {failed[0]} rows"))
        return guarded


def _failures(scored: Scored, role: str, version: ModelVersion) -> tuple[int, str] | None:
    """(rows, first error) the version failed on in this batch, or None."""
    if role == "shadow":
        shadow = scored.shadow
        if shadow is None or "error" not in shadow:
            return None
        return len(shadow), str(shadow["error"].iloc[0]) if len(shadow) else ""
    out = scored.frame
    mine = (out["route"] == "fallback") & out["error"].str.startswith(f"{version.label}: ")
    if not mine.any():
        return None
    return int(mine.sum()), str(out.loc[mine, "error"].iloc[0])


def _note(broken: Broken, failed: tuple[int, str] | None, what: str) -> str:
    rows = failed[0] if failed else 0
    done = (
        "the batch is stored without its answers"
        if broken.role == "shadow"
        else f"{rows} rows answered by the fallback rule"
    )
    return f"{broken.name} {what} ({broken.reason}): {done} ({ALLOW})"
