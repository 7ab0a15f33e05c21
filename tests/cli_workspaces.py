"""Workspaces built from public data sets through the real CLI, for the CLI-edge tests.

`build` drives `cockpit` (click's CliRunner, in-process) from init to trained runs on a
table from scikit-learn's bundled loaders or palmerpenguins; test modules build one per
module and copy it per test (`copy`), so each test stands alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from click.testing import CliRunner, Result

from cockpit.cli import cli
from tests.training_here import training_here


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).frame


def penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


def breast_cancer_errors() -> pd.DataFrame:
    """Breast cancer's ten standard-error columns and its label as `benign`: none predicts the
    label alone, so a split's leak check has little to weigh (most of a build's time on all
    thirty columns)."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    return data[[c for c in data.columns if c.endswith(" error")] + ["benign"]]


def wine() -> pd.DataFrame:
    """Wine with its classes coded 0, 1, 2 (integers), as the loader gives them."""
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame


@dataclass(frozen=True)
class Built:
    root: Path  # the workspace folder
    data: Path  # the CSV it imported

    def cli(self, *args: str) -> Result:
        return invoke("--workspace", str(self.root), *args)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def build(
    folder: Path,
    frame: pd.DataFrame,
    task: str,
    target: str,
    spec: tuple[str, ...] = (),
    runs: tuple[tuple[str, ...], ...] = (),
) -> Built:
    """init, project new, import, split (random, seed 1), the problem spec's FIELD=VALUE
    settings, and one `train` per entry of `runs` (the arguments after `train`)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data.csv"
    frame.to_csv(data, index=False)
    built = Built(folder / "ws", data)
    _ok(invoke("init", str(built.root)), "init")
    _ok(built.cli("project", "new", "p", "--task", task, "--target", target), "project new")
    _ok(built.cli("data", "import", str(data)), "import")
    split = built.cli("data", "split", "--strategy", "random", "--seed", "1")
    assert split.exit_code in (0, 1), split.stderr  # 1: a leak finding, the split is kept
    if spec:
        _ok(built.cli("problem", "set", *[a for s in spec for a in ("--set", s)]), "problem set")
    with training_here():  # the setup's runs: the training process is not these tests' subject
        for args in runs:
            _ok(built.cli("train", *args), f"train {' '.join(args)}")
    return built


def copy(built: Built, folder: Path) -> Built:
    """A copy of a built workspace in `folder`, for one test to change."""
    shutil.copytree(built.root.parent, folder)
    return Built(folder / "ws", folder / built.data.name)


def _ok(result: Result, step: str) -> None:
    assert result.exit_code == 0, f"{step}: exit {result.exit_code}: {result.stderr}"
