"""What every stage screen shares: the workspace it was given, reading the store again when
it comes back into view, `[` / `]` cycling through its tabs, Esc clearing a filter then going
back, a rejected filter shown as rejected, and slow work started and its failures shown in
one way (screens/work.py).

A filter is an Input whose id ends in "-filter" (or with the class "filter"): Esc empties it
and submits it, so the screen applies "no filter" as if the user had deleted it and pressed
Enter."""

from __future__ import annotations

from textual import events, on
from textual.screen import Screen
from textual.widgets import Input, TabbedContent, Tabs, TextArea
from textual.worker import Worker

from cockpit.workspace import Workspace
from screens import work
from screens.guard import guarded, report_error

OVERVIEW = "overview"  # the app mode Esc goes back to
REJECTED = "filter-rejected"


class StageScreen(Screen):
    """A stage screen. Subclasses implement `refresh_data`."""

    TABS: tuple[str, ...] = ()  # kept for the screens that name their tabs; `[`/`]` read the widget

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

    def read_when_shown(self) -> None:
        """Read the store again when first shown too: the screen was made ahead of time
        (screens/warmup.py), so what its on_mount read may be old by then. Its styles are
        those of now."""
        self._shown = True
        self._styled_as = self._app_look()

    # Textual restyles every widget of a screen each time it is shown, in case the app's
    # look changed meanwhile: that was up to half of showing a stage again. The styles
    # depend on the style sheet (a theme change reparses it and restyles every screen),
    # the theme and whether the app has the terminal's focus; when none of those changed
    # since the screen was last styled, the restyle is skipped. Its own widgets restyle
    # themselves when their classes change, shown or not.

    @on(events.ScreenSuspend)
    def _note_styles(self) -> None:
        self._styled_as = self._app_look()

    @on(events.ScreenResume)
    def _skip_restyle(self, event: events.ScreenResume) -> None:
        if getattr(self, "_styled_as", None) == self._app_look():
            event.refresh_styles = False

    def _app_look(self) -> tuple[object, ...]:
        return (self.app.theme, self.app.app_focus, self.app._css_update_count)

    def action_next_tab(self, step: int) -> None:
        cycle_tabs(self, step)

    # -- Esc and filters ---------------------------------------------------------------

    def filters(self) -> list[Input]:
        """The screen's filter fields."""
        return [i for i in self.query(Input) if i.has_class("filter") or (i.id or "").endswith("-filter")]

    async def go_back(self) -> None:
        """Esc: empty the filter being typed in, or leave the text field; else empty a
        filter that holds text; else go back to the overview."""
        focused = self.focused
        if isinstance(focused, Input) and focused.value and focused in self.filters():
            await clear_filter(focused)
        elif isinstance(focused, (Input, TextArea)):
            self.set_focus(None)
        elif holding := [f for f in self.filters() if f.value]:
            await clear_filter(holding[0])
        else:  # the way the 0 key goes there
            await self.app.run_action(f"app.stage('{OVERVIEW}')")

    def reject_filter(self, field: Input | str, message: str) -> None:
        """Show a filter as rejected: the field in the error style, why in a notification
        and its tooltip, until its text changes."""
        widget = self.query_one(field, Input) if isinstance(field, str) else field
        widget.add_class(REJECTED, "-invalid")
        widget.tooltip = message
        self.notify(message, title="Filter rejected", severity="error", timeout=8)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.has_class(REJECTED):
            event.input.remove_class(REJECTED, "-invalid")
            event.input.tooltip = None

    # -- slow work ---------------------------------------------------------------------

    def start_work(self, task: str, job: work.JobFunction, exclusive: bool = True) -> Worker | None:
        """Run `job` off the UI thread for the current project; `task` names it in words."""
        return work.start(self, self.workspace, task, job, exclusive)

    @guarded
    def on_work_failed(self, failed: work.WorkFailed) -> None:
        """The one failure handler: every job's error becomes an error notification."""
        report_error(self.app, failed.error, title=f"{failed.task} failed")
        self.work_failed(failed)

    def work_failed(self, failed: work.WorkFailed) -> None:
        """What a screen shows of a failure besides the notification (nothing by default)."""


async def clear_filter(field: Input) -> None:
    """Empty a filter and submit it; leave the field if the screen's answer kept it there."""
    field.value = ""
    await field.action_submit()
    if field.has_focus:
        field.screen.set_focus(None)


def cycle_tabs(screen: Screen, step: int) -> bool:
    """Show the next (`step` 1) or previous (-1) tab of the screen's first TabbedContent,
    in the order shown, skipping hidden and disabled tabs; False when it has no tabs. Focus
    left in the pane going out of view moves to the first widget of the new one."""
    found = screen.query(TabbedContent)
    if not found:
        return False
    tabbed = found.first()
    strip = tabbed.query_children(Tabs).first()
    if step > 0:
        strip.action_next_tab()
    else:
        strip.action_previous_tab()
    screen.call_after_refresh(_focus_in_active_pane, tabbed)
    return True


def _focus_in_active_pane(tabbed: TabbedContent) -> None:
    screen = tabbed.screen
    focused = screen.focused
    if focused is None or tabbed not in focused.ancestors or isinstance(focused, Tabs):
        return
    pane = tabbed.get_pane(tabbed.active) if tabbed.active else None
    if pane is None or pane in focused.ancestors:
        return
    first = next((w for w in pane.query("*") if w.focusable), None)
    screen.set_focus(first)
