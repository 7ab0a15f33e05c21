"""Retrain when production's model was trained outside cockpit (issue 24): a file's or a
notebook's model is refitted as a clone on the new data; a script's recorded command runs
again with the new data version in COCKPIT_DATA_VERSION; `--command` runs another; a failing
script stops the retrain (exit 1), production kept."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import lightgbm
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, registry
from cockpit.errors import CockpitError
from cockpit.monitoring import labels
from cockpit.projects import Project, create_project
from cockpit.retraining import cycle
from cockpit.training import external, runs
from cockpit.training.reproduce import reproduce
from cockpit.workspace import Workspace
from tests.script_runs import run_script, script_repo

MONTHS = 3
COLUMNS = [
    "mean_radius",
    "mean_texture",
    "mean_smoothness",
    "worst_area",
    "worst_concavity",
    "worst_symmetry",
]
PARAMS = {"n_estimators": 15, "num_leaves": 7, "learning_rate": 0.2}


def _cancer() -> pd.DataFrame:
    """Breast cancer rows, six of the 30 measures (the split's leak check and the gate's
    importance go column by column: fewer keep the test fast), with a patient id."""
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame = frame[[*COLUMNS, "target"]]
    return frame.assign(patient_id=[f"P{i}" for i in range(len(frame))])


def _workspace(tmp_path: Path) -> tuple[Workspace, Project]:
    """269 reference rows, imported and split; the production model comes next."""
    ws, _ = Workspace.init(tmp_path / "ws")
    project = create_project(ws, "cancer", "binary", "target")
    _cancer().iloc[:269].to_csv(tmp_path / "ref.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "ref.csv")
    make_split(ws, project, "stratified")
    problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.9))
    return ws, project


def _in_production(ws: Workspace, project: Project, run_id: int, tmp_path: Path) -> None:
    """`run_id` registered and deployed, then three months of production rows scored and
    labelled (100 rows each)."""
    registry.register(ws, project, run_id, "test model")
    registry.deploy(ws, project, 1, "blue-green", reason="test", override="test")
    rows = _cancer().iloc[269:]
    for number in range(1, MONTHS + 1):
        month = rows.iloc[(number - 1) * 100 : number * 100]
        month.drop(columns=["target"]).to_csv(tmp_path / f"m{number}.csv", index=False)
        month[["patient_id", "target"]].to_csv(tmp_path / f"l{number}.csv", index=False)
        at = f"2026-0{number}-15T00:00:00+00:00"
        batch.predict_file(ws, project, tmp_path / f"m{number}.csv", tmp_path / f"o{number}.csv", at=at)
        labels.ingest_labels(ws, project, tmp_path / f"l{number}.csv")


def _file_champion(ws: Workspace, project: Project, model) -> runs.Run:
    """A model fitted in the user's notebook and registered from a file, as
    cockpit.deployment.model_file records it."""
    data = external.run_data(ws, project)
    run_id = external.start(ws, project, "file", {"file": "/models/cancer.joblib"}, PARAMS, 0, data)
    rows = data.train[data.columns]
    return external.finish_with_model(
        ws, project, run_id, model.fit(rows, data.train[data.target]), rows, data, 0.1
    )


def _booster() -> lightgbm.LGBMClassifier:
    return lightgbm.LGBMClassifier(**PARAMS, n_jobs=1, verbose=-1, random_state=0)


def test_a_file_champion_is_refitted_as_a_clone_on_the_new_data(tmp_path, run_cli) -> None:
    ws, project = _workspace(tmp_path)
    champion = _file_champion(ws, project, _booster())
    _in_production(ws, project, champion.id, tmp_path)
    done = json.loads(run_cli("retrain", "--json", workspace=tmp_path / "ws").stdout)
    challenger = runs.get_run(ws, project, done["challenger_run"])
    assert challenger.status == "finished" and challenger.kind == "file"
    assert challenger.params == champion.params == PARAMS
    assert challenger.model_class == "LGBMClassifier" and challenger.family == "lightgbm.LGBMClassifier"
    assert challenger.origin == {
        "file": "/models/cancer.joblib",
        "retrained_from": champion.id,
        "refit": True,
    }
    # the new data: the reference plus the two older months; the newest month judges
    new_version = datasets.get_version(ws, project)
    assert challenger.version_id == new_version.id != champion.version_id
    assert new_version.rows == 269 + 200
    assert f"refit a clone of run {champion.id}'s LGBMClassifier on data v{new_version.id}" in " ".join(
        done["steps"]
    )
    fitted = runs.load_pipeline(ws, challenger)[-1]
    assert fitted.get_params() == _booster().get_params() and fitted.n_estimators_ == 15
    # trained on the new split's training rows, nothing else
    data = external.run_data(ws, project, challenger.split_id)
    assert fitted.booster_.num_feature() == len(data.columns)
    _, validation = external.score(runs.load_pipeline(ws, challenger), data, project.task)
    assert challenger.score == validation["roc_auc"]
    assert done["decision"] != cycle.TRAINING_FAILED and done["comparison"]["rows"] == 100
    # the clone's recipe is known: reproduce refits it again and gets the same model
    again = reproduce(ws, project, challenger.id)
    assert again.identical and again.artifact_sha256 == challenger.artifact_sha256


def test_an_estimator_champion_trains_its_recipe_again(tmp_path) -> None:
    """`cockpit train --model lightgbm.LGBMClassifier`: the class and params are the recipe."""
    ws, project = _workspace(tmp_path)
    given = {**PARAMS, "n_jobs": 1, "verbose": -1}
    champion = runs.train(ws, project, "lightgbm.LGBMClassifier", given, seed=5)
    assert champion.status == "finished" and champion.kind == "estimator", champion.error
    _in_production(ws, project, champion.id, tmp_path)
    result = cycle.retrain(ws, project)
    challenger = runs.get_run(ws, project, result.challenger_run)
    assert (challenger.kind, challenger.family, challenger.seed) == (
        "estimator",
        "lightgbm.LGBMClassifier",
        5,
    )
    assert challenger.params == champion.params and challenger.version_id != champion.version_id
    assert f"{challenger.label} trained with the production config" in result.steps


class Unclonable(lightgbm.LGBMClassifier):
    """A user's class whose constructor changes what it is given: clone() refuses it."""

    def __init__(self, n_estimators: int = 15, **kwargs) -> None:
        super().__init__(n_estimators=n_estimators + 1, **kwargs)


def test_a_model_clone_refuses_says_why_and_writes_nothing(tmp_path, run_cli) -> None:
    ws, project = _workspace(tmp_path)
    champion = _file_champion(ws, project, Unclonable(n_jobs=1, verbose=-1))
    _in_production(ws, project, champion.id, tmp_path)
    counts = [ws.store.scalar(f"SELECT count(*) FROM {t}") for t in ("runs", "dataset_versions", "retrains")]
    with pytest.raises(
        CockpitError,
        match=r"refuses its Unclonable \(the constructor either does not set or modifies parameter "
        r"n_estimators\)\. Retrain it with your own training code: cockpit retrain --command",
    ):
        cycle.retrain(ws, project)
    result = run_cli("retrain", workspace=tmp_path / "ws")
    assert result.exit_code == 2 and "cockpit retrain --command" in result.output
    both = run_cli("retrain", "--command", "python train.py", "--refit", workspace=tmp_path / "ws")
    assert both.exit_code == 2 and "--command and --refit are two ways to train the challenger" in both.output
    after = [ws.store.scalar(f"SELECT count(*) FROM {t}") for t in ("runs", "dataset_versions", "retrains")]
    assert after == counts


def _script_champion(tmp_path: Path) -> tuple[Workspace, Project, Path, runs.Run]:
    ws, project = _workspace(tmp_path)
    repo = script_repo(ws.root)
    run_script(repo, ws.dir, project.name, "--trees", "12")
    champion = runs.list_runs(ws, project)[0]
    assert champion.kind == "script" and champion.origin["argv"] == ["--trees", "12"]
    assert champion.origin["script"] == "./code/train.py"  # stored relative to the workspace
    _in_production(ws, project, champion.id, tmp_path)
    return ws, project, repo, champion


def test_a_script_champion_retrains_by_running_its_script_on_the_new_version(tmp_path, run_cli) -> None:
    ws, project, repo, champion = _script_champion(tmp_path)
    result = run_cli("retrain", workspace=tmp_path / "ws")
    version = datasets.get_version(ws, project)
    challenger = runs.list_runs(ws, project)[0]
    split = ws.store.scalar("SELECT max(id) FROM splits")
    # the script saw the new version and split, and the run it logged is the challenger
    assert (repo / "seen.txt").read_text().splitlines() == ["- -", f"{version.id} {split}"]
    assert challenger.id != champion.id and challenger.kind == "script"
    assert challenger.version_id == version.id and challenger.split_id == split
    assert challenger.params["n_estimators"] == 12
    assert challenger.origin["retrained_from"] == champion.id
    recorded = cycle.list_retrains(ws, project)[0]
    assert recorded.challenger_run == challenger.id
    ran = f"ran python train.py --trees 12 with COCKPIT_DATA_VERSION={version.id}"
    ran += f" (it logged {challenger.label})"
    assert ran in recorded.steps and f"- {ran}" in result.output
    assert registry.get_version(ws, project, "production").run_id == champion.id


def test_command_overrides_the_recorded_one_and_refit_runs_no_script(tmp_path, run_cli, monkeypatch) -> None:
    ws, project, repo, champion = _script_champion(tmp_path)
    monkeypatch.chdir(repo)
    result = run_cli(
        "retrain", "--command", f"{sys.executable} train.py --trees 20", workspace=tmp_path / "ws"
    )
    challenger = runs.list_runs(ws, project)[0]
    assert challenger.params["n_estimators"] == 20 and challenger.origin["argv"] == ["--trees", "20"]
    assert f"train.py --trees 20 with COCKPIT_DATA_VERSION={challenger.version_id}" in result.output
    # --refit: a clone of production's model (12 trees), the script left alone
    seen = (repo / "seen.txt").read_text()
    result = run_cli("retrain", "--refit", workspace=tmp_path / "ws")
    refitted = runs.list_runs(ws, project)[0]
    assert (repo / "seen.txt").read_text() == seen
    assert refitted.kind == "script" and refitted.origin["refit"] and refitted.params == champion.params
    assert runs.load_pipeline(ws, refitted)[-1].n_estimators_ == 12
    assert (
        f"refit a clone of run {champion.id}'s LGBMClassifier on data v{refitted.version_id}" in result.output
    )


def test_a_failing_script_stops_the_retrain_and_keeps_production(tmp_path, run_cli) -> None:
    ws, project, repo, champion = _script_champion(tmp_path)
    script = repo / "train.py"  # the user's script breaks after production's model was trained
    script.write_text(script.read_text().replace('"--fail", action="store_true"', '"--fail", default=True'))
    before = ws.store.scalar("SELECT count(*) FROM runs"), registry.aliases(ws, project)
    result = run_cli("retrain", workspace=tmp_path / "ws")
    assert result.exit_code == 1
    assert "retrain: stopped: training failed" in result.output
    assert "it exited with code 1: the data looks wrong: refusing to train" in result.output
    recorded = cycle.list_retrains(ws, project)[0]
    assert recorded.decision == cycle.TRAINING_FAILED and recorded.challenger_run is None
    assert (ws.store.scalar("SELECT count(*) FROM runs"), registry.aliases(ws, project)) == before
    assert registry.get_version(ws, project, "production").run_id == champion.id
