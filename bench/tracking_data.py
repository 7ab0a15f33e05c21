"""The metric curve each benchmarked tracking run logs, shared by cockpit's side
(bench/tracking_bench.py) and MLflow's (bench/ref_mlflow.py, which imports this file from
its own venv: the standard library only)."""

from __future__ import annotations

import math

STEPS = 100  # train_loss points per run, steps 0..99
KEY = "train_loss"


def curve(i: int, steps: int = STEPS) -> list[float]:
    """A loss that falls with the steps, offset per run."""
    return [1.0 / math.sqrt(step + 1) + (i % 7) / 100 for step in range(steps)]
