"""`cockpit register --file`: a model trained elsewhere (a user's LightGBM Pipeline with its own
preprocessing, on scikit-learn's breast cancer data) is checked, recorded as a run, gated and
registered; every refusal exits 2 with one message and writes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from tests.cli_workspaces import Built, build, copy

LGBM = {"n_estimators": 20, "n_jobs": 1, "verbose": -1, "random_state": 3}


class DuckModel:
    """fit, predict and classes_ but no scikit-learn base class: not sklearn-compatible."""

    classes_ = ("benign", "malignant")

    def fit(self, X, y):
        return self

    def predict(self, X):
        return ["benign"] * len(X)


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]  # LightGBM renames spaces
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    # the ten "mean" measurements: every evaluation step runs per column, and a few keep it quick
    return frame[[c for c in frame.columns if c.startswith("mean_")] + ["target"]]


def user_pipeline():
    import lightgbm
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(), StandardScaler(), lightgbm.LGBMClassifier(**LGBM))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Built, Path]:
    """The workspace (split 1 of data version 1) and, beside it, model files trained on the
    split's train rows as a user would."""
    import lightgbm
    import skops.io as sio
    from sklearn.dummy import DummyClassifier

    from cockpit.projects import resolve_project
    from cockpit.training.external import run_data
    from cockpit.workspace import Workspace

    folder = tmp_path_factory.mktemp("register_file")
    made = build(folder, cancer(), "binary", "target", spec=("metric=roc_auc", "metric_target=0.9"))
    with Workspace.open(str(made.root)) as ws:
        data = run_data(ws, resolve_project(ws, None), 1)
    X, y = data.train[data.columns], data.train["target"]
    models = folder / "models"
    models.mkdir()
    pipeline = user_pipeline().fit(X, y)
    joblib.dump(pipeline, models / "lgbm.joblib")
    sio.dump(pipeline, models / "lgbm.skops")
    joblib.dump(lightgbm.LGBMRegressor(**LGBM).fit(X, (y == "benign").astype(float)), models / "reg.joblib")
    joblib.dump({"weights": [1, 2]}, models / "dict.joblib")
    joblib.dump(lightgbm.LGBMClassifier(**LGBM).fit(X.to_numpy(), y), models / "nonames.joblib")
    renamed = X.rename(columns={"mean_radius": "radius_mean"})
    joblib.dump(lightgbm.LGBMClassifier(**LGBM).fit(renamed, y), models / "othercols.joblib")
    joblib.dump(lightgbm.LGBMClassifier(**LGBM).fit(X, (y == "benign").astype(int)), models / "coded.joblib")
    joblib.dump(DummyClassifier(strategy="prior").fit(X, y), models / "dummy.joblib")
    (models / "notes.txt").write_text("not a model")
    (models / "broken.joblib").write_bytes(b"not a pickle at all")
    joblib.dump(DuckModel(), models / "duck.joblib")
    return made, models


@pytest.fixture
def ws(built: tuple[Built, Path], tmp_path: Path) -> tuple[Built, Path]:
    made, models = built
    return copy(made, tmp_path / "copy"), models


def counts(made: Built) -> tuple[int, int]:
    """(runs, model versions) in the workspace."""
    db = next((made.root / ".cockpit").glob("*.db"))
    with sqlite3.connect(db) as conn:
        return (
            conn.execute("SELECT count(*) FROM runs").fetchone()[0],
            conn.execute("SELECT count(*) FROM model_versions").fetchone()[0],
        )


def the_run(made: Built, run_id: int):
    from cockpit.projects import resolve_project
    from cockpit.training.runs import get_run
    from cockpit.workspace import Workspace

    with Workspace.open(str(made.root)) as workspace:
        return get_run(workspace, resolve_project(workspace, None), run_id)


def test_a_joblib_pipeline_is_recorded_scored_gated_and_registered(ws) -> None:
    from sklearn.metrics import roc_auc_score

    made, models = ws
    path = models / "lgbm.joblib"
    result = made.cli("register", "--file", str(path), "--data", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert "run 1 (LGBMClassifier) recorded from lgbm.joblib" in result.stderr
    assert "gate PASS" in result.stderr
    run = the_run(made, 1)
    assert (run.kind, run.model_class, run.family, run.status) == (
        "file",
        "LGBMClassifier",
        "lightgbm.LGBMClassifier",
        "finished",
    )
    assert run.origin["file"] == str(path.absolute())
    assert run.origin["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (run.version_id, run.split_id) == (1, 1)
    assert [c["name"] for c in run.input_schema] == list(cancer().columns.drop("target"))
    assert "lightgbm" in run.library_versions
    # the recorded validation score is the user's own pipeline on the split's validation rows
    from cockpit.projects import resolve_project
    from cockpit.training.external import run_data
    from cockpit.workspace import Workspace

    with Workspace.open(str(made.root)) as workspace:
        data = run_data(workspace, resolve_project(workspace, None), 1)
    model = joblib.load(path)
    scores = model.predict_proba(data.validation[data.columns])[:, list(model.classes_).index("malignant")]
    expected = roc_auc_score(data.validation["target"] == "malignant", scores)
    assert run.score == pytest.approx(expected, abs=1e-9)
    assert 0.9 < run.score <= 1.0
    models_out = made.cli("models", "--json")
    assert '"gate_passed": true' in models_out.stdout


def test_skops_types_are_refused_until_each_is_trusted(ws) -> None:
    import skops.io as sio

    made, models = ws
    path = models / "lgbm.skops"
    needed = sio.get_untrusted_types(file=path)
    assert "lightgbm.sklearn.LGBMClassifier" in needed
    refused = made.cli("register", "--file", str(path), "--data", "1")
    assert refused.exit_code == 2
    assert "does not trust by default" in refused.stderr
    for name in needed:
        assert f"--trust {name}" in refused.stderr
    assert counts(made) == (0, 0)
    partly = made.cli("register", "--file", str(path), "--data", "1", "--trust", needed[0])
    assert partly.exit_code == 2 and needed[0] not in partly.stderr.split("default:")[1].split(".")[0]
    assert counts(made) == (0, 0)
    wrong = made.cli("register", "--file", str(path), "--data", "1", "--trust", "os.system")
    assert wrong.exit_code == 2 and "holds no such type" in wrong.stderr
    trusted = [a for name in needed for a in ("--trust", name)]
    done = made.cli("register", "--file", str(path), "--data", "1", *trusted)
    assert done.exit_code == 0, done.stderr
    run = the_run(made, 1)
    assert run.origin["format"] == "skops" and run.origin["trusted"] == needed
    assert counts(made) == (1, 1)


@pytest.mark.parametrize(
    ("name", "args", "says"),
    [
        ("missing.joblib", (), "no such file"),
        ("notes.txt", (), "register a model saved with joblib"),
        ("broken.joblib", (), "not a joblib model file"),
        ("dict.joblib", (), "holds a dict, not a model: it has no predict method"),
        ("reg.joblib", (), "a binary project needs a classifier"),
        ("othercols.joblib", (), "takes columns data version 1 lacks: radius_mean"),
        ("coded.joblib", (), "it was trained on another target"),
        ("duck.joblib", (), "a DuckModel, which is not a scikit-learn estimator"),
        ("lgbm.joblib", ("--split", "9"), "no split 9"),
        ("lgbm.joblib", ("--trust", "numpy.dtype"), "--trust is for .skops files"),
    ],
)
def test_refusals_exit_2_with_one_message_and_write_nothing(ws, name, args, says) -> None:
    made, models = ws
    result = made.cli("register", "--file", str(models / name), "--data", "1", *args)
    assert result.exit_code == 2
    assert says in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert counts(made) == (0, 0)


def test_usage_is_one_of_a_run_or_a_file_with_its_data(ws) -> None:
    made, models = ws
    no_data = made.cli("register", "--file", str(models / "lgbm.joblib"))
    assert no_data.exit_code == 2 and "--file needs --data VERSION" in no_data.stderr
    both = made.cli("register", "1", "--file", str(models / "lgbm.joblib"), "--data", "1")
    assert both.exit_code == 2 and "not both" in both.stderr
    stray = made.cli("register", "1", "--data", "1")
    assert stray.exit_code == 2 and "go with --file" in stray.stderr
    assert counts(made) == (0, 0)


def test_a_model_without_column_names_takes_the_specs_features_and_says_so(ws) -> None:
    made, models = ws
    result = made.cli("register", "--file", str(models / "nonames.joblib"), "--data", "1")
    assert result.exit_code == 0, result.stderr
    assert "note: the model records no input column names" in result.stderr
    assert "the feature spec's 10 feature columns" in result.stderr
    run = the_run(made, 1)
    assert [c["name"] for c in run.input_schema] == list(cancer().columns.drop("target"))


def test_a_failed_gate_keeps_the_run_and_registers_only_with_a_reason(ws) -> None:
    made, models = ws
    refused = made.cli("register", "--file", str(models / "dummy.joblib"), "--data", "1")
    assert refused.exit_code == 1  # something was recorded: not the "nothing written" exit 2
    assert "run 1 (DummyClassifier) failed the gate (" in refused.stderr
    assert "it is kept, not registered" in refused.stderr
    assert "baseline" in refused.stderr and "cockpit register 1 --override" in refused.stderr
    assert counts(made) == (1, 0)  # the run and its gate are kept: they are true records
    kept = made.cli("register", "1", "--override", "a floor to compare against")
    assert kept.exit_code == 0 and kept.stdout.strip() == "1"
    listed = made.cli("models", "--json")
    assert '"gate_passed": false' in listed.stdout and "a floor to compare against" in listed.stdout


def test_skops_files_need_the_extra(ws, monkeypatch: pytest.MonkeyPatch) -> None:
    made, models = ws
    monkeypatch.setitem(sys.modules, "skops.io", None)  # as when skops is not installed
    result = made.cli("register", "--file", str(models / "lgbm.skops"), "--data", "1")
    assert result.exit_code == 2
    assert "install cockpit[skops] to read .skops files" in result.stderr
    assert counts(made) == (0, 0)


def test_the_split_named_must_be_of_the_data_version(ws) -> None:
    made, models = ws
    assert made.cli("data", "split", "--strategy", "random", "--seed", "2").exit_code in (0, 1)
    result = made.cli("register", "--file", str(models / "lgbm.joblib"), "--data", "1", "--split", "2")
    assert result.exit_code == 0, result.stderr
    assert the_run(made, 1).split_id == 2
    assert np.isfinite(the_run(made, 1).score)


def test_a_model_that_fails_on_the_splits_missing_values_is_refused_by_name(tmp_path: Path) -> None:
    """A LogisticRegression fitted on the penguins rows without NaN cannot take the split's
    rows that have some: one line naming the file and an imputer, nothing written."""
    from sklearn.linear_model import LogisticRegression

    from tests.cli_workspaces import penguins

    frame = penguins()
    made = build(tmp_path / "penguins", frame, "multiclass", "species")
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    clean = frame.dropna(subset=numeric)
    path = tmp_path / "lr_nan.joblib"
    joblib.dump(LogisticRegression(max_iter=2000).fit(clean[numeric], clean["species"]), path)
    result = made.cli("register", "--file", str(path), "--data", "1")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("cockpit: lr_nan.joblib fails on rows with missing values")
    assert "put an imputer" in result.stderr and "Input X contains NaN" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert counts(made) == (0, 0)


def test_a_failure_after_the_run_is_recorded_ends_it_failed(ws, monkeypatch: pytest.MonkeyPatch) -> None:
    from cockpit.training import external

    made, models = ws

    def broken(*args, **kwargs):
        raise MemoryError("out of memory while scoring")

    monkeypatch.setattr(external, "score", broken)
    with pytest.raises(MemoryError):
        made.cli("register", "--file", str(models / "lgbm.joblib"), "--data", "1")
    run = the_run(made, 1)
    assert run.status == "failed" and "out of memory while scoring" in run.error
    assert counts(made) == (1, 0)


def test_the_runs_table_shows_no_model_as_a_dash_and_tiny_seconds_as_numbers(ws) -> None:
    import cockpit
    from cockpit.cli.context import _cell

    made, models = ws
    assert made.cli("register", "--file", str(models / "lgbm.joblib"), "--data", "1").exit_code == 0
    with cockpit.start_run(workspace=made.root):
        pass  # a script that logged no model (yet)
    table = made.cli("runs").stdout.splitlines()
    header, rows = table[0].split(), {line.split()[0]: line.split() for line in table[1:]}
    assert header[:3] == ["ID", "MODEL", "SOURCE"]
    assert rows["1"][1:3] == ["LGBMClassifier", "file"]
    assert rows["2"][1] == "-" and rows["2"][2] in ("script", "notebook")
    assert (_cell(2.07e-05), _cell(0.0), _cell(0.0123), _cell(47605.2)) == ("0.0000", "0", "0.0123", "47,605")
    assert "e-0" not in made.cli("runs").stdout


def test_a_pipelines_third_party_steps_are_in_its_requirements(ws, tmp_path: Path) -> None:
    """LightGBM as a feature selector before a scikit-learn model: the bundle's requirements
    name lightgbm though the final estimator is scikit-learn's."""
    from dataclasses import replace

    import lightgbm
    from sklearn.feature_selection import SelectFromModel
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from cockpit.deployment.provenance import requirements
    from cockpit.training.origin import origin_text

    made, _ = ws
    frame = cancer()
    X, y = frame.drop(columns="target"), frame["target"]
    model = make_pipeline(
        SelectFromModel(lightgbm.LGBMClassifier(**LGBM)), StandardScaler(), LogisticRegression()
    ).fit(X, y)
    joblib.dump(model, tmp_path / "selected.joblib")
    done = made.cli("register", "--file", str(tmp_path / "selected.joblib"), "--data", "1", "--override", "t")
    assert done.exit_code == 0, done.stderr
    run = the_run(made, 1)
    assert run.model_class == "LogisticRegression"
    assert requirements(run)["lightgbm"] == lightgbm.__version__
    refit = replace(run, origin={**run.origin, "retrained_from": 7, "refit": True})
    assert origin_text(refit).endswith(", refitted as a clone of run 7")
    assert origin_text(replace(run, origin={**run.origin, "retrained_from": 7})).endswith(
        ", retrained from run 7"
    )
