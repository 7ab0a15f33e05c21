from pathlib import Path

import pytest

from cockpit.errors import CockpitError
from cockpit.projects import create_project, resolve_project
from cockpit.workspace import Workspace, locate


def test_init_creates_owner_only_workspace_and_is_idempotent(tmp_path: Path) -> None:
    ws, created = Workspace.init(tmp_path)
    assert created and (tmp_path / ".cockpit" / "cockpit.db").is_file()
    assert (tmp_path / ".cockpit").stat().st_mode & 0o077 == 0
    again, created_again = Workspace.init(tmp_path)
    assert not created_again and again.dir == ws.dir


def test_locate_walks_up_from_a_subfolder(tmp_path: Path) -> None:
    Workspace.init(tmp_path)
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert locate(start=deep) == tmp_path / ".cockpit"


def test_explicit_path_accepts_folder_or_dot_dir_and_env(tmp_path: Path, monkeypatch) -> None:
    Workspace.init(tmp_path)
    elsewhere = tmp_path.parent
    assert locate(tmp_path, start=elsewhere) == (tmp_path / ".cockpit").resolve()
    assert locate(tmp_path / ".cockpit", start=elsewhere) == (tmp_path / ".cockpit").resolve()
    monkeypatch.setenv("COCKPIT_WORKSPACE", str(tmp_path))
    assert locate(start=elsewhere) == (tmp_path / ".cockpit").resolve()


def test_missing_workspace_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CockpitError, match="cockpit init"):
        locate(start=tmp_path)
    with pytest.raises(CockpitError, match=r"no cockpit workspace at .*nowhere"):
        locate(tmp_path / "nowhere")


def test_project_resolution(workspace, monkeypatch) -> None:
    with pytest.raises(CockpitError, match="no project yet"):
        resolve_project(workspace)
    create_project(workspace, "churn", "binary", "churned")
    assert resolve_project(workspace).name == "churn"
    create_project(workspace, "prices", "regression", "price")
    with pytest.raises(CockpitError, match=r"several projects \(churn, prices\)"):
        resolve_project(workspace)
    assert resolve_project(workspace, "prices").task == "regression"
    monkeypatch.setenv("COCKPIT_PROJECT", "churn")
    assert resolve_project(workspace).name == "churn"
    with pytest.raises(CockpitError, match=r"no project named 'nope'.*churn, prices"):
        resolve_project(workspace, "nope")


@pytest.mark.parametrize(
    ("name", "task", "target", "message"),
    [
        ("", "binary", "y", "not usable"),
        ("has space", "binary", "y", "not usable"),
        ("../up", "binary", "y", "not usable"),
        ("ok", "ranking", "y", "not one of"),
        ("ok", "binary", "  ", "target column name is empty"),
    ],
)
def test_bad_projects_are_refused_and_nothing_is_written(workspace, name, task, target, message):
    with pytest.raises(CockpitError, match=message):
        create_project(workspace, name, task, target)
    assert workspace.store.scalar("SELECT count(*) FROM projects") == 0


def test_every_action_is_in_the_audit_log(workspace, frozen_clock) -> None:
    from cockpit.audit import recent_events

    project = create_project(workspace, "churn", "binary", "churned")
    events = recent_events(workspace.store)
    assert [(e.stage, e.action) for e in events] == [("project", "create"), ("workspace", "init")]
    assert events[0].project == "churn" and events[0].user == "tester"
    assert events[0].details == {"name": "churn", "task": "binary", "target": "churned"}
    assert recent_events(workspace.store, project.id, text="churn")[0].id == events[0].id
    assert recent_events(workspace.store, text="no-such-text") == []
