"""The overview: the lifecycle map of the project, the next step, and recent events."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Input, Label, Static

from cockpit.audit import Event
from cockpit.lifecycle import StageState, Status, next_step
from cockpit.stage_status import stage_states
from cockpit.text import cut
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import Key, bindings, key_of
from screens.row_detail import show_row
from screens.stages import stage_screen

STATUS_MARK = {
    Status.DONE: "✓ done",
    Status.IN_PROGRESS: "◐ in progress",
    Status.ATTENTION: "! attention",
    Status.NOT_STARTED: "· not started",
}
STATUS_CLASS = {
    Status.DONE: "status-done",
    Status.IN_PROGRESS: "status-progress",
    Status.ATTENTION: "status-attention",
    Status.NOT_STARTED: "status-idle",
}

OVERVIEW_KEYS = [
    Key(
        "overview.filter",
        "slash",
        "filter_events",
        "Filter events",
        help="Type to filter the recent events (cockpit log --grep TEXT)",
        cli="log",
    ),
    Key("overview.refresh", "r", "refresh_data", "Refresh", show=False, help="Read the store again"),
]


class OverviewScreen(StageScreen):
    """Which lifecycle stages are done, which need attention, and what to do next."""

    TITLE = "Overview"
    CSS_PATH = "overview.tcss"
    BINDINGS = bindings(OVERVIEW_KEYS)
    KEYS = OVERVIEW_KEYS
    EVENT_LIMIT = 50

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.shown_events: dict[str, Event] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="lifecycle", cursor_type="row", show_cursor=False)
        yield Static(id="next-step")
        with Horizontal(id="events-bar"):
            yield Label("Recent events", id="events-title")
            yield Input(placeholder="/ filter", id="events-filter")
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        lifecycle = self.query_one("#lifecycle", DataTable)
        lifecycle.add_column("#", key="n", width=1)
        lifecycle.add_column("Stage", key="stage", width=16)
        lifecycle.add_column("Status", key="status", width=13)
        lifecycle.add_column("Detail", key="detail")
        events = self.query_one("#events", DataTable)
        events.add_column("When", key="at", width=16)
        events.add_column("Who", key="user", width=8)
        events.add_column("Stage", key="stage", width=11)
        events.add_column("What", key="what")
        self.refresh_data()
        lifecycle.can_focus = False
        events.focus()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        self._fill_lifecycle(project)
        self._fill_events(project, self.query_one("#events-filter", Input).value)

    def action_refresh_data(self) -> None:
        self.refresh_data()

    def _fill_lifecycle(self, project) -> None:
        table = self.query_one("#lifecycle", DataTable)
        table.clear()
        next_widget = self.query_one("#next-step", Static)
        if project is None:
            next_widget.update(
                "No project yet. Create one: cockpit project new NAME --task binary "
                "--target COLUMN   (or try: cockpit demo)"
            )
            return
        states = stage_states(self.workspace, project)
        room = max(20, self.size.width - 38)
        for state in states:
            table.add_row(
                str(state.stage.number),
                state.stage.title,
                STATUS_MARK[state.status],
                cut(state.detail or state.stage.question, room),
                key=state.stage.key,
            )
        step = next_step(states)
        if step is None:
            next_widget.update("Next: nothing here needs you right now.")
        else:
            next_widget.update(f"Next ({step.stage.number} {step.stage.title}): {next_action_text(step)}")

    @notify_errors
    def _fill_events(self, project, text: str) -> None:
        table = self.query_one("#events", DataTable)
        table.clear()
        project_id = project.id if project else None
        room = max(20, self.size.width - 45)  # the fixed columns take the rest: no sideways scroll
        self.shown_events = {str(e.id): e for e in self.workspace.events(project_id, self.EVENT_LIMIT, text)}
        for event in self.shown_events.values():
            when = event.at.replace("T", " ")[:16]
            what = cut(f"{event.action} {event.summary()}".strip(), room)
            table.add_row(when, event.user[:8], event.stage, what, key=str(event.id))
        title = self.query_one("#events-title", Label)
        title.update(f"Recent events ({self._events_count(project_id, table.row_count, text)})")

    def _events_count(self, project_id: int | None, shown: int, text: str) -> str:
        """'12', or 'latest 50 of 1,234' when the list is cut at its cap ('12 matching' and
        'latest 50 matching' with a filter)."""
        if shown < self.EVENT_LIMIT:
            return f"{shown}{' matching' if text else ''}"
        if text:
            return f"latest {shown} matching"
        return f"latest {shown} of {self.workspace.event_count(project_id):,}"

    @guarded
    def on_data_table_row_selected(self, selected: DataTable.RowSelected) -> None:
        """Enter on an event: the event in full, who as the system knows it, every detail uncut."""
        if selected.data_table.id != "events" or selected.row_key.value not in self.shown_events:
            return
        table = selected.data_table
        event = self.shown_events[selected.row_key.value]
        details = {name: str(value) for name, value in event.details.items()}
        show_row(
            self,
            table,
            full={
                "When": event.at,
                "Who": event.who,
                "What": event.action,
                "Project": event.project,
                **details,
            },
            title=f"Event {event.id}",
        )

    def action_filter_events(self) -> None:
        self.query_one("#events-filter", Input).focus()

    @guarded
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "events-filter":
            self._fill_events(self.app.project, event.value)

    @guarded
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#events", DataTable).focus()


def next_action_text(state: StageState) -> str:
    """What the stage asks for, with where it is done: the stage's number and the key of
    the screen's action, or its tab, and the CLI command lines that do it too."""
    action = state.next_action
    if action is None:
        return ""
    number = state.stage.number
    commands = ", or ".join(action.commands)
    if not action.on_screen:
        return f"{action.what}: {commands}" if commands else action.what
    if action.tab:
        return f"{action.what} ({number}, {action.tab} tab)"
    press = f"press {number}"
    if action.action:
        press += f" then {action_key(state.stage.key, action.action)}"
    if commands:
        return f"{action.what}: {press}, or {commands}"
    if action.note:
        return f"{action.what}: {press} ({action.note})"
    return f"{action.what} ({number})"


def action_key(stage: str, action: str) -> str:
    """The key of a stage screen's action: its Key's id is '<stage>.<action>'."""
    return key_of(stage_screen(stage).screen_keys(), f"{stage}.{action}")
