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


# --workspace and --project after the subcommand -------------------------------------------

READ_ONLY = [
    ("log", "--json"),
    ("runs", "--json"),
    ("models", "--json"),
    ("problem", "show"),
    ("data", "list", "--json"),
    ("retrain", "triggers", "show"),
    ("monitor", "rules"),
]


def _invoke(*args: str, env: dict[str, str] | None = None):
    from click.testing import CliRunner

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("command", READ_ONLY, ids=[" ".join(c) for c in READ_ONLY])
def test_shared_options_after_the_command_mean_what_they_mean_before(two_projects: Path, command) -> None:
    where = ("--workspace", str(two_projects), "--project", "prices")
    before = _invoke(*where, *command)
    after = _invoke(*command, *where)
    short = _invoke(*command, "-p", "prices", "-w", str(two_projects))
    assert (after.exit_code, after.output) == (before.exit_code, before.output)
    assert (short.exit_code, short.output) == (before.exit_code, before.output)
    assert "several projects" not in after.output


def test_project_after_the_command_picks_that_project(two_projects: Path) -> None:
    for name in ("churn", "prices"):
        events = json.loads(_invoke("log", "--json", "--project", name, "-w", str(two_projects)).output)
        assert events and {e["project"] for e in events} == {name}
    nested = _invoke("data", "--project", "prices", "list", "-w", str(two_projects))
    assert nested.exit_code == 0


def test_an_option_after_the_command_wins_over_the_environment(two_projects: Path) -> None:
    env = {"COCKPIT_PROJECT": "churn", "COCKPIT_WORKSPACE": str(two_projects / "nowhere")}
    result = _invoke("log", "--json", "-p", "prices", "-w", str(two_projects), env=env)
    assert result.exit_code == 0
    assert {e["project"] for e in json.loads(result.output)} == {"prices"}


def test_the_same_value_twice_is_fine_and_a_workspace_is_its_dot_cockpit(two_projects: Path) -> None:
    result = _invoke(
        "-w",
        str(two_projects / ".cockpit"),
        "-p",
        "churn",
        "log",
        "--json",
        "-w",
        str(two_projects),
        "-p",
        "churn",
    )
    assert result.exit_code == 0
    assert {e["project"] for e in json.loads(result.output)} == {"churn"}


def _every_command(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if (*prefix, name) == ("init",):  # it makes a workspace at PATH: no --workspace
            continue
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _every_command(command, (*prefix, name))


@pytest.mark.parametrize("path", list(_every_command()), ids=" ".join)
def test_every_command_takes_both_options_after_it_and_refuses_two_values(two_projects: Path, path) -> None:
    """Walks the whole tree: each command (groups too) documents both options with the root's
    help, and given a value that differs from the one before it, stops with one line, exit 2,
    before its body runs (nothing is written: the log is unchanged)."""
    root_help = _invoke("--help").output
    help_text = " ".join(_invoke(*path, "--help").output.split())
    for flag, words in [
        ("-w, --workspace PATH", "The project folder or its .cockpit/"),
        ("-p, --project NAME", "The project to act on"),
    ]:
        assert flag in help_text and words in help_text and words in " ".join(root_help.split())
    events = _invoke("log", "--json", "-w", str(two_projects)).output
    twice = _invoke("-w", str(two_projects), "-p", "churn", *path, "-p", "prices")
    assert twice.exit_code == 2, twice.output
    assert twice.stderr.strip().splitlines() == [
        f"cockpit: --project given twice with different values: 'churn' after `cockpit` and "
        f"'prices' after `cockpit {' '.join(path)}`"
    ]
    elsewhere = two_projects.parent / "elsewhere"
    twice = _invoke("-w", str(two_projects), *path, "--workspace", str(elsewhere))
    assert twice.exit_code == 2 and "--workspace given twice with different values" in twice.stderr
    assert _invoke("log", "--json", "-w", str(two_projects)).output == events


def test_init_takes_no_workspace_after_it(tmp_path: Path) -> None:
    result = _invoke("init", str(tmp_path / "a"), "--workspace", str(tmp_path / "b"))
    assert result.exit_code == 2 and not (tmp_path / "a").exists()


def test_demo_builds_in_the_workspace_named_after_it(two_projects: Path, tmp_path: Path) -> None:
    # An existing workspace is "already built": nothing is built, but the folder is the one named.
    there = _invoke("demo", "--no-tui", "--workspace", str(two_projects))
    assert there.exit_code == 0 and f"already built at {two_projects}" in there.output
    before = _invoke("--workspace", str(two_projects / ".cockpit"), "demo", "--no-tui")
    assert before.output == there.output
    both = _invoke("demo", "--no-tui", "--workspace", str(two_projects), "--path", str(tmp_path / "other"))
    assert both.exit_code == 2 and "name different folders" in both.stderr
    assert not (tmp_path / "other").exists()
