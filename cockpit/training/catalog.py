"""The model catalogue. Parameters and their defaults come from the estimators themselves
(`get_params()`), so the catalogue follows scikit-learn."""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from cockpit.errors import CockpitError


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    estimators: dict[str, str]  # task -> "module.Class"
    fixed: dict[str, Any]  # params cockpit sets (users may override)
    staged: str | None = None  # the param grown with warm_start for curves and progress
    dense: bool = False  # needs a dense feature matrix


FAMILIES = {
    f.name: f
    for f in (
        Family(
            "dummy",
            "Dummy baseline",
            {
                "binary": "sklearn.dummy.DummyClassifier",
                "multiclass": "sklearn.dummy.DummyClassifier",
                "regression": "sklearn.dummy.DummyRegressor",
            },
            {},
        ),
        Family(
            "logistic_regression",
            "Logistic regression",
            {
                "binary": "sklearn.linear_model.LogisticRegression",
                "multiclass": "sklearn.linear_model.LogisticRegression",
            },
            {"max_iter": 1000},
        ),
        Family(
            "linear_regression",
            "Linear regression",
            {"regression": "sklearn.linear_model.LinearRegression"},
            {},
        ),
        Family(
            "ridge",
            "Ridge",
            {
                "binary": "sklearn.linear_model.RidgeClassifier",
                "multiclass": "sklearn.linear_model.RidgeClassifier",
                "regression": "sklearn.linear_model.Ridge",
            },
            {},
        ),
        Family(
            "decision_tree",
            "Decision tree",
            {
                "binary": "sklearn.tree.DecisionTreeClassifier",
                "multiclass": "sklearn.tree.DecisionTreeClassifier",
                "regression": "sklearn.tree.DecisionTreeRegressor",
            },
            {"max_depth": 6},
        ),
        Family(
            "random_forest",
            "Random forest",
            {
                "binary": "sklearn.ensemble.RandomForestClassifier",
                "multiclass": "sklearn.ensemble.RandomForestClassifier",
                "regression": "sklearn.ensemble.RandomForestRegressor",
            },
            {"n_jobs": 1},
            staged="n_estimators",
        ),
        Family(
            "hist_gradient_boosting",
            "Histogram gradient boosting",
            {
                "binary": "sklearn.ensemble.HistGradientBoostingClassifier",
                "multiclass": "sklearn.ensemble.HistGradientBoostingClassifier",
                "regression": "sklearn.ensemble.HistGradientBoostingRegressor",
            },
            {"early_stopping": False},
            staged="max_iter",
            dense=True,
        ),
    )
}


SHORT_NAMES = {
    "dummy": "dummy",
    "logistic_regression": "logistic",
    "linear_regression": "linear",
    "ridge": "ridge",
    "decision_tree": "tree",
    "random_forest": "forest",
    "hist_gradient_boosting": "boosting",
}


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
    for kind in (int,) if isinstance(default, int) else (float,) if isinstance(default, float) else ():
        try:
            return kind(text)
        except ValueError:
            raise CockpitError(
                f"param {name}={raw!r}: expected a{'n integer' if kind is int else ' number'}"
            ) from None
    if default is None or isinstance(default, str):
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                continue
    return text


def resolve_params(name: str, task: str, given: dict[str, Any] | list[str]) -> dict[str, Any]:
    """Defaults updated with the given params; unknown names, values that are not one number,
    text, true/false or null, and values the estimator refuses are refused before any fit."""
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
        hint = get_close_matches(unknown[0], defaults, n=1)
        raise CockpitError(
            f"{name} takes no parameter {', '.join(unknown)}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; it takes {', '.join(sorted(defaults))}"
        )
    for key, value in given.items():
        check_value(key, value)
    params = {**defaults, **given}
    _check_with_sklearn(name, task, params)
    return params


MAX_INT = 2**63 - 1


def check_value(name: str, value: Any) -> None:
    """A parameter value is one finite number, text, true/false or null (what the run's JSON
    record and a grid can hold); anything else is refused naming the parameter."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_INT:
            raise CockpitError(f"param {name}={value}: too large (at most {MAX_INT:,} in size)")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CockpitError(f"param {name}={value}: not a finite number")
        return
    kind = (
        "a list"
        if isinstance(value, list)
        else "a table"
        if isinstance(value, dict)
        else type(value).__name__
    )
    raise CockpitError(f"param {name}: {kind} is not one value; give a number, text, true/false or null")


def _check_with_sklearn(name: str, task: str, params: dict[str, Any]) -> None:
    """Let scikit-learn's own parameter validation judge the values, before any fit."""
    from sklearn.utils._param_validation import InvalidParameterError

    estimator = estimator_class(name, task)(**params)
    try:
        # scikit-learn (1.9) has no public check of params short of `fit`, which calls this
        # first; an upgrade that renames it fails here loudly, caught by tests/test_train_usage.
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise CockpitError(f"{name}: {exc}") from None
    if params.get("n_jobs") == 0:  # allowed by the estimator, refused by joblib at fit time
        raise CockpitError(f"{name}: n_jobs=0 runs nothing; give a count of workers or -1 for every core")


def build(name: str, task: str, params: dict[str, Any], seed: int):
    cls = estimator_class(name, task)
    params = dict(params)
    if "random_state" in params and params["random_state"] is None:
        params["random_state"] = seed
    return cls(**params)


def is_classifier(task: str) -> bool:
    return task in ("binary", "multiclass")
