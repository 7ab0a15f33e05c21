"""Every key a screen offers is findable (footer or palette) and has a CLI twin: the command
and the options the key implies (`deploy --strategy canary`, `gate --against`)."""

import click
import pytest

from cockpit.cli import cli
from screens import stages
from screens.app import APP_KEYS, CockpitApp, keys_of
from screens.keys import NAVIGATION

SCREENS = [stages.OVERVIEW, *stages.BUILT_STAGES]


def _twin_problems(twin: str) -> list[str]:
    """What is wrong with a key's CLI twin ("deploy --strategy canary"): a command path that
    is not in the `cockpit` tree, an option the command does not take, a value its type
    refuses, or a value after a flag. An option without a value is one the key asks for."""
    command: click.Command = cli
    words = twin.split()
    while words and isinstance(command, click.Group) and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    if command is cli or (words and not words[0].startswith("--")):
        return [f"no command `cockpit {twin}`"]
    options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}
    problems: list[str] = []
    while words:
        name = words.pop(0)
        if name not in options:
            problems.append(f"`{name}` is not an option of `cockpit {twin.split(' --')[0]}`")
            continue
        if not words or words[0].startswith("--"):
            continue
        value, option = words.pop(0), options[name]
        if option.is_flag:
            problems.append(f"`{name}` is a flag, it takes no value {value!r}")
            continue
        try:
            option.type.convert(value, option, None)
        except click.BadParameter as exc:
            problems.append(f"`{name} {value}`: {exc.message}")
    return problems


@pytest.mark.parametrize(
    ("twin", "problem"),
    [
        ("deploy --strategy canary", None),
        ("gate --against", None),
        ("runs --asc", None),
        ("deploy --strategy canari", "`--strategy canari`"),
        ("gate --againts", "`--againts` is not an option of `cockpit gate`"),
        ("evaluate --markdown yes", "`--markdown` is a flag"),
        ("deploy canary", "no command"),
        ("redeploy", "no command"),
    ],
)
def test_a_twin_is_checked_down_to_its_options(twin: str, problem: str | None) -> None:
    problems = _twin_problems(twin)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize("stage", SCREENS, ids=[s.key for s in SCREENS])
async def test_every_binding_is_documented_and_has_a_cli_twin(two_projects, stage) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        app.switch_mode(stage.key)
        await pilot.pause()
        screen = app.screen
        declared = {key.id: key for key in [*getattr(screen, "KEYS", []), *APP_KEYS]}
        palette = {cmd.title for cmd in app.get_system_commands(screen)}
        acting = {key.id for key in keys_of(screen)}  # the app's keys the screen leaves free
        app_bindings = [b for b in CockpitApp.BINDINGS if b.id in acting]
        for binding in [*type(screen).BINDINGS, *app_bindings]:
            assert binding.id in declared, f"{binding.key} on {stage.key} is not declared as a Key"
            key = declared[binding.id]
            in_palette = any(t.startswith(key.description) for t in palette)
            assert binding.show or in_palette, key.id
            if key.cli != NAVIGATION:
                assert _twin_problems(key.cli) == [], f"{key.id}: `cockpit {key.cli}`"


@pytest.mark.parametrize("stage", SCREENS, ids=[s.key for s in SCREENS])
def test_help_lists_each_key_once_with_what_it_does_on_that_screen(stage) -> None:
    """A key the screen binds itself is the screen's: the app's key of the same name (`]`,
    or j / k where the screen uses either) is not listed under it."""
    screen_class = stage.load()
    listed = [key.key for key in keys_of(screen_class)]
    assert len(listed) == len(set(listed)), sorted(k for k in listed if listed.count(k) > 1)
    own = {key.key for key in getattr(screen_class, "KEYS", [])}
    if own & {"j", "k"}:
        assert not {"j", "k"} & (set(listed) - own)
