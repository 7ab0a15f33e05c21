"""Every number and date the CLI takes is checked at the edge (issue 22): a hostile value is
one line naming the option, exit 2, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from cockpit.cli import cli
from cockpit.cli.options import Moment
from tests import cli_workspaces as real

DATE_WORDS = ("ISO", "DATE", "TIME")
DATE_NAMES = {"at", "now", "expires", "since", "until", "when"}


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def unchecked(param: click.Parameter) -> str | None:
    """Why a parameter's type lets a hostile value through, or None."""
    kind = param.type
    if isinstance(kind, click.types.FloatParamType):  # FloatRange too: nan passes its bounds
        return "a float lets nan and inf through: use options.FiniteFloat (CANARY_PERCENT, POSITIVE ...)"
    if isinstance(kind, click.types.IntParamType) and (
        not isinstance(kind, click.IntRange) or kind.min is None or kind.max is None
    ):
        return "an int without both bounds: use options.SEED, ROW_ID, COUNT or an IntRange"
    names_a_moment = (
        any(word in (param.metavar or "").upper() for word in DATE_WORDS) or param.name in DATE_NAMES
    )
    if names_a_moment and not isinstance(kind, Moment):
        return "a date taken as plain text: use options.MOMENT"
    return None


def test_every_number_and_date_of_every_command_is_typed() -> None:
    walked, found = 0, []
    for path, command in _commands(cli):
        for param in command.params:
            walked += 1
            why = unchecked(param)
            if why:
                found.append(f"cockpit {' '.join(path)} {param.name} ({command.callback.__module__}): {why}")
    assert walked > 150  # the walk reached the subcommands of every group
    assert found == []


def test_the_walk_catches_each_kind_of_untyped_value() -> None:
    @click.command()
    @click.option("--a", type=float)
    @click.option("--b", type=click.FloatRange(0, 1))
    @click.option("--c", type=int)
    @click.option("--d", type=click.IntRange(0))
    @click.option("--e", metavar="ISO-DATE")
    @click.option("--f", type=click.IntRange(0, 5))
    def sample(**_) -> None:
        """A command with every kind of untyped value."""

    flagged = {p.name for p in sample.params if unchecked(p)}
    assert flagged == {"a", "b", "c", "d", "e"}


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """A workspace with one project and no data: enough for a command to parse its options."""
    folder = tmp_path / "ws"
    assert real.invoke("init", str(folder)).exit_code == 0
    assert (
        real.invoke(
            "--workspace", str(folder), "project", "new", "p", "--task", "regression", "--target", "y"
        ).exit_code
        == 0
    )
    return folder


HOSTILE = [
    (["train", "--model", "dummy", "--seed", "99999999999999999999"], "--seed"),
    (["train", "--model", "dummy", "--seed", "-1"], "--seed"),
    (["train", "--model", "dummy", "--split", "99999999999999999999"], "--split"),
    (["sweep", "--model", "ridge", "--random", "2", "--seed", "-7"], "--seed"),
    (["sweep", "--model", "ridge", "--random", "2", "--jobs", "0"], "--jobs"),
    (["sweep", "--model", "ridge", "--random", "2", "--jobs", "-5"], "--jobs"),
    (["sweep", "--model", "ridge", "--random", "2", "--time-budget", "nan"], "--time-budget"),
    (["sweep", "--model", "ridge", "--random", "2", "--time-budget", "-1"], "--time-budget"),
    (["deploy", "1", "--strategy", "canary", "--percent", "nan"], "--percent"),
    (["deploy", "1", "--strategy", "canary", "--percent", "0"], "--percent"),
    (["deploy", "1", "--strategy", "canary", "--percent", "150"], "--percent"),
    (["deploy", "1", "--strategy", "canary", "--percent", "inf"], "--percent"),
    (["promote", "--percent", "nan"], "--percent"),
    (["promote", "--percent", "-3"], "--percent"),
    (["retrain", "triggers", "set", "--schedule-days", "nan"], "--schedule-days"),
    (["retrain", "triggers", "set", "--schedule-days", "-1"], "--schedule-days"),
    (["retrain", "triggers", "set", "--canary-percent", "nan"], "--canary-percent"),
    (["retrain", "triggers", "set", "--new-labels", "-3"], "--new-labels"),
    (["retrain", "--now", "garbage"], "--now"),
    (["retrain", "triggers", "set"], "name at least one trigger"),
    (["override", "add", "e1", "5", "--reason", "r", "--expires", "garbage"], "--expires"),
    (["gate", "1", "--tolerance", "nan"], "--tolerance"),
    (["gate", "1", "--tolerance", "-0.5"], "--tolerance"),
    (["evaluate", "99999999999999999999"], "RUN_ID"),
    (["models", "--at", "yesterday"], "--at"),
    (["predict", "x.csv", "-o", "y.csv", "--at", "2026-13-45"], "--at"),
    (["problem", "show", "--version", "0"], "--version"),
    (["compare", "1", "99999999999999999999"], "RUN_IDS"),
    (["cancel", "--sweep", "-2"], "--sweep"),
]


@pytest.mark.parametrize(("args", "option"), HOSTILE, ids=[" ".join(a) for a, _ in HOSTILE])
def test_hostile_values_exit_2_naming_the_option_and_write_nothing(
    bare: Path, args: list[str], option: str
) -> None:
    before = _events(bare)
    result = real.invoke("--workspace", str(bare), *args)
    assert result.exit_code == 2, result.output
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("cockpit: ") and option in error[0], result.stderr
    assert "Traceback" not in result.stderr
    assert _events(bare) == before


def _events(folder: Path) -> int:
    import json

    return len(json.loads(real.invoke("--workspace", str(folder), "log", "--json").stdout))


def test_ids_beyond_what_sqlite_stores_are_no_such_row(bare: Path) -> None:
    """A version or run id given as text (VERSION, --against) is looked up, not overflowed."""
    for args in (
        ["card", "99999999999999999999"],
        ["deploy", "99999999999999999999", "--strategy", "shadow"],
        ["evaluate", "1", "--against", "99999999999999999999"],
    ):
        result = real.invoke("--workspace", str(bare), *args)
        assert result.exit_code == 2 and "Traceback" not in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_percent_beside_a_strategy_without_a_canary_is_refused(bare: Path) -> None:
    result = real.invoke("--workspace", str(bare), "deploy", "1", "--strategy", "shadow", "--percent", "20")
    assert result.exit_code == 2 and "--percent is the canary's share" in result.stderr


# -- commands that reach a trained model ------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> real.Built:
    """Diabetes (regression, MAE): a linear model registered and in production."""
    built = real.build(
        tmp_path_factory.mktemp("diabetes"),
        real.diabetes(),
        "regression",
        "target",
        spec=("metric=mae",),
        runs=(("--model", "linear_regression"),),
    )
    assert built.cli("register", "1", "--override", "test").exit_code == 0
    assert built.cli("deploy", "1", "--strategy", "blue-green", "--override", "test").exit_code == 0
    return built


@pytest.fixture
def workspace_copy(deployed: real.Built, tmp_path: Path) -> real.Built:
    return real.copy(deployed, tmp_path / "copy")


def test_retrain_triggers_set_changes_only_the_named_settings(workspace_copy) -> None:
    import json

    ws = workspace_copy
    assert (
        ws.cli(
            "retrain",
            "triggers",
            "set",
            "--schedule-days",
            "7",
            "--new-labels",
            "250",
            "--no-on-alert",
            "--strategy",
            "shadow",
        ).exit_code
        == 0
    )
    assert ws.cli("retrain", "triggers", "set", "--canary-percent", "20").exit_code == 0
    shown = json.loads(ws.cli("retrain", "triggers", "show", "--json").stdout)
    assert (
        shown["schedule_days"],
        shown["new_labels"],
        shown["on_alert"],
        shown["strategy"],
        shown["canary_percent"],
    ) == (7, 250, 0, "shadow", 20)
    refused = ws.cli("retrain", "triggers", "set", "--canary-percent", "nan")
    assert refused.exit_code == 2
    after = json.loads(ws.cli("retrain", "triggers", "show", "--json").stdout)
    assert after == shown


def test_override_expiry_is_a_future_moment(workspace_copy) -> None:
    ws = workspace_copy
    past = ws.cli("override", "add", "7", "150", "--reason", "r", "--expires", "2001-01-01")
    assert past.exit_code == 2 and "has passed" in past.stderr
    not_a_number = ws.cli("override", "add", "7", "nan", "--reason", "r")
    assert not_a_number.exit_code == 2 and "finite number" in not_a_number.stderr
    assert ws.cli("override", "list").stdout.strip() == "no active overrides"
    added = ws.cli("override", "add", "7", "150", "--reason", "r", "--expires", "2099-01-01T12:00+02:00")
    assert added.exit_code == 0
    assert "2099-01-01T10:00:00" in ws.cli("override", "list").stdout  # kept in UTC


def test_package_out_must_be_a_folder_we_can_write(workspace_copy, tmp_path: Path) -> None:
    ws = workspace_copy
    existing = tmp_path / "passwd"
    existing.write_text("root:x:0:0\n")
    for out, why in (
        (existing, "a file is there"),
        (existing / "bundle", f"{existing} is a file, not a folder"),
    ):
        result = ws.cli("package", "1", "--out", str(out))
        assert result.exit_code == 2, out
        assert result.stderr.splitlines() == [
            f"cockpit: --out {out}: {why}; give a new folder for the bundle"
        ]
    assert existing.read_text() == "root:x:0:0\n"
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("x")
    assert "not empty" in ws.cli("package", "1", "--out", str(full)).stderr
    assert ws.cli("package", "1", "--out", str(tmp_path / "bundle")).exit_code == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_package_into_a_folder_without_write_permission(workspace_copy, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = workspace_copy.cli("package", "1", "--out", str(locked / "bundle"))
    assert result.exit_code == 2 and "give a folder you can write" in result.stderr


@pytest.mark.parametrize(
    "rule", ["bmi > nan -> 1 else 0", "bmi > 1e999 -> 1 else 0", "constant inf", "bmi > 0 -> nan else 0"]
)
def test_a_fallback_rule_takes_finite_numbers(bare: Path, rule: str) -> None:
    result = real.invoke("--workspace", str(bare), "fallback", "set", rule)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cockpit: fallback {rule!r}: ") and result.stderr.rstrip().endswith(
        "is not a finite number"
    )
    shown = real.invoke("--workspace", str(bare), "fallback", "show")
    assert shown.stdout.startswith("no fallback rule")
    assert (
        real.invoke("--workspace", str(bare), "fallback", "set", "bmi > 0.05 -> 200 else 100").exit_code == 0
    )
