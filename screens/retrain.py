"""Stage 8 screen: champion vs challenger side by side on the same rows (metrics, segments,
the production windows, latency) with the decision, the retrain's steps, the versions to
retire, the triggers and whether a retrain is due."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from cockpit.deployment import registry
from cockpit.retraining import cycle, policy
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.guard import guarded, notify_errors
from screens.keys import Key, bindings
from screens.work import Job

RETRAIN_KEYS = [
    Key(
        "retrain.run",
        "R",
        "retrain",
        "Retrain",
        cli="retrain",
        help="Run the retrain pipeline now (champion vs challenger decides)",
    ),
    Key(
        "retrain.retire",
        "x",
        "retire",
        "Retire",
        cli="retire",
        help="Retire the highlighted model version (asks for a reason)",
    ),
    Key("retrain.next_tab", "right_square_bracket", "next_tab(1)", "Tabs", help="Next tab"),
]


class RetrainScreen(StageScreen):
    """Is a better model waiting, or one to retire?"""

    TITLE = "Retrain / retire"
    CSS_PATH = "retrain.tcss"
    BINDINGS = bindings(RETRAIN_KEYS)
    KEYS = RETRAIN_KEYS
    TABS = ("duel", "steps", "versions-tab")

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.versions: list[registry.ModelVersion] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="retrain-summary")
        with TabbedContent(initial="duel"):
            with TabPane("Champion vs challenger", id="duel"):
                yield Static(id="decision")
                yield DataTable(id="duel-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Steps", id="steps"):
                yield Static(id="steps-text")
            with TabPane("Versions", id="versions-tab"):
                yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#versions", DataTable).add_columns("Version", "Run", "Status", "Why", "Successor")
        self.query_one("#duel-table", DataTable).add_columns(
            "On the same rows", "Champion", "Challenger", "Δ"
        )
        self.refresh_data()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        settings = policy.triggers(self.workspace, project)
        reasons = policy.due(self.workspace, project)
        self.query_one("#retrain-summary", Static).update(
            f"triggers: every {settings.schedule_days:g} days · on alert "
            f"{'yes' if settings.on_alert else 'no'} · after {settings.new_labels} labels · "
            f"winner: {settings.strategy}\n"
            f"due now: {'; '.join(reasons) if reasons else 'no'}"
        )
        history = cycle.list_retrains(self.workspace, project)
        self._duel(history[0] if history else None)
        self.versions = registry.list_versions(self.workspace, project)
        table = self.query_one("#versions", DataTable)
        table.clear()
        for v in self.versions:
            successor = next((f"v{o.version}" for o in self.versions if o.id == v.successor_id), "-")
            table.add_row(
                f"v{v.version}",
                str(v.run_id),
                v.status,
                (v.retired_reason or v.override_reason or "")[:40],
                successor,
            )

    def _duel(self, last: cycle.Retrain | None) -> None:
        decision = self.query_one("#decision", Static)
        steps = self.query_one("#steps-text", Static)
        table = self.query_one("#duel-table", DataTable)
        table.clear()
        if last is None:
            decision.update("No retrain yet: R runs the pipeline (cockpit retrain).")
            steps.update("")
            return
        decision.update(
            f"{last.created_at[:16].replace('T', ' ')}: {last.decision} · champion "
            f"v{last.champion_version} vs challenger run {last.challenger_run or '-'} "
            f"on {last.window}"
        )
        steps.update("\n".join(f"- {s}" for s in last.steps))
        for label, champion, challenger in _duel_rows(last):
            table.add_row(label, _fmt(champion), _fmt(challenger), _delta(champion, challenger))

    def action_retrain(self) -> None:
        self.notify("Retraining: champion vs challenger…")
        self.start_work("Retrain", _retrain)

    @guarded
    def on_retrained(self, done: Retrained) -> None:
        self.notify(f"Retrain: {done.result.decision}")
        self.refresh_data()

    def action_retire(self) -> None:
        if not self.versions:
            return
        version = self.versions[self.query_one("#versions", DataTable).cursor_row]

        def confirmed(reason: str | None) -> None:
            if reason:
                try:
                    cycle.retire(self.workspace, self.app.project, version.version, reason)
                except Exception as exc:  # noqa: BLE001 - shown, not raised
                    self.notify(str(exc), severity="error")
                    return
                self.notify(f"{version.label} retired")
                self.refresh_data()

        self.app.push_screen(ConfirmReason(f"Retire {version.label}?"), confirmed)


@dataclass
class Retrained(Message):
    """The retrain pipeline ran (whatever it decided)."""

    result: cycle.Retrain


def _retrain(job: Job) -> Retrained:
    return Retrained(cycle.retrain(job.workspace, job.project))


def _duel_rows(last: cycle.Retrain) -> list[tuple[str, float | None, float | None]]:
    """(what, champion, challenger) rows: metrics, segment groups, windows, latency."""
    comparison = last.comparison
    if not comparison:  # stopped before the comparison, or recorded by an older cockpit
        return [(last.metric or "metric", last.champion_score, last.challenger_score)]
    rows = [
        (
            f"{m.name} ({comparison.window}, {comparison.rows:,} rows)"
            if m.name == comparison.metric
            else m.name,
            m.champion,
            m.challenger,
        )
        for m in comparison.metrics
    ]
    rows += [(f"{g.column}={g.group} ({g.rows:,})", g.champion, g.challenger) for g in comparison.segments]
    rows += [
        (
            f"window {w.window}" + (" (trained on)" if w.challenger_trained_on_it else " (held out)"),
            w.champion,
            w.challenger,
        )
        for w in comparison.windows
    ]
    champion, challenger = comparison.latency["champion"], comparison.latency["challenger"]
    rows += [
        ("ms per row", champion.row_ms, challenger.row_ms),
        ("ms per 1,000 rows", champion.thousand_rows_ms, challenger.thousand_rows_ms),
    ]
    return rows


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"


def _delta(champion, challenger) -> str:
    if champion is None or challenger is None:
        return ""
    return f"{challenger - champion:+.4f}" if abs(champion) < 10 else f"{challenger - champion:+,.1f}"
