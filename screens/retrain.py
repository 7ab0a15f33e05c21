"""Stage 8 screen: champion vs challenger on the same window, the retrain history with
each step, the triggers and whether a retrain is due."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from cockpit import retraining
from cockpit.deployment import registry
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.guard import notify_errors
from screens.keys import Key, bindings

RETRAIN_KEYS = [
    Key("retrain.run", "R", "retrain", "Retrain", cli="retrain",
        help="Run the retrain pipeline now (champion vs challenger decides)"),
    Key("retrain.retire", "x", "retire", "Retire", cli="retire",
        help="Retire the highlighted model version (asks for a reason)"),
]


class RetrainScreen(StageScreen):
    """Is a better model waiting, or one to retire?"""

    TITLE = "Retrain / retire"
    CSS_PATH = "retrain.tcss"
    BINDINGS = bindings(RETRAIN_KEYS)
    KEYS = RETRAIN_KEYS

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.versions: list[registry.ModelVersion] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="retrain-summary")
        yield Static(id="duel")
        yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#versions", DataTable).add_columns("Version", "Run", "Status", "Why",
                                                           "Successor")
        self.refresh_data()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        settings = retraining.triggers(self.workspace, project)
        reasons = retraining.due(self.workspace, project)
        self.query_one("#retrain-summary", Static).update(
            f"triggers: every {settings['schedule_days']:g} days · on alert "
            f"{'yes' if settings['on_alert'] else 'no'} · after {settings['new_labels']} labels · "
            f"winner starts as {settings['strategy']}\n"
            f"due now: {'; '.join(reasons) if reasons else 'no'}")
        history = retraining.list_retrains(self.workspace, project)
        duel = self.query_one("#duel", Static)
        if history:
            last = history[0]
            score = (f"champion v{last['champion_version']} {last['metric'] or ''} "
                     f"{_fmt(last['champion_score'])} vs challenger run "
                     f"{last['challenger_run_id']} {_fmt(last['challenger_score'])} on "
                     f"{last['window']}")
            duel.update(f"Last retrain ({last['created_at'][:16]}): {last['decision']}\n{score}\n"
                        + "\n".join(f"  - {s}" for s in last["steps"]))
        else:
            duel.update("No retrain yet: R runs the pipeline (cockpit retrain).")
        self.versions = registry.list_versions(self.workspace, project)
        table = self.query_one("#versions", DataTable)
        table.clear()
        for v in self.versions:
            successor = next((f"v{o.version}" for o in self.versions if o.id == v.successor_id),
                             "-")
            table.add_row(f"v{v.version}", str(v.run_id), v.status,
                          (v.retired_reason or v.override_reason or "")[:40], successor)

    def action_retrain(self) -> None:
        self.notify("Retraining: champion vs challenger…")
        self.run_worker(self._retrain, thread=True, exclusive=True, group="retrain",
                        exit_on_error=False)

    def _retrain(self):
        with self.workspace.reopen() as ws:
            return retraining.retrain(ws, self.app.project)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "retrain":
            return
        if event.state == WorkerState.ERROR:
            self.notify(str(event.worker.error), title="Retrain stopped", severity="error")
        elif event.state == WorkerState.SUCCESS:
            self.notify(f"Retrain: {event.worker.result['decision']}")
            self.refresh_data()

    def action_retire(self) -> None:
        if not self.versions:
            return
        version = self.versions[self.query_one("#versions", DataTable).cursor_row]

        def confirmed(reason: str | None) -> None:
            if reason:
                try:
                    retraining.retire(self.workspace, self.app.project, version.version, reason)
                except Exception as exc:  # noqa: BLE001 - shown, not raised
                    self.notify(str(exc), severity="error")
                    return
                self.notify(f"{version.label} retired")
                self.refresh_data()

        self.app.push_screen(ConfirmReason(f"Retire {version.label}?"), confirmed)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
