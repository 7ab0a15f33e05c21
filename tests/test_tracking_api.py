"""The Python tracking API (cockpit.start_run): a user's own LightGBM pipeline trained in the
block on palmerpenguins (three species as text, missing values), recorded like a catalogue
run; failures, Ctrl-C, git state, a model trained on other data, a script run in its own
process, and a notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import cockpit
from cockpit.errors import CockpitError
from cockpit.projects import resolve_project
from cockpit.training import runs, steps
from cockpit.training.fit import predict
from cockpit.workspace import Workspace

LGBM = {"n_estimators": 20, "n_jobs": 1, "verbose": -1, "random_state": 0}


@pytest.fixture(scope="module")
def penguins_build(tmp_path_factory) -> Path:
    """A workspace with project "penguins" (multiclass on species), its data and split 1."""
    from palmerpenguins import load_penguins

    from cockpit.data.datasets import import_dataset
    from cockpit.data.splits import make_split
    from cockpit.projects import create_project

    folder = tmp_path_factory.mktemp("penguins") / "ws"
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "penguins", "multiclass", "species")
    load_penguins().to_csv(folder / "penguins.csv", index=False)
    import_dataset(ws, project, folder / "penguins.csv")
    make_split(ws, project, "stratified", seed=1)
    ws.close()
    return folder


@pytest.fixture
def root(penguins_build: Path, private_copy) -> Path:
    return private_copy(penguins_build)


def user_pipeline(X: pd.DataFrame, y: pd.Series, eval_set=None) -> Pipeline:
    """What a user writes: encode the text columns, LightGBM on the rest (NaN as it comes)."""
    from lightgbm import LGBMClassifier

    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]), remainder="passthrough"
    )
    model = LGBMClassifier(**LGBM)
    # eval_set, not eval_X/eval_y: LightGBM 4.7 encodes text labels for eval_set only
    fit = {} if eval_set is None else {"eval_set": [(pre.fit(X).transform(eval_set[0]), eval_set[1])]}
    model.fit(pre.fit_transform(X), y, **fit)
    return Pipeline([("pre", pre), ("lgbm", model)])


def open_run(root: Path, run_id: int) -> runs.Run:
    with Workspace.open(root) as ws:
        return runs.get_run(ws, resolve_project(ws, "penguins"), run_id)


@pytest.mark.filterwarnings("ignore:The argument 'eval_set' is deprecated")
def test_a_lightgbm_pipeline_trained_in_the_block_is_a_finished_run(root: Path, monkeypatch) -> None:
    # the process runs a script (pytest's own __main__ has no file in an xdist worker)
    script = types.ModuleType("__main__")
    script.__file__ = str(root.parent / "train_penguins.py")
    monkeypatch.setitem(sys.modules, "__main__", script)
    with cockpit.start_run(project="penguins", split=1, workspace=root, seed=7) as run:
        X, y = run.train_frame()
        X_val, y_val = run.validation_frame()
        assert (
            "species" not in X.columns
            and X["sex"].isna().any()
            and set(y)
            == {
                "Adelie",
                "Chinstrap",
                "Gentoo",
            }
        )
        run.log_params({"n_estimators": np.int64(20), "learning_rate": np.float32(0.1), "pre": "onehot"})
        pipe = user_pipeline(X, y, eval_set=(X_val, y_val))
        losses = pipe[-1].evals_result_["valid_0"]["multi_logloss"]
        for step, loss in enumerate(losses):
            run.log_metric("valid_loss", loss, step=step)
        run.log_metric("fold", 0.5)
        run.log_metric("fold", 0.7)
        run.log_model(pipe)
        assert open_run(root, run.id).status == "running"  # the row is there while the block runs

    done = run.result
    assert done is not None and done.status == "finished", done.error if done else None
    assert (done.family, done.model_class, done.model_name) == (
        "lightgbm.LGBMClassifier",
        "LGBMClassifier",
        "LGBMClassifier",
    )
    assert (
        done.source == "script"
        and done.origin
        and done.origin["script"] == os.path.abspath(sys.modules["__main__"].__file__)
    )
    assert done.params == {"n_estimators": 20, "learning_rate": pytest.approx(0.1), "pre": "onehot"}
    assert (done.seed, done.split_id, done.version_id) == (7, 1, 1)
    assert done.duration_s > 0 and done.finished_at and done.python_version
    assert done.library_versions["lightgbm"] and done.library_versions["scikit-learn"]
    assert [c["name"] for c in done.input_schema] == list(X.columns)

    with Workspace.open(root) as ws:
        series = {s.key: s for s in steps.metric_series(ws, run.id)}
        project = resolve_project(ws, "penguins")
        pipeline = runs.load_pipeline(ws, done)
        from cockpit.data.splits import get_split, split_frames

        parts = split_frames(ws, project, get_split(ws, project, 1))
    assert series["valid_loss"].steps == list(range(20))
    assert series["valid_loss"].values == pytest.approx(losses)
    assert series["valid_loss"].values[-1] < series["valid_loss"].values[0]
    assert (series["fold"].steps, series["fold"].values) == ([0, 1], [0.5, 0.7])

    # the validation score is the spec's metric (f1, macro) on the split's validation rows
    mine = f1_score(y_val, pipe.predict(X_val), average="macro")
    assert done.metric == "f1" and done.score == pytest.approx(mine) and done.score > 0.9
    # the saved model takes a whole split frame (the target and every column) as it comes
    y_pred, proba, classes = predict(pipeline, parts["test"], "multiclass")
    assert list(y_pred) == list(pipe.predict(parts["test"][X.columns]))
    assert classes == ["Adelie", "Chinstrap", "Gentoo"] and proba.shape == (len(parts["test"]), 3)


def test_evaluate_on_the_test_split_works_on_a_tracked_run(root: Path, run_cli) -> None:
    with cockpit.start_run(project="penguins", workspace=root) as run:
        run.log_model(user_pipeline(*run.train_frame()))
    result = run_cli("evaluate", str(run.id), "--split", "test", "--json", workspace=root)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["metrics"]["f1"] > 0.9 and report["part"] == "test"
    refused = run_cli("evaluate", str(run.id), "--data", "1", workspace=root)
    assert refused.exit_code == 2
    assert "is scored on data version 1, split 1 already" in refused.stderr


def test_a_block_that_raises_is_failed_with_its_error_and_its_points_kept(root: Path) -> None:
    block = cockpit.start_run(project="penguins", workspace=root)
    with pytest.raises(ZeroDivisionError, match="division by zero"), block as run:
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1))
        run.log_params({"lr": 0.1})
        1 / 0  # noqa: B018
    done = open_run(root, run.id)
    assert done.status == "failed" and done.error == "ZeroDivisionError: division by zero"
    assert done.artifact_sha256 is None and done.duration_s is not None and done.params == {"lr": 0.1}
    with Workspace.open(root) as ws:
        assert steps.metric_series(ws, run.id)[0].values == [1.0, 0.5, pytest.approx(1 / 3)]
    with pytest.raises(CockpitError, match="has ended"):
        run.log_metric("loss", 0.1)


def test_ctrl_c_in_the_block_cancels_the_run(root: Path) -> None:
    with pytest.raises(KeyboardInterrupt), cockpit.start_run(project="penguins", workspace=root) as run:
        raise KeyboardInterrupt
    done = open_run(root, run.id)
    assert (done.status, done.error) == ("cancelled", "cancelled by the user: Ctrl-C")


def test_a_block_without_a_model_is_finished_with_none_and_evaluate_says_so(root: Path, run_cli) -> None:
    with cockpit.start_run(project="penguins", workspace=root) as run:
        run.log_metric("loss", float("nan"))
        run.log_metric("loss", 0.25)
    done = run.result
    assert done and done.status == "finished" and done.artifact_sha256 is None and done.score is None
    with Workspace.open(root) as ws:
        assert steps.metric_series(ws, run.id)[0].values == [None, 0.25]
    refused = run_cli("evaluate", str(run.id), workspace=root)
    assert refused.exit_code == 2 and "logged no model" in refused.stderr
    for command, done in (("gate", "evaluated"), ("register", "registered"), ("reproduce", "reproduced")):
        refused = run_cli(command, str(run.id), workspace=root)
        assert refused.exit_code == 2, (command, refused.stderr)
        assert (
            f"finished without a model (its code never called run.log_model): there is nothing to be {done}"
            in (refused.stderr)
        )


def test_bad_project_split_seed_or_model_are_refused_with_one_message(root: Path) -> None:
    cases = [
        ({"project": "nope"}, "no project named 'nope'"),
        ({"split": 9}, "no split 9 in project 'penguins'"),
        ({"split": "1"}, "give a split id"),
        ({"seed": -1}, "seed -1"),
    ]
    for kwargs, message in cases:
        with pytest.raises(CockpitError, match=message):
            cockpit.start_run(**{"project": "penguins", "workspace": root, **kwargs})
    with Workspace.open(root) as ws:
        assert ws.store.scalar("SELECT COUNT(*) FROM runs") == 0
    from lightgbm import LGBMClassifier

    with pytest.raises(CockpitError, match="is not fitted"), cockpit.start_run(workspace=root) as run:
        run.log_model(LGBMClassifier(**LGBM))
    assert open_run(root, run.id).error == (
        "CockpitError: the model (LGBMClassifier) is not fitted: call fit before logging it"
    )


def test_the_workspace_is_found_like_the_cli_finds_it(root: Path, monkeypatch) -> None:
    monkeypatch.chdir(root)
    with cockpit.start_run() as run:  # the only project, the newest split
        pass
    assert run.result and run.result.split_id == 1 and run.result.status == "finished"
    monkeypatch.chdir(root.parent)
    monkeypatch.setenv("COCKPIT_WORKSPACE", str(root))
    with cockpit.start_run(project="penguins") as again:
        pass
    assert again.id == run.id + 1


def test_git_commit_and_dirty_flag_are_those_of_the_scripts_folder(root: Path, tmp_path, monkeypatch) -> None:
    code = tmp_path / "code"
    code.mkdir()
    script = code / "train.py"
    script.write_text("print('training')\n")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(code), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    monkeypatch.setitem(sys.modules, "__main__", types.SimpleNamespace(__file__=str(script)))
    monkeypatch.setattr(sys, "argv", [str(script), "--depth", "6"])
    with cockpit.start_run(project="penguins", workspace=root) as run:
        pass
    done = run.result
    assert done and (done.git_commit, done.git_dirty) == (git("rev-parse", "HEAD"), False)
    assert done.origin["script"] == str(script) and done.origin["argv"] == ["--depth", "6"]

    # a notebook's state is read at every run: an edit since the commit is seen as dirty
    script.write_text("print('changed')\n")
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    monkeypatch.chdir(code)
    with cockpit.start_run(project="penguins", workspace=root) as notebook:
        pass
    found = notebook.result
    assert found and found.source == "notebook" and found.git_dirty is True
    assert found.origin == {"kernel": "python", "cwd": str(code)}


def test_a_model_trained_on_other_data_waits_for_evaluate_data_split(root: Path, run_cli) -> None:
    from lightgbm import LGBMClassifier
    from palmerpenguins import load_penguins

    frame = load_penguins()  # the user's own copy of the rows, not cockpit's split
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    model = LGBMClassifier(**LGBM).fit(frame[numeric], frame["species"])
    with cockpit.start_run(project="penguins", workspace=root) as run:
        run.log_model(model, input_example=frame[numeric].head(20))
    done = run.result
    assert (
        done
        and done.status == "finished"
        and (done.split_id, done.version_id, done.score)
        == (
            None,
            None,
            None,
        )
    )
    assert [c["name"] for c in done.input_schema] == numeric
    assert (done.family, done.model_class) == ("lightgbm.LGBMClassifier", "LGBMClassifier")

    refused = run_cli("evaluate", str(run.id), workspace=root)
    assert (
        refused.exit_code == 2 and f"cockpit evaluate {run.id} --data VERSION --split SPLIT" in refused.stderr
    )
    wrong = run_cli("evaluate", str(run.id), "--data", "1", "--split", "7", workspace=root)
    assert wrong.exit_code == 2 and "no split 7" in wrong.stderr

    result = run_cli("evaluate", str(run.id), "--data", "1", "--split", "1", "--seeds", "0", workspace=root)
    assert result.exit_code == 0, result.stderr
    scored = open_run(root, run.id)
    assert (scored.version_id, scored.split_id) == (1, 1) and scored.score > 0.9
    with Workspace.open(root) as ws:
        project = resolve_project(ws, "penguins")
        from cockpit.data.splits import get_split, split_frames

        validation = split_frames(ws, project, get_split(ws, project, 1))["validation"]
    mine = f1_score(validation["species"], model.predict(validation[numeric]), average="macro")
    assert scored.score == pytest.approx(mine)


def test_an_input_example_must_be_the_models_inputs(root: Path) -> None:
    from lightgbm import LGBMClassifier
    from palmerpenguins import load_penguins

    frame = load_penguins()
    model = LGBMClassifier(**LGBM).fit(frame[["bill_length_mm"]], frame["species"])
    with (
        pytest.raises(CockpitError, match="holds the target column 'species'"),
        cockpit.start_run(workspace=root) as run,
    ):
        run.log_model(model, input_example=frame)
    renamed = frame[["bill_length_mm"]].set_axis(["bill_cm"], axis=1)
    with cockpit.start_run(split=1, workspace=root) as named:
        with pytest.raises(CockpitError, match="input_example has columns split 1 lacks: bill_cm"):
            named.log_model(model, input_example=renamed)
        named.log_model(model, input_example=frame[["bill_length_mm"]])  # the split has it: scored there
    assert named.result and named.result.split_id == 1 and named.result.score is not None


SCRIPT = """
import sys
import cockpit
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

with cockpit.start_run(project="penguins", seed=int(sys.argv[2])) as run:
    X, y = run.train_frame()
    numeric = X.select_dtypes("number")
    run.log_params({"C": float(sys.argv[4])})
    model = make_pipeline(SimpleImputer(), LogisticRegression(C=float(sys.argv[4]), max_iter=2000))
    model.fit(numeric, y)
    for step in range(5):
        run.log_metric("train_loss", 1.0 / (step + 1))
    run.log_model(model, input_example=numeric.head())
print(run.id, run.status)
"""


def test_a_script_run_in_its_own_process_records_its_argv(root: Path, tmp_path: Path) -> None:
    script = tmp_path / "train_lr.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "COCKPIT_WORKSPACE": str(root)}
    out = subprocess.run(
        [sys.executable, str(script), "--seed", "3", "--C", "0.5"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    run_id, status = out.stdout.split()
    done = open_run(root, int(run_id))
    assert status == done.status == "finished"
    assert done.source == "script" and done.origin["script"] == str(script)
    assert done.origin["argv"] == ["--seed", "3", "--C", "0.5"] and done.params == {"C": 0.5}
    assert done.seed == 3 and done.split_id == 1 and done.model_class == "LogisticRegression"
    assert done.family.startswith("sklearn.linear_model.")
    assert done.score is not None and done.owner_pid != os.getpid()


def test_points_are_written_while_the_block_runs(root: Path) -> None:
    with cockpit.start_run(project="penguins", workspace=root) as run:
        run._steps.every_s = 0.0  # write at once: another connection sees each point
        run.log_metric("loss", 0.9)
        run.log_metrics({"loss": 0.8, "acc": np.float64(0.6)})
        with Workspace.open(root) as reader:
            assert steps.step_counts(reader, [run.id]) == {run.id: 3}
            series = {s.key: (s.steps, s.values) for s in steps.metric_series(reader, run.id)}
        assert series == {"loss": ([0, 1], [0.9, 0.8]), "acc": ([0], [0.6])}
        with pytest.raises(CockpitError, match="'acc': 'high' is not a number"):
            run.log_metric("acc", "high")
        with pytest.raises(CockpitError, match="step 1.5 is not a whole number"):
            run.log_metric("acc", 0.7, step=1.5)


def test_import_cockpit_stays_cheap_and_start_run_is_there() -> None:
    code = (
        "import sys, cockpit; print(sorted(m for m in sys.modules if m.startswith(('cockpit.', 'pandas'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert cockpit.start_run.__module__ == "cockpit.tracking.run"


def test_a_run_used_without_with_is_ended_by_end_or_at_exit(root: Path, monkeypatch) -> None:
    from cockpit.tracking import run as tracking

    run = cockpit.start_run(workspace=root)
    run.log_metric("loss", 0.5)
    assert run.end().status == "finished" and run.end() is run.result  # ending twice changes nothing

    forgotten = cockpit.start_run(workspace=root)
    forgotten.log_metric("loss", 0.4)
    monkeypatch.setattr(sys, "last_value", RuntimeError("the script stopped here"), raising=False)
    tracking._end_open_runs()  # what the interpreter calls at exit
    done = open_run(root, forgotten.id)
    assert (done.status, done.error) == ("failed", "RuntimeError: the script stopped here")
    with Workspace.open(root) as ws:
        assert steps.step_counts(ws, [run.id, forgotten.id]) == {run.id: 1, forgotten.id: 1}


def test_a_workspace_made_again_at_the_same_place_is_the_one_written(
    root: Path, penguins_build: Path
) -> None:
    import shutil

    with cockpit.start_run(workspace=root):
        pass
    shutil.rmtree(root)
    shutil.copytree(penguins_build, root)  # a new store file where the first one was
    with cockpit.start_run(workspace=root) as again:
        pass
    with Workspace.open(root) as ws:
        assert ws.store.scalar("SELECT COUNT(*) FROM runs") == 1
    assert again.id == 1 and open_run(root, 1).status == "finished"


def test_a_model_fitted_on_some_columns_takes_those_columns(root: Path) -> None:
    from lightgbm import LGBMClassifier

    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    with cockpit.start_run(workspace=root) as run:
        X, y = run.train_frame()
        run.log_model(LGBMClassifier(**LGBM).fit(X[numeric], y))  # NaN as it comes
    assert run.result and [c["name"] for c in run.result.input_schema] == numeric
    assert run.result.score > 0.9

    with (
        pytest.raises(
            CockpitError, match="fitted on columns split 1 lacks: bill_ratio; make them in a Pipeline"
        ),
        cockpit.start_run(workspace=root) as made,
    ):
        X, y = made.train_frame()
        X = X[numeric].assign(bill_ratio=X["bill_length_mm"] / X["bill_depth_mm"])
        made.log_model(LGBMClassifier(**LGBM).fit(X, y))
    assert open_run(root, made.id).status == "failed"


def test_params_are_kept_as_json_values() -> None:
    from cockpit.tracking import values

    given = {
        "depth": np.int32(6),
        "rate": np.float64(0.05),
        "early": np.bool_(True),
        "weights": np.array([0.5, 2.0]),
        "alpha": float("nan"),
        "grid": {"C": (0.1, 1)},
        "data": Path("/tmp/x.csv"),
        "none": None,
    }
    assert values.params(given) == {
        "depth": 6,
        "rate": 0.05,
        "early": True,
        "weights": [0.5, 2.0],
        "alpha": "nan",
        "grid": {"C": [0.1, 1]},
        "data": "/tmp/x.csv",
        "none": None,
    }
    assert values.params({"big": np.zeros(1000)})["big"].startswith("[0. 0. 0.")
    with pytest.raises(CockpitError, match="give a dict"):
        values.params([("a", 1)])


def test_a_run_cancelled_elsewhere_stops_the_code_at_its_next_points(root: Path) -> None:
    block = cockpit.start_run(workspace=root)
    with pytest.raises(CockpitError, match="was cancelled .*: its code stops here"), block as run:
        run._steps.every_s = 0.0
        run.log_metric("loss", 0.9)
        with Workspace.open(root) as other:  # `cockpit cancel RUN --reason ...`, or the UI
            runs.cancel_run(other, resolve_project(other, None), run.id, "wrong data")
        run.log_metric("loss", 0.8)
    done = open_run(root, run.id)
    assert (done.status, done.error) == ("cancelled", "cancelled by the user: wrong data")
    with Workspace.open(root) as ws:
        assert steps.metric_series(ws, run.id)[0].values == [0.9, 0.8]  # the last points kept


def test_evaluate_data_alone_takes_the_versions_newest_split(root: Path, run_cli) -> None:
    from lightgbm import LGBMClassifier
    from palmerpenguins import load_penguins

    frame = load_penguins()
    numeric = ["bill_length_mm", "flipper_length_mm"]
    with cockpit.start_run(workspace=root) as run:
        run.log_model(
            LGBMClassifier(**LGBM).fit(frame[numeric], frame["species"]), input_example=frame[numeric]
        )
    missing = run_cli("evaluate", str(run.id), "--data", "9", workspace=root)
    assert missing.exit_code == 2 and "no dataset version 9" in missing.stderr
    result = run_cli(
        "evaluate",
        str(run.id),
        "--data",
        "1",
        "--split",
        "validation",
        "--seeds",
        "0",
        "--json",
        workspace=root,
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["part"] == "validation"
    assert open_run(root, run.id).split_id == 1
