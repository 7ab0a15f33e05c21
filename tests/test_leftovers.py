"""What killed processes leave behind, and what an old scikit-learn left: stale temporary
artifact files are removed at the next write and by `doctor --fix` (reported by `doctor`);
a sweep's loky workers and resource trackers die with the sweep; `cancel --sweep` never
signals a pid that another process took over; models pickled by another scikit-learn are
listed by `doctor` and say so when loaded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from cockpit.workspace import Workspace
from storage.processes import process_alive, process_started


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    cockpit = str(Path(sys.executable).parent / "cockpit")
    return subprocess.run([cockpit, "--workspace", str(root), *args], capture_output=True, text=True)


@pytest.fixture
def project(run_cli, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    load_breast_cancer(as_frame=True).frame.to_csv(root / "cancer.csv", index=False)
    assert run_cli("init", str(root)).exit_code == 0
    assert (
        run_cli("project", "new", "p", "--task", "binary", "--target", "target", workspace=root).exit_code
        == 0
    )
    return root


def ended_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def leave(folder: Path, name: str, age_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"x" * 1000)
    os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


def test_stale_temporary_files_are_reported_fixed_and_removed_by_the_next_write(run_cli, project) -> None:
    folder = project / ".cockpit" / "artifacts"
    dead = ended_pid()
    stale = [leave(folder, f".tmp-{dead}-a1.parquet", 120), leave(folder, ".tmp-q8z_1k.joblib", 120)]
    kept = [
        leave(folder, f".tmp-{os.getpid()}-b2.joblib", 120),  # its writer is alive
        leave(folder, f".tmp-{dead}-c3.joblib", 5),  # not a minute old: maybe still written
    ]
    result = run_cli("doctor", "--json", workspace=project)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert sorted(item["name"] for item in report["stale_temporary"]) == sorted(p.name for p in stale)
    assert any("2 stale temporary file(s) (0.0 MB)" in problem for problem in report["problems"])
    result = run_cli("doctor", "--fix", workspace=project)
    assert result.exit_code == 0, result.output
    assert f"removed stale temporary file .tmp-{dead}-a1.parquet" in result.output
    assert [p.exists() for p in stale + kept] == [False, False, True, True]

    again = leave(folder, f".tmp-{dead}-d4.parquet", 120)
    assert run_cli("data", "import", str(project / "cancer.csv"), workspace=project).exit_code == 0
    assert not again.exists() and all(p.exists() for p in kept)
    names = [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")]
    assert sorted(names) == sorted(p.name for p in kept)  # the import left none of its own


def test_an_import_killed_midway_leaves_one_temporary_file_named_by_its_pid(project, tmp_path) -> None:
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    cockpit = str(Path(sys.executable).parent / "cockpit")
    killed = subprocess.run(
        [cockpit, "--workspace", str(project), "data", "import", str(project / "cancer.csv")],
        capture_output=True,
        env={**os.environ, "COCKPIT_FAULT": "artifacts:written", "TMPDIR": str(scratch)},
    )
    assert killed.returncode == -signal.SIGKILL
    assert list(scratch.iterdir()) == []  # the Parquet file is written in the workspace only
    left = list((project / ".cockpit" / "artifacts").iterdir())
    assert len(left) == 1 and left[0].name.startswith(".tmp-") and left[0].suffix == ".parquet"
    with Workspace(project / ".cockpit") as ws:
        assert ws.artifacts.stale_temporary() == []  # not a minute old: maybe still written
        os.utime(left[0], (time.time() - 61, time.time() - 61))
        assert ws.artifacts.stale_temporary() == left  # its writer is gone
        assert ws.store.scalar("SELECT count(*) FROM dataset_versions") == 0


def test_cancel_sweep_never_signals_a_pid_another_process_took(run_cli, project) -> None:
    # SIGINT as a sweep takes it, even when this test runs under nohup (which ignores it)
    stranger = subprocess.Popen(
        ["sleep", "60"], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    try:
        with Workspace(project / ".cockpit") as ws:
            base = {"project_id": 1, "family": "dummy", "kind": "random", "space": "[]", "trials": 2}
            base |= {"n_jobs": 1, "backend": "loky", "seed": 1, "status": "running"}
            base |= {"created_at": "2026-05-01T09:00:00+00:00", "created_by": "tester"}
            started = process_started(stranger.pid)
            assert started is not None
            reused = ws.store.insert(
                "sweeps", {**base, "owner_pid": stranger.pid, "owner_started": started - 7}
            )
            same = ws.store.insert("sweeps", {**base, "owner_pid": stranger.pid, "owner_started": started})
        result = run_cli("cancel", "--sweep", str(reused), workspace=project)
        assert result.exit_code == 0, result.output
        time.sleep(0.3)
        assert stranger.poll() is None  # the pid belongs to another process now: left alone
        with Workspace(project / ".cockpit") as ws:
            assert ws.store.scalar("SELECT status FROM sweeps WHERE id = ?", [reused]) == "interrupted"
        assert run_cli("cancel", "--sweep", str(same), workspace=project).exit_code == 0
        assert stranger.wait(timeout=10) == -signal.SIGINT  # the sweep's own process: signalled
    finally:
        stranger.kill()
        stranger.wait()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[-1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_a_killed_sweeps_workers_die_with_it(run_cli, project) -> None:
    assert run_cli("data", "import", str(project / "cancer.csv"), workspace=project).exit_code == 0
    assert run_cli("data", "split", "--seed", "1", workspace=project).exit_code in (0, 1)
    cockpit = str(Path(sys.executable).parent / "cockpit")
    sweep = subprocess.Popen(
        [
            cockpit,
            "--workspace",
            str(project),
            "sweep",
            "--model",
            "random_forest",
            "--random",
            "40",
            "--jobs",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 3:  # two workers and a tracker
            time.sleep(0.2)
            workers = children_of(sweep.pid)
        assert len(workers) >= 3, workers
        time.sleep(1.0)  # the trials are running
        sweep.kill()
        sweep.wait()
        deadline = time.monotonic() + 30  # a worker still starting ends once it has started
        while time.monotonic() < deadline and any(process_alive(pid) for pid in workers):
            time.sleep(0.2)
        assert [pid for pid in workers if process_alive(pid)] == []
    finally:
        for pid in children_of(sweep.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_model_of_another_scikit_learn_is_listed_and_says_so_when_loaded(
    run_cli, project, monkeypatch
) -> None:
    import sklearn.base

    from storage.artifacts import ArtifactVersionWarning, installed_sklearn

    assert run_cli("data", "import", str(project / "cancer.csv"), workspace=project).exit_code == 0
    assert run_cli("data", "split", "--seed", "1", workspace=project).exit_code in (0, 1)
    assert (
        run_cli("train", "--model", "logistic_regression", "--param", "C=0.5", workspace=project).exit_code
        == 0
    )
    with Workspace(project / ".cockpit") as ws:
        sha = ws.store.scalar("SELECT artifact_sha256 FROM runs WHERE id = 1")
        model = ws.artifacts.load(sha)
        # as scikit-learn 1.5.0 would have pickled it (its version goes into the pickle)
        monkeypatch.setattr(sklearn.base, "__version__", "1.5.0")
        old = ws.artifacts.put(model, "model", {"scikit-learn": "1.5.0", "python": "3.11"}).sha256
        monkeypatch.undo()
        ws.store.update("runs", {"id": 1}, {"artifact_sha256": old})
    result = run_cli("doctor", "--json", workspace=project)
    assert result.exit_code == 1
    listed = json.loads(result.stdout)["other_sklearn"]
    assert [(m["sha256"], m["version"], m["runs"]) for m in listed] == [(old, "1.5.0", [1])]
    assert listed[0]["retrain"] == [
        "cockpit train --project p --model logistic_regression --param C=0.5 --seed 42 --split 1"
    ]
    with Workspace(project / ".cockpit") as ws, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ws.artifacts.load(old)
    said = [str(w.message) for w in caught if issubclass(w.category, ArtifactVersionWarning)]
    assert said == [
        f"artifact {old[:12]} was written by scikit-learn 1.5.0; this is {installed_sklearn()}: its "
        f"answers may differ; retrain it with scikit-learn {installed_sklearn()} (`cockpit doctor` "
        "names its runs and the command), or install scikit-learn==1.5.0 to use it as it was"
    ]
    assert not [w for w in caught if "InconsistentVersionWarning" in w.category.__name__]


def test_a_model_another_scikit_learn_cannot_load_is_refused_naming_the_version(workspace) -> None:
    import types

    from storage import ArtifactError

    module = types.ModuleType("sklearn_gone_in_this_version")
    exec("class Estimator:\n    pass", module.__dict__)
    Estimator = module.Estimator
    Estimator.__module__ = module.__name__
    sys.modules[module.__name__] = module
    try:
        sha = workspace.artifacts.put(Estimator(), "model", {"scikit-learn": "1.2.0"}).sha256
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(ArtifactError) as refused:
        workspace.artifacts.load(sha)
    message = str(refused.value)
    assert message.startswith(f"artifact {sha[:12]} was written by scikit-learn 1.2.0; this is ")
    assert "cannot load it (ModuleNotFoundError: No module named 'sklearn_gone_in_this_version')" in message
    assert "install scikit-learn==1.2.0" in message
