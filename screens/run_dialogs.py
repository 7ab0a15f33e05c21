"""Dialogs of the experiments screen: start a run or a sweep; a run's full record is in
screens/run_detail.py."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from cockpit.training.catalog import families_for
from screens.run_detail import RunDetail, describe

__all__ = ["NewRunDialog", "RunDetail", "SweepDialog", "describe"]


class NewRunDialog(ModalScreen[dict | None]):
    """Family, params and seed; returns them, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="newrun.cancel"),
        Binding("ctrl+s", "submit", "Start", id="newrun.submit", priority=True),
    ]

    def __init__(self, task: str) -> None:
        super().__init__()
        self.ml_task = task

    def compose(self) -> ComposeResult:
        options = [(f.title, f.name) for f in families_for(self.ml_task)]
        with Vertical(classes="dialog"):
            yield Label(
                "New run  (Tab next field · Enter or ctrl+s start · Esc cancel)", classes="dialog-title"
            )
            yield Horizontal(
                Label("Model", classes="dialog-label"),
                Select(options, value=options[0][1], allow_blank=False, id="family", compact=True),
                classes="dialog-row",
            )
            yield Horizontal(
                Label("Params", classes="dialog-label"),
                Input(placeholder="name=value, name=value", id="params", compact=True),
                classes="dialog-row",
            )
            yield Horizontal(
                Label("Seed", classes="dialog-label"),
                Input("42", type="integer", id="seed", compact=True),
                classes="dialog-row",
            )

    def on_mount(self) -> None:
        self.query_one("#family", Select).focus()

    def on_input_submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        text = self.query_one("#params", Input).value
        params = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        seed = self.query_one("#seed", Input).value or "42"
        self.dismiss({"family": self.query_one("#family", Select).value, "params": params, "seed": int(seed)})


class SweepDialog(ModalScreen[dict | None]):
    """A random sweep: family, trials, parallel jobs, time budget, stop at target, and the
    Dask scheduler to run on (empty: COCKPIT_SCHEDULER when set, else this machine)."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="sweep.cancel"),
        Binding("ctrl+s", "submit", "Start", id="sweep.submit", priority=True),
    ]

    def __init__(self, task: str) -> None:
        super().__init__()
        self.ml_task = task

    def compose(self) -> ComposeResult:
        options = [(f.title, f.name) for f in families_for(self.ml_task) if f.name != "dummy"]
        with Vertical(classes="dialog"):
            yield Label("Random sweep  (Tab next field · ctrl+s start · Esc cancel)", classes="dialog-title")
            rows = [
                ("Model", Select(options, value=options[0][1], allow_blank=False, id="family", compact=True)),
                ("Trials", Input("10", type="integer", id="trials", compact=True)),
                ("Parallel jobs", Input("2", type="integer", id="jobs", compact=True)),
                ("Time budget s", Input(placeholder="none", type="number", id="budget", compact=True)),
                (
                    "Stop at target",
                    Select(
                        [("no", False), ("yes", True)],
                        value=False,
                        allow_blank=False,
                        id="target",
                        compact=True,
                    ),
                ),
                (
                    "Scheduler",
                    Input(placeholder="this machine · tcp://HOST:8786", id="scheduler", compact=True),
                ),
            ]
            for label, widget in rows:
                yield Horizontal(Label(label, classes="dialog-label"), widget, classes="dialog-row")

    def on_mount(self) -> None:
        self.query_one("#family", Select).focus()

    def on_input_submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        try:
            budget = self.query_one("#budget", Input).value
            self.dismiss(
                {
                    "family": self.query_one("#family", Select).value,
                    "trials": max(1, int(self.query_one("#trials", Input).value or 10)),
                    "n_jobs": max(1, int(self.query_one("#jobs", Input).value or 2)),
                    "time_budget_s": float(budget) if budget else None,
                    "stop_on_target": bool(self.query_one("#target", Select).value),
                    "scheduler": self.query_one("#scheduler", Input).value.strip() or None,
                }
            )
        except ValueError as exc:
            self.notify(f"Not a number: {exc}", severity="error")
