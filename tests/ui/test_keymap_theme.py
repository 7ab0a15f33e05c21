"""A user's keymap file remaps keys by binding id (`App.set_keymap`), a bad one is told and
the defaults kept, and the theme chosen is kept for the next start (screens/keymap.py)."""

from __future__ import annotations

import os
from pathlib import Path

from screens.app import CockpitApp


def _keymap(text: str) -> Path:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "cockpit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "keymap.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_keymap_file_moves_a_key_to_another(two_projects) -> None:
    _keymap('"app.stage.experiments" = "e"\n')
    app = CockpitApp(two_projects, "churn", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        assert app.current_mode == "overview"  # the old key no longer goes there
        await pilot.press("e")
        await pilot.pause()
        assert app.current_mode == "experiments"
        assert ("e", "app.stage('experiments')") in {(k.key, k.action) for k in _help_keys(app)}


async def test_a_bad_keymap_is_told_once_and_the_default_keys_apply(two_projects) -> None:
    path = _keymap('"app.stage.experiments" = "e"\n"experiments.nothing" = "x"\n')
    app = CockpitApp(two_projects, "churn", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        told = [n.message for n in app._notifications]
        assert len(told) == 1 and str(path) in told[0] and "'experiments.nothing'" in told[0]
        await pilot.press("4")
        await pilot.pause()
        assert app.current_mode == "experiments"


async def test_the_theme_chosen_is_the_theme_of_the_next_start(two_projects) -> None:
    app = CockpitApp(two_projects, "churn", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "textual-dark"
        app.theme = "ansi-dark"  # what the palette's "Change theme" does; the terminal's colours
        await pilot.pause()
    again = CockpitApp(two_projects, "churn", warm_up=False)
    async with again.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert again.theme == "ansi-dark"


def test_cockpit_keys_prints_each_binding_with_the_key_the_keymap_gives(run_cli) -> None:
    _keymap('"app.quit" = "ctrl+q"\n')
    result = run_cli("keys")
    assert result.exit_code == 0
    quit_row = next(line for line in result.output.splitlines() if line.startswith("app.quit "))
    assert quit_row.split()[:3] == ["app.quit", "ctrl+q", "*"] and "every screen" in quit_row
    assert any(line.split()[:2] == ["experiments.new", "n"] for line in result.output.splitlines())
    _keymap('"app.quit" = "ctrl+q"\n"app.nothing" = "x"\n')
    refused = run_cli("keys")
    assert refused.exit_code == 2 and "'app.nothing'" in refused.output


def _help_keys(app: CockpitApp):
    from screens.app import keys_of

    return keys_of(app.screen)
