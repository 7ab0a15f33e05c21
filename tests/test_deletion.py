"""`cockpit delete run|data|project`: one transaction, recorded in the audit log (who, why,
what), refused with exit 2 (naming what depends on it, nothing deleted) while anything live
does; the files nothing names any more are removed after it (a dataset version's rows file:
personal data).

Breast cancer (scikit-learn's copy). Project p: data v1, split 1, a logistic regression (run
1) in production as v1, a dummy (run 2); data v2 (other rows) imported beside it and v3
cleaned from v2. Project q: its own data v4, split 2 and a dummy (run 3)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from cockpit.deletion import running_service
from cockpit.projects import get_project
from cockpit.workspace import Workspace
from tests.monitoring_helpers import build, run


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.sample(frac=1, random_state=5)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deletion") / "ws"
    data = cancer()
    build(root, "binary", "target", data.head(250))
    data.iloc[250:400].to_csv(root / "more.csv", index=False)
    data.iloc[400:].to_csv(root / "other.csv", index=False)
    (root / "recipe.json").write_text(json.dumps([{"op": "drop_columns", "columns": ["mean area"]}]))
    for step in (
        ("train", "--model", "dummy"),
        ("data", "import", str(root / "more.csv")),
        ("data", "clean", "--version", "2", "--recipe", str(root / "recipe.json")),
        ("project", "new", "q", "--task", "binary", "--target", "target"),
        ("data", "import", str(root / "other.csv"), "--project", "q"),
        ("data", "split", "--seed", "1", "--project", "q"),
        ("train", "--model", "dummy", "--project", "q"),
    ):
        result = run(root, *step)
        assert result.exit_code in ((0, 1) if step[1] == "split" else (0,)), (step, result.output)
    return root


@pytest.fixture
def root(built: Path, private_copy) -> Path:
    return private_copy(built)


def counts(root: Path) -> dict[str, int]:
    """Rows per table: equal before and after means nothing was written."""
    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        db.close()


def scalar(root: Path, sql: str, *params):
    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    try:
        return db.execute(sql, params).fetchone()[0]
    finally:
        db.close()


def artifact(root: Path, sha: str, suffix: str) -> Path:
    return root / ".cockpit" / "artifacts" / f"{sha}{suffix}"


def refused(root: Path, *args: str) -> str:
    before = counts(root)
    result = run(root, "delete", *args, *(["--project", "p"] if args[0] != "project" else []))
    assert result.exit_code == 2, result.output
    assert counts(root) == before
    assert "Nothing was deleted" in result.stderr
    return result.stderr


def typed(root: Path, answer: str, *args: str):
    """`cockpit delete ...` with `answer` typed at its prompt."""
    from click.testing import CliRunner

    from cockpit.cli import cli

    return CliRunner().invoke(cli, ["--workspace", str(root), "delete", *args], input=answer)


def last_event(root: Path) -> dict:
    with Workspace(root / ".cockpit") as ws:
        return ws.events(limit=1)[0].as_dict()


# -- refusals -------------------------------------------------------------------


def test_a_run_behind_a_live_model_is_refused(root: Path) -> None:
    said = refused(root, "run", "1", "--reason", "tidy up")
    assert "model version v1 (active, alias production) is its model: retire it first" in said


def test_a_run_that_looked_at_the_test_set_is_refused(root: Path) -> None:
    assert run(root, "evaluate", "2", "--project", "p").exit_code in (0, 1)
    said = refused(root, "run", "2", "--reason", "tidy up")
    assert "it looked at the test part of split 1" in said


def test_a_running_run_is_refused(root: Path) -> None:
    import cockpit

    active = cockpit.start_run("p", split=1, workspace=root)
    try:
        said = refused(root, "run", str(active.id), "--reason", "tidy up")
        assert f"it is running (stop it with `cockpit cancel {active.id}`)" in said
    finally:
        active.end()


def test_data_with_splits_runs_or_children_is_refused(root: Path) -> None:
    said = refused(root, "data", "1", "--reason", "tidy up")
    assert "split(s) 1 are built on it" in said and "run(s) 1, 2 are built on it" in said
    assert "child version(s) 3 are built on it" in refused(root, "data", "2", "--reason", "tidy up")


def test_a_running_service_blocks_the_project(root: Path) -> None:
    import os

    from cockpit.deployment.serving import Service

    service = Service(root / ".cockpit", "p")
    service.open()
    try:
        said = refused(root, "project", "p", "--reason", "tidy up", "--yes")
        assert f"(pid {os.getpid()}, started at " in said
        assert f"is running: stop it first (Ctrl-C where it runs, or `kill {os.getpid()}`)" in said
    finally:
        service.close()
    with Workspace(root / ".cockpit") as ws:
        assert running_service(ws, get_project(ws, "p")) is None


def test_a_killed_service_does_not_block_the_project(root: Path) -> None:
    """Its `serve start` names a process that is gone: nothing serves."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    with Workspace(root / ".cockpit") as ws:
        p = get_project(ws, "p")
        ws.record("deployment", "serve start", p.id, {"address": "127.0.0.1:9", "pid": int(gone.stdout)})
        assert running_service(ws, p) is None


def test_a_reason_is_required(root: Path) -> None:
    before = counts(root)
    result = run(root, "delete", "run", "2", "--reason", " ", "--project", "p")
    assert result.exit_code == 2 and "deleting takes a reason (--reason TEXT)" in result.stderr
    assert counts(root) == before


# -- deletions ------------------------------------------------------------------


def test_delete_a_run(root: Path) -> None:
    sha = scalar(root, "SELECT artifact_sha256 FROM runs WHERE id = 2")
    assert artifact(root, sha, ".joblib").exists()
    before = counts(root)
    result = run(root, "delete", "run", "2", "--reason", "a baseline nobody needs", "--project", "p")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("deleted run 2: 1 runs (event ")
    assert counts(root)["runs"] == before["runs"] - 1 and counts(root)["artifacts"] == before["artifacts"] - 1
    assert scalar(root, "SELECT count(*) FROM runs WHERE id = 2") == 0
    assert not artifact(root, sha, ".joblib").exists()
    event = last_event(root)
    assert (event["stage"], event["action"], event["user"], event["project"]) == (
        "experiments",
        "delete run",
        "tester",
        "p",
    )
    assert event["details"] == {
        "run": 2,
        "status": "finished",
        "reason": "a baseline nobody needs",
        "removed": {"runs": 1},
    }


def test_delete_a_dataset_version_removes_its_rows_file(root: Path) -> None:
    assert run(root, "data", "validate", "--version", "3", "--project", "p").exit_code in (0, 1)
    sha = scalar(root, "SELECT artifact_sha256 FROM dataset_versions WHERE id = 3")
    assert artifact(root, sha, ".parquet").exists()
    result = run(root, "delete", "data", "3", "--reason", "holds personal data", "--json", "--project", "p")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    # its validations: the clean step's that made it, and this test's
    assert done["removed"] == {"dataset_versions": 1, "validations": 2}
    assert [a["sha256"] for a in done["artifacts"]["removed"]] == [sha]
    assert not artifact(root, sha, ".parquet").exists()
    assert scalar(root, "SELECT count(*) FROM artifacts WHERE sha256 = ?", sha) == 0
    event = last_event(root)
    assert (event["action"], event["details"]["version"], event["details"]["reason"]) == (
        "delete version",
        3,
        "holds personal data",
    )
    # its parent has no child now: it goes too
    assert (
        run(root, "delete", "data", "2", "--reason", "holds personal data", "--project", "p").exit_code == 0
    )


def test_delete_a_project(root: Path) -> None:
    with Workspace(root / ".cockpit") as ws:
        q = get_project(ws, "q")
        assert q is not None
        own = {
            r["artifact_sha256"]
            for r in ws.store.rows("SELECT artifact_sha256 FROM runs WHERE project_id = ?", [q.id])
        }
        own |= {
            r["artifact_sha256"]
            for r in ws.store.rows(
                "SELECT artifact_sha256 FROM dataset_versions WHERE project_id = ?", [q.id]
            )
        }
        own |= {
            r["assignment_sha256"]
            for r in ws.store.rows("SELECT assignment_sha256 FROM splits WHERE project_id = ?", [q.id])
        }
    before = counts(root)
    wrong = typed(root, "p\n", "project", "q", "--reason", "closed")
    assert wrong.exit_code == 2 and "you typed 'p', not 'q'" in wrong.stderr
    assert counts(root) == before
    result = typed(root, "q\n", "project", "q", "--reason", "the client left")
    assert result.exit_code == 0, result.output
    assert "deleted project q:" in result.stdout
    tables = [t for t, n in counts(root).items() if n]
    for table in tables:
        columns = {
            r[1]
            for r in sqlite3.connect(root / ".cockpit" / "cockpit.db").execute(
                f'PRAGMA table_info("{table}")'
            )
        }
        if "project_id" in columns:
            assert scalar(root, f'SELECT count(*) FROM "{table}" WHERE project_id = ?', q.id) == 0, table
    assert scalar(root, "SELECT count(*) FROM projects WHERE name = 'p'") == 1
    assert scalar(root, "SELECT count(*) FROM runs") == 2  # p's
    names = {p.name.split(".")[0] for p in (root / ".cockpit" / "artifacts").iterdir()}
    assert not own & names
    event = last_event(root)
    assert event["project"] is None and event["action"] == "delete" and event["user"] == "tester"
    assert event["details"]["project"] == "q" and event["details"]["reason"] == "the client left"
    assert event["details"]["removed"]["runs"] == 1 and event["details"]["removed"]["projects"] == 1
    assert run(root, "runs", "--project", "p").exit_code == 0
    with Workspace(root / ".cockpit") as ws:
        assert ws.artifacts.verify_all().ok  # p's files, every one its rows name, are all there


def test_a_project_that_had_production_is_deleted(root: Path) -> None:
    """p's v1 is in production and nothing serves it: the project goes, its aliases and its
    model file with it, and the event names what was live."""
    sha = scalar(root, "SELECT artifact_sha256 FROM model_versions WHERE version = 1")
    assert artifact(root, sha, ".joblib").exists()
    result = typed(root, "p\n", "project", "p", "--reason", "the product was retired")
    assert result.exit_code == 0, result.output
    assert "This deletes project 'p' and everything in it (its production model v1 too)" in result.stderr
    assert scalar(root, "SELECT count(*) FROM aliases") == 0
    assert scalar(root, "SELECT count(*) FROM model_versions") == 0
    assert scalar(root, "SELECT count(*) FROM projects WHERE name = 'p'") == 0
    assert not artifact(root, sha, ".joblib").exists()
    event = last_event(root)
    assert event["details"]["aliases"] == {"production": 1}
    assert event["details"]["removed"]["model_versions"] == 1 and event["details"]["removed"]["aliases"] >= 1
    assert run(root, "runs", "--project", "q").exit_code == 0


def test_ids_and_version_numbers_are_never_given_again(root: Path) -> None:
    """After deleting the newest run (q's run 3) and p's run 2 with its retired v2, the next
    run is not run 3 again and the next model version is v3, not v2 (SQLite gave the highest
    id left + 1, and versions were counted from the highest left)."""
    for step in (("register", "2", "--override", "a try"), ("retire", "2", "--reason", "a try")):
        assert run(root, *step, "--project", "p").exit_code == 0, step
    assert run(root, "delete", "run", "2", "--reason", "tidy up", "--project", "p").exit_code == 0
    assert last_event(root)["details"]["model_versions"] == [2]
    assert run(root, "delete", "run", "3", "--reason", "tidy up", "--project", "q").exit_code == 0
    assert scalar(root, "SELECT max(id) FROM runs") == 1
    assert run(root, "train", "--model", "dummy", "--project", "p").exit_code == 0
    assert scalar(root, "SELECT max(id) FROM runs") == 4
    assert run(root, "register", "4", "--override", "again", "--project", "p").exit_code == 0
    assert scalar(root, "SELECT max(version) FROM model_versions") == 3


def test_dry_run_deletes_nothing(root: Path) -> None:
    before = counts(root)
    files = set((root / ".cockpit" / "artifacts").iterdir())
    result = run(root, "delete", "project", "q", "--reason", "just looking", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["dry_run"] is True and planned["removed"]["projects"] == 1 and planned["event"] is None
    with Workspace(root / ".cockpit") as ws:  # q's own files, which nothing else names
        q = get_project(ws, "q")
        own = {
            r["artifact_sha256"]
            for r in ws.store.rows("SELECT artifact_sha256 FROM runs WHERE project_id = ?", [q.id])
        }
    assert own and own <= {a["sha256"] for a in planned["artifacts"]["removed"]}
    assert planned["artifacts"]["dry_run"] is True
    assert counts(root) == before and set((root / ".cockpit" / "artifacts").iterdir()) == files


def _killed_deleting_q(root: Path, fault: str) -> None:
    """`cockpit delete project q` in a process of its own, killed (SIGKILL) at `fault`."""
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(COCKPIT_USER="tester", COCKPIT_FAULT=fault)
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "--workspace", str(root), "delete", "project", "q"]
        + ["--reason", "the client left", "--yes"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_the_artifacts_rows_go_in_the_deletions_transaction(root: Path) -> None:
    """Killed after the commit, before any file is removed: the artifacts' rows are gone with
    the project's (one transaction); their files are left for the next gc."""
    with Workspace(root / ".cockpit") as ws:
        q = get_project(ws, "q")
        sha = ws.store.scalar("SELECT artifact_sha256 FROM runs WHERE project_id = ?", [q.id])
    _killed_deleting_q(root, "delete:after_commit")
    assert scalar(root, "SELECT count(*) FROM projects WHERE name = 'q'") == 0
    assert scalar(root, "SELECT count(*) FROM artifacts WHERE sha256 = ?", sha) == 0
    assert artifact(root, sha, ".joblib").exists()
    collected = json.loads(run(root, "gc", "--min-age", "0", "--json").stdout)
    assert sha in {a["sha256"] for a in collected["removed"]} and not artifact(root, sha, ".joblib").exists()


def test_a_failure_inside_leaves_everything(root: Path, monkeypatch) -> None:
    """One transaction: an error before the commit (here the audit event) deletes nothing."""
    import cockpit.audit

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(cockpit.audit, "record_event", broken)
    before = counts(root)
    files = set((root / ".cockpit" / "artifacts").iterdir())
    with Workspace(root / ".cockpit") as ws, pytest.raises(RuntimeError):
        from cockpit.deletion import delete_project

        delete_project(ws, get_project(ws, "q"), "the client left")
    assert counts(root) == before and set((root / ".cockpit" / "artifacts").iterdir()) == files


def test_killed_inside_the_transaction_deletes_nothing(root: Path) -> None:
    """`kill -9` after the rows are deleted, before the event and the commit: all is there."""
    before = counts(root)
    files = set((root / ".cockpit" / "artifacts").iterdir())
    _killed_deleting_q(root, "delete:after_rows")
    assert counts(root) == before and set((root / ".cockpit" / "artifacts").iterdir()) == files
    assert scalar(root, "PRAGMA integrity_check") == "ok"
    assert run(root, "delete", "project", "q", "--reason", "the client left", "--yes").exit_code == 0


def test_deleting_a_sweeps_best_run_leaves_no_dangling_best(root: Path) -> None:
    swept = run(
        root,
        "sweep",
        "--model",
        "logistic_regression",
        "--random",
        "1",
        "--jobs",
        "1",
        "--json",
        "--project",
        "p",
    )
    assert swept.exit_code == 0, swept.output
    found = json.loads(swept.stdout)
    best = found["best_run"]
    assert scalar(root, "SELECT best_run_id FROM sweeps WHERE id = ?", found["id"]) == best
    deleted = run(root, "delete", "run", str(best), "--reason", "a trial nobody needs", "--project", "p")
    assert deleted.exit_code == 0, deleted.output
    assert scalar(root, "SELECT count(*) FROM sweeps WHERE best_run_id = ?", best) == 0
    assert scalar(root, "SELECT count(*) FROM sweeps WHERE id = ?", found["id"]) == 1  # the sweep stays
