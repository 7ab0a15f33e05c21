"""Getting the stages ready while the overview is read.

On a first visit Textual parses every style sheet again, all of them, and restyles every
widget of the app: for a screen with a style sheet or a widget class it has not seen, and for
any screen new to it at all (a new screen's count of style updates starts behind the app's).
That cost more than the stage's own reading and drawing. So once the overview is on screen,
the app imports one stage's module per idle moment, reads its style sheet and notes the
default styles of every widget class loaded, then parses the whole once; a screen made after
that is marked as styled by the current sheet (`styled_now`), which it is: its widgets get
their styles from it when they mount (tests/ui/test_warmup.py checks no visit parses again).

Composing, mounting and styling a stage's widgets was then most of a first visit (Problem's
form alone is over a hundred widgets). So the warm-up goes on to build each stage's screen,
one per idle moment, and starts it off screen as its mode's screen (`start_offscreen`): its
widgets are mounted and styled and it reads the store once. The stage's first visit is then
a revisit: the screen reads the store again when shown, so what was read during the warm-up
is never what is shown (`python -m bench --only visit`).

A screen never shown has no size yet: its first showing laid out every widget from nothing
(and each table filled itself again at its width) and drew every widget for the first time,
twice the time of a revisit. So each built screen is also laid out at the app's size when
mounted (`lay_out_offscreen`) and, on the next idle moment, once its widgets have filled
themselves at their sizes, laid out again and drawn once into its widgets' caches
(`draw_offscreen`); nothing reaches the terminal. A terminal resized meanwhile makes Textual
lay it out again when shown, as for any screen.

A key or click during the warm-up holds it (`hold`): no step starts until the input has
paused for `HOLD_S`, so a stage visited meanwhile is shown with the CPU to itself instead of
sharing it with the building of the next stage's screen (the bench presses the first stage's
key ~1.5 s after the overview settles, often inside the warm-up on a loaded machine).

The objects alive once the overview is up (modules, classes, functions: ~70,000) and those
the warm-up makes (the nine screens' widgets: ~130,000 more) live as long as the app, but
each full garbage collection walked them all again: 80-350 ms pauses every few seconds, in
the warm-up and after it while the cockpit sat idle (its screens poll the store), falling
inside visits. So the collector is off during the warm-up, and both sets are moved out of
its reach (`gc.freeze`) when it starts and when it ends, and given back when the app ends
(`thaw`). Objects freed by reference counting are freed as before; the cycles the warm-up
left as garbage (~24,000 objects on the demo, a few MB) are kept until the app ends, which
is what a collection over everything (~100 ms of CPU) would have cost to free.

Textual has no public call for any of this (pinned textual<9; tests/ui/test_warmup.py checks
what it relies on).
"""

from __future__ import annotations

import functools
import gc
import inspect
import time
import weakref
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

# Between steps, so a key pressed meanwhile is handled first (and holds the next). 2 ms (a
# stage ready ~0.5 s sooner) left Experiments' footer drawn without its last key off screen:
# its first visit was drawn twice, the footer ~30 ms after the rest.
STEP_S = 0.02
HOLD_S = 0.3  # after a key or click, so what it asked for is drawn before the next step

_held_until: weakref.WeakKeyDictionary[App, float] = weakref.WeakKeyDictionary()


def warm_up(
    app: App,
    loads: list[Callable[[], type[Screen]]],
    builds: Sequence[Callable[[], None]] = (),
    after: Callable[[], None] = lambda: None,
    parsed: Callable[[], None] = lambda: None,
) -> None:
    """Import each screen `loads` names, one per timer tick, then parse the styles once (and
    call `parsed`), then call each of `builds`, one per tick, then `after`."""

    def parse_styles() -> None:
        _add_default_css(app)
        app.stylesheet.reparse()
        app.stylesheet.update(app)
        parsed()

    def done() -> None:
        gc.freeze()
        gc.enable()
        after()

    gc.freeze()  # what the first frame needed: modules, classes, the overview
    gc.disable()
    steps = [*(functools.partial(_read_css, app, load) for load in loads), parse_styles, *builds]
    one_per_tick(app, steps, done)


def hold(app: App) -> None:
    """A key or click came: the warm-up's next step waits until input has paused `HOLD_S`."""
    _held_until[app] = time.monotonic() + HOLD_S


def thaw() -> None:
    """The app ended: what the warm-up froze is the collector's again (and it is on)."""
    gc.unfreeze()
    gc.enable()


def one_per_tick(app: App, steps: Sequence[Callable[[], object]], after: Callable[[], None]) -> None:
    """Call each of `steps` on its own timer tick (a key pressed meanwhile goes first), and
    wait for what it returns if that is awaitable, then call `after`; stop when the app does."""
    pending = list(steps)

    async def step() -> None:
        if not app.is_running:
            return
        held = _held_until.get(app, 0.0) - time.monotonic()
        if held > 0:
            app.set_timer(held, step)
            return
        if pending:
            done = pending.pop(0)()
            if inspect.isawaitable(done):  # the UI goes on meanwhile: this is the timer's task
                await done
            app.set_timer(STEP_S, step)
        else:
            after()

    app.set_timer(STEP_S, step)


def styled_now(app: App, screen: Screen) -> None:
    """Mark a screen made after the warm-up as up to date with the app's styles, so showing it
    the first time does not parse and restyle the whole app (Textual's count is private)."""
    screen._css_update_count = app._css_update_count


def start_offscreen(app: App, mode: str, screen: Screen) -> Coroutine[Any, Any, object]:
    """Start `screen` as the screen of `mode` without showing it: its widgets are composed,
    mounted and styled (await the answer for that), and switching to the mode later shows it
    as a screen seen before. Textual has no public call for this: these are the steps of its
    own first switch to a mode, less the resume message a screen gets when shown."""
    styled_now(app, screen)
    app._register(app, screen)
    app._screen_stacks[mode] = [screen]
    return screen._mounted_event.wait()


def lay_out_offscreen(app: App, screen: Screen) -> None:
    """Lay out a screen started off screen at the app's size, as showing it would: its widgets
    get their sizes (and their Resize, so tables fit their columns) before it is shown."""
    if screen.is_attached and not screen.is_current:
        screen._refresh_layout(app.size)


def draw_offscreen(screen: Screen) -> None:
    """Draw a laid-out screen once without showing it: each widget renders its lines into its
    own cache, which its first showing then reuses."""
    if screen.is_attached and not screen.is_current and screen.size:
        screen._compositor.render_strips()


def _read_css(app: App, load: Callable[[], type[Screen]]) -> None:
    screen_class = load()
    folder = Path(inspect.getfile(screen_class)).parent
    for path in _css_paths(screen_class):
        full = path if path.is_absolute() else folder / path
        if not app.stylesheet.has_source(str(full), ""):
            app.stylesheet.read(full)


def _css_paths(screen_class: type[Screen]) -> list[Path]:
    css = screen_class.CSS_PATH
    if css is None:
        return []
    return [Path(p) for p in ([css] if isinstance(css, str | Path) else css)]


def _add_default_css(app: App) -> None:
    """The default styles of every widget class imported so far, as mounting one would add them."""
    for widget_class in _subclasses(Widget):
        node = object.__new__(widget_class)  # _get_default_css reads only the class
        for read_from, css, tie_breaker, scope in DOMNode._get_default_css(node):
            app.stylesheet.add_source(
                css, read_from=read_from, is_default_css=True, tie_breaker=tie_breaker, scope=scope
            )


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
