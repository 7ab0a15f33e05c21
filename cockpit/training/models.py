"""What a run's model name stands for: a family of the catalogue (`random_forest`), any
importable scikit-learn estimator class (`lightgbm.LGBMClassifier`), or a user's function
that returns a whole unfitted Pipeline (`mymodule:make_pipeline`).

A run records only the name and its params, and retrain, reproduce and the stability check
build the model again from them, so the name is checked here each time, before anything is
instantiated: a class that is a scikit-learn `BaseEstimator` and fits the task. Params come
from `get_params()`; those cockpit can record as JSON (a number, text, true/false, null)
are the run's params, the others are left to the class's defaults.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from cockpit.errors import CockpitError
from cockpit.training import catalog

SOURCES = ("catalog", "estimator", "pipeline")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model name. `make()` gives a fresh unfitted estimator with its defaults."""

    name: str  # as the user gave it, recorded as the run's family
    source: str  # one of SOURCES
    task: str
    make: Callable[[], Any]
    model_class: str | None = None  # the final estimator's class (None: the family names it)
    dense: bool = True  # the feature matrix is dense (safest for estimators cockpit does not know)
    staged: str | None = None  # the param grown for a learning curve (catalogue families only)

    @property
    def takes_features(self) -> bool:
        """Does the spec's ColumnTransformer go in front? (A whole Pipeline takes raw columns.)"""
        return self.source != "pipeline"

    def default_params(self) -> dict[str, Any]:
        if self.source == "catalog":
            return catalog.default_params(self.name, self.task)
        return recordable(self.make().get_params(deep=self.source == "pipeline"))

    def resolve_params(self, given: dict[str, Any] | list[str]) -> dict[str, Any]:
        """Defaults updated with the given params (NAME=VALUE texts are typed after the
        defaults); unknown names and values the estimator refuses are refused before any fit."""
        if self.source == "catalog":
            return catalog.resolve_params(self.name, self.task, given)
        estimator = self.make()
        known = estimator.get_params(deep=self.source == "pipeline")
        defaults = recordable(known)
        if isinstance(given, list):
            given = _parse_pairs(given, known)
        for key in given:
            if key not in known:
                _check_extra_name(self.name, estimator, key, known)
        for key, value in given.items():
            catalog.check_value(key, value)
        params = {**defaults, **given}
        _check_values(self.name, estimator, params)
        return params

    def build(self, params: dict[str, Any], seed: int) -> Any:
        """The unfitted estimator with the run's params; a `random_state` left null is the seed."""
        if self.source == "catalog":
            return catalog.build(self.name, self.task, params, seed)
        estimator = self.make()
        estimator.set_params(**params)
        unset = {
            key: seed
            for key, value in estimator.get_params(deep=True).items()
            if (key == "random_state" or key.endswith("__random_state")) and value is None
        }
        if unset:
            estimator.set_params(**unset)
        return estimator


def resolve(name: str, task: str) -> ModelRef:
    """The model a name stands for; CockpitError naming what is wrong with it."""
    name = name.strip()
    if name in catalog.FAMILIES:
        found = catalog.family(name, task)
        return ModelRef(
            name,
            "catalog",
            task,
            lambda: catalog.estimator_class(name, task)(),
            None,
            found.dense,
            found.staged,
        )
    if ":" in name:
        return _pipeline(name, task)
    if "." in name:
        return _estimator(name, task)
    raise CockpitError(
        f"--model {name!r} is not one of {', '.join(catalog.FAMILIES)}; or name an importable "
        "scikit-learn estimator class as module.Class (e.g. lightgbm.LGBMClassifier)"
    )


def _estimator(name: str, task: str) -> ModelRef:
    module_name, _, attr = name.rpartition(".")
    found = _attribute(_import(module_name, name), module_name, attr)
    if not inspect.isclass(found):
        raise CockpitError(f"{name} is not an estimator class (it is a {type(found).__name__})")
    from sklearn.base import BaseEstimator

    if not issubclass(found, BaseEstimator):
        raise CockpitError(f"{name} is not a scikit-learn estimator (BaseEstimator)")

    def make() -> Any:
        try:
            return found()
        except Exception as exc:
            raise CockpitError(
                f"{name}() cannot be made with its defaults ({type(exc).__name__}: {exc}); "
                "write a function that builds it and pass --pipeline module:function"
            ) from None

    _check_task(name, make(), task)
    return ModelRef(name, "estimator", task, make, found.__name__)


def _pipeline(name: str, task: str) -> ModelRef:
    module_name, _, path = name.partition(":")
    if not module_name or not path:
        raise CockpitError(f"--pipeline {name!r}: write module:function")
    found: Any = _import(module_name, name)
    for part in path.split("."):
        found = _attribute(found, module_name, part)
    if not callable(found) or inspect.isclass(found):
        raise CockpitError(
            f"{name} is not a function: --pipeline takes one that returns an unfitted Pipeline"
        )
    from sklearn.base import BaseEstimator, clone

    factory = found

    def make() -> Any:
        try:
            made = factory()
        except Exception as exc:
            raise CockpitError(f"{name}() failed: {type(exc).__name__}: {exc}") from None
        if not isinstance(made, BaseEstimator):
            raise CockpitError(
                f"{name}() returned a {type(made).__name__}, not a scikit-learn estimator "
                "(BaseEstimator) such as a Pipeline"
            )
        return clone(made)  # unfitted, and never an object the function hands out twice

    model = make()
    _check_task(name, model, task)
    return ModelRef(name, "pipeline", task, make, type(final_estimator(model)).__name__)


def final_estimator(model: Any) -> Any:
    while hasattr(model, "steps"):
        model = model.steps[-1][1]
    return model


def working_folder_on_path() -> None:
    """A module in the working folder imports here as it does in the training child (which
    `python -m` starts with that folder on its path). Appended, so it never hides an
    installed package from a long-lived process such as the terminal UI."""
    folder = os.getcwd()
    if folder not in sys.path and "" not in sys.path:
        sys.path.append(folder)


def _import(module_name: str, name: str) -> Any:
    """The user's module (see `working_folder_on_path`)."""
    working_folder_on_path()
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if module_name == missing or module_name.startswith(missing + "."):
            raise CockpitError(
                f"{name}: no module named {missing!r} (install it, or run cockpit in the folder "
                "that holds it, or add that folder to PYTHONPATH)"
            ) from None
        raise CockpitError(f"{name}: importing {module_name} failed: {exc}") from None
    except Exception as exc:
        raise CockpitError(f"{name}: importing {module_name} failed: {type(exc).__name__}: {exc}") from None


def _attribute(owner: Any, module_name: str, attr: str) -> Any:
    if not attr.isidentifier() or not hasattr(owner, attr):
        names = [n for n in dir(owner) if not n.startswith("_")]
        hint = get_close_matches(attr, names, n=1)
        raise CockpitError(
            f"{module_name} has no {attr!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    return getattr(owner, attr)


def _check_task(name: str, model: Any, task: str) -> None:
    from sklearn.base import is_classifier, is_regressor

    wanted = "regressor" if task == "regression" else "classifier"
    if (is_regressor if task == "regression" else is_classifier)(model):
        return
    other = "a classifier" if is_classifier(model) else "a regressor" if is_regressor(model) else None
    what = f"is {other}" if other else "is neither a classifier nor a regressor to scikit-learn"
    raise CockpitError(f"{name} {what}: a {task} project needs a {wanted}")


def recordable(params: dict[str, Any]) -> dict[str, Any]:
    """The params a run can record as JSON (numpy scalars as plain numbers); the others
    (estimators, functions, lists) stay as the class makes them."""
    import numpy as np

    kept = {}
    for key, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        try:
            catalog.check_value(key, value)
        except CockpitError:
            continue
        kept[key] = value
    return kept


def _parse_pairs(items: list[str], known: dict[str, Any]) -> dict[str, Any]:
    """NAME=VALUE texts typed after each default. true/false are booleans whatever the
    default: a class may hold a placeholder text ('deprecated', 'warn') in a boolean param."""
    pairs: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise CockpitError(f"--param {item!r}: write NAME=VALUE")
        default = known.get(key)
        if value.strip().lower() in ("true", "false") and not isinstance(default, (int, float)):
            pairs[key] = value.strip().lower() == "true"
            continue
        plain = default is None or isinstance(default, (bool, int, float, str))
        pairs[key] = catalog.parse_value(value, default if plain else None, key)
    return pairs


def _check_extra_name(name: str, estimator: Any, key: str, known: dict[str, Any]) -> None:
    """A name `get_params()` does not list is refused, unless the estimator it belongs to takes
    any keyword (`**kwargs`, as LightGBM and XGBoost do) and it is not one letter off a listed
    name (a typo)."""
    prefix, _, leaf = key.rpartition("__")
    owner = known.get(prefix) if prefix else estimator
    hint = get_close_matches(key, list(known), n=1)
    if hasattr(owner, "get_params") and leaf and not hint and _takes_kwargs(owner):
        return
    if not hasattr(owner, "get_params"):
        prefix = ""  # no such step: name the top-level ones
    listed = [k for k in known if k.rpartition("__")[0] == prefix]
    raise CockpitError(
        f"{name} takes no parameter {key}"
        + (f" (did you mean {hint[0]!r}?)" if hint else "")
        + f"; it takes {', '.join(sorted(listed))}"
    )


def _takes_kwargs(estimator: Any) -> bool:
    try:
        signature = inspect.signature(type(estimator).__init__)
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())


def _check_values(name: str, estimator: Any, params: dict[str, Any]) -> None:
    """Let the estimator judge the values before any fit: set_params, a clone (the
    scikit-learn contract every later refit relies on), and scikit-learn's own parameter
    validation in each estimator that has it."""
    from sklearn.base import BaseEstimator, clone
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        estimator.set_params(**params)
        estimator = clone(estimator)
    except Exception as exc:
        raise CockpitError(f"{name}: {type(exc).__name__}: {exc}") from None
    parts = [
        estimator,
        *(v for v in estimator.get_params(deep=True).values() if isinstance(v, BaseEstimator)),
    ]
    for part in parts:
        # scikit-learn (1.9) has no public check of params short of `fit`, which calls this
        # first (see catalog._check_with_sklearn); classes outside scikit-learn may lack it.
        if not hasattr(part, "_parameter_constraints"):
            continue
        try:
            part._validate_params()
        except InvalidParameterError as exc:
            raise CockpitError(f"{name}: {exc}") from None
    for key, value in params.items():
        if (key == "n_jobs" or key.endswith("__n_jobs")) and value == 0:
            raise CockpitError(f"{name}: {key}=0 runs nothing; give a count of workers or -1 for every core")
