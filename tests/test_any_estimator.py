"""Any scikit-learn estimator from the CLI (issue 24): `cockpit train --model module.Class`
(LightGBM, a class of the user's own module) behind the feature spec's transformer, and
`--pipeline module:function` (the user's whole Pipeline on the raw feature columns); what is
refused before anything is written; reproduce, the retrain's recipe and evaluate's stability
refits of such runs; a sweep over LightGBM. On breast cancer (binary), palmerpenguins
(multiclass) and diabetes (regression)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests import cli_workspaces as real

MODULE = "cockpit_byom_models"  # the user's module, written to a folder put on the path
MODULE_TEXT = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


class Centroid(ClassifierMixin, BaseEstimator):
    """Nearest class mean, each mean shrunk toward the overall mean."""

    def __init__(self, shrink=0.0, random_state=None):
        self.shrink = shrink
        self.random_state = random_state

    def fit(self, X, y):
        X = np.asarray(X, float)
        self.classes_ = np.unique(y)
        overall = X.mean(axis=0)
        self.centroids_ = np.array(
            [(1 - self.shrink) * X[y == c].mean(axis=0) + self.shrink * overall for c in self.classes_]
        )
        return self

    def predict_proba(self, X):
        d = ((np.asarray(X, float)[:, None, :] - self.centroids_[None]) ** 2).sum(-1)
        e = np.exp(-(d - d.min(axis=1, keepdims=True)))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def penguin_pipeline():
    numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    words = ["island", "sex"]
    features = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numbers),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
         words),
    )
    return make_pipeline(features, LogisticRegression(max_iter=500))
'''
LGBM = ["--model", "lightgbm.LGBMClassifier", "--param", "n_jobs=1", "--param", "verbose=-1"]


def _cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame


@pytest.fixture(scope="module")
def cancer(tmp_path_factory) -> real.Built:
    return real.build(tmp_path_factory.mktemp("cancer"), _cancer(), "binary", "target")


@pytest.fixture(scope="module")
def penguins(tmp_path_factory) -> real.Built:
    return real.build(tmp_path_factory.mktemp("penguins"), real.penguins(), "multiclass", "species")


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> real.Built:
    return real.build(tmp_path_factory.mktemp("diabetes"), real.diabetes(), "regression", "target")


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The user's module in a folder of its own, importable here and (PYTHONPATH) in every
    child process cockpit starts."""
    folder = tmp_path / "usercode"
    folder.mkdir()
    (folder / f"{MODULE}.py").write_text(MODULE_TEXT)
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return MODULE


def _train(built: real.Built, *args: str) -> dict:
    result = built.cli("train", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _open(built: real.Built):
    from cockpit.projects import list_projects
    from cockpit.workspace import Workspace

    ws = Workspace.open(str(built.root))
    return ws, list_projects(ws)[0]


def test_lightgbm_trains_from_the_cli_behind_the_spec_and_is_recorded_by_class(cancer, tmp_path) -> None:
    built = real.copy(cancer, tmp_path / "copy")
    run = _train(built, *LGBM, "--param", "n_estimators=40", "--param", "num_leaves=7")
    assert run["status"] == "finished" and run["validation_metrics"]["roc_auc"] > 0.95
    assert (run["source"], run["family"], run["model_class"]) == (
        "estimator",
        "lightgbm.LGBMClassifier",
        "LGBMClassifier",
    )
    # every get_params() value it can record; random_state left at None is the seed
    params = run["params"]
    assert params["num_leaves"] == 7 and params["n_estimators"] == 40 and params["verbose"] == -1
    assert params["random_state"] == 42 and params["boosting_type"] == "gbdt"
    assert run["curve"] is None  # no learning curve outside the catalogue

    listed = json.loads(built.cli("runs", "--json").stdout)
    assert [(r["source"], r["model_class"]) for r in listed] == [("estimator", "LGBMClassifier")]
    table = built.cli("runs").stdout
    assert "LGBMClassifier" in table and "estimator" in table
    found = json.loads(built.cli("runs", "--json", "--filter", "family=lightgbm.LGBMClassifier").stdout)
    assert [r["id"] for r in found] == [run["id"]]
    assert json.loads(built.cli("runs", "--json", "--filter", "family=random_forest").stdout) == []

    # the saved pipeline is the spec's transformer (dense) and the fitted LightGBM
    from cockpit.data.splits import get_split, split_frames
    from cockpit.training import runs
    from cockpit.training.fit import predict

    ws, project = _open(built)
    with ws:
        saved = runs.load_pipeline(ws, runs.get_run(ws, project, run["id"]))
        validation = split_frames(ws, project, get_split(ws, project))["validation"]
    assert [name for name, _ in saved.steps] == ["features", "model"]
    assert type(saved.named_steps["model"]).__name__ == "LGBMClassifier"
    assert saved.named_steps["features"].sparse_threshold == 0.0
    _, proba, classes = predict(saved, validation, "binary")
    assert proba.shape == (len(validation), 2) and classes == [0, 1]

    again = built.cli("reproduce", str(run["id"]), "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["identical"] is True


def test_a_class_of_the_users_module_trains_reproduces_and_retrains(cancer, tmp_path, user_module) -> None:
    built = real.copy(cancer, tmp_path / "copy")
    run = _train(built, "--model", f"{user_module}.Centroid", "--param", "shrink=0.2")
    assert run["status"] == "finished", run["error"]
    assert run["validation_metrics"]["roc_auc"] > 0.9
    assert run["params"] == {"shrink": 0.2, "random_state": 42}
    assert (run["source"], run["model_class"]) == ("estimator", "Centroid")

    from cockpit.evaluation.robustness import stability
    from cockpit.training import runs
    from cockpit.training.child import load_inputs
    from cockpit.training.fit import predict

    ws, project = _open(built)
    with ws:
        first = runs.get_run(ws, project, run["id"])
        # what a retrain does with the champion's recipe (cockpit.retraining: runs.train)
        second = runs.train(ws, project, first.family, first.params, first.seed)
        assert second.status == "finished", second.error
        assert (second.source, second.family, second.model_class) == ("estimator", first.family, "Centroid")
        # evaluate's stability check: refits on bootstrap samples with other seeds
        inputs = load_inputs(ws, project, first)
        checked = stability(inputs, "roc_auc", seeds=2)
        one, two = (runs.load_pipeline(ws, r)[-1] for r in (first, second))
        assert one.centroids_.tolist() == two.centroids_.tolist()
        pair = [predict(runs.load_pipeline(ws, r), inputs.validation, "binary")[1] for r in (first, second)]
    assert (pair[0] == pair[1]).all()
    assert len(checked["values"]) == 2 and min(checked["values"]) > 0.9

    again = built.cli("reproduce", str(run["id"]), "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["identical"] is True


def test_a_training_process_that_cannot_import_the_module_says_so(cancer, tmp_path, user_module) -> None:
    """As a retrain started from another folder: the parent knows the class, the child does not."""
    built = real.copy(cancer, tmp_path / "copy")
    ws, project = _open(built)
    from cockpit.training import runs

    with ws:
        __import__(user_module)  # imported here already; the child gets no PYTHONPATH
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("PYTHONPATH")
            failed = runs.train(ws, project, f"{user_module}.Centroid", {"shrink": 0.1})
    assert failed.status == "failed" and failed.source == "estimator"
    assert "the training process (working folder" in failed.error
    assert f"no module named '{user_module}'" in failed.error


def test_a_users_pipeline_takes_the_raw_feature_columns(penguins, tmp_path, user_module) -> None:
    built = real.copy(penguins, tmp_path / "copy")
    run = _train(
        built, "--pipeline", f"{user_module}:penguin_pipeline", "--param", "logisticregression__C=0.5"
    )
    assert run["status"] == "finished", run["error"]
    assert run["validation_metrics"]["f1"] > 0.9
    assert (run["source"], run["family"], run["model_class"]) == (
        "pipeline",
        f"{user_module}:penguin_pipeline",
        "LogisticRegression",
    )
    assert run["params"]["logisticregression__C"] == 0.5
    assert run["params"]["columntransformer__remainder"] == "drop"
    assert "logisticregression" not in run["params"]  # an estimator: left to the function

    from cockpit.data.splits import get_split, split_frames
    from cockpit.training import runs
    from cockpit.training.external import INPUT_STEP
    from cockpit.training.fit import predict

    ws, project = _open(built)
    with ws:
        saved = runs.load_pipeline(ws, runs.get_run(ws, project, run["id"]))
        parts = split_frames(ws, project, get_split(ws, project))
    # no cockpit transformer: the input step hands the user's pipeline the feature columns
    assert [name for name, _ in saved.steps] == [INPUT_STEP, "model"]
    user = saved.named_steps["model"]
    assert [name for name, _ in user.steps] == ["columntransformer", "logisticregression"]
    assert user.get_params()["logisticregression__random_state"] == 42  # None: the run's seed
    assert list(saved[0].get_feature_names_out()) == [
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
        "year",
    ]
    labels, proba, classes = predict(saved, parts["test"], "multiclass")  # a whole split frame
    assert proba.shape == (len(parts["test"]), 3) and set(labels) <= set(classes)

    again = built.cli("reproduce", str(run["id"]), "--json")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["identical"] is True


def _written(built: real.Built) -> tuple[int, int, int]:
    ws, _ = _open(built)
    with ws:
        return tuple(ws.store.scalar(f"SELECT count(*) FROM {t}") for t in ("runs", "sweeps", "events"))


def _refused(built: real.Built, *args: str) -> str:
    before = _written(built)
    result = built.cli(*args)
    assert result.exit_code == 2, (args, result.stdout, result.stderr)
    said = [line for line in result.stderr.splitlines() if line.startswith(("cockpit:", "Error:"))]
    assert len(said) == 1 and "Traceback" not in result.stderr, result.stderr
    assert _written(built) == before, args
    return said[0]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["--model", "sklearn.metrics.accuracy_score"],
            "sklearn.metrics.accuracy_score is not an estimator class",
        ),
        (["--model", "numpy.ndarray"], "numpy.ndarray is not a scikit-learn estimator (BaseEstimator)"),
        (["--model", "cockpit_nowhere.Model"], "no module named 'cockpit_nowhere'"),
        (
            ["--model", "lightgbm.LGBMClassifer"],
            "lightgbm has no 'LGBMClassifer' (did you mean 'LGBMClassifier'?)",
        ),
        (
            ["--model", "sklearn.svm.SVR"],
            "sklearn.svm.SVR is a regressor: a binary project needs a classifier",
        ),
        (["--model", "sklearn.cluster.KMeans"], "is neither a classifier nor a regressor"),
        (["--model", "sklearn.ensemble.VotingClassifier"], "cannot be made with its defaults"),
        (["--model", "xgboost"], "'xgboost' is not one of dummy"),
        ([*LGBM, "--param", "num_leafs=7"], "takes no parameter num_leafs (did you mean 'num_leaves'?)"),
        ([*LGBM, "--param", "num_leaves=many"], "param num_leaves='many': expected an integer"),
        (["--model", "lightgbm.LGBMClassifier", "--param", "n_jobs=0"], "n_jobs=0 runs nothing"),
        (["--model", "sklearn.svm.SVC", "--param", "C=-1"], "The 'C' parameter of SVC must be a float"),
        (["--pipeline", "os:getcwd"], "os:getcwd() returned a str, not a scikit-learn estimator"),
        (["--pipeline", "os:sep"], "os:sep is not a function"),
        (["--pipeline", "sklearn.pipeline"], "write module:function"),
        (["--model", "ridge", "--pipeline", "os:getcwd"], "give either --model NAME or --pipeline"),
    ],
)
def test_unusable_models_exit_2_and_write_nothing(cancer, args, said) -> None:
    assert said in _refused(cancer, "train", *args)


def test_a_classifier_is_refused_on_a_regression_project(diabetes) -> None:
    line = _refused(diabetes, "train", "--model", "lightgbm.LGBMClassifier")
    assert "lightgbm.LGBMClassifier is a classifier: a regression project needs a regressor" in line


def test_a_step_param_of_a_pipeline_is_checked(penguins, user_module) -> None:
    pipeline = f"{user_module}:penguin_pipeline"
    line = _refused(penguins, "train", "--pipeline", pipeline, "--param", "logisticregresion__C=1")
    assert "takes no parameter logisticregresion__C (did you mean 'logisticregression__C'?)" in line
    line = _refused(penguins, "train", "--pipeline", pipeline, "--param", "logisticregression__C=-2")
    assert "The 'C' parameter of LogisticRegression must be a float" in line


def test_a_sweep_over_lightgbm(cancer, tmp_path) -> None:
    built = real.copy(cancer, tmp_path / "copy")
    grid = tmp_path / "grid.toml"
    grid.write_text("num_leaves = [4, 8]\nn_estimators = [30]\nn_jobs = [1]\nverbose = [-1]\n")
    model = ["--model", "lightgbm.LGBMClassifier"]
    line = _refused(built, "sweep", *model, "--random", "2")
    assert "no default search space for lightgbm.LGBMClassifier" in line and "--grid FILE --random N" in line
    bad = tmp_path / "bad.toml"
    bad.write_text("num_leafs = [4]\n")
    assert "did you mean 'num_leaves'?" in _refused(built, "sweep", *model, "--grid", str(bad))

    swept = built.cli("sweep", *model, "--grid", str(grid), "--jobs", "1", "--json")
    assert swept.exit_code == 0, swept.stderr
    result = json.loads(swept.stdout)
    assert result["status"] == "finished" and len(result["runs"]) == 2
    drawn = built.cli("sweep", *model, "--grid", str(grid), "--random", "3", "--jobs", "1", "--json")
    assert drawn.exit_code == 0, drawn.stderr
    assert len(json.loads(drawn.stdout)["runs"]) == 3

    listed = json.loads(built.cli("runs", "--json", "--sort", "roc_auc").stdout)
    assert len(listed) == 5 and {r["status"] for r in listed} == {"finished"}
    assert {(r["source"], r["model_class"]) for r in listed} == {("estimator", "LGBMClassifier")}
    grid_runs = [r for r in listed if r["sweep_id"] == result["id"]]
    assert sorted(r["params"]["num_leaves"] for r in grid_runs) == [4, 8]
    assert {r["params"]["num_leaves"] for r in listed} <= {4, 8}
    assert listed[0]["metrics"]["roc_auc"] > 0.95


def test_params_are_typed_after_their_defaults_and_checked_by_the_class() -> None:
    from cockpit.errors import CockpitError
    from cockpit.training import models

    svc = models.resolve("sklearn.svm.SVC", "binary")
    assert svc.model_class == "SVC" and svc.source == "estimator" and svc.dense
    # SVC's probability holds the text 'deprecated' by default: true is still a boolean
    params = svc.resolve_params(["probability=true", "C=2", "kernel=linear", "class_weight=balanced"])
    assert params["probability"] is True and params["C"] == 2.0 and params["kernel"] == "linear"
    assert params["class_weight"] == "balanced" and params["random_state"] is None  # the seed at fit
    built = svc.build(params, seed=7)
    assert built.get_params()["random_state"] == 7 and built.get_params()["C"] == 2.0
    with pytest.raises(CockpitError, match="param shrinking='maybe': expected true or false"):
        svc.resolve_params(["shrinking=maybe"])
    # LightGBM takes **kwargs: a name it does not list is passed on, one a letter off is a typo
    lgbm = models.resolve("lightgbm.LGBMClassifier", "multiclass")
    assert lgbm.resolve_params(["min_data_in_bin=5"])["min_data_in_bin"] == 5
    with pytest.raises(CockpitError, match="did you mean 'subsample'"):
        lgbm.resolve_params(["subsampel=0.5"])
    assert models.resolve("random_forest", "binary").source == "catalog"
    assert models.resolve("lightgbm.LGBMRegressor", "regression").model_class == "LGBMRegressor"


def test_a_module_in_the_working_folder_imports_in_cockpit_and_its_training_process(
    cancer, tmp_path, monkeypatch
) -> None:
    """No PYTHONPATH: the folder cockpit runs in is searched, as `python -m` searches it in the
    training child."""
    built = real.copy(cancer, tmp_path / "copy")
    here = tmp_path / "here"
    here.mkdir()
    (here / "cockpit_byom_here.py").write_text(MODULE_TEXT)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the working folder added here is undone
    monkeypatch.delitem(sys.modules, "cockpit_byom_here", raising=False)
    monkeypatch.chdir(here)
    run = _train(built, "--model", "cockpit_byom_here.Centroid")
    assert run["status"] == "finished", run["error"]
    assert run["family"] == "cockpit_byom_here.Centroid" and run["validation_metrics"]["roc_auc"] > 0.9
    assert str(here) in sys.path
