"""`cockpit gc`: the artifacts no row names go (a failed run's model, a deleted run's archived
model, a file no row records), those a row names stay (a registered model, a retired model's
archived file, the data and the split), --dry-run removes nothing, and an artifact younger
than --min-age is kept (it may be on its way to a run).

Breast cancer (scikit-learn's copy): a logistic regression (v1) in production; a dummy (run
2) registered as v2 and retired, so its file is archived."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cockpit.gc import DIGESTS, REFERENCES
from cockpit.workspace import Workspace
from storage import clock
from tests.monitoring_helpers import build, run


class FailsWhenScored(LogisticRegression):
    """A model that fits, and fails when cockpit scores it on the validation rows: its run
    fails after its model file was saved."""

    def predict_proba(self, X):
        raise ValueError("this model cannot score")


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.sample(frac=1, random_state=4).head(300)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gc") / "ws"
    build(root, "binary", "target", cancer())
    for step in (
        ("train", "--model", "dummy"),
        ("register", "2", "--override", "a gc test"),
        ("retire", "2", "--reason", "a gc test"),
    ):
        assert run(root, *step).exit_code == 0, step
    return root


@pytest.fixture
def root(built: Path, private_copy) -> Path:
    return private_copy(built)


def failed_run_with_model(root: Path) -> str:
    """A tracked run whose model was saved, then failed when scored: the sha256 it left."""
    import cockpit

    frame = cancer().drop(columns=["target"])
    model = make_pipeline(StandardScaler(), FailsWhenScored()).fit(frame, cancer()["target"])
    before = artifact_rows(root)
    with (
        pytest.raises(ValueError, match="cannot score"),
        cockpit.start_run("p", split=1, workspace=root) as active,
    ):
        active.log_model(model)
    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    status, sha = db.execute("SELECT status, artifact_sha256 FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    db.close()
    assert status == "failed" and sha is None  # the run does not name the file it left
    (left,) = artifact_rows(root) - before
    return left


def artifact_rows(root: Path) -> set[str]:
    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    try:
        return {row[0] for row in db.execute("SELECT sha256 FROM artifacts")}
    finally:
        db.close()


def files(root: Path) -> set[str]:
    folder = root / ".cockpit" / "artifacts"
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def gc(root: Path, *args: str) -> dict:
    result = run(root, "gc", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def later(monkeypatch: pytest.MonkeyPatch, hours: float = 2) -> None:
    """The clock `hours` on: artifacts written by the test are older than --min-age then."""
    now = clock.now() + timedelta(hours=hours)
    monkeypatch.setattr("storage.clock.now", lambda: now)


def test_a_failed_runs_model_goes_and_the_registered_models_stay(root: Path, monkeypatch) -> None:
    orphan = failed_run_with_model(root)
    kept = files(root) - {f"{orphan}.joblib"}
    assert f"{orphan}.joblib" in files(root)

    young = gc(root)
    assert young["removed"] == [] and young["kept_recent"] == 1  # a minute old: maybe on its way

    later(monkeypatch)
    size = (root / ".cockpit" / "artifacts" / f"{orphan}.joblib").stat().st_size
    done = gc(root)
    assert [item["sha256"] for item in done["removed"]] == [orphan]
    assert done["removed"][0]["kind"] == "model" and done["bytes_freed"] == size
    assert files(root) == kept  # production's, the retired v2's archived file, data, split
    assert orphan not in artifact_rows(root)
    with Workspace(root / ".cockpit") as ws:
        assert ws.artifacts.verify_all().ok
        (event,) = [e for e in ws.events() if e.action == "gc"]
        assert event.user == "tester" and event.details == {"artifacts": 1, "bytes_freed": size}
    assert gc(root)["removed"] == []  # nothing more to do
    assert run(root, "predict", str(root / "train.csv"), "--output", str(root / "out.csv")).exit_code == 0


def test_dry_run_removes_nothing(root: Path, monkeypatch) -> None:
    orphan = failed_run_with_model(root)
    later(monkeypatch)
    before_files, before_rows = files(root), artifact_rows(root)
    result = run(root, "gc", "--dry-run")
    assert result.exit_code == 0
    assert f"would remove  {orphan[:12]}  model" in result.stdout
    assert "would remove 1 artifact(s)" in result.stdout
    assert files(root) == before_files and artifact_rows(root) == before_rows
    with Workspace(root / ".cockpit") as ws:
        assert [e for e in ws.events() if e.action == "gc"] == []


def test_a_deleted_runs_archived_model_goes(root: Path, monkeypatch) -> None:
    with Workspace(root / ".cockpit") as ws:
        archived = ws.store.scalar("SELECT artifact_sha256 FROM runs WHERE id = 2")
    assert f"archive/{archived}.joblib" in files(root)
    assert gc(root, "--min-age", "0")["removed"] == []  # the retired v2 names it
    result = run(root, "delete", "run", "2", "--reason", "a retired experiment")
    assert result.exit_code == 0, result.output
    assert f"removed  {archived[:12]}" in result.stdout
    assert f"archive/{archived}.joblib" not in files(root) and archived not in artifact_rows(root)


def test_a_file_no_row_records_goes_once_old(root: Path) -> None:
    """A crash between writing a file and recording it leaves a file with no row."""
    folder = root / ".cockpit" / "artifacts"
    stray = folder / f"{'ab' * 32}.joblib"
    stray.write_bytes(b"left by a crash")
    assert gc(root)["kept_recent"] == 1 and stray.exists()
    hour_ago = time.time() - 3700
    os.utime(stray, (hour_ago, hour_ago))
    done = gc(root)
    assert done["removed"] == [{"sha256": "ab" * 32, "kind": "unrecorded", "size": 15, "files": [stray.name]}]
    assert not stray.exists()


def test_every_sha256_column_is_known(workspace: Workspace) -> None:
    """A new column naming an artifact must be added to REFERENCES, or gc would remove what it
    names."""
    store = workspace.store
    tables = [r["name"] for r in store.rows("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = {
        (table, column["name"])
        for table in tables
        for column in store.rows(f'PRAGMA table_info("{table}")')
        if "sha256" in column["name"] and table != "artifacts"
    }
    assert found == set(REFERENCES) | set(DIGESTS)


def killed(root: Path, fault: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m cockpit ...` killed with SIGKILL at the fault point `fault`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(COCKPIT_USER="tester", COCKPIT_FAULT=fault)
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    return done


def test_killed_after_the_commit_the_next_gc_finishes(root: Path) -> None:
    """The rows go in the transaction, the files after it: a gc killed in between leaves
    files no row records, which the next gc removes (the file's age counts then)."""
    orphan = failed_run_with_model(root)
    path = root / ".cockpit" / "artifacts" / f"{orphan}.joblib"
    killed(root, "gc:after_commit", "gc", "--min-age", "0")
    assert orphan not in artifact_rows(root) and path.exists()
    done = gc(root, "--min-age", "0")
    assert [(g["sha256"], g["kind"]) for g in done["removed"]] == [(orphan, "unrecorded")]
    assert not path.exists()
