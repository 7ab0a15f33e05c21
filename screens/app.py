"""CockpitApp: wires the workspace to one screen per stage. It does not compute."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from textual import events
from textual.actions import ActionParseResult, SkipAction
from textual.app import App, SystemCommand
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import DataTable, Input, TextArea

from cockpit.projects import LAST_SHOWN_PROJECT, Project, list_projects, resolve_project
from cockpit.workspace import Workspace
from screens import base, keymap, stages, warmup
from screens.base import cycle_tabs
from screens.dialogs import HelpScreen, ProjectSwitcher, key_label
from screens.guard import report_error
from screens.keys import Key, bindings, move_cursor

SHUTDOWN_WAIT_S = 5.0
LIST_KEYS = {"j", "k"}
APP_KEYS = [
    Key(
        "app.overview",
        "0",
        "app.stage('overview')",
        "Overview",
        show=False,
        help="The lifecycle map of the project",
    ),
    *[
        Key(
            f"app.stage.{s.key}",
            str(s.number),
            f"app.stage('{s.key}')",
            s.title,
            show=False,
            help=f"Go to stage {s.number}: {s.title}",
        )
        for s in stages.BUILT_STAGES
    ],
    Key(
        "app.project",
        "p",
        "app.switch_project",
        "Project",
        help="Switch to another project of this workspace (cockpit projects)",
    ),
    Key("app.help", "question_mark", "app.help", "Help", help="Every key of this screen"),
    Key(
        "app.back",
        "escape",
        "app.back",
        "Back",
        show=False,
        help="Leave the text field so single keys act again; empty a filter; else back to the overview",
    ),
    Key(
        "app.down",
        "j",
        "app.cursor(1)",
        "Down",
        show=False,
        help="Down the focused list or table, like ↓ (where the screen gives j no other use)",
    ),
    Key(
        "app.up",
        "k",
        "app.cursor(-1)",
        "Up",
        show=False,
        help="Up the focused list or table, like ↑ (where the screen gives k no other use)",
    ),
    # Textual's tables scroll sideways on Home / End; in a table of rows people expect the
    # first and last row (as in its lists). Anywhere else the focused widget's own key acts.
    Key(
        "app.first_row",
        "home",
        "app.row_edge(-1)",
        "First row",
        show=False,
        priority=True,
        help="First row of the focused table (in a text field: start of the line)",
    ),
    Key(
        "app.last_row",
        "end",
        "app.row_edge(1)",
        "Last row",
        show=False,
        priority=True,
        help="Last row of the focused table (in a text field: end of the line)",
    ),
    Key("app.next_tab", "right_square_bracket", "app.tab(1)", "Next tab", show=False, help="Next tab"),
    Key(
        "app.prev_tab", "left_square_bracket", "app.tab(-1)", "Previous tab", show=False, help="Previous tab"
    ),
    Key("app.quit", "q", "app.quit", "Quit", help="Leave the cockpit"),
]


class CockpitApp(App):
    """The cockpit: a lifecycle overview plus one screen per stage."""

    # The overview's sheet too: it is the first screen, and Textual parses the whole style
    # sheet again for each sheet it reads later.
    CSS_PATH = ["app.tcss", "overview.tcss"]
    TITLE = "cockpit"
    BINDINGS = bindings(APP_KEYS)
    KEYS = APP_KEYS

    project: reactive[Project | None] = reactive(None, init=False)

    def __init__(
        self,
        workspace: Workspace,
        project_name: str | None = None,
        strict: bool = True,
        warm_up: bool = True,
    ) -> None:
        """`strict=False` (how `cockpit` runs) turns an unexpected error in an action or a
        dialog's answer into a notification plus a traceback in .cockpit/logs/ui.log; tests
        keep it strict. `warm_up` gets the stages ready once the overview is up
        (screens/warmup.py); `warmed` is set when that is done."""
        super().__init__()
        self.keymap_error: str | None = None
        self.keymap = self._read_keymap()
        self.set_keymap(self.keymap)
        saved_theme = keymap.read_theme()
        if saved_theme in self.available_themes:
            self.theme = saved_theme
        self.workspace = workspace
        self.strict = strict
        self.warm_up = warm_up
        self.warmed = asyncio.Event()
        self._made: set[str] = set()  # the stages whose screen exists
        self._mounting: asyncio.Future | None = None  # the warm-up's last screen mounting
        self._ahead: dict[str, Screen] = {}  # the screens the warm-up built
        self._leaving = False
        self._styles_parsed = False  # every stage's style sheet read and parsed (the warm-up)
        self.set_reactive(CockpitApp.project, self._initial_project(project_name))
        self.add_mode("overview", self._new_overview)
        for stage in stages.BUILT_STAGES:
            self.add_mode(stage.key, lambda stage=stage: self._new_screen(stage))

    def _new_overview(self) -> Screen:
        # Its sheet is the app's own (CSS_PATH) and its widgets are styled as they mount: a new
        # screen not marked so makes Textual parse every sheet and restyle the app, twice.
        screen = stages.OVERVIEW.factory(self.workspace)
        warmup.styled_now(self, screen)
        return screen

    def _parsed(self) -> None:
        self._styles_parsed = True

    def _new_screen(self, stage: stages.StageScreen) -> Screen:
        self._made.add(stage.key)
        screen = stage.factory(self.workspace)
        # A stage's key can come before the warm-up built its screen: once the styles are
        # parsed, the new screen is marked styled, or Textual parses every sheet again and
        # restyles every widget of the app, the screens built ahead included.
        if self._styles_parsed:
            warmup.styled_now(self, screen)
        return screen

    def _build_ahead(self, stage: stages.StageScreen) -> asyncio.Task | None:
        """During the warm-up: start the screen of a stage not visited yet, off screen, and
        lay it out once it is mounted (screens/warmup.py)."""
        if stage.key in self._made or self._leaving:
            return None
        self._made.add(stage.key)
        screen = stage.factory(self.workspace)
        if isinstance(screen, base.StageScreen):
            screen.read_when_shown()
        self._ahead[stage.key] = screen

        async def build() -> None:
            await warmup.start_offscreen(self, stage.key, screen)
            warmup.lay_out_offscreen(self, screen)

        self._mounting = asyncio.ensure_future(build())
        return self._mounting

    def _draw_ahead(self, stage: stages.StageScreen) -> None:
        """During the warm-up, the moment after `_build_ahead`: lay the screen out again (its
        tables have filled themselves at their width since) and draw it, off screen."""
        screen = self._ahead.get(stage.key)
        if screen is not None and not self._leaving:
            warmup.lay_out_offscreen(self, screen)
            warmup.draw_offscreen(screen)

    async def _shutdown(self) -> None:
        # Textual fails to take down a screen still mounting (its Tabs find their tabs gone):
        # quitting in the first moments lets the screen the warm-up is mounting finish first.
        self._leaving = True
        if self._mounting is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._mounting), SHUTDOWN_WAIT_S)
        await super()._shutdown()
        if self.warm_up:
            warmup.thaw()

    async def on_event(self, event: events.Event) -> None:
        if self.warm_up and isinstance(event, events.Key | events.MouseDown):
            warmup.hold(self)  # what the input asks for first, then the warm-up's next step
        await super().on_event(event)

    def _initial_project(self, name: str | None) -> Project | None:
        """The named project, else the one the cockpit showed last, else the first."""
        projects = list_projects(self.workspace)
        if not projects:
            return None
        if name:
            return resolve_project(self.workspace, name)
        last = self.workspace.setting(LAST_SHOWN_PROJECT)
        return next((p for p in projects if p.name == last), projects[0])

    def _read_keymap(self) -> dict[str, str]:
        """The user's keymap; a bad one is told once (on_mount) and the defaults kept."""
        if not keymap.keymap_path().exists():
            return {}
        try:
            return keymap.read_keymap({b.id for b in keymap.all_bindings()})
        except keymap.KeymapError as error:
            self.keymap_error = f"{error}. The default keys apply."
            return {}

    def _save_theme(self, theme: Theme) -> None:
        if theme.name != keymap.read_theme():
            try:
                keymap.save_theme(theme.name)
            except OSError as error:
                self.notify(f"The theme is not kept for next time: {error}", severity="warning")

    def on_mount(self) -> None:
        if self.keymap_error:
            self.notify(self.keymap_error, title="Keymap not used", severity="error", timeout=20)
        self.theme_changed_signal.subscribe(self, self._save_theme)
        self._show_project_in_title()
        self.switch_mode("overview")
        if self.warm_up:
            loads = [stage.load for stage in stages.BUILT_STAGES]
            builds = [
                step
                for stage in stages.BUILT_STAGES
                for step in (
                    functools.partial(self._build_ahead, stage),
                    functools.partial(self._draw_ahead, stage),
                )
            ]
            self.call_after_refresh(warmup.warm_up, self, loads, builds, self.warmed.set, self._parsed)

    def _show_project_in_title(self) -> None:
        project = self.project
        if project is None:
            self.sub_title = f"{self.workspace.root.name} · no project yet"
        else:
            self.sub_title = f"{project.name} · {project.task} → {project.target}"

    def watch_project(self) -> None:
        if self.project is not None:
            self.workspace.set_setting(LAST_SHOWN_PROJECT, self.project.name)
        self._show_project_in_title()
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh:
            refresh()

    def action_stage(self, key: str) -> None:
        if self.current_mode != key:
            self._leave_screen(lambda: self.switch_mode(key))

    def _leave_screen(self, then: Callable[[], object]) -> None:
        """Leave the screen by `then`; a screen holding unsaved edits asks first (screens/unsaved.py)."""
        ask = getattr(self.screen, "confirm_leave", None)
        if ask is None:
            then()
        else:
            ask(then)

    async def action_quit(self) -> None:
        """q (and ctrl+q, the palette's Quit): leave the cockpit; unsaved edits ask first."""
        self._leave_screen(self.exit)

    def action_switch_project(self) -> None:
        projects = list_projects(self.workspace)
        if not projects:
            self.notify("No projects yet: create one with `cockpit project new`", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name and (self.project is None or name != self.project.name):
                self._leave_screen(lambda: self._switch_to(next(p for p in projects if p.name == name)))

        current = self.project.name if self.project else None
        self.push_screen(ProjectSwitcher(projects, current), chosen)

    def _switch_to(self, project: Project) -> None:
        self.project = project
        self.notify(f"Project: {project.name}")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen.title or "cockpit", keys_of(self.screen)))

    async def action_back(self) -> None:
        back = getattr(self.screen, "go_back", None)
        if back is not None:
            await back()
        elif isinstance(self.focused, (Input, TextArea)):
            self.set_focus(None)

    async def action_cursor(self, step: int) -> None:
        """j / k: what ↓ / ↑ do in the focused widget (a cursor, else a scroll)."""
        await move_cursor(self.focused, step)

    def action_row_edge(self, step: int) -> None:
        """Home / End: the first or last row of the focused table of rows; else the focused
        widget's own Home / End (SkipAction hands the key on)."""
        table = self.focused
        if not (isinstance(table, DataTable) and table.cursor_type == "row" and table.row_count):
            raise SkipAction()
        table.move_cursor(row=0 if step < 0 else table.row_count - 1)

    def action_tab(self, step: int) -> None:
        cycle_tabs(self.screen, step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # j and k are left to a screen that uses either for something else.
        if action == "cursor":
            return not _screen_bound(self.screen) & LIST_KEYS
        return True

    # An unexpected error in what a key, the command palette or a dialog's answer started is
    # a notification plus a traceback in ui.log when not strict; a strict app (tests) stops on
    # it. Workers report through screens/work.py; screen handlers guard with notify_errors.

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as error:
            if self.strict:
                raise
            report_error(self, error)
            return True

    def push_screen(self, screen, callback=None, wait_for_dismiss=False, *, mode=None):  # type: ignore[override]
        guarded = callback if callback is None or self.strict else _guarded(self, callback)
        return super().push_screen(screen, guarded, wait_for_dismiss, mode=mode)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key in keys_of(screen):
            yield SystemCommand(
                f"{key.description} ({key_label(key.key)})", key.help, _runner(screen, key.action)
            )


def keys_of(screen: Screen) -> list[Key]:
    """The keys that act on `screen`: its own, then the app's it does not bind itself (and
    neither j nor k when it binds either)."""
    own = _remapped(screen, getattr(screen, "KEYS", []))
    taken = _screen_bound(screen)
    if taken & LIST_KEYS:
        taken |= LIST_KEYS
    return [*own, *[key for key in _remapped(screen, APP_KEYS) if key.key not in taken]]


def _remapped(screen: Screen, keys: list[Key]) -> list[Key]:
    """`keys` as the user's keymap binds them."""
    mapped: dict[str, str] = getattr(screen.app, "keymap", {})
    return [dataclasses.replace(key, key=mapped[key.id]) if key.id in mapped else key for key in keys]


def _screen_bound(screen: Screen) -> set[str]:
    return {k for key in _remapped(screen, getattr(screen, "KEYS", [])) for k in key.key.split(",")}


def _guarded(app: App, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A dialog's callback whose unexpected error is reported instead of ending the app."""

    @functools.wraps(callback)
    def run(result: Any) -> Any:
        try:
            return callback(result)
        except Exception as error:
            report_error(app, error)
            return None

    return run


def _runner(screen: Screen, action: str):
    async def run() -> None:
        await screen.run_action(action)

    return run


def run_app(workspace: Workspace, project_name: str | None = None) -> None:
    CockpitApp(workspace, project_name, strict=False).run()
