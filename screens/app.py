"""CockpitApp: wires the workspace to one screen per stage. It does not compute."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, TextArea

from cockpit.projects import Project, list_projects, resolve_project
from cockpit.workspace import Workspace
from screens import stages
from screens.dialogs import HelpScreen, ProjectSwitcher
from screens.keys import Key, bindings

LAST_PROJECT = "ui.last_project"
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
        "app.leave_field",
        "escape",
        "app.leave_field",
        "Leave field",
        show=False,
        help="Leave the text field so single keys act again",
    ),
    Key("app.quit", "q", "app.quit", "Quit", help="Leave the cockpit"),
]


class CockpitApp(App):
    """The cockpit: a lifecycle overview plus one screen per stage."""

    CSS_PATH = "app.tcss"
    TITLE = "cockpit"
    BINDINGS = bindings(APP_KEYS)
    KEYS = APP_KEYS

    project: reactive[Project | None] = reactive(None, init=False)

    def __init__(self, workspace: Workspace, project_name: str | None = None, strict: bool = True) -> None:
        """`strict=False` (how `cockpit` runs) turns an unexpected error in a handler into a
        notification plus a traceback in .cockpit/logs/ui.log; tests keep it strict."""
        super().__init__()
        self.workspace = workspace
        self.strict = strict
        self.set_reactive(CockpitApp.project, self._initial_project(project_name))
        self.add_mode("overview", lambda: stages.OVERVIEW.factory(workspace))
        for stage in stages.BUILT_STAGES:
            self.add_mode(stage.key, lambda stage=stage: stage.factory(workspace))

    def _initial_project(self, name: str | None) -> Project | None:
        """The named project, else the one the cockpit showed last, else the first."""
        projects = list_projects(self.workspace)
        if not projects:
            return None
        if name:
            return resolve_project(self.workspace, name)
        last = self.workspace.setting(LAST_PROJECT)
        return next((p for p in projects if p.name == last), projects[0])

    def on_mount(self) -> None:
        self._show_project_in_title()
        self.switch_mode("overview")

    def _show_project_in_title(self) -> None:
        project = self.project
        if project is None:
            self.sub_title = f"{self.workspace.root.name} · no project yet"
        else:
            self.sub_title = f"{project.name} · {project.task} → {project.target}"

    def watch_project(self) -> None:
        if self.project is not None:
            self.workspace.set_setting(LAST_PROJECT, self.project.name)
        self._show_project_in_title()
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh:
            refresh()

    def action_stage(self, key: str) -> None:
        if self.current_mode != key:
            self.switch_mode(key)

    def action_switch_project(self) -> None:
        projects = list_projects(self.workspace)
        if not projects:
            self.notify("No projects yet: create one with `cockpit project new`", severity="warning")
            return

        def chosen(name: str | None) -> None:
            if name and (self.project is None or name != self.project.name):
                self.project = next(p for p in projects if p.name == name)
                self.notify(f"Project: {name}")

        current = self.project.name if self.project else None
        self.push_screen(ProjectSwitcher(projects, current), chosen)

    def action_help(self) -> None:
        screen_keys = getattr(self.screen, "KEYS", [])
        self.push_screen(HelpScreen(self.screen.title or "cockpit", [*screen_keys, *APP_KEYS]))

    def action_leave_field(self) -> None:
        if isinstance(self.focused, (Input, TextArea)):
            self.set_focus(None)

    def _handle_exception(self, error: Exception) -> None:
        if self.strict or not self.is_running or not isinstance(error, Exception):
            super()._handle_exception(error)
            return
        log = self.workspace.dir / "logs" / "ui.log"
        try:
            import traceback

            log.parent.mkdir(mode=0o700, exist_ok=True)
            with open(log, "a", encoding="utf-8") as handle:
                handle.write("".join(traceback.format_exception(error)) + "\n")
        except OSError:
            pass
        self.notify(
            f"{type(error).__name__}: {error}\n(details in {log})",
            title="Something went wrong",
            severity="error",
            timeout=15,
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for key in [*getattr(screen, "KEYS", []), *APP_KEYS]:
            if key.id == "app.leave_field":
                continue
            yield SystemCommand(
                f"{key.description} ({_key_label(key.key)})", key.help, _runner(screen, key.action)
            )


def _key_label(key: str) -> str:
    return {"question_mark": "?", "slash": "/"}.get(key, key)


def _runner(screen: Screen, action: str):
    async def run() -> None:
        await screen.run_action(action)

    return run


def run_app(workspace: Workspace, project_name: str | None = None) -> None:
    CockpitApp(workspace, project_name, strict=False).run()
