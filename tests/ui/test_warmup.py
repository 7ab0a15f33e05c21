"""Once the overview is up, the stages are made ready (screens/warmup.py): a first visit to
any stage then parses no style sheet again."""

from __future__ import annotations

from screens.app import CockpitApp


async def _visit_every_stage(app: CockpitApp, pilot, until_parsed: bool = False) -> int:
    """How many times the app's styles were parsed again while every stage was visited once
    (`until_parsed`: stop at the first visit that parsed them)."""
    reparse = app.stylesheet.reparse
    calls = 0

    def counted() -> None:
        nonlocal calls
        calls += 1
        reparse()

    app.stylesheet.reparse = counted  # type: ignore[method-assign]
    for key in "123456789":
        await pilot.press(key)
        await pilot.pause()
        if until_parsed and calls:
            break
    return calls


async def test_a_first_visit_parses_no_styles_once_warmed_up(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.warmed.wait()
        assert await _visit_every_stage(app, pilot) == 0


async def test_without_the_warm_up_first_visits_parse_the_styles_again(two_projects) -> None:
    app = CockpitApp(two_projects, "churn", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.warmed.is_set()
        assert await _visit_every_stage(app, pilot, until_parsed=True) > 0


async def test_a_stage_built_during_the_warm_up_shows_what_was_saved_after(two_projects) -> None:
    """The warm-up builds every stage's screen ahead (it reads the store then); the first
    visit reads it again."""
    from dataclasses import replace

    from textual.widgets import TextArea

    from cockpit import problem
    from cockpit.projects import get_project

    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.warmed.wait()
        assert "problem" in app._screen_stacks  # built, not shown yet
        churn = get_project(two_projects, "churn")
        spec = replace(problem.current_spec(two_projects, churn), statement="Churn within 30 days")
        problem.save_spec(two_projects, churn, spec)
        await pilot.press("1")
        await pilot.pause()
        assert app.screen.query_one("#f-statement", TextArea).text == "Churn within 30 days"


async def test_a_stage_built_ahead_is_laid_out_before_its_first_visit(two_projects) -> None:
    """The warm-up lays each screen out at the app's size (and draws it) off screen: its first
    visit lays out nothing from nothing, as a revisit; a terminal resized meanwhile still
    gets the screen laid out at its new size."""
    from textual.screen import Screen

    from screens import stages

    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.warmed.wait()
        for stage in stages.BUILT_STAGES:
            assert app.get_screen_stack(stage.key)[0].outer_size == (80, 24), stage.key
        refresh_layout = Screen._refresh_layout
        sized = []

        def recorded(screen, size=None, scroll=False):
            if size is not None and screen.outer_size != size:
                sized.append(type(screen).__name__)
            refresh_layout(screen, size, scroll)

        Screen._refresh_layout = recorded  # type: ignore[method-assign]
        try:
            for key in "12":
                await pilot.press(key)
                await pilot.pause()
            assert sized == []
            await pilot.resize_terminal(100, 30)
            await pilot.press("3")
            await pilot.pause()
            assert app.screen.outer_size == (100, 30)
        finally:
            Screen._refresh_layout = refresh_layout  # type: ignore[method-assign]


async def test_a_stage_key_pressed_before_its_screen_is_built_parses_no_styles(
    two_projects, monkeypatch
) -> None:
    """Once the warm-up has parsed the styles, a screen the user asks for before the warm-up
    built it is made styled: Textual would otherwise parse every sheet again and restyle the
    whole app, the screens built ahead included."""
    from screens import warmup

    app = CockpitApp(two_projects, "churn")
    parsed = app._parsed

    def then_wait() -> None:  # the warm-up's next step (the first build) waits past the test
        parsed()
        monkeypatch.setattr(warmup, "STEP_S", 600.0)

    app._parsed = then_wait  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        while not app._styles_parsed:
            await pilot.pause(0.02)
        reparse = app.stylesheet.reparse
        calls = []
        app.stylesheet.reparse = lambda: (calls.append(1), reparse())[1]  # type: ignore[method-assign]
        await pilot.press("2")
        await pilot.pause()
        assert type(app.screen).__name__ == "DataScreen"
        assert not app.warmed.is_set() and "data" not in app._ahead  # made by the key
        assert calls == []


async def test_a_key_during_the_warm_up_holds_its_next_step(two_projects, monkeypatch) -> None:
    """What a key asks for is drawn with the CPU to itself: the warm-up's next step waits
    until the keys have paused for HOLD_S (it built the next screen 20 ms after the key)."""
    import time

    from screens import warmup

    monkeypatch.setattr(warmup, "HOLD_S", 0.5)
    held: list[float] = []
    hold = warmup.hold
    monkeypatch.setattr(warmup, "hold", lambda app: (held.append(time.monotonic()), hold(app)))
    app = CockpitApp(two_projects, "churn")
    built: list[float] = []
    build_ahead = app._build_ahead
    app._build_ahead = lambda stage: (built.append(time.monotonic()), build_ahead(stage))[1]  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        while not built:
            await pilot.pause(0.01)
        await pilot.press("1")
        await app.warmed.wait()
        assert held  # the key's event, and its bubbling back to the app
        after_key = [at - held[-1] for at in built if at > held[0]]
        assert after_key and min(after_key) >= 0.5


async def test_the_warm_up_keeps_the_collector_off_what_lives_as_long_as_the_app(two_projects) -> None:
    """No garbage collection during the warm-up; then the screens it built are frozen out of
    the full collections (each walked them all: 80-350 ms), and given back when the app ends."""
    import gc

    app = CockpitApp(two_projects, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        while not app._styles_parsed:
            await pilot.pause(0.01)
        assert not gc.isenabled()
        await app.warmed.wait()
        assert gc.isenabled()
        screen = app.get_screen_stack("problem")[0]
        assert not any(tracked is screen for tracked in gc.get_objects())  # frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert any(tracked is screen for tracked in gc.get_objects())


async def test_the_problem_form_wraps_the_same_built_ahead_or_on_its_key(demo_path) -> None:
    """The snapshots build each screen on its key (no warm-up): a form the warm-up built ahead
    must wrap the same (the demo's statement once moved with the warm-up's pace)."""
    from textual.widgets import TextArea

    from cockpit.workspace import Workspace

    wrapped = []
    for warm_up in (True, False):
        app = CockpitApp(Workspace.open(demo_path), "learner-support", warm_up=warm_up)
        async with app.run_test(size=(80, 24)) as pilot:
            if warm_up:
                await app.warmed.wait()
            await pilot.press("1")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            wrapped.append({area.id: _rows(area) for area in app.screen.query(TextArea)})
    assert wrapped[0] == wrapped[1]
    assert wrapped[1]["f-statement"][1].startswith("the next module")  # 57 columns at 80x24


def _rows(area) -> list[str]:
    """A text area's text as its rows on screen (each line's wrapped sections)."""
    wrapped = area.wrapped_document
    return [row for line in range(area.document.line_count) for row in wrapped.get_sections(line)]
