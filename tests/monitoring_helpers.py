"""Shared by the monitoring tests on real data: the headless loop through the real CLI up
to a production model, and readers of what monitoring stored."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from cockpit.cli import cli
from cockpit.workspace import Workspace


def run(root: Path, *args: str):
    """`cockpit --workspace root ...`; a crash is raised, never mistaken for an exit code."""
    result = CliRunner().invoke(cli, ["--workspace", str(root), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def build(root: Path, task: str, target: str, train: pd.DataFrame, id_column: str | None = None) -> None:
    """init, project new, data import, (the id column declared,) split, train, register,
    deploy: the headless loop."""
    root.mkdir(parents=True, exist_ok=True)
    train.to_csv(root / "train.csv", index=False)
    assert run(root, "init", str(root)).exit_code == 0
    declare = [("features", "set", "--column", f"{id_column}:role=id")] if id_column else []
    steps = [
        ("project", "new", "p", "--task", task, "--target", target),
        ("data", "import", str(root / "train.csv")),
        *declare,
        ("data", "split", "--seed", "1"),
        ("train", "--model", "logistic_regression"),
        ("register", "1", "--override", "monitoring test"),
        ("deploy", "1", "--strategy", "blue-green", "--reason", "monitoring test", "--override", "t"),
    ]
    for step in steps:
        result = run(root, *step)
        # a split is recorded either way; exit 1 only flags leakage findings
        assert result.exit_code in ((0, 1) if step[:2] == ("data", "split") else (0,)), (
            step,
            result.output,
            result.stderr,
        )


def stored_outputs(root: Path, batch_id: int) -> pd.DataFrame:
    from cockpit.deployment.batch import load_batch

    with Workspace(root / ".cockpit") as ws:
        found = ws.store.one("SELECT * FROM batches WHERE id = ?", [batch_id])
        return load_batch(ws, found)[1]


def check(root: Path, *args: str) -> tuple[int, dict]:
    result = run(root, "monitor", "check", "--json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def window(checked: dict, name: str) -> dict:
    return next(w for w in checked["windows"] if w["window"] == name)


def penguins() -> pd.DataFrame:
    """palmerpenguins in a fixed shuffled order: the first 250 rows train, the rest arrive."""
    from palmerpenguins import load_penguins

    return load_penguins().sample(frac=1, random_state=7).reset_index(drop=True)


def counts(root: Path) -> dict[str, int]:
    """Rows of every table a monitoring command may write: equal before and after means
    nothing was written."""
    tables = (
        "events",
        "batches",
        "labels",
        "alert_rules",
        "alerts",
        "monitor_windows",
        "monitor_references",
        "artifacts",
    )
    with Workspace(root / ".cockpit") as ws:
        return {t: ws.store.scalar(f"SELECT count(*) FROM {t}") for t in tables}
