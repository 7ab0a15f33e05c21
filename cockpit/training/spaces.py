"""Search spaces: grids from a file (tried whole, or drawn from at random), and default random
spaces per catalogue family."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

# family -> param -> ("choice", [values]) | ("loguniform", low, high) | ("int", low, high)
DEFAULT_SPACES: dict[str, dict[str, tuple]] = {
    "logistic_regression": {"C": ("loguniform", 1e-3, 100.0), "class_weight": ("choice", [None, "balanced"])},
    "ridge": {"alpha": ("loguniform", 1e-3, 100.0)},
    "decision_tree": {
        "max_depth": ("choice", [2, 3, 4, 6, 8, 12, None]),
        "min_samples_leaf": ("choice", [1, 2, 5, 10, 20, 50]),
    },
    "random_forest": {
        "n_estimators": ("choice", [50, 100, 200]),
        "max_depth": ("choice", [4, 8, 12, 16, None]),
        "min_samples_leaf": ("choice", [1, 2, 5, 10]),
        "max_features": ("choice", ["sqrt", 0.5, 1.0]),
    },
    "hist_gradient_boosting": {
        "learning_rate": ("loguniform", 0.01, 0.3),
        "max_iter": ("choice", [50, 100, 200]),
        "max_leaf_nodes": ("choice", [15, 31, 63]),
        "l2_regularization": ("loguniform", 1e-6, 1.0),
    },
    "dummy": {"strategy": ("choice", ["most_frequent", "prior", "stratified", "uniform"])},
    "linear_regression": {"fit_intercept": ("choice", [True, False])},
}


MAX_GRID_TRIALS = 100_000  # as many as --random may draw


def load_grid(path: Path) -> dict[str, list[Any]]:
    """A grid file: each parameter with the list of values to try (TOML or JSON). Every
    value is one number, text, true/false or null ("none" is null); one line names the
    file and the first thing wrong."""
    from cockpit.files import read_structured
    from cockpit.training.catalog import check_value

    data = read_structured(path, "grid file")
    data = data.get("grid", data) if isinstance(data, dict) else data
    if not isinstance(data, dict) or not data:
        raise CockpitError(f"{path}: a grid maps each parameter to a list of values")
    grid: dict[str, list[Any]] = {}
    for name, values in data.items():
        if not isinstance(values, list) or not values:
            raise CockpitError(f"{path}: parameter {name!r} needs a non-empty list of values")
        for value in values:
            try:
                check_value(name, value)
            except CockpitError as exc:
                raise CockpitError(f"{path}: {exc}") from None
        grid[name] = [None if v == "none" else v for v in values]
    size = math.prod(len(values) for values in grid.values())
    if size > MAX_GRID_TRIALS:
        raise CockpitError(
            f"{path}: the grid makes {size:,} trials, more than "
            f"{MAX_GRID_TRIALS:,}; list fewer values or draw --random N"
        )
    return grid


def check_grid(grid: dict[str, list[Any]], family: str, task: str, source: str) -> None:
    """Every name is a parameter of the model and every value one it accepts, judged
    value by value (not trial by trial) before anything is written."""
    from cockpit.training import models

    model = models.resolve(family, task)
    for name, values in grid.items():
        for value in values:
            try:
                model.resolve_params({name: value})
            except CockpitError as exc:
                raise CockpitError(f"{source}: {exc}") from None


def grid_space(grid: dict[str, list[Any]]) -> dict[str, tuple]:
    """A grid as a random space: each parameter drawn from its listed values."""
    return {name: ("choice", values) for name, values in grid.items()}


def grid_trials(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def random_trials(
    family: str, n: int, seed: int, space: dict[str, tuple] | None = None
) -> list[dict[str, Any]]:
    """n parameter sets drawn from the family's space, or from `space` (seeded, so a sweep is
    repeatable)."""
    import numpy as np

    space = space or DEFAULT_SPACES.get(family)
    if not space:
        raise CockpitError(
            f"no default search space for {family} (only the catalogue's families have one); give "
            "--grid FILE to try every combination, or --grid FILE --random N to draw N from its values"
        )
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(n):
        trial = {}
        for name, spec in space.items():
            if spec[0] == "choice":
                trial[name] = spec[1][int(rng.integers(len(spec[1])))]
            elif spec[0] == "loguniform":
                trial[name] = float(np.exp(rng.uniform(np.log(spec[1]), np.log(spec[2]))))
            else:
                trial[name] = int(rng.integers(spec[1], spec[2] + 1))
        trials.append(trial)
    return trials
