"""Edges of the tracking API (cockpit.start_run) a new user meets: a model class of the
script itself, a model that does not suit the project, a script ending without `end()`,
`python -m`, the point buffer, one transaction per start and per scoring. Data: palmerpenguins."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

import cockpit
from cockpit.errors import CockpitError
from cockpit.projects import resolve_project
from cockpit.training import runs, steps
from cockpit.workspace import Workspace

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


@pytest.fixture(scope="module")
def penguins_build(tmp_path_factory) -> Path:
    """Project "penguins" (multiclass on species) and "mass" (regression on body_mass_g),
    each with the penguins data and split."""
    from palmerpenguins import load_penguins

    from cockpit.data.datasets import import_dataset
    from cockpit.data.splits import make_split
    from cockpit.projects import create_project

    folder = tmp_path_factory.mktemp("penguins") / "ws"
    ws, _ = Workspace.init(folder)
    load_penguins().to_csv(folder / "penguins.csv", index=False)
    for name, task, target in (("penguins", "multiclass", "species"), ("mass", "regression", "body_mass_g")):
        project = create_project(ws, name, task, target)
        import_dataset(ws, project, folder / "penguins.csv")
        make_split(ws, project, "random" if task == "regression" else "stratified", seed=1)
    ws.close()
    return folder


@pytest.fixture
def root(penguins_build: Path, private_copy) -> Path:
    return private_copy(penguins_build)


def open_run(root: Path, run_id: int, project: str = "penguins") -> runs.Run:
    with Workspace.open(root) as ws:
        return runs.get_run(ws, resolve_project(ws, project), run_id)


def numeric_lr(X: pd.DataFrame, y: pd.Series) -> Pipeline:
    return make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500)).fit(X[NUMERIC], y)


class Nearest(ClassifierMixin, BaseEstimator):
    """A user's own classifier (the nearest species mean of one column)."""

    def fit(self, X, y):
        self.means_ = X.groupby(y)["bill_length_mm"].mean()
        self.classes_ = np.array(sorted(self.means_.index))
        self.feature_names_in_ = np.array(list(X.columns), dtype=object)
        return self

    def predict(self, X):
        v = X["bill_length_mm"].fillna(self.means_.mean()).to_numpy()[:, None]
        return self.means_.index.to_numpy()[np.abs(v - self.means_.to_numpy()[None, :]).argmin(1)]


def fill(frame):
    return frame.fillna(0)


def test_a_class_or_function_of_the_script_itself_is_refused_at_log_model(root: Path, monkeypatch) -> None:
    # what a class or function defined in `python train.py` (or a notebook cell) is
    monkeypatch.setattr(Nearest, "__module__", "__main__")
    monkeypatch.setattr(fill, "__module__", "__main__")
    with cockpit.start_run(project="penguins", workspace=root) as run:
        X, y = run.train_frame()
        with pytest.raises(CockpitError, match=r"class Nearest defined in your script.*in a module"):
            run.log_model(Nearest().fit(X, y))
        step = make_pipeline(FunctionTransformer(fill), LogisticRegression(max_iter=500))
        with pytest.raises(CockpitError, match=r"function fill defined in your script.*import it"):
            run.log_model(step.fit(X[NUMERIC], y))
        lam = make_pipeline(FunctionTransformer(lambda f: f.fillna(0)), LogisticRegression(max_iter=500))
        with pytest.raises(CockpitError, match=r"cannot be saved: pickle refuses it"):
            run.log_model(lam.fit(X[NUMERIC], y))
        run.log_model(numeric_lr(X, y))  # a refused model is not logged: another one can be
    assert run.result is not None and run.result.status == "finished" and run.result.score is not None


def test_log_model_checks_what_register_file_checks(root: Path) -> None:
    with cockpit.start_run(project="mass", workspace=root) as run:
        X, y = run.train_frame()
        classifier = LogisticRegression(max_iter=50).fit(X[NUMERIC].fillna(0), (y > 4000).astype(int))
        with pytest.raises(CockpitError, match="is a classifier; a regression project needs a regressor"):
            run.log_model(classifier)
    assert run.result is not None and run.result.artifact_sha256 is None

    with cockpit.start_run(project="penguins", workspace=root) as run:
        X, y = run.train_frame()
        codes = LogisticRegression(max_iter=500).fit(X[NUMERIC].fillna(0), y.astype("category").cat.codes)
        with pytest.raises(CockpitError, match="predicts the classes 0, 1, 2.*trained on another target"):
            run.log_model(codes)
        arrays = LogisticRegression(max_iter=50).fit(X[NUMERIC].fillna(0).to_numpy(), y)
        with pytest.raises(CockpitError, match="takes 3 inputs; the feature spec names"):
            run.log_model(arrays)
        mixed = LogisticRegression(max_iter=50).fit(np.zeros((len(y), len(X.columns))), y)
        with pytest.raises(CockpitError, match=r"fails on the split's.*rows \(ValueError: could not convert"):
            run.log_model(mixed)
        run.log_model(numeric_lr(X, y))
    assert run.result is not None and run.result.status == "finished"


def test_a_model_logged_with_an_input_example_is_checked_on_it(root: Path) -> None:
    from palmerpenguins import load_penguins

    rows = load_penguins().dropna()
    X, y = rows[NUMERIC], rows["body_mass_g"]
    with cockpit.start_run(project="mass", workspace=root) as run:
        with pytest.raises(CockpitError, match="is a classifier"):
            run.log_model(LogisticRegression(max_iter=50).fit(X, y > 4000), input_example=X.head())
        with pytest.raises(CockpitError, match=r"fails on input_example \(ValueError"):
            run.log_model(
                LinearRegression().fit(X.to_numpy(), y), input_example=rows[["island", "sex", "year"]].head()
            )


def run_python(root: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COCKPIT_WORKSPACE": str(root), "COCKPIT_PROJECT": "penguins"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def last_run(root: Path) -> runs.Run:
    with Workspace.open(root) as ws:
        return runs.get_run(ws, resolve_project(ws, "penguins"), ws.store.scalar("SELECT max(id) FROM runs"))


@pytest.mark.parametrize(
    ("code", "returncode", "status", "error"),
    [
        ("run = cockpit.start_run()\nsys.exit(3)", 3, "failed", "exited with status 3 (sys.exit)"),
        ("run = cockpit.start_run()\nsys.exit('no data today')", 1, "failed", "SystemExit: no data today"),
        (
            "run = cockpit.start_run()\nraise RuntimeError('top-level')",
            1,
            "failed",
            "RuntimeError: top-level",
        ),
        ("run = cockpit.start_run()\nsys.exit(0)", 0, "finished", None),
        # a sys.exit the code caught: it went on, and ended cleanly
        (
            "run = cockpit.start_run()\ntry:\n    sys.exit(2)\nexcept SystemExit:\n    pass\n"
            "run.log_metric('loss', 1.0)",
            0,
            "finished",
            None,
        ),
    ],
)
def test_a_run_left_open_at_exit_records_why_the_process_ended(
    root: Path, tmp_path: Path, code: str, returncode: int, status: str, error: str | None
) -> None:
    script = tmp_path / "train.py"
    script.write_text(f"import sys\nimport cockpit\n{code}\n")
    out = run_python(root, [str(script)], tmp_path)
    assert out.returncode == returncode, out.stderr
    done = last_run(root)
    assert done.source == "script" and done.status == status
    assert (done.error is None) if error is None else (error in done.error)


def test_python_c_that_raises_fails_its_open_run(root: Path, tmp_path: Path) -> None:
    out = run_python(root, ["-c", "import cockpit\nrun = cockpit.start_run()\n1 / 0"], tmp_path)
    assert out.returncode == 1 and "ZeroDivisionError" in out.stderr
    done = last_run(root)
    assert (done.source, done.status, done.error) == (
        "notebook",
        "failed",
        "ZeroDivisionError: division by zero",
    )


def test_a_split_named_in_the_script_is_refused_by_a_retrain_saying_to_leave_it_unset(
    root: Path, monkeypatch
) -> None:
    monkeypatch.setenv("COCKPIT_DATA_VERSION", "2")
    with pytest.raises(CockpitError, match=r"data v1 \(split 1\): leave split unset in start_run"):
        cockpit.start_run(project="penguins", split=1, workspace=root)
    with Workspace.open(root) as ws:
        assert ws.store.scalar("SELECT count(*) FROM runs") == 0


def test_points_waiting_past_the_interval_are_written_at_the_next_call_of_any_kind(root: Path) -> None:
    def written(run) -> int:
        with Workspace.open(root) as ws:
            return steps.step_counts(ws, [run.id]).get(run.id, 0)

    with cockpit.start_run(project="penguins", workspace=root) as run:
        run._steps.every_s = 0.2  # the buffer's interval, short for the test
        time.sleep(0.25)
        run.log_metrics({"loss": 0.9, "auc": 0.6}, step=0)  # one epoch: both keys written together
        assert written(run) == 2
        run.log_metric("loss", 0.8, step=1)  # within the interval of the last write: held
        assert written(run) == 2
        time.sleep(0.25)
        run.log_param("lr", 0.1)  # any call on the run writes what waited past the interval
        assert written(run) == 3
        run.log_metric("loss", 0.7, step=2)
        time.sleep(0.25)
        X, y = run.train_frame()
        run.log_model(numeric_lr(X, y))
        assert written(run) == 4


PACKAGE_TRAIN = """
import cockpit
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from .columns import NUMERIC  # a relative import: only `python -m pkg.train` can run this

with cockpit.start_run() as run:
    X, y = run.train_frame()
    run.log_model(make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500)).fit(X[NUMERIC], y))
print(run.id)
"""


def test_python_m_is_recorded_as_its_module_and_run_again_as_one(root: Path, tmp_path: Path) -> None:
    from cockpit.training import rerun

    package = tmp_path / "code" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "columns.py").write_text(f"NUMERIC = {NUMERIC!r}\n")
    (package / "train.py").write_text(PACKAGE_TRAIN)
    out = run_python(root, ["-m", "pkg.train", "--fast"], tmp_path / "code")
    assert out.returncode == 0, out.stderr
    done = open_run(root, int(out.stdout.split()[-1]))
    assert done.origin["module"] == "pkg.train" and done.origin["script"] == str(package / "train.py")
    assert done.origin["argv"] == ["--fast"]
    with Workspace.open(root) as ws:
        project = resolve_project(ws, "penguins")
        command = rerun.recorded_command(ws, done)
        assert command.argv[1:] == ["-m", "pkg.train", "--fast"] and command.cwd == tmp_path / "code"
        assert command.shown == "python -m pkg.train --fast" and command.script == package / "train.py"
        rerun.check_runnable(done, command, "unused")
        again = rerun.run_command(ws, project, command, done.version_id, done.split_id)
    assert again.failure(done.version_id, done.split_id) is None, again.stderr_tail
    assert again.run is not None and again.run.origin["module"] == "pkg.train"


def test_an_external_run_is_inserted_with_its_source_and_origin(root: Path, monkeypatch) -> None:
    from cockpit.training import external

    seen = []
    create = runs.create_run

    def create_and_look(ws, project, plan, **kwargs):
        run_id = create(ws, project, plan, **kwargs)
        with Workspace.open(root) as other:  # what another reader sees once create_run commits
            seen.append(
                dict(other.store.one("SELECT family, source, origin FROM runs WHERE id = ?", [run_id]))
            )
        return run_id

    monkeypatch.setattr(runs, "create_run", create_and_look)
    with Workspace.open(root) as ws:
        external.start(ws, resolve_project(ws, "penguins"), "script", {"script": "/x/train.py", "argv": []})
    assert seen[0]["family"] == seen[0]["source"] == "script"
    assert '"script": "/x/train.py"' in seen[0]["origin"]


def test_scoring_a_run_on_data_refuses_when_it_was_scored_meanwhile(root: Path, monkeypatch) -> None:
    from palmerpenguins import load_penguins

    from cockpit.training import external

    rows = load_penguins().dropna()
    with cockpit.start_run(project="penguins", workspace=root) as run:
        run.log_model(numeric_lr(rows, rows["species"]), input_example=rows[NUMERIC].head())
    assert run.result is not None and run.result.split_id is None
    score = external.score

    def score_while_another_scores(model, data, task):
        found = score(model, data, task)
        with Workspace.open(root) as other:  # another `evaluate --data` finishing first
            other.store.update("runs", {"id": run.id}, {"version_id": 1, "split_id": 1, "score": 0.5})
        return found

    monkeypatch.setattr(external, "score", score_while_another_scores)
    with Workspace.open(root) as ws:
        project = resolve_project(ws, "penguins")
        with pytest.raises(CockpitError, match=r"was scored on split 1 meanwhile; nothing written"):
            external.attach_data(ws, project, run.id, 1)
        assert runs.get_run(ws, project, run.id).score == 0.5
        assert ws.store.scalar("SELECT count(*) FROM events WHERE action = 'run scored'") == 0


def test_a_run_that_fails_after_logging_its_model_names_the_model(root: Path) -> None:
    with pytest.raises(RuntimeError), cockpit.start_run(project="penguins", workspace=root) as run:
        X, y = run.train_frame()
        run.log_model(numeric_lr(X, y))
        raise RuntimeError("the upload step broke")
    failed = open_run(root, run.id)
    assert (failed.status, failed.error) == ("failed", "RuntimeError: the upload step broke")
    assert failed.model_class == "LogisticRegression" and failed.artifact_sha256 is None
