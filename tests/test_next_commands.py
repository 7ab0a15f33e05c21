"""Every command line a stage's next step names parses as the CLI takes it: copied into a
shell it runs, none lacks a required option or names a command that is not there."""

from __future__ import annotations

import ast
import importlib
import inspect
import shlex
from types import SimpleNamespace

import click
import pytest

from cockpit import stage_status
from cockpit.cli import cli


def _next_commands() -> list[str]:
    """The `commands` of every NextAction in cockpit/stage_status.py. An f-string's field
    that asks a helper about the project (`_real_family(project)`) is filled by that helper
    for each task; any other field is an id or a version number."""
    tree = ast.parse(inspect.getsource(stage_status))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "NextAction":
            given = [kw.value for kw in node.keywords if kw.arg == "commands"] + node.args[2:3]
            for tuple_node in given:
                assert isinstance(tuple_node, ast.Tuple)
                for element in tuple_node.elts:
                    lines += sorted({_text(element, task) for task in TASKS})
    return lines


TASKS = ("classification", "regression")
# module names stage_status imports (`from cockpit.retraining import rollout`, at module level or
# in a function) -> their full names, for a command held in a module's constant
_IMPORTED = {
    alias.asname or alias.name: f"{node.module}.{alias.name}"
    for node in ast.walk(ast.parse(inspect.getsource(stage_status)))
    if isinstance(node, ast.ImportFrom) and node.module
    for alias in node.names
}


def _text(node: ast.expr, task: str) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):  # rollout.DEPLOY_ANYWAY
        return str(getattr(importlib.import_module(_IMPORTED[node.value.id]), node.attr))
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    return "".join(
        _text(part, task) if isinstance(part, ast.Constant) else _field(part, task) for part in node.values
    )


def _field(part: ast.expr, task: str) -> str:
    value = part.value if isinstance(part, ast.FormattedValue) else part
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return str(getattr(stage_status, value.func.id)(SimpleNamespace(task=task)))
    return "3"


def _parse(line: str) -> click.Context:
    """Parse `line` down to its last command as `cockpit` would (a click UsageError when
    an option is missing or a command is unknown); nothing runs."""
    name, command, args = "cockpit", cli, shlex.split(line)[1:]
    parent = None
    while True:
        ctx = command.make_context(name, list(args), parent=parent)
        rest = [*ctx._protected_args, *ctx.args] if isinstance(command, click.Group) else []
        if not rest:
            return ctx
        found, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, line
        name, command, parent = found or "", sub, ctx


def test_the_next_steps_are_found() -> None:
    assert len(_next_commands()) >= 10
    assert any(line.startswith("cockpit review sign") for line in _next_commands())


@pytest.mark.parametrize("line", _next_commands())
def test_every_next_step_command_parses(line: str) -> None:
    assert line.startswith("cockpit ")
    ctx = _parse(line)
    assert not isinstance(ctx.command, click.Group) or ctx.command.invoke_without_command, line


def test_a_missing_required_option_is_caught() -> None:
    with pytest.raises(click.UsageError, match="step"):
        _parse("cockpit review sign 3")
