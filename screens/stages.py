"""Which screens exist: the overview plus one per built stage, switched by number keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen

from cockpit.lifecycle import STAGE_BY_KEY
from cockpit.workspace import Workspace
from screens import stage_keys
from screens.keys import Key


@dataclass(frozen=True)
class StageScreen:
    key: str
    number: int
    title: str
    load: Callable[[], type[Screen]]  # imports the screen's module only when asked
    keys: tuple[Key, ...] | None = None  # the screen's KEYS, known without importing it

    def factory(self, workspace: Workspace) -> Screen:
        return self.load()(workspace)

    def screen_keys(self) -> list[Key]:
        if self.keys is not None:
            return list(self.keys)
        return getattr(self.load(), "KEYS", [])


def _overview() -> type[Screen]:
    from screens.overview import OverviewScreen

    return OverviewScreen


def _stage(key: str, load: Callable[[], type[Screen]], keys: list[Key]) -> StageScreen:
    stage = STAGE_BY_KEY[key]
    return StageScreen(key, stage.number, stage.title, load, tuple(keys))


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
    _stage("problem", _problem, stage_keys.PROBLEM_KEYS),
    _stage("data", _data, stage_keys.DATA_KEYS),
    _stage("features", _features, stage_keys.FEATURE_KEYS),
    _stage("experiments", _experiments, stage_keys.EXPERIMENT_KEYS),
    _stage("evaluation", _evaluation, stage_keys.EVALUATION_KEYS),
    _stage("deployment", _deployment, stage_keys.DEPLOYMENT_KEYS),
    _stage("monitoring", _monitoring, stage_keys.MONITORING_KEYS),
    _stage("retrain", _retrain, stage_keys.RETRAIN_KEYS),
    _stage("review", _review, stage_keys.REVIEW_KEYS),
]


def stage_screen(key: str) -> StageScreen:
    return next(s for s in BUILT_STAGES if s.key == key)
