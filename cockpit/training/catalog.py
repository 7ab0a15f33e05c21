"""The model catalogue. Parameters and their defaults come from the estimators themselves
(`get_params()`), so the catalogue follows scikit-learn."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    estimators: dict[str, str]     # task -> "module.Class"
    fixed: dict[str, Any]          # params cockpit sets (users may override)
    staged: str | None = None      # the param grown with warm_start for curves and progress
    dense: bool = False            # needs a dense feature matrix


FAMILIES = {f.name: f for f in (
    Family("dummy", "Dummy baseline", {
        "binary": "sklearn.dummy.DummyClassifier", "multiclass": "sklearn.dummy.DummyClassifier",
        "regression": "sklearn.dummy.DummyRegressor"}, {}),
    Family("logistic_regression", "Logistic regression", {
        "binary": "sklearn.linear_model.LogisticRegression",
        "multiclass": "sklearn.linear_model.LogisticRegression"}, {"max_iter": 1000}),
    Family("linear_regression", "Linear regression", {
        "regression": "sklearn.linear_model.LinearRegression"}, {}),
    Family("ridge", "Ridge", {
        "binary": "sklearn.linear_model.RidgeClassifier",
        "multiclass": "sklearn.linear_model.RidgeClassifier",
        "regression": "sklearn.linear_model.Ridge"}, {}),
    Family("decision_tree", "Decision tree", {
        "binary": "sklearn.tree.DecisionTreeClassifier",
        "multiclass": "sklearn.tree.DecisionTreeClassifier",
        "regression": "sklearn.tree.DecisionTreeRegressor"}, {"max_depth": 6}),
    Family("random_forest", "Random forest", {
        "binary": "sklearn.ensemble.RandomForestClassifier",
        "multiclass": "sklearn.ensemble.RandomForestClassifier",
        "regression": "sklearn.ensemble.RandomForestRegressor"}, {"n_jobs": 1},
        staged="n_estimators"),
    Family("hist_gradient_boosting", "Histogram gradient boosting", {
        "binary": "sklearn.ensemble.HistGradientBoostingClassifier",
        "multiclass": "sklearn.ensemble.HistGradientBoostingClassifier",
        "regression": "sklearn.ensemble.HistGradientBoostingRegressor"}, {"early_stopping": False},
        staged="max_iter", dense=True),
)}


SHORT_NAMES = {"dummy": "dummy", "logistic_regression": "logistic", "linear_regression": "linear",
               "ridge": "ridge", "decision_tree": "tree", "random_forest": "forest",
               "hist_gradient_boosting": "boosting"}


def families_for(task: str) -> list[Family]:
    return [f for f in FAMILIES.values() if task in f.estimators]


def family(name: str, task: str) -> Family:
    if name not in FAMILIES:
        raise CockpitError(f"unknown model {name!r}; one of {', '.join(FAMILIES)}")
    found = FAMILIES[name]
    if task not in found.estimators:
        usable = ", ".join(f.name for f in families_for(task))
        raise CockpitError(f"{name} does not fit a {task} problem; use one of {usable}")
    return found


def estimator_class(name: str, task: str) -> type:
    module, _, cls = family(name, task).estimators[task].rpartition(".")
    return getattr(importlib.import_module(module), cls)


def default_params(name: str, task: str) -> dict[str, Any]:
    """Every parameter the estimator takes, with cockpit's fixed choices applied."""
    params = estimator_class(name, task)().get_params()
    params.update(FAMILIES[name].fixed)
    return params


def parse_value(raw: str, default: Any, name: str) -> Any:
    """A command-line value, typed after the parameter's default."""
    text = raw.strip()
    if text.lower() == "none":
        return None
    if isinstance(default, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise CockpitError(f"param {name}={raw!r}: expected true or false")
    for kind in ((int,) if isinstance(default, int) else (float,) if isinstance(default, float)
                 else ()):
        try:
            return kind(text)
        except ValueError:
            raise CockpitError(f"param {name}={raw!r}: expected a{'n integer' if kind is int else ' number'}"
                               ) from None
    if default is None or isinstance(default, str):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                continue
    return text


def resolve_params(name: str, task: str, given: dict[str, Any] | list[str]) -> dict[str, Any]:
    """Defaults updated with the given params; unknown names and bad types are refused."""
    defaults = default_params(name, task)
    if isinstance(given, list):
        pairs = {}
        for item in given:
            key, sep, value = item.partition("=")
            if not sep:
                raise CockpitError(f"--param {item!r}: write NAME=VALUE")
            pairs[key.strip()] = parse_value(value, defaults.get(key.strip()), key.strip())
        given = pairs
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise CockpitError(f"{name} takes no parameter {', '.join(unknown)}; it takes "
                           f"{', '.join(sorted(defaults))}")
    params = {**defaults, **given}
    _check_with_sklearn(name, task, params)
    return params


def _check_with_sklearn(name: str, task: str, params: dict[str, Any]) -> None:
    """Let scikit-learn's own parameter validation judge the values, before any fit."""
    from sklearn.utils._param_validation import InvalidParameterError

    estimator = estimator_class(name, task)(**params)
    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise CockpitError(f"{name}: {exc}") from None


def build(name: str, task: str, params: dict[str, Any], seed: int):
    cls = estimator_class(name, task)
    params = dict(params)
    if "random_state" in params and params["random_state"] is None:
        params["random_state"] = seed
    return cls(**params)


def is_classifier(task: str) -> bool:
    return task in ("binary", "multiclass")
