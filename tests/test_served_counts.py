"""The rows each model version answered in each batch are counted when the batch is written
(batch_versions, m030), and the review's traffic figures (cockpit.monitoring.served) read them
there: the same figures as counting every batch's outputs file, on the demo, on a store from
before m030 (counted by the migration, a missing or changed file left uncounted, never
guessed), and on palmerpenguins with rows the fallback rule answered (no version's)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from cockpit.deployment.batch import load_batch
from cockpit.monitoring import served as served_module
from cockpit.monitoring.served import served
from cockpit.monitoring.service import window_of, window_size
from cockpit.projects import list_projects
from cockpit.workspace import Workspace
from storage.errors import ArtifactError
from tests.monitoring_helpers import build, penguins, run

DB = Path(".cockpit") / "cockpit.db"


def from_files(ws: Workspace) -> dict[int, dict[int, int]]:
    """Per batch, rows per version number, read from its outputs file (as before m030)."""
    counted: dict[int, dict[int, int]] = {}
    for batch in ws.store.rows("SELECT * FROM batches ORDER BY id"):
        column = load_batch(ws, batch)[1]["model_version"].dropna().astype(str).str.strip()
        counted[batch["id"]] = {int(float(v)): int(n) for v, n in column[column != ""].value_counts().items()}
    return counted


def stored(ws: Workspace) -> dict[int, dict[int, int]]:
    counted: dict[int, dict[int, int]] = {b["id"]: {} for b in ws.store.rows("SELECT id FROM batches")}
    for row in ws.store.rows("SELECT * FROM batch_versions"):
        counted[row["batch_id"]][row["version"]] = row["rows"]
    return counted


def expected(ws: Workspace, counted: dict[int, dict[int, int]]) -> dict[tuple[str, int], tuple]:
    """Every project's every version: (batches, rows, windows of its batches) from `counted`."""
    figures = {}
    for project in list_projects(ws):
        size = window_size(ws, project)
        batches = ws.store.rows("SELECT id, at FROM batches WHERE project_id = ?", [project.id])
        for (version,) in ws.store.conn.execute(
            "SELECT version FROM model_versions WHERE project_id = ?", [project.id]
        ):
            its = [b for b in batches if counted[b["id"]].get(version)]
            rows = sum(counted[b["id"]][version] for b in its)
            figures[project.name, version] = (len(its), rows, {window_of(b["at"], size) for b in its})
    return figures


def test_the_demo_counts_each_batch_as_its_outputs_file_says(demo_path: Path) -> None:
    with Workspace(demo_path / ".cockpit") as ws:
        files = from_files(ws)
        assert stored(ws) == files  # written by `cockpit predict` and `monitor ingest`
        assert ws.store.scalar("SELECT count(*) FROM batches WHERE versions_counted IS NOT 1") == 0
        # the demo's production v1 and canary v2 answered its eight monthly batches
        assert sum(len(v) for v in files.values()) == 16 and len(files) == 8
        served_module._ANSWERED.clear()
        want = expected(ws, files)
        learner = {k: v for k, v in want.items() if k[0] == "learner-support"}
        assert {k[1]: v[:2] for k, v in learner.items()} == {1: (8, 6107), 2: (8, 1519), 3: (0, 0)}
        for (name, version), (batches, rows, windows) in want.items():
            project = next(p for p in list_projects(ws) if p.name == name)
            traffic = served(ws, project, version)
            assert (traffic.batches, traffic.rows) == (batches, rows), (name, version)
            assert windows <= traffic.windows
        assert served_module._ANSWERED == {}  # no outputs file was read


def before_m030(path: Path) -> None:
    """The store as a cockpit before m030 left it: no batch_versions, no versions_counted."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.execute("DROP TABLE batch_versions")
    db.execute("ALTER TABLE batches DROP COLUMN versions_counted")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm030_batch_version_rows'")
    db.execute("COMMIT")
    db.close()


def test_a_store_from_before_m030_is_counted_from_its_files_and_never_guessed(demo_path: Path) -> None:
    with Workspace(demo_path / ".cockpit") as ws:
        files = from_files(ws)
        project = next(p for p in list_projects(ws) if p.name == "learner-support")
        before = {v: served(ws, project, v) for v in (1, 2, 3)}
        shas = dict(ws.store.conn.execute("SELECT id, outputs_sha256 FROM batches WHERE id IN (2, 5)"))
        missing = ws.artifacts.path_for(shas[2], ".parquet")
        changed = ws.artifacts.path_for(shas[5], ".parquet")
    before_m030(demo_path / DB)
    kept = missing.read_bytes(), changed.read_bytes()
    missing.unlink()
    changed.write_bytes(kept[1] + b"x")
    served_module._ANSWERED.clear()
    with Workspace(demo_path / ".cockpit") as ws:
        assert ws.store.applied_migrations()[-1] == "m030_batch_version_rows"
        assert ws.store.scalar("PRAGMA foreign_key_check") is None
        # counted from the files that are as cockpit wrote them; the other two: no count at all
        assert stored(ws) == {**files, 2: {}, 5: {}}
        assert dict(ws.store.conn.execute("SELECT id, versions_counted FROM batches")) == {
            i: None if i in (2, 5) else 1 for i in files
        }
        with pytest.raises(ArtifactError, match=f"{missing.name} is missing"):
            served(ws, project, 1)
        missing.write_bytes(kept[0])
        with pytest.raises(ArtifactError, match="was changed after cockpit wrote it"):
            served(ws, project, 1)
        changed.write_bytes(kept[1])
        assert {v: served(ws, project, v) for v in (1, 2, 3)} == before
        assert set(served_module._ANSWERED) == {(str(ws.artifacts.root), shas[i]) for i in (2, 5)}


def test_fallback_rows_are_no_versions_and_a_dropped_batch_takes_its_counts(tmp_path: Path) -> None:
    data = penguins()
    data.insert(0, "penguin_id", range(1000, 1000 + len(data)))
    root = tmp_path / "ws"
    build(root, "multiclass", "species", data.iloc[:250], id_column="penguin_id")
    rest = data.iloc[250:].drop(columns=["species"])
    rest.iloc[:40].to_csv(tmp_path / "june.csv", index=False)
    rest.iloc[40:].to_csv(tmp_path / "july.csv", index=False)
    rest.iloc[:10].to_csv(tmp_path / "august.csv", index=False)
    # an overridden row was still scored by v1: its answer is replaced, its version kept
    assert run(root, "override", "add", "1290", "Gentoo", "--reason", "checked by hand").exit_code == 0
    assert run(root, "fallback", "set", "constant Adelie").exit_code == 0
    for name, at in (("june", "2026-06-15"), ("july", "2026-07-15")):
        result = run(root, "monitor", "ingest", str(tmp_path / f"{name}.csv"), "--at", at)
        assert result.exit_code == 0, result.stderr
    predicted = run(root, "predict", str(tmp_path / "july.csv"), "--output", str(tmp_path / "scored.csv"))
    assert predicted.exit_code == 0, predicted.stderr
    with Workspace(root / ".cockpit") as ws:  # v1's file broken: the fallback rule answers
        project = list_projects(ws)[0]
        model = ws.artifacts.path_for(ws.store.scalar("SELECT artifact_sha256 FROM model_versions"))
    model.write_bytes(model.read_bytes()[:100])
    august = run(
        root, "monitor", "ingest", str(tmp_path / "august.csv"), "--at", "2026-08-15", "--allow-fallback"
    )
    assert august.exit_code == 0, august.stderr
    with Workspace(root / ".cockpit") as ws:
        files = from_files(ws)
        assert stored(ws) == files == {1: {1: 40}, 2: {1: 54}, 3: {1: 54}, 4: {}}
        assert ws.store.scalar("SELECT count(*) FROM batches WHERE versions_counted = 1") == 4
        routes = dict(ws.store.conn.execute("SELECT id, routes FROM batches"))
        assert json.loads(routes[2]) == {"production": 53, "override": 1}
        assert json.loads(routes[4]) == {"fallback": 10}
        traffic = served(ws, project, 1)
        assert (traffic.batches, traffic.rows, traffic.project_batches) == (3, 148, 4)
        assert {"2026-06", "2026-07"} <= traffic.windows and "2026-08" not in traffic.windows
    assert run(root, "monitor", "drop", "2", "--reason", "sent twice").exit_code == 0
    with Workspace(root / ".cockpit") as ws:
        assert stored(ws) == {1: {1: 40}, 3: {1: 54}, 4: {}}
        assert ws.store.scalar("SELECT count(*) FROM batch_versions WHERE batch_id = 2") == 0
        traffic = served(ws, project, 1)
        assert (traffic.batches, traffic.rows, traffic.project_batches) == (2, 94, 3)


def test_version_rows_reads_text_numbers_and_blanks_as_the_files_hold_them() -> None:
    from cockpit.deployment.batch import version_rows

    text = pd.DataFrame({"model_version": pd.array(["2", "2", None, "", " ", "10"], dtype="string")})
    numbers = pd.DataFrame({"model_version": pd.array([2, 2, None, 10], dtype="Int64")})
    floats = pd.DataFrame({"model_version": [2.0, float("nan"), 10.0, 2.0]})
    assert version_rows(text) == version_rows(numbers) == version_rows(floats) == {2: 2, 10: 1}
    assert version_rows(pd.DataFrame({"route": ["fallback"]})) == {}
