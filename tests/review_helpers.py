"""Small real workspaces for the review tests: a project trained and registered through the
core, and a production version whose traffic fires a critical alert by the real path (a
production batch ingested, a user's critical rule, `monitoring.alerts.check`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry
from cockpit.monitoring import alerts, batches
from cockpit.projects import Project, create_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from storage import clock
from tests.training_here import trained_here


def frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, rows)
    return pd.DataFrame(
        {
            "user_id": [f"U{i}" for i in range(rows)],
            "x": x,
            "left": (x + rng.normal(0, 1, rows) > 0.5).astype(int),
        }
    )


def trained(ws: Workspace, folder: Path, name: str = "svc") -> tuple[Project, runs.Run]:
    """A binary project with data, a split, a spec and one logistic regression run."""
    project = create_project(ws, name, "binary", "left")
    folder.mkdir(parents=True, exist_ok=True)
    frame().to_csv(folder / f"{name}.csv", index=False)
    datasets.import_dataset(ws, project, folder / f"{name}.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.6))
    return project, trained_here(ws, project, "logistic_regression")


def registered(ws: Workspace, folder: Path, name: str = "svc") -> tuple[Project, registry.ModelVersion]:
    project, run = trained(ws, folder, name)
    return project, registry.register(ws, project, run.id, "review test")


def critical_alert(ws: Workspace, project: Project, folder: Path) -> alerts.Alert:
    """Deploy v1 to production, ingest a production batch, and fire a critical rule on it."""
    registry.deploy(ws, project, 1, "blue-green", reason="review test", override="review test")
    production = frame(200, seed=1).drop(columns=["left"])
    production.to_csv(folder / "batch.csv", index=False)
    # dated now: a fresh feed (a past date would also fire the freshness rule, measured to now)
    batches.ingest(ws, project, folder / "batch.csv", at=clock.now_iso())
    alerts.add_rule(ws, project, "rows", ">", 0, severity="critical", action="page the on-call")
    fired = [a for a in alerts.check(ws, project).firing if a.metric == "rows"]
    assert len(fired) == 1, fired
    return fired[0]
