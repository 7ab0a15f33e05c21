"""A full disk is told as one: "disk full at PATH", what was needed and what is free, exit 2
and nothing written, for `data import`, `monitor ingest` and any command opening a store on
a disk with no space left. The disk fills by fault points (storage/faults.py: an artifact
write raises ENOSPC; the store may not grow, so SQLite itself says "database or disk is
full") and, where this machine lets a test mount one, on a real 8 MB tmpfs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from cockpit.workspace import Workspace
from storage.faults import DISK_FULL_ENV
from tests.monitoring_helpers import build, counts, penguins, run


def refusal(result) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def artifact_files(root: Path) -> list[str]:
    folder = root / ".cockpit" / "artifacts"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def cancer(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    load_breast_cancer(as_frame=True).frame.to_csv(root / "cancer.csv", index=False)
    assert run(root, "init", str(root)).exit_code == 0
    assert run(root, "project", "new", "p", "--task", "binary", "--target", "target").exit_code == 0
    return root


@pytest.mark.parametrize(
    ("point", "says"),
    [
        ("artifacts.write", "disk full at {root}/.cockpit/artifacts while writing dataset 'cancer'"),
        ("store", "disk full at {root}/.cockpit while writing cockpit.db (database or disk is full)"),
    ],
)
def test_data_import_on_a_full_disk_says_so_and_writes_nothing(cancer, monkeypatch, point, says) -> None:
    monkeypatch.setenv(DISK_FULL_ENV, point)
    line = refusal(run(cancer, "data", "import", str(cancer / "cancer.csv")))
    assert says.format(root=cancer) in line and "MB free" in line and "nothing was written" in line
    monkeypatch.delenv(DISK_FULL_ENV)
    with Workspace(cancer / ".cockpit") as ws:
        assert ws.store.scalar("SELECT count(*) FROM dataset_versions") == 0
        assert ws.store.scalar("SELECT count(*) FROM artifacts") == 0
    assert artifact_files(cancer) == []  # neither the temporary file nor an unrecorded artifact
    assert run(cancer, "data", "import", str(cancer / "cancer.csv")).exit_code == 0  # space again


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    data = penguins()
    root = tmp_path_factory.mktemp("full") / "ws"
    build(root, "multiclass", "species", data.iloc[:250])
    data.iloc[250:].drop(columns=["species"]).to_csv(root / "may.csv", index=False)
    return root


def test_monitor_ingest_on_a_full_disk_says_so_and_writes_nothing(deployed, tmp_path, monkeypatch) -> None:
    root = tmp_path / "ws"
    shutil.copytree(deployed, root)
    before, files = counts(root), artifact_files(root)
    monkeypatch.setenv(DISK_FULL_ENV, "artifacts.write")
    line = refusal(run(root, "monitor", "ingest", str(root / "may.csv")))
    says = f"disk full at {root}/.cockpit/artifacts while writing a batch-inputs artifact ("
    assert line.startswith(f"cockpit: {says}") and " MB needed, " in line, line  # a copy: its size is known
    monkeypatch.delenv(DISK_FULL_ENV)
    assert counts(root) == before and artifact_files(root) == files


SCRIPT = textwrap.dedent(
    """
    import os, subprocess, sys
    from pathlib import Path

    mount, csv, cockpit = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    ws = mount / "ws"

    def cockpit_(*args):
        done = subprocess.run([cockpit, "--workspace", str(ws), *args], capture_output=True, text=True)
        print(f"{args[0]}|{done.returncode}|{done.stderr.strip()}")

    subprocess.run([cockpit, "init", str(ws)], check=True, capture_output=True)
    cockpit_("project", "new", "p", "--task", "binary", "--target", "target")
    free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    subprocess.run(["fallocate", "-l", str(free - 300_000), str(mount / "filler")], check=True)
    cockpit_("data", "import", csv)  # its Parquet file needs ~2 MB: 0.3 MB are left
    subprocess.run(["fallocate", "-l", str(free + 300_000), str(mount / "filler")])
    try:
        with open(mount / "more", "wb") as out:
            while True:
                out.write(bytes(4096))
                out.flush()
    except OSError:
        pass
    cockpit_("projects")  # 0 bytes free: SQLite cannot make its -wal and -shm files
    os.remove(mount / "filler")
    os.remove(mount / "more")
    cockpit_("log")
    print("files|" + ",".join(sorted(os.listdir(ws / ".cockpit" / "artifacts"))))
    """
)


def test_a_real_full_disk_on_tmpfs(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    probe = unshare and subprocess.run(
        [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tmp_path}"], capture_output=True
    )
    if not probe or probe.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs `unshare -rm`: user and mount namespaces)")
    frame = load_breast_cancer(as_frame=True).frame
    noise = pd.DataFrame(
        __import__("numpy").random.default_rng(0).normal(size=(len(frame) * 20, frame.shape[1] - 1)),
        columns=frame.columns[:-1],
    )
    noise["target"] = list(frame["target"]) * 20
    noise.to_csv(tmp_path / "big.csv", index=False)
    (tmp_path / "mnt").mkdir()
    (tmp_path / "script.py").write_text(SCRIPT)
    cockpit = str(Path(sys.executable).parent / "cockpit")
    done = subprocess.run(
        [
            unshare,
            "-rm",
            sys.executable,
            str(tmp_path / "script.py"),
            str(tmp_path / "mnt"),
            str(tmp_path / "big.csv"),
            cockpit,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COCKPIT_USER": "tester"},
    )
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("|", 1) for line in done.stdout.splitlines() if "|" in line)
    ws = tmp_path / "mnt" / "ws" / ".cockpit"
    code, message = lines["data"].split("|", 1)
    assert code == "2" and message.startswith(
        f"cockpit: disk full at {ws}/artifacts while writing dataset 'big'"
    )
    code, message = lines["projects"].split("|", 1)
    assert code == "2" and message.startswith(f"cockpit: disk full at {ws} while opening cockpit.db"), message
    assert "not a usable cockpit store" not in message
    assert lines["log"].startswith("0|")  # the store was never damaged: it opens again
    assert "import" not in lines["log"]
    assert lines["files"] == ""  # nothing half-written
