"""Which screens exist: the overview plus one per built stage, switched by number keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen

from cockpit.lifecycle import STAGE_BY_KEY
from cockpit.workspace import Workspace


@dataclass(frozen=True)
class StageScreen:
    key: str
    number: int
    title: str
    factory: Callable[[Workspace], Screen]


def _overview(workspace: Workspace) -> Screen:
    from screens.overview import OverviewScreen

    return OverviewScreen(workspace)


def _stage(key: str, factory: Callable[[Workspace], Screen]) -> StageScreen:
    stage = STAGE_BY_KEY[key]
    return StageScreen(key, stage.number, stage.title, factory)


def _problem(workspace: Workspace) -> Screen:
    from screens.problem import ProblemScreen

    return ProblemScreen(workspace)


def _data(workspace: Workspace) -> Screen:
    from screens.data import DataScreen

    return DataScreen(workspace)


def _features(workspace: Workspace) -> Screen:
    from screens.features import FeaturesScreen

    return FeaturesScreen(workspace)


def _experiments(workspace: Workspace) -> Screen:
    from screens.experiments import ExperimentsScreen

    return ExperimentsScreen(workspace)


def _evaluation(workspace: Workspace) -> Screen:
    from screens.evaluation import EvaluationScreen

    return EvaluationScreen(workspace)


def _deployment(workspace: Workspace) -> Screen:
    from screens.deployment import DeploymentScreen

    return DeploymentScreen(workspace)


def _monitoring(workspace: Workspace) -> Screen:
    from screens.monitoring import MonitoringScreen

    return MonitoringScreen(workspace)


def _retrain(workspace: Workspace) -> Screen:
    from screens.retrain import RetrainScreen

    return RetrainScreen(workspace)


def _review(workspace: Workspace) -> Screen:
    from screens.review import ReviewScreen

    return ReviewScreen(workspace)


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
