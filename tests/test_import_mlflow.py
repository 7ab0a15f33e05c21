"""`cockpit import mlflow`: real MLflow stores (sqlite and file), written by MLflow itself on
scikit-learn's breast cancer and diabetes data, imported as cockpit projects and external
runs; imported again (nothing duplicated), followed as they change, read from an older
schema without touching it, and an imported model evaluated and gated."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests.cli_workspaces import Built, build, copy

pytest.importorskip("mlflow")

MLFLOW_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "MLFLOW_ALLOW_FILE_STORE": "true"}


def cancer():
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    return frame[[c for c in frame.columns if c.startswith("mean_")] + ["target"]]


def constant_model():
    import mlflow.pyfunc

    class Constant(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):
            return [0.0] * len(model_input)

    return Constant()


def write_store(uri: str, train) -> dict[str, str]:
    """Two experiments as a user's training code leaves them, plus one with no model:
    returns the MLflow run ids by name."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlflow.set_tracking_uri(uri)
    ids: dict[str, str] = {}
    X, y = train.drop(columns="target"), train["target"]
    mlflow.set_experiment("cancer")
    with mlflow.start_run(run_name="lr") as run:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(X, y)
        mlflow.log_params({"C": 0.5, "max_iter": 500, "solver": "lbfgs"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"val_accuracy": 0.93, "training_accuracy_score": 0.95, "custom_lift": 2.5})
        mlflow.set_tag("mlflow.source.git.commit", "a" * 40)
        mlflow.log_input(mlflow.data.from_pandas(train, targets="target", name="cancer"), context="training")
        mlflow.sklearn.log_model(
            model,
            name="model",
            input_example=X.head(3),
            pip_requirements=["scikit-learn"],
            registered_model_name="cancer-model",
        )
        ids["lr"] = run.info.run_id
    MlflowClient().set_registered_model_alias("cancer-model", "champion", 1)
    for i in range(8):
        with mlflow.start_run(run_name=f"sweep-{i}") as run:
            mlflow.log_params({"C": 0.1 * (i + 1), "penalty": "l2"})
            for step in range(3):
                mlflow.log_metric("roc_auc", 0.8 + 0.01 * i + 0.001 * step, step=step)
            mlflow.log_metric("accuracy", 0.85 + 0.01 * i)
            ids[f"sweep-{i}"] = run.info.run_id
    with mlflow.start_run(run_name="broken") as run:
        mlflow.log_param("C", 9)
        ids["broken"] = run.info.run_id
    MlflowClient().set_terminated(ids["broken"], "FAILED")
    live = mlflow.start_run(run_name="live")
    mlflow.log_metric("roc_auc", 0.7, step=0)
    ids["live"] = live.info.run_id
    mlflow.end_run("RUNNING")  # still running: the test goes on logging to it
    MlflowClient().update_run(ids["live"], status="RUNNING")

    diabetes = load_diabetes(as_frame=True).frame
    mlflow.set_experiment("diabetes")
    with mlflow.start_run(run_name="ridge") as run:
        features = diabetes.drop(columns="target")
        mlflow.log_params({"alpha": 1.0})
        mlflow.log_metrics({"rmse": 54.0, "r2": 0.45})
        mlflow.log_input(mlflow.data.from_pandas(diabetes, targets="target"), context="training")
        mlflow.sklearn.log_model(
            Ridge().fit(features, diabetes["target"]),
            name="model",
            input_example=features.head(3),
            pip_requirements=["scikit-learn"],
        )
        ids["ridge"] = run.info.run_id
    with mlflow.start_run(run_name="ridge-pickle") as run:  # loads only where the user allows pickle
        mlflow.sklearn.log_model(
            Ridge(alpha=2.0).fit(features, diabetes["target"]),
            name="model",
            input_example=features.head(3),
            pip_requirements=["scikit-learn"],
            serialization_format="pickle",
        )
        ids["ridge-pickle"] = run.info.run_id
    with mlflow.start_run(run_name="custom") as run:  # a flavour cockpit does not load
        mlflow.pyfunc.log_model(
            name="model", python_model=constant_model(), pip_requirements=["mlflow-skinny"]
        )
        ids["custom"] = run.info.run_id
    with mlflow.start_run(run_name="stopped") as run:
        ids["stopped"] = run.info.run_id
    MlflowClient().set_terminated(ids["stopped"], "KILLED")
    mlflow.set_experiment("scratch")
    with mlflow.start_run(run_name="notes") as run:
        mlflow.log_param("idea", "try trees")
        ids["notes"] = run.info.run_id
    return ids


def older_schema(database: Path, target: Path) -> str:
    """A copy of `database` taken one schema revision back with MLflow's own migrations
    (alembic's downgrade of MLflow's newest revision): what an older MLflow left."""
    from alembic import command
    from mlflow.store.db.utils import (
        _get_alembic_config,
        _get_schema_version,
        create_sqlalchemy_engine_with_retry,
    )

    shutil.copy(database, target)
    url = f"sqlite:///{target}"
    command.downgrade(_get_alembic_config(url), "-1")
    engine = create_sqlalchemy_engine_with_retry(url)
    try:
        return _get_schema_version(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory):
    """A workspace holding the cancer data (project p, split 1), and beside it an MLflow
    sqlite store, a file store and an older-schema copy of the sqlite one, built once."""
    from cockpit.projects import resolve_project
    from cockpit.training.external import run_data
    from cockpit.workspace import Workspace

    folder = tmp_path_factory.mktemp("import_mlflow")
    made = build(folder, cancer(), "binary", "target", spec=("metric=roc_auc", "metric_target=0.9"))
    with Workspace.open(str(made.root)) as ws:
        data = run_data(ws, resolve_project(ws, None), 1)
    train = data.train[[*data.columns, "target"]]
    saved = {k: os.environ.get(k) for k in [*MLFLOW_ENV, "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"]}
    os.environ.update(MLFLOW_ENV)
    cwd = Path.cwd()
    (folder / "sql").mkdir()
    (folder / "files").mkdir()
    try:
        os.chdir(folder / "sql")  # a sqlite store keeps its artifacts in ./mlruns
        ids = write_store(f"sqlite:///{folder / 'sql' / 'mlflow.db'}", train)
        file_ids = write_store((folder / "files" / "mlruns").as_uri(), train)
        revision = older_schema(folder / "sql" / "mlflow.db", folder / "old.db")
    finally:
        import mlflow

        os.chdir(cwd)
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return folder, made, ids, file_ids, revision


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in MLFLOW_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)


@pytest.fixture
def here(stores, tmp_path: Path, env) -> tuple[Built, Path, dict[str, str]]:
    """This test's copy of the workspace and of the stores."""
    folder, made, ids, file_ids, _ = stores
    mine = copy(made, tmp_path / "w")
    shutil.copy(folder / "sql" / "mlflow.db", tmp_path / "mlflow.db")
    shutil.copy(folder / "old.db", tmp_path / "old.db")
    shutil.copytree(folder / "files" / "mlruns", tmp_path / "mlruns")
    return mine, tmp_path, ids


def rows(built: Built, sql: str, params=()) -> list[dict]:
    from cockpit.workspace import Workspace

    with Workspace.open(str(built.root)) as ws:
        return ws.store.rows(sql, list(params))


def by_mlflow_id(built: Built) -> dict[str, dict]:
    import json

    found = {}
    for row in rows(built, "SELECT r.*, i.external_id FROM runs r JOIN imported_runs i ON i.run_id = r.id"):
        row["origin"] = json.loads(row["origin"])
        row["params"] = json.loads(row["params"])
        row["validation_metrics"] = json.loads(row["validation_metrics"] or "null")
        row["train_metrics"] = json.loads(row["train_metrics"] or "null")
        found[row["external_id"]] = row
    return found


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_sqlite_store_becomes_projects_and_runs_and_a_second_import_adds_nothing(here, monkeypatch) -> None:
    built, folder, ids = here
    db = folder / "mlflow.db"
    before = db.read_bytes()
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    first = built.cli("import", "mlflow", f"sqlite:///{db}")
    assert list(elsewhere.iterdir()) == []  # MLflow made no store of its own in the working folder
    assert first.exit_code == 1, first.output  # the scratch experiment names no task or target
    lines = first.output.splitlines()
    assert "experiment cancer -> project cancer: 11 runs new, 0 updated, 1 model loadable, 0 not" in lines
    assert "experiment diabetes -> project diabetes: 4 runs new, 0 updated, 1 model loadable, 2 not" in lines
    assert any(
        line.startswith("experiment scratch: not imported")
        and "pass --task binary|multiclass|regression and --target COLUMN" in line
        for line in lines
    )
    assert db.read_bytes() == before  # read from a copy, never opened in place

    runs = by_mlflow_id(built)
    assert len(runs) == 15
    lr = runs[ids["lr"]]
    assert (lr["source"], lr["status"], lr["family"], lr["model_class"]) == (
        "mlflow",
        "finished",
        "sklearn.linear_model.LogisticRegression",  # the final estimator, by its public path (1e807f6)
        "LogisticRegression",
    )
    assert lr["params"] == {"C": 0.5, "max_iter": 500, "solver": "lbfgs"}
    assert lr["validation_metrics"] == {"accuracy": 0.93, "custom_lift": 2.5, "loss": 0.2}
    assert lr["train_metrics"] == {"accuracy": 0.95}
    assert lr["m_accuracy"] == 0.93 and lr["git_commit"] == "a" * 40 and lr["artifact_sha256"]
    assert lr["origin"]["run_id"] == ids["lr"] and lr["origin"]["experiment"] == "cancer"
    assert lr["origin"]["registered"] == ["cancer-model v1", "cancer-model@champion"]
    assert lr["origin"]["source_type"] == "LOCAL"
    shown = built.cli("compare", str(lr["id"]), str(runs[ids["sweep-1"]]["id"]), "--project", "cancer")
    assert f"imported from MLflow: run {ids['lr']} of experiment cancer in sqlite:///{db}" in shown.output
    loss = rows(
        built, "SELECT value FROM run_steps WHERE run_id = ? AND key = 'loss' ORDER BY step", [lr["id"]]
    )
    assert [s["value"] for s in loss] == [
        1.0,
        0.5,
        pytest.approx(1 / 3),
        0.25,
        0.2,
    ]
    statuses = {name: runs[ids[name]]["status"] for name in ("broken", "live", "stopped", "sweep-3")}
    assert statuses == {"broken": "failed", "live": "running", "stopped": "cancelled", "sweep-3": "finished"}
    assert runs[ids["sweep-3"]]["m_roc_auc"] == pytest.approx(0.832)
    assert runs[ids["ridge"]]["model_class"] == "Ridge"
    custom, pickled = runs[ids["custom"]], runs[ids["ridge-pickle"]]
    assert custom["status"] == "finished" and custom["artifact_sha256"] is None
    assert custom["origin"]["models"][0]["note"] == "not loadable (flavour python_function)"
    assert "MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true" in pickled["origin"]["models"][0]["note"]
    assert pickled["artifact_sha256"] is None
    projects = {r["name"]: (r["task"], r["target"]) for r in rows(built, "SELECT * FROM projects")}
    assert projects["cancer"] == ("binary", "target") and projects["diabetes"] == ("regression", "target")
    events = rows(built, "SELECT action FROM events WHERE action = 'run registered in MLflow'")
    assert len(events) == 1

    # the running run is MLflow's to end: listing runs does not mark it interrupted
    listed = built.cli("runs", "--project", "cancer", "--json")
    assert listed.exit_code == 0
    assert (
        rows(built, "SELECT status FROM runs WHERE id = ?", [runs[ids["live"]]["id"]])[0]["status"]
        == "running"
    )

    scratch = built.cli(
        "import",
        "mlflow",
        f"sqlite:///{db}",
        "--experiment",
        "scratch",
        "--task",
        "regression",
        "--target",
        "y",
    )
    assert scratch.exit_code == 0, scratch.output
    steps = rows(built, "SELECT COUNT(*) AS n FROM run_steps")[0]["n"]
    again = built.cli("import", "mlflow", f"sqlite:///{db}", "--json")
    assert again.exit_code == 0, again.output
    import json

    counts = {
        e["experiment"]: (e["new"], e["updated"], e["unchanged"])
        for e in json.loads(again.output)["experiments"]
    }
    # the running run and the one whose pickled model waits for the user's leave are read again
    assert counts == {"cancer": (0, 1, 10), "diabetes": (0, 1, 3), "scratch": (0, 0, 1)}
    assert len(by_mlflow_id(built)) == 16
    assert rows(built, "SELECT COUNT(*) AS n FROM run_steps")[0]["n"] == steps
    assert db.read_bytes() == before


def test_a_new_run_is_added_and_a_running_run_followed_to_its_end(here) -> None:
    from mlflow import MlflowClient

    built, folder, ids = here
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    assert built.cli("import", "mlflow", uri, "--experiment", "cancer").exit_code == 0
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for step in (1, 2):
        client.log_metric(ids["live"], "roc_auc", 0.7 + 0.1 * step, step=step)
    client.set_terminated(ids["live"], "FINISHED")
    extra = client.create_run(client.get_experiment_by_name("cancer").experiment_id, run_name="late")
    client.log_metric(extra.info.run_id, "accuracy", 0.9)
    client.set_terminated(extra.info.run_id, "FINISHED")

    second = built.cli("import", "mlflow", uri, "--experiment", "cancer")
    assert second.exit_code == 0, second.output
    assert "1 runs new, 1 updated" in second.output
    runs = by_mlflow_id(built)
    live = runs[ids["live"]]
    assert live["status"] == "finished" and live["m_roc_auc"] == pytest.approx(0.9) and live["finished_at"]
    points = rows(built, "SELECT step, value FROM run_steps WHERE run_id = ? ORDER BY step", [live["id"]])
    assert [(p["step"], p["value"]) for p in points] == [
        (0, 0.7),
        (1, pytest.approx(0.8)),
        (2, pytest.approx(0.9)),
    ]
    assert runs[extra.info.run_id]["m_accuracy"] == 0.9
    client.set_registered_model_alias("cancer-model", "challenger", 1)
    third = built.cli("import", "mlflow", uri, "--experiment", "cancer", "--json")
    assert '"new": 0' in third.output and '"updated": 0' in third.output
    lr = by_mlflow_id(built)[ids["lr"]]
    assert lr["origin"]["registered"] == [
        "cancer-model v1",
        "cancer-model@challenger",
        "cancer-model@champion",
    ]
    assert len(rows(built, "SELECT id FROM events WHERE action = 'run registered in MLflow'")) == 2


def test_a_pickled_model_is_loaded_once_the_user_allows_it(here, monkeypatch) -> None:
    built, folder, ids = here
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    first = built.cli("import", "mlflow", uri, "--experiment", "diabetes")
    assert "4 runs new, 0 updated, 1 model loadable, 2 not" in first.output
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    second = built.cli("import", "mlflow", uri, "--experiment", "diabetes")
    assert "0 runs new, 1 updated, 1 model loadable, 0 not" in second.output, second.output
    pickled = by_mlflow_id(built)[ids["ridge-pickle"]]
    assert pickled["artifact_sha256"] and pickled["model_class"] == "Ridge"
    assert pickled["origin"]["models"][0]["format"] == "pickle"
    third = built.cli("import", "mlflow", uri, "--experiment", "diabetes")
    assert "0 runs new, 0 updated" in third.output


def test_a_run_whose_history_cannot_be_read_is_reported_and_the_rest_imported(here, monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    from cockpit.importing import mlflow_read

    built, folder, ids = here
    real = MlflowClient.get_metric_history

    def failing(self, run_id, key):
        if run_id == ids["sweep-2"]:
            raise OSError("metric history unreadable")
        return real(self, run_id, key)

    monkeypatch.setattr(MlflowClient, "get_metric_history", failing)
    # the bulk read of many runs' histories fails for any chunk holding the broken run
    bulk = mlflow_read.bulk_points

    def failing_bulk(store, run_ids):
        if ids["sweep-2"] in run_ids:
            raise OSError("metric history unreadable")
        return bulk(store, run_ids)

    monkeypatch.setattr(mlflow_read, "bulk_points", failing_bulk)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = built.cli("import", "mlflow", uri, "--experiment", "cancer")
    assert result.exit_code == 1
    assert (
        "10 runs new" in result.output
        and f"1 failed: {ids['sweep-2']}: OSError: metric history unreadable" in result.output
    )
    assert ids["sweep-2"] not in by_mlflow_id(built)  # nothing half-written
    monkeypatch.setattr(MlflowClient, "get_metric_history", real)
    monkeypatch.setattr(mlflow_read, "bulk_points", bulk)
    assert "1 runs new, 1 updated" in built.cli("import", "mlflow", uri, "--experiment", "cancer").output


def test_a_file_store_is_read_where_it_is_and_left_as_it_was(stores, here, monkeypatch) -> None:
    built, folder, _ = here
    file_ids = stores[3]
    store = folder / "mlruns"
    before = tree_digest(store)
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = built.cli("import", "mlflow", str(store), "--json")
    assert result.exit_code == 1, result.output  # the scratch experiment, as in the sqlite store
    assert list(elsewhere.iterdir()) == []  # MLflow made no store of its own in the working folder
    runs = by_mlflow_id(built)
    assert set(runs) == {v for k, v in file_ids.items() if k != "notes"}
    lr = runs[file_ids["lr"]]
    assert lr["artifact_sha256"] and lr["origin"]["registered"] == [
        "cancer-model v1",
        "cancer-model@champion",
    ]
    ridge = runs[file_ids["ridge"]]
    assert ridge["model_class"] == "Ridge" and ridge["m_rmse"] == 54.0 and ridge["m_r2"] == 0.45
    assert tree_digest(store) == before


def test_a_store_of_an_older_schema_is_read_from_an_upgraded_copy_and_left_untouched(stores, here) -> None:
    from mlflow import MlflowClient

    built, folder, _ = here
    old = folder / "old.db"
    before = old.read_bytes()
    # why cockpit reads a copy: MLflow's own client, opened on an older database, migrates it in place
    shutil.copy(old, folder / "in_place.db")
    in_place = f"sqlite:///{folder / 'in_place.db'}"
    MlflowClient(tracking_uri=in_place, registry_uri=in_place).search_experiments()
    assert (folder / "in_place.db").read_bytes() != before
    result = built.cli("import", "mlflow", f"sqlite:///{old}", "--experiment", "diabetes")
    assert result.exit_code == 0, result.output
    assert f"upgraded from MLflow schema {stores[4]}" in result.output
    assert "4 runs new" in result.output
    assert old.read_bytes() == before


def test_an_imported_model_is_scored_on_the_data_evaluated_and_gated(here) -> None:
    built, folder, ids = here
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = built.cli("import", "mlflow", uri, "--experiment", "cancer", "--project", "p", "--data", "1")
    assert result.exit_code == 0, result.output
    lr = by_mlflow_id(built)[ids["lr"]]
    assert lr["split_id"] == 1 and lr["version_id"] == 1
    assert lr["m_roc_auc"] > 0.95  # cockpit's score on the split's validation rows
    assert lr["validation_metrics"]["custom_lift"] == 2.5  # MLflow's other keys kept beside it
    run = str(lr["id"])
    evaluated = built.cli("evaluate", run)
    assert evaluated.exit_code == 0, evaluated.output
    gated = built.cli("gate", run)
    assert gated.exit_code == 0, gated.output
    assert "PASS" in gated.output
    registered = built.cli("register", run)
    assert registered.exit_code == 0, registered.output


def test_usage_errors_exit_2(here, monkeypatch) -> None:
    import sys

    built, folder, _ = here
    missing = built.cli("import", "mlflow", str(folder / "nowhere.db"))
    assert missing.exit_code == 2 and "no such MLflow database" in missing.output
    both = built.cli("import", "mlflow", f"sqlite:///{folder / 'mlflow.db'}", "--data", "1")
    assert both.exit_code == 2 and "--experiment NAME" in both.output
    unknown = built.cli("import", "mlflow", f"sqlite:///{folder / 'mlflow.db'}", "--experiment", "nope")
    assert unknown.exit_code == 2 and "experiments: Default, cancer, diabetes, scratch" in unknown.output
    refused = built.cli("import", "mlflow", f"sqlite:///{folder / 'mlflow.db'}", "--experiment", "scratch")
    assert (
        refused.exit_code == 2
        and "pass --task binary|multiclass|regression and --target COLUMN" in refused.output
    )
    monkeypatch.setitem(sys.modules, "mlflow", None)
    no_extra = built.cli("import", "mlflow", f"sqlite:///{folder / 'mlflow.db'}")
    assert no_extra.exit_code == 2 and "install cockpit[mlflow] to read MLflow stores" in no_extra.output


def test_watch_imports_what_is_new_each_pass_until_interrupted(here, monkeypatch) -> None:
    from mlflow import MlflowClient

    built, folder, ids = here
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    passes = []

    def between_passes(seconds: float) -> None:
        passes.append(seconds)
        if len(passes) == 1:  # training goes on in MLflow between two passes
            client.log_metric(ids["live"], "roc_auc", 0.75, step=1)
            return
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", between_passes)
    result = built.cli("import", "mlflow", uri, "--experiment", "cancer", "--watch", "0.5")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "pass 1: 11 new, 0 updated, 0 unchanged, 0 failed" in lines[0]
    assert "pass 2: 0 new, 1 updated, 10 unchanged, 0 failed" in lines[1]
    assert passes == [0.5, 0.5]
    live = by_mlflow_id(built)[ids["live"]]
    assert live["status"] == "running" and live["m_roc_auc"] == 0.75
    assert open_copies() == []  # no pass leaves its copy of the database open


def open_copies() -> list[str]:
    """Files this process holds open in a temporary copy of a store."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "cockpit-mlflow-" in target:
            found.append(target)
    return found
