"""Deterministic fake runs shared by every tool's benchmark (no imports beyond the stdlib:
the reference venv imports this file too, so MLflow, cockpit and sqlite3 record the same runs).

A run: a model family, 10 params (ints, floats, strings, a bool, a None) and 5 validation
metrics, all of them metrics cockpit keeps as indexed columns.
"""

from __future__ import annotations

import random

FAMILIES = ("random_forest", "logistic_regression", "hist_gradient_boosting")
METRICS = ("roc_auc", "recall", "precision", "f1", "accuracy")
PARAM_NAMES = (
    "n_estimators",
    "max_depth",
    "min_samples_leaf",
    "max_features",
    "criterion",
    "bootstrap",
    "class_weight",
    "ccp_alpha",
    "max_samples",
    "min_impurity_decrease",
)
FILTER_FAMILY = "random_forest"  # the filtered listing: family = random_forest and recall > 0.5
FILTER_RECALL = 0.5
SORT_METRIC = "roc_auc"


def runs(n: int, seed: int = 7) -> list[dict]:
    """n runs as {"family", "params", "metrics", "seed"}."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        params = {
            "n_estimators": rng.choice((50, 100, 200, 400)),
            "max_depth": rng.choice((None, 4, 8, 16)),
            "min_samples_leaf": rng.randint(1, 20),
            "max_features": round(rng.uniform(0.1, 1.0), 4),
            "criterion": rng.choice(("gini", "entropy", "log_loss")),
            "bootstrap": rng.random() < 0.5,
            "class_weight": rng.choice((None, "balanced")),
            "ccp_alpha": round(rng.uniform(0, 0.01), 6),
            "max_samples": round(rng.uniform(0.5, 1.0), 4),
            "min_impurity_decrease": round(rng.uniform(0, 0.001), 6),
        }
        auc = rng.uniform(0.5, 0.95)
        metrics = {
            "roc_auc": auc,
            "recall": rng.random(),
            "precision": rng.random(),
            "f1": rng.random(),
            "accuracy": rng.uniform(0.5, 0.95),
        }
        out.append(
            {"family": FAMILIES[i % len(FAMILIES)], "params": params, "metrics": metrics, "seed": 42 + i}
        )
    return out
