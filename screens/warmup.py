"""Getting the stages ready while the overview is read.

On a first visit Textual parses every style sheet again, all of them, and restyles every
widget of the app: for a screen with a style sheet or a widget class it has not seen, and for
any screen new to it at all (a new screen's count of style updates starts behind the app's).
That cost more than the stage's own reading and drawing. So once the overview is on screen,
the app imports one stage's module per idle moment, reads its style sheet and notes the
default styles of every widget class loaded, then parses the whole once; a screen made after
that is marked as styled by the current sheet (`styled_now`), which it is: its widgets get
their styles from it when they mount. A first visit then pays only for its data and its frame
(`python -m bench --only visit`; tests/ui/test_warmup.py checks no visit parses again).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from pathlib import Path

from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

STEP_S = 0.02  # between stages, so a key pressed meanwhile is handled first


def warm_up(
    app: App, loads: list[Callable[[], type[Screen]]], after: Callable[[], None] = lambda: None
) -> None:
    """Import each screen `loads` names, one per timer tick, then parse the styles once and
    call `after`."""
    pending = list(loads)

    def step() -> None:
        if not app.is_running:
            return
        if pending:
            _read_css(app, pending.pop(0)())
            app.set_timer(STEP_S, step)
            return
        _add_default_css(app)
        app.stylesheet.reparse()
        app.stylesheet.update(app)
        after()

    app.set_timer(STEP_S, step)


def styled_now(app: App, screen: Screen) -> None:
    """Mark a screen made after the warm-up as up to date with the app's styles, so showing it
    the first time does not parse and restyle the whole app (Textual's count is private)."""
    screen._css_update_count = app._css_update_count


def _read_css(app: App, screen_class: type[Screen]) -> None:
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
