"""The footer every screen shows: Textual's, composed again only when what it shows changed.

Textual's Footer builds all its key widgets again whenever the screen's bindings may have
changed: on every showing of the screen and every change of focus. Each new key widget is
then restyled twice on its own (its compact class set, then set back), which made the footer
a large part of showing a screen. The keys shown depend only on the screen's active
bindings, so when those are the same as last time there is nothing to rebuild.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Footer):
    """Footer that skips rebuilding when the keys it would show have not changed."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = _what_is_shown(screen)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)


def _what_is_shown(screen: Screen) -> tuple:
    """Everything of the screen's bindings that the footer draws (hidden ones are left out:
    whether the app's j and k apply depends on which screen is current, not on this one)."""
    app = screen.app
    return tuple(
        (
            key,
            binding.key,
            app.get_key_display(binding),
            binding.description,
            binding.action,
            binding.group,
            enabled,
            tooltip,
        )
        for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
        if binding.show or key == app.COMMAND_PALETTE_BINDING
    )
