"""Features and tracked runs: the spec, the pipeline, and every field a run records."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit import features
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.errors import CockpitError
from cockpit.feature_pipeline import compile_transformer
from cockpit.projects import create_project
from cockpit.training import runs


def small_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    plan = rng.choice(["basic", "pro", "team"], n)
    when = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    notes = rng.choice(["asked for help", "happy", "billing issue", None], n)
    label = ((x + (plan == "basic") + rng.normal(0, 0.7, n)) > 0.8).astype(int)
    return pd.DataFrame(
        {
            "user_id": [f"U{i}" for i in range(n)],
            "x": x.round(3),
            "plan": plan,
            "joined": when.strftime("%Y-%m-%d"),
            "notes": notes,
            "left": label,
        }
    )


@pytest.fixture
def ready(workspace, tmp_path: Path):
    project = create_project(workspace, "subs", "binary", "left")
    path = tmp_path / "subs.csv"
    small_frame().to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified", seed=1)
    return project


def test_inferred_spec_roles_and_kinds(workspace, ready) -> None:
    version, specs = features.current_spec(workspace, ready)
    assert version is None
    by_column = {s.column: s for s in specs}
    assert by_column["user_id"].role == "id" and by_column["left"].role == "target"
    assert (
        by_column["x"].kind,
        by_column["plan"].kind,
        by_column["joined"].kind,
        by_column["notes"].kind,
    ) == ("numeric", "categorical", "date", "categorical")
    assert features.entity_column(specs) == "user_id"


def test_spec_versions_and_bad_specs(workspace, ready) -> None:
    from dataclasses import replace

    _, specs = features.current_spec(workspace, ready)
    assert features.save_spec(workspace, ready, specs) == 1
    assert features.save_spec(workspace, ready, specs) is None
    changed = [replace(s, scaling="minmax") if s.column == "x" else s for s in specs]
    assert features.save_spec(workspace, ready, changed) == 2
    with pytest.raises(CockpitError, match="'nope' is not in the data"):
        features.save_spec(workspace, ready, [*specs, features.ColumnSpec("nope")])
    no_target = [replace(s, role="ignore") if s.column == "left" else s for s in specs]
    with pytest.raises(CockpitError, match="must have role 'target'"):
        features.save_spec(workspace, ready, no_target)
    bad_part = [replace(s, date_parts=["fortnight"]) if s.column == "joined" else s for s in specs]
    with pytest.raises(CockpitError, match="unknown date part"):
        features.save_spec(workspace, ready, bad_part)


def test_pipeline_transforms_serving_rows_like_training_rows() -> None:
    from cockpit.data.profile import profile_frame

    frame = small_frame()
    specs = features.infer_spec(profile_frame(frame), "left")
    specs = [
        features.ColumnSpec("notes", kind="text", max_features=5, missing="constant")
        if s.column == "notes"
        else s
        for s in specs
    ]
    transformer = compile_transformer(specs).fit(frame)
    serving = pd.DataFrame(
        {
            "user_id": ["NEW"],
            "x": [np.nan],
            "plan": ["enterprise"],
            "joined": ["03/04/2025"],
            "notes": [None],
            "extra": [1],
        }
    )
    row = transformer.transform(serving)
    assert row.shape == (1, transformer.transform(frame.head(1)).shape[1])
    names = list(transformer.get_feature_names_out())
    assert "joined_month" in names and any(n.startswith("notes:") for n in names)


def test_a_run_records_every_field_and_its_pipeline_predicts_raw_rows(workspace, ready) -> None:
    run = runs.train(workspace, ready, "hist_gradient_boosting", ["max_iter=20"], seed=3)
    assert run.status == "finished", run.error
    assert run.version_id == 1 and run.split_id == 1 and run.feature_spec_version == 1
    assert run.params["max_iter"] == 20 and run.params["random_state"] == 3 and run.seed == 3
    assert run.metric == "roc_auc" and run.score == run.validation_metrics["roc_auc"]
    assert 0.6 < run.score <= 1.0 and "recall" in run.train_metrics
    assert run.curve["param"] == "max_iter" and run.curve["steps"][-1] == 20
    assert len(run.curve["validation"]) == len(run.curve["steps"])
    curve = run.learning_curve  # what the run detail plots
    assert (curve.param, curve.metric, curve.steps) == ("max_iter", "roc_auc", run.curve["steps"])
    assert (curve.train, curve.validation) == (run.curve["train"], run.curve["validation"])
    assert run.duration_s > 0 and run.python_version and "scikit-learn" in run.library_versions
    assert run.git_commit is None and run.git_dirty is None  # the test folder is not a git repo
    assert run.finished_at and run.error is None
    row = workspace.store.one("SELECT m_roc_auc FROM runs WHERE id = ?", [run.id])
    assert row["m_roc_auc"] == run.score

    pipeline = workspace.artifacts.load(run.artifact_sha256)
    serving = small_frame(5, seed=9).drop(columns=["left"])
    serving.loc[0, "plan"] = "never-seen"
    serving.loc[1, "x"] = np.nan
    assert pipeline.predict_proba(serving).shape == (5, 2)


def test_git_commit_and_dirty_flag_are_recorded(workspace, ready) -> None:
    import subprocess

    root = workspace.root
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    (root / "notes.txt").write_text("x")
    subprocess.run(["git", "-C", str(root), "add", "notes.txt"], check=True)
    run = runs.train(workspace, ready, "dummy")
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert run.git_commit == head and run.git_dirty is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["n_estimatorz=3"], "takes no parameter n_estimatorz"),
        (["max_depth=deep"], "max_depth"),
    ],
)
def test_bad_params_are_refused_before_anything_is_written(workspace, ready, params, message):
    with pytest.raises(CockpitError, match=message):
        runs.train(workspace, ready, "random_forest", params)
    assert runs.list_runs(workspace, ready) == []  # bad usage is not a run (issue 22)


def test_a_fit_that_fails_is_a_failed_run_not_a_crash(workspace, tmp_path) -> None:
    project = create_project(workspace, "rare", "binary", "left")
    frame = small_frame()
    frame["left"] = 0
    frame.loc[frame.index[-6:], "left"] = 1  # positives only at the end: a time split trains on none
    path = tmp_path / "rare.csv"
    frame.assign(joined=pd.date_range("2024-01-01", periods=len(frame)).strftime("%Y-%m-%d")).to_csv(
        path, index=False
    )
    datasets.import_dataset(workspace, project, path)
    make_split(workspace, project, "time", time="joined")
    run = runs.train(workspace, project, "logistic_regression")
    assert run.status == "failed" and "class" in run.error


def test_cancel_stops_the_child_at_once(workspace, ready) -> None:
    """Cancelled while it trains (its first progress report), as the screen's worker sees it:
    the child is killed, not left to finish, and the waiting worker reports the cancel."""
    handle = runs.start_run(workspace, ready, "random_forest", ["n_estimators=3000"])
    training = threading.Event()
    ended: list[str] = []
    worker = threading.Thread(target=lambda: ended.append(handle.wait(lambda *_: training.set())))
    worker.start()
    try:
        assert training.wait(timeout=120), handle.output
        handle.cancel()
    finally:
        if handle.process.poll() is None:  # never leave a 3000-tree forest training
            handle.process.kill()
        worker.join(timeout=120)
    assert handle.process.returncode == -signal.SIGKILL
    assert ended == ["cancelled"]
    run = runs.get_run(workspace, ready, handle.run_id)
    assert run.status == "cancelled" and run.artifact_sha256 is None


def test_runs_whose_processes_died_are_marked_interrupted(workspace, ready) -> None:
    handle = runs.start_run(workspace, ready, "random_forest", ["n_estimators=3000"])
    os.killpg(handle.process.pid, signal.SIGKILL)
    handle.process.wait()
    workspace.store.update("runs", {"id": handle.run_id}, {"owner_pid": 999_999_999})
    listed = runs.list_runs(workspace, ready)
    assert listed[0].status == "interrupted"


@pytest.fixture
def split_folder(run_cli, tmp_path) -> Path:
    """A workspace folder made through the CLI: project "subs", its data imported and split."""
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "subs", "--task", "binary", "--target", "left", workspace=folder)
    path = tmp_path / "subs.csv"
    small_frame().to_csv(path, index=False)
    run_cli("data", "import", str(path), workspace=folder)
    run_cli("data", "split", workspace=folder)
    return folder


def _cli_train(run_cli, folder: Path) -> dict:
    trained = run_cli(
        "train", "--model", "logistic_regression", "--param", "C=0.3", "--json", workspace=folder
    )
    assert trained.exit_code == 0, trained.stderr
    return json.loads(trained.stdout)


def test_cli_train_prints_the_finished_run(run_cli, split_folder) -> None:
    record = _cli_train(run_cli, split_folder)
    assert record["id"] == 1 and record["params"]["C"] == 0.3 and record["status"] == "finished"
    listed = json.loads(run_cli("runs", "--json", workspace=split_folder).stdout)
    assert [r["status"] for r in listed] == ["finished"]


def test_cli_train_refuses_a_bad_param_and_writes_nothing(run_cli, split_folder) -> None:
    _cli_train(run_cli, split_folder)
    bad = run_cli("train", "--model", "logistic_regression", "--param", "C=high", workspace=split_folder)
    assert bad.exit_code == 2 and "C='high'" in bad.stderr
    listed = json.loads(run_cli("runs", "--json", workspace=split_folder).stdout)
    assert [r["status"] for r in listed] == ["finished"]  # the refused request wrote nothing


def test_cli_features_show_the_spec_a_run_saved_and_set_a_new_version(run_cli, split_folder) -> None:
    _cli_train(run_cli, split_folder)
    shown = run_cli("features", "show", "--json", workspace=split_folder)
    assert json.loads(shown.stdout)["version"] == 1
    changed = run_cli("features", "set", "--column", "plan:role=ignore", workspace=split_folder)
    assert changed.stdout.strip() == "2"


def test_cli_features_set_refuses_an_unknown_column(run_cli, split_folder) -> None:
    wrong = run_cli("features", "set", "--column", "nope:role=ignore", workspace=split_folder)
    assert wrong.exit_code == 2 and "no column 'nope'" in wrong.stderr
