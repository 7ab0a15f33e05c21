"""What a deployment action changes, alias by alias, from → to: worked out before the action
(the screen's confirm dialog shows it) and after (the CLI prints it), from the same plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError

ORDER = ("production", "canary", "shadow", "candidate")  # how moves are listed


@dataclass(frozen=True, slots=True)
class Slot:
    """What an alias points at: a version number, and the canary's share."""

    version: int
    percent: float | None = None

    def text(self) -> str:
        """'v3', or 'v3 at 10%' for a canary."""
        return f"v{self.version} at {self.percent:g}%" if self.percent else f"v{self.version}"


@dataclass(frozen=True, slots=True)
class Move:
    """One thing an action changes: `what` goes from `before` to `after` ('none': unset)."""

    what: str
    before: str
    after: str

    def line(self) -> str:
        return f"{self.what}: {self.before} → {self.after}"

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "before": self.before, "after": self.after}


def moves_between(before: dict[str, Slot], after: dict[str, Slot]) -> tuple[Move, ...]:
    """The aliases that differ, production first. A canary that keeps its version and only
    changes its share is one move of the 'canary share'."""
    names = [*ORDER, *sorted((set(before) | set(after)) - set(ORDER))]
    found = []
    for name in names:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name == "canary" and old and new and old.version == new.version:
            found.append(Move("canary share", f"{old.percent or 0:g}%", f"{new.percent or 0:g}%"))
        else:
            found.append(Move(name, old.text() if old else "none", new.text() if new else "none"))
    return tuple(found)


def summary(moves: tuple[Move, ...]) -> str:
    """The moves on one line: 'production: v1 → v3; canary: v3 at 10% → none'."""
    return "; ".join(m.line() for m in moves) or "nothing changed"


def as_confirmed(asked: tuple[Move, ...] | None, now: tuple[Move, ...]) -> None:
    """Refuse an action whose moves differ from the ones a person confirmed (None: nobody
    was asked): the aliases changed meanwhile (the CLI, a cron job), and what would be
    carried out is not what was agreed to."""
    if asked is not None and tuple(asked) != tuple(now):
        raise CockpitError(
            f"changed since you were asked: it would now do {summary(now)} "
            f"(you confirmed {summary(asked)}); nothing done"
        )
