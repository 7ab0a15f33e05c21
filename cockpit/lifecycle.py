"""The lifecycle map: the stages, what a stage's status says, and the next step.

Each stage's status function lives in stage_status (it reads the same core
functions the stage's screen reads, never pandas or scikit-learn, so the overview
paints fast) and registers itself in STATUS_FUNCTIONS; stage_status.stage_states
reads them all for a project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cockpit.projects import Project
    from cockpit.workspace import Workspace


class Status(Enum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    DONE = "done"
    ATTENTION = "needs attention"


@dataclass(frozen=True)
class Stage:
    key: str
    number: int
    title: str
    question: str


STAGES = (
    Stage("problem", 1, "Problem", "What is predicted, judged how?"),
    Stage("data", 2, "Data", "Valid, versioned, split without leaks?"),
    Stage("features", 3, "Features", "How each column becomes model input"),
    Stage("experiments", 4, "Experiments", "Which run is best? Reproducible?"),
    Stage("evaluation", 5, "Evaluation", "Does it pass the gate, every segment?"),
    Stage("deployment", 6, "Deployment", "What serves? Can it roll back?"),
    Stage("monitoring", 7, "Monitoring", "Is the world drifting from the model?"),
    Stage("retrain", 8, "Retrain / retire", "A better model waiting? One to retire?"),
    Stage("review", 9, "Review", "Is the model launch-ready?"),
)
STAGE_BY_KEY = {stage.key: stage for stage in STAGES}


@dataclass(frozen=True, slots=True)
class NextAction:
    """What a stage asks for next, in words; the screen says which key does it.

    `action` names the stage screen's action that does it (None: opening the screen is
    enough), `commands` the CLI command lines that do it too, `tab` the screen's tab where
    it is done, `note` a word on how. `on_screen` is False for what only the CLI does."""

    what: str
    action: str | None = None
    commands: tuple[str, ...] = ()
    tab: str = ""
    note: str = ""
    on_screen: bool = True


@dataclass(frozen=True)
class StageState:
    stage: Stage
    status: Status
    detail: str = ""
    next_action: NextAction | None = None


StatusFunction = Callable[["Workspace", "Project"], StageState]
STATUS_FUNCTIONS: dict[str, StatusFunction] = {}


def status_function(key: str) -> Callable[[StatusFunction], StatusFunction]:
    def register(fn: StatusFunction) -> StatusFunction:
        STATUS_FUNCTIONS[key] = fn
        return fn

    return register


def next_step(states: list[StageState]) -> StageState | None:
    """The first stage, in lifecycle order, that asks for something."""
    for state in states:
        if state.status is not Status.DONE and state.next_action is not None:
            return state
    return None
