"""What every stage screen shares: the workspace it was given, reading the store again when
it comes back into view, and `[` / `]` cycling through its tabs."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import TabbedContent

from cockpit.workspace import Workspace


class StageScreen(Screen):
    """A stage screen. Subclasses implement `refresh_data`; tabbed ones list TABS in order."""

    TABS: tuple[str, ...] = ()

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self._shown = False

    def refresh_data(self) -> None:
        raise NotImplementedError

    def on_screen_resume(self) -> None:
        # The first resume follows on_mount, which has just read the store: skip it.
        if self._shown:
            self.refresh_data()
        self._shown = True

    def action_next_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = self.TABS[(self.TABS.index(tabs.active) + step) % len(self.TABS)]
