import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cockpit.cli import cli


@pytest.fixture
def folder(run_cli, tmp_path: Path) -> Path:
    """A workspace folder made by `cockpit init`, holding project "churn"."""
    folder = tmp_path / "work"
    run_cli("init", str(folder))
    run_cli("project", "new", "churn", "--task", "binary", "--target", "churned", workspace=folder)
    return folder


@pytest.fixture
def two_projects(run_cli, folder: Path) -> Path:
    """The folder with a second project, "prices", made with --json."""
    run_cli(
        "project", "new", "prices", "--task", "regression", "--target", "price", "--json", workspace=folder
    )
    return folder


def test_init_makes_a_workspace_folder(run_cli, tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "work"))
    assert result.exit_code == 0 and ".cockpit" in result.output


def test_project_new_prints_the_new_id(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    run_cli("init", str(folder))
    created = run_cli("project", "new", "churn", "--task", "binary", "--target", "churned", workspace=folder)
    assert created.exit_code == 0 and created.output.strip() == "1"


def test_project_new_json_prints_the_project(run_cli, folder: Path) -> None:
    as_json = run_cli(
        "project", "new", "prices", "--task", "regression", "--target", "price", "--json", workspace=folder
    )
    assert json.loads(as_json.output)["id"] == 2


def test_projects_lists_every_project(run_cli, two_projects: Path) -> None:
    listed = json.loads(run_cli("projects", "--json", workspace=two_projects).output)
    assert [(p["name"], p["task"], p["target"]) for p in listed] == [
        ("churn", "binary", "churned"),
        ("prices", "regression", "price"),
    ]


def test_log_lists_events_newest_first(run_cli, two_projects: Path) -> None:
    log = json.loads(run_cli("log", "--json", workspace=two_projects).output)
    assert [(e["stage"], e["action"], e["project"]) for e in log] == [
        ("project", "create", "prices"),
        ("project", "create", "churn"),
        ("workspace", "init", None),
    ]


def test_log_of_one_project(run_cli, two_projects: Path) -> None:
    only = json.loads(run_cli("--project", "churn", "log", "--json", workspace=two_projects).output)
    assert [e["project"] for e in only] == ["churn"]


def test_errors_are_one_line_on_stderr_with_exit_2(run_cli, folder: Path) -> None:
    duplicate = run_cli("project", "new", "churn", "--task", "binary", "--target", "x", workspace=folder)
    assert duplicate.exit_code == 2
    assert duplicate.stderr.strip().splitlines() == [
        "cockpit: a project named 'churn' already exists in this workspace"
    ]
    assert duplicate.stdout == ""


def test_a_folder_without_a_workspace_exits_2(run_cli, tmp_path: Path) -> None:
    nowhere = run_cli("projects", workspace=tmp_path / "empty")
    assert nowhere.exit_code == 2 and "no cockpit workspace at" in nowhere.stderr


def test_an_unknown_task_exits_2(run_cli, folder: Path) -> None:
    assert (
        run_cli("project", "new", "x", "--task", "ranking", "--target", "y", workspace=folder).exit_code == 2
    )


def test_several_projects_without_a_name_exit_2_listing_them(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "work"
    run_cli("init", str(folder))
    for name in ("a", "b"):
        run_cli("project", "new", name, "--task", "binary", "--target", "y", workspace=folder)
    from cockpit.cli.context import CliContext

    context = CliContext(str(folder), None)
    try:
        context.project()
    except Exception as exc:  # the CLI turns this into exit 2
        assert "several projects (a, b)" in str(exc)
    else:
        raise AssertionError("a headless command must not pick a project by itself")


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


def test_every_command_has_help(run_cli) -> None:
    for path, command in _all_commands(cli):
        assert command.help and len(command.help.strip()) > 10, f"{' '.join(path)} has no help"
        result = run_cli(*path, "--help")
        assert result.exit_code == 0, path
        assert "Usage: cockpit" in result.output


def test_version_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, runpy; sys.argv = ['cockpit', '--version'];\n"
        "try:\n    runpy.run_module('cockpit', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'sklearn', 'sqlite_utils', 'textual', 'numpy') "
        "if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "cockpit 0.1.0" in out.stdout
    assert "HEAVY []" in out.stdout
