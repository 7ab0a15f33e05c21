"""Issue 22: a person accepts a leakage finding with a reason (m022); the acceptance is
audited, counts for every split of the project, and review honours it."""

from __future__ import annotations

from pathlib import Path

from storage import Store, migrations
from tests.training_here import trained_here


def test_m022_adds_leakage_acceptances_on_an_empty_and_the_previous_schema(tmp_path: Path) -> None:
    import sqlite_utils

    Store(tmp_path / "fresh.db", create=True).close()
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.build().apply(db, stop_before="m022_leakage_acceptances")
    assert "leakage_acceptances" not in db.table_names()
    project = (
        db["projects"]
        .insert({"name": "old", "task": "binary", "target": "y", "created_at": "2026-01-01"})
        .last_pk
    )
    db.close()
    store = Store(path)
    assert store.applied_migrations() == migrations.KNOWN_NAMES
    assert store.rows("SELECT name FROM projects WHERE id = ?", [project]) == [{"name": "old"}]
    assert store.scalar("SELECT count(*) FROM leakage_acceptances") == 0
    store.close()
    db = sqlite_utils.Database(tmp_path / "fresh.db")
    assert set(db["leakage_acceptances"].columns_dict) == {
        "id",
        "project_id",
        "split_id",
        "finding",
        "reason",
        "accepted_by",
        "at",
    }
    assert any(
        index.unique and index.columns == ["project_id", "finding"]
        for index in db["leakage_acceptances"].indexes
    )
    db.close()


def _leaky_folder(run_cli, tmp_path: Path) -> Path:
    """Breast cancer with a clean copy of the label named like the target: a leak."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target_code"] = 1 - frame["target"]
    folder = tmp_path / "w"
    assert run_cli("init", str(folder)).exit_code == 0
    run_cli("project", "new", "bc", "--task", "binary", "--target", "target", workspace=folder)
    frame.to_csv(tmp_path / "bc.csv", index=False)
    assert run_cli("data", "import", str(tmp_path / "bc.csv"), workspace=folder).exit_code == 0
    return folder


def _one_line(result, *words: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert all(w in lines[0] for w in words), lines[0]


def test_accepting_a_leak_with_a_reason_is_recorded_audited_and_ends_exit_1(run_cli, tmp_path: Path) -> None:
    import json

    folder = _leaky_folder(run_cli, tmp_path)
    first = run_cli("data", "split", workspace=folder)
    assert first.exit_code == 1 and first.stdout.strip() == "1"  # recorded either way
    assert "LEAK  target_code looks like a leak" in first.stderr
    listed = json.loads(run_cli("data", "leakage", "--json", workspace=folder).stdout)
    assert listed["split"] == 1 and listed["leaks"] == 1
    leak = next(f for f in listed["findings"] if f["severity"] == "error")
    assert leak["id"] == "target_predictor:target_code" and "accepted" not in leak

    _one_line(
        run_cli("data", "leakage", "accept", "target_code", "--reason", "  ", workspace=folder), "say why"
    )
    _one_line(
        run_cli("data", "leakage", "accept", "nope", "--reason", "x", workspace=folder),
        "no finding 'nope'",
        "target_predictor:target_code",
    )
    _one_line(
        run_cli("data", "leakage", "accept", "identical_rows", "--reason", "x", workspace=folder),
        "only warnings and leaks",
    )
    accepted = run_cli(
        "data",
        "leakage",
        "accept",
        "target_code",
        "--reason",
        "coded by the lab before surgery",
        workspace=folder,
    )
    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.stdout.strip() == "1"  # the acceptance's id
    assert "accepted target_predictor:target_code on split 1; 0 leak" in accepted.stderr
    _one_line(
        run_cli(
            "data", "leakage", "accept", "target_predictor:target_code", "--reason", "again", workspace=folder
        ),
        "already accepted by tester",
    )

    listed = json.loads(run_cli("data", "leakage", "--json", workspace=folder).stdout)
    leak = next(f for f in listed["findings"] if f["severity"] == "error")
    assert listed["leaks"] == 0
    assert leak["accepted"]["reason"] == "coded by the lab before surgery"
    assert leak["accepted"]["accepted_by"] == "tester" and leak["accepted"]["split_id"] == 1
    assert leak["accepted"]["id"] == 1
    table = run_cli("data", "leakage", workspace=folder)
    assert "ACCEPTED" in table.stdout and "by tester" in table.stdout

    again = run_cli("data", "split", "--seed", "3", workspace=folder)  # a new split: same column
    assert again.exit_code == 0 and "ACCEPTED target_code looks like a leak" in again.stderr
    assert [s["leaks"] for s in json.loads(run_cli("data", "splits", "--json", workspace=folder).stdout)] == [
        0,
        0,
    ]
    events = json.loads(run_cli("log", "--json", workspace=folder).stdout)
    accept = [e for e in events if e["action"] == "accept_leak"]
    assert len(accept) == 1
    assert accept[0]["details"]["finding"] == "target_predictor:target_code"
    assert accept[0]["details"]["reason"] == "coded by the lab before surgery"


def test_review_counts_a_standing_leak_and_shows_an_accepted_one(workspace, tmp_path) -> None:
    from sklearn.datasets import load_breast_cancer

    from cockpit import review
    from cockpit.data import datasets, leakage, splits
    from cockpit.deployment import registry
    from cockpit.projects import create_project

    frame = load_breast_cancer(as_frame=True).frame
    frame["target_code"] = 1 - frame["target"]
    frame.to_csv(tmp_path / "bc.csv", index=False)
    project = create_project(workspace, "bc", "binary", "target")
    datasets.import_dataset(workspace, project, tmp_path / "bc.csv")
    split = splits.make_split(workspace, project, "stratified")
    run = trained_here(workspace, project, "logistic_regression")
    version = registry.register(workspace, project, run.id, "leak test")

    def evaluated() -> list[tuple[bool, str]]:
        found = review.review(workspace, project, version.version)
        return next(s for s in found.steps if s.name == "evaluated").evidence, found

    evidence, found = evaluated()
    assert (False, "1 leak(s) flagged") in evidence
    assert any(m.startswith("leaky evaluation: leakage flagged") for m in found.failure_modes)
    leakage.accept_finding(
        workspace, project, split.id, split.leakage, "target_code", "a lab code known before the outcome"
    )
    evidence, found = evaluated()
    assert (True, "no leakage flagged in its split") in evidence
    assert (
        True,
        "leak finding target_predictor:target_code accepted by tester: a lab code known before the outcome",
    ) in evidence
    assert not any(m.startswith("leaky evaluation") for m in found.failure_modes)


def test_the_group_split_option_names_the_split_an_acceptance_is_made_on(run_cli, tmp_path: Path) -> None:
    import json

    folder = _leaky_folder(run_cli, tmp_path)
    assert run_cli("data", "split", workspace=folder).exit_code == 1
    assert run_cli("data", "split", "--seed", "3", workspace=folder).exit_code == 1
    _one_line(
        run_cli(
            "data",
            "leakage",
            "--split",
            "1",
            "accept",
            "target_code",
            "--reason",
            "x",
            "--split",
            "2",
            workspace=folder,
        ),
        "name different splits",
    )
    made = run_cli(
        "data",
        "leakage",
        "--split",
        "1",
        "accept",
        "target_code",
        "--reason",
        "coded before surgery",
        "--json",
        workspace=folder,
    )
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout)["split_id"] == 1


def test_an_accepted_share_of_copies_does_not_cover_a_worse_one() -> None:
    """Accepting 6% copied rows says nothing about 60%; a column accepted as a legitimate
    predictor stays accepted whatever its score."""
    from cockpit.data.leakage import covering, standing_leaks

    def copies(share: float) -> dict:
        return {
            "check": "identical_rows",
            "severity": "error",
            "column": None,
            "message": "copies",
            "value": share,
        }

    accepted = {
        "identical_rows": {"id": 1, "reason": "a registry with repeats", "value": 0.06},
        "target_predictor:code": {"id": 2, "reason": "lab code", "value": 0.97},
    }
    assert covering(copies(0.06), accepted) is not None
    assert covering(copies(0.05), accepted) is not None
    assert covering(copies(0.6), accepted) is None
    predictor = {
        "check": "target_predictor",
        "severity": "error",
        "column": "code",
        "message": "code",
        "value": 0.999,
    }
    assert covering(predictor, accepted)["id"] == 2
    assert standing_leaks([copies(0.6), predictor], accepted) == 1
