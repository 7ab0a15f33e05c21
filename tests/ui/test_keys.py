"""Every key a screen offers is findable (footer or palette) and has a CLI twin."""

import click
import pytest

from cockpit.cli import cli
from screens import stages
from screens.app import APP_KEYS, CockpitApp
from screens.keys import NAVIGATION

SCREENS = [stages.OVERVIEW, *stages.BUILT_STAGES]


def _cli_paths() -> set[str]:
    paths: set[str] = set()

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix}{name}"
            paths.add(path)
            if isinstance(command, click.Group):
                walk(command, path + " ")

    walk(cli, "")
    return paths


@pytest.mark.parametrize("stage", SCREENS, ids=[s.key for s in SCREENS])
async def test_every_binding_is_documented_and_has_a_cli_twin(two_projects, stage) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        app.switch_mode(stage.key)
        await pilot.pause()
        screen = app.screen
        declared = {key.id: key for key in [*getattr(screen, "KEYS", []), *APP_KEYS]}
        palette = {cmd.title for cmd in app.get_system_commands(screen)}
        commands = _cli_paths()
        for binding in [*type(screen).BINDINGS, *CockpitApp.BINDINGS]:
            assert binding.id in declared, f"{binding.key} on {stage.key} is not declared as a Key"
            key = declared[binding.id]
            in_palette = any(t.startswith(key.description) for t in palette)
            assert binding.show or in_palette or key.id == "app.leave_field", key.id
            if key.cli != NAVIGATION:
                assert key.cli.split(" --")[0] in commands, f"{key.id}: no `cockpit {key.cli}`"
