"""`reproduce` for runs trained outside cockpit (issue 24): a script run is re-run at its
recorded commit in a temporary git worktree and its predictions compared; a run from
uncommitted code cannot be; a file's or notebook's model has nothing to re-run."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm
import pytest
from sklearn.datasets import load_breast_cancer

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.errors import CockpitError
from cockpit.projects import Project, create_project
from cockpit.training import external, runs
from cockpit.training.reproduce import last_reproduction, reproduce
from cockpit.workspace import Workspace
from tests.script_runs import git, run_script, script_repo


def _workspace(tmp_path: Path) -> tuple[Workspace, Project]:
    ws, _ = Workspace.init(tmp_path / "ws")
    project = create_project(ws, "cancer", "binary", "target")
    frame = load_breast_cancer(as_frame=True).frame
    # its ten standard-error columns: none gives the label away alone, so the split's leak
    # check has no cross-validated comparison to run (seconds a test on all thirty)
    frame = frame[[c for c in frame.columns if c.endswith(" error")] + ["target"]]
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.to_csv(tmp_path / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "cancer.csv")
    make_split(ws, project, "stratified")
    return ws, project


def test_a_clean_script_run_is_rerun_at_its_commit_and_matches(tmp_path, run_cli) -> None:
    ws, project = _workspace(tmp_path)
    repo = script_repo(ws.root)  # recorded as ./code/train.py
    run_script(repo, ws.dir, project.name, "--trees", "12")
    original = runs.list_runs(ws, project)[0]
    commit = git(repo, "rev-parse", "HEAD")
    assert (original.git_commit, original.git_dirty) == (commit, False)
    assert original.origin["script"] == "./code/train.py"
    # the code moves on after the run: reproduce uses the run's commit, not today's script
    (repo / "train.py").write_text(
        (repo / "train.py").read_text().replace('"num_leaves": 7', '"num_leaves": 3')
    )
    git(repo, "commit", "-q", "-am", "fewer leaves")
    result = run_cli("reproduce", str(original.id), "--json", workspace=tmp_path / "ws")
    done = json.loads(result.stdout)
    again = runs.list_runs(ws, project)[0]
    assert again.id == original.id + 1 and again.git_commit == commit and again.params == original.params
    # the same code, data, split and seed: the same model file (LightGBM on one thread)
    assert done["predictions_match"] and done["max_difference"] == 0.0
    assert done["artifact_match"] and again.artifact_sha256 == original.artifact_sha256
    assert done["identical"] and result.exit_code == 0
    assert not done["code_differs"] and done["libraries_differ"] == {}
    assert done["detail"].startswith("86 validation predictions: 0 differ")
    assert f"re-ran python train.py --trees 12 at {commit[:12]} in a temporary worktree" in done["detail"]
    assert last_reproduction(ws, original.id)["predictions_match"] == 1
    # the re-run says what it is: the script and folder are the original's, not the worktree's
    assert again.origin["reproduces"] == original.id and "rerun" not in again.origin
    assert (again.origin["script"], again.origin["cwd"]) == (
        original.origin["script"],
        original.origin["cwd"],
    )
    # the worktree is gone, and the script's own folder was not where it ran
    assert git(repo, "worktree", "list").count("\n") == 0
    assert (repo / "seen.txt").read_text().splitlines() == ["- -"]


def test_a_run_from_uncommitted_code_cannot_be_reproduced(tmp_path, run_cli) -> None:
    ws, project = _workspace(tmp_path)
    repo = script_repo(tmp_path)
    (repo / "train.py").write_text((repo / "train.py").read_text() + "\n# an edit not committed\n")
    run_script(repo, ws.dir, project.name)
    run = runs.list_runs(ws, project)[0]
    assert run.git_dirty is True
    with pytest.raises(
        CockpitError, match=r"^cannot reproduce: not a clean commit \(run 1 \(LGBMClassifier\)"
    ):
        reproduce(ws, project, run.id)
    result = run_cli("reproduce", str(run.id), workspace=tmp_path / "ws")
    assert result.exit_code == 2 and "cannot reproduce: not a clean commit" in result.output
    assert [r.id for r in runs.list_runs(ws, project)] == [run.id]  # nothing ran
    assert last_reproduction(ws, run.id) is None


def test_a_file_run_has_nothing_to_rerun(tmp_path, run_cli) -> None:
    ws, project = _workspace(tmp_path)
    data = external.run_data(ws, project)
    run_id = external.start(ws, project, "file", {"file": "/models/cancer.joblib"}, data=data)
    rows = data.train[data.columns]
    model = lightgbm.LGBMClassifier(n_estimators=5, n_jobs=1, verbose=-1).fit(rows, data.train[data.target])
    external.finish_with_model(ws, project, run_id, model, rows, data, 0.1)
    result = run_cli("reproduce", str(run_id), workspace=tmp_path / "ws")
    assert result.exit_code == 2
    assert (
        "cannot reproduce run 1 (LGBMClassifier): trained outside cockpit from the file "
        "/models/cancer.joblib; nothing to re-run"
    ) in result.output
    assert "Traceback" not in result.output and last_reproduction(ws, run_id) is None
