"""Which screens exist: the overview plus one per built stage, switched by number keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen

from cockpit.lifecycle import STAGE_BY_KEY
from cockpit.workspace import Workspace
from screens.keys import Key


@dataclass(frozen=True)
class StageScreen:
    key: str
    number: int
    title: str
    load: Callable[[], type[Screen]]  # imports the screen's module only when asked

    def factory(self, workspace: Workspace) -> Screen:
        return self.load()(workspace)

    def screen_keys(self) -> list[Key]:
        return getattr(self.load(), "KEYS", [])


def _overview() -> type[Screen]:
    from screens.overview import OverviewScreen

    return OverviewScreen


def _stage(key: str, load: Callable[[], type[Screen]]) -> StageScreen:
    stage = STAGE_BY_KEY[key]
    return StageScreen(key, stage.number, stage.title, load)


def _problem() -> type[Screen]:
    from screens.problem import ProblemScreen

    return ProblemScreen


def _data() -> type[Screen]:
    from screens.data import DataScreen

    return DataScreen


def _features() -> type[Screen]:
    from screens.features import FeaturesScreen

    return FeaturesScreen


def _experiments() -> type[Screen]:
    from screens.experiments import ExperimentsScreen

    return ExperimentsScreen


def _evaluation() -> type[Screen]:
    from screens.evaluation import EvaluationScreen

    return EvaluationScreen


def _deployment() -> type[Screen]:
    from screens.deployment import DeploymentScreen

    return DeploymentScreen


def _monitoring() -> type[Screen]:
    from screens.monitoring import MonitoringScreen

    return MonitoringScreen


def _retrain() -> type[Screen]:
    from screens.retrain import RetrainScreen

    return RetrainScreen


def _review() -> type[Screen]:
    from screens.review import ReviewScreen

    return ReviewScreen


OVERVIEW = StageScreen("overview", 0, "Overview", _overview)
# Stage screens are added here as their issues land; no placeholders.
BUILT_STAGES: list[StageScreen] = [
    _stage("problem", _problem),
    _stage("data", _data),
    _stage("features", _features),
    _stage("experiments", _experiments),
    _stage("evaluation", _evaluation),
    _stage("deployment", _deployment),
    _stage("monitoring", _monitoring),
    _stage("retrain", _retrain),
    _stage("review", _review),
]


def stage_screen(key: str) -> StageScreen:
    return next(s for s in BUILT_STAGES if s.key == key)
