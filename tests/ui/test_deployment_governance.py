"""Every deployment key that changes what production serves asks first, says what changes
from → to, and changes nothing on Esc or on Enter without a reason; c/s/d never offer the
production version."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Label

from cockpit.deployment import registry
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.confirm import ConfirmReason
from screens.dialogs_input import PromptDialog
from screens.row_detail import RowDetail
from tests.ui.test_later_screens import live  # noqa: F401  (v1, v2 registered; v2 production)

GATE = "gate: never run → overridden, the reason in the ledger"  # the live fixture gates no run


def _state(ws) -> tuple:
    """Everything a deployment key may change: the aliases and the ledger."""
    project = get_project(ws, "svc")
    return registry.aliases(ws, project), registry.ledger(ws, project)


def _changes(app) -> list[str]:
    assert isinstance(app.screen, ConfirmReason)
    return [str(label.render()) for label in app.screen.query(".dialog-change").results(Label)]


def _v1_in_production(ws) -> None:
    """Production back on v1, the first row: the cursor's first place before this fix."""
    registry.rollback(ws, get_project(ws, "svc"), "back to the first")


async def _answer(pilot, text: str) -> None:
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_canary_defaults_to_the_newest_version_that_is_not_production(live) -> None:  # noqa: F811
    _v1_in_production(live)
    before = _state(live)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        assert app.screen._highlighted().version == 2  # the cursor starts on what c would deploy
        app.screen.query_one("#versions-table", DataTable).move_cursor(row=0)  # v1, production
        await pilot.press("c")
        assert isinstance(app.screen, PromptDialog) and "v1 is production" in app.screen.title_text
        await pilot.press("enter")  # the 10% offered
        await pilot.pause()
        assert _changes(app) == ["canary: none → v2 at 10%"]
        await pilot.press("enter")  # no reason typed: the safe choice, nothing changes
        await pilot.pause()
        assert isinstance(app.screen, ConfirmReason) and _state(live) == before
        await pilot.press("escape")
        await pilot.pause()
        assert _state(live) == before
        await pilot.press("c", "enter")
        await pilot.pause()
        await _answer(pilot, "try the forest on a tenth")
        canary = registry.aliases(live, get_project(live, "svc"))["canary"]
        assert (registry.version_by_id(live, canary.version_id).version, canary.percent) == (2, 10)


async def test_shadow_and_blue_green_say_what_changes_and_esc_keeps_production(live) -> None:  # noqa: F811
    _v1_in_production(live)
    before = _state(live)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        app.screen.query_one("#versions-table", DataTable).move_cursor(row=0)
        await pilot.press("s")
        await pilot.pause()
        assert _changes(app) == ["shadow: none → v2"]
        await pilot.press("escape")
        await pilot.press("d")
        await pilot.pause()
        assert _changes(app) == ["production: v1 → v2", GATE]  # v2 never gated
        await pilot.press("escape")
        await pilot.pause()
        assert _state(live) == before
        await pilot.press("d")
        await pilot.pause()
        await _answer(pilot, "the forest is better")
        assert registry.get_version(live, get_project(live, "svc"), "production").version == 2


async def test_promote_and_rollback_say_what_changes(live) -> None:  # noqa: F811
    project = get_project(live, "svc")
    _v1_in_production(live)
    registry.deploy(live, project, 2, "canary", 20, "try it")
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "P")
        await pilot.pause()
        assert _changes(app) == ["production: v1 → v2", "canary: v2 at 20% → none", GATE]
        before = _state(live)
        await pilot.press("escape")
        await pilot.pause()
        assert _state(live) == before
        await pilot.press("P")
        await _answer(pilot, "the canary held up")
        assert registry.get_version(live, project, "production").version == 2
        await pilot.press("b")
        await pilot.pause()
        assert _changes(app) == ["production: v2 → v1"]
        await pilot.press("escape")
        await pilot.pause()
        assert registry.get_version(live, project, "production").version == 2


async def test_canary_share_keys_ask_before_they_change_it(live) -> None:  # noqa: F811
    project = get_project(live, "svc")
    _v1_in_production(live)
    registry.deploy(live, project, 2, "canary", 10, "try it")
    before = _state(live)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "plus")
        await pilot.pause()
        assert _changes(app) == ["canary share: 10% → 15%"]
        await pilot.press("escape")
        await pilot.pause()
        assert _state(live) == before
        await pilot.press("minus")
        await pilot.pause()
        assert _changes(app) == ["canary share: 10% → 5%"]
        await _answer(pilot, "fewer learners on the forest")
        assert registry.aliases(live, project)["canary"].percent == 5


async def test_ledger_reasons_grow_with_the_terminal_and_open_in_full(live) -> None:  # noqa: F811
    reason = "the forest answered slower than the budget on the busiest hour; back until it is tuned"
    registry.rollback(live, get_project(live, "svc"), reason)
    widths = {}
    for size in ((80, 24), (160, 40)):
        app = CockpitApp(live, "svc")
        async with app.run_test(size=size) as pilot:
            await pilot.press("6", "right_square_bracket")
            await pilot.pause()
            table = app.screen.query_one("#ledger-table", DataTable)
            widths[size[0]] = len(str(table.get_row_at(0)[-1]))
            if size[0] == 160:
                assert table.get_row_at(0)[-1] == reason  # room enough: uncut
            # Enter with the tab strip focused, as the screen is left after ]
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, RowDetail)
            assert ("Why", reason) in app.screen.fields
    assert widths[80] < widths[160]


def _said(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_a_dialog_answered_after_the_aliases_changed_does_nothing(live) -> None:  # noqa: F811
    """What is carried out is what was confirmed: if the aliases changed while the dialog was
    open (the CLI, a cron job), the action is refused and says what it would do now."""
    project = get_project(live, "svc")
    _v1_in_production(live)
    registry.deploy(live, project, 2, "canary", 20, "try it")
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "P")
        await pilot.pause()
        assert _changes(app) == ["production: v1 → v2", "canary: v2 at 20% → none", GATE]
        registry.set_canary_percent(live, project, 50, "meanwhile, from the CLI")
        before = _state(live)
        await _answer(pilot, "the canary held up")
        assert _state(live) == before
        assert registry.get_version(live, project, "production").version == 1
        [refused] = [m for m in _said(app) if "changed since you were asked" in m]
        assert "canary: v2 at 50% → none" in refused and refused.endswith("nothing done")
        await pilot.press("P")  # asked again, nothing changes meanwhile: carried out
        await pilot.pause()
        assert _changes(app) == ["production: v1 → v2", "canary: v2 at 50% → none", GATE]
        await _answer(pilot, "the canary held up")
        assert registry.get_version(live, project, "production").version == 2


async def test_plus_and_minus_never_move_the_share_the_other_way(live) -> None:  # noqa: F811
    """The CLI allows a 97% or 3% canary; + and - step within 5–95% only toward their limit."""
    project = get_project(live, "svc")
    _v1_in_production(live)
    registry.deploy(live, project, 2, "canary", 97, "nearly all")
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "plus")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmReason)
        assert any("already at the limit" in m for m in _said(app))
        await pilot.press("minus")
        await pilot.pause()
        assert _changes(app) == ["canary share: 97% → 92%"]
        await pilot.press("escape")
        registry.set_canary_percent(live, project, 3, "almost none")
        before = _state(live)
        await pilot.press("minus")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmReason) and _state(live) == before
        await pilot.press("plus")
        await pilot.pause()
        assert _changes(app) == ["canary share: 3% → 8%"]
