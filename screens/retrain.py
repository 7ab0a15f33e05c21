"""Stage 8 screen: champion vs challenger side by side on the same rows (metrics, segments,
the production windows, latency) with the decision, the retrain's steps, the versions to
retire, the triggers and whether a retrain is due."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from cockpit.deployment import registry
from cockpit.deployment.moves import Move
from cockpit.errors import CockpitError
from cockpit.retraining import cycle, policy, rollout
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.fit_table import FitTable
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.row_detail import show_row
from screens.stage_keys import RETRAIN_KEYS
from screens.work import Job


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
                # the figures are never cut (a cut "+0.095" reads as another number): the
                # labels give way on a narrow terminal; Δ takes the room a wide one leaves, so
                # the labels stay beside their figures
                yield FitTable(
                    DUEL_COLUMNS, DUEL_COLUMNS[-1], whole=DUEL_COLUMNS[1:], cap=30, id="duel-table"
                )
            with TabPane("Steps", id="steps"):
                yield Static(id="steps-text")
            with TabPane("Versions", id="versions-tab"):
                yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#versions", DataTable).add_columns(
            "Version", "Run", "Aliases", "Gate", "Successor", "Why"
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
        self._duel(history[0] if history else None, rollout.pending(self.workspace, project))
        table = self.query_one("#versions", DataTable)
        kept = self._highlighted()  # a dialog closing refreshes: the cursor stays on its version
        self.versions = registry.list_versions(self.workspace, project)
        held = registry.alias_labels(self.workspace, project)
        table.clear()
        for v in self.versions:
            successor = next((f"v{o.version}" for o in self.versions if o.id == v.successor_id), "-")
            table.add_row(
                f"v{v.version}",
                str(v.run_id),
                _aliases(v, held.get(v.id, [])),
                v.gate_label,
                successor,
                _why(v)[:40],
            )
        ids = [v.id for v in self.versions]
        if kept is not None and kept.id in ids:
            table.move_cursor(row=ids.index(kept.id))

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on the versions: the row in full (the reason uncut)."""
        version = self._highlighted()
        if event.data_table.id == "versions" and version is not None:
            show_row(self, event.data_table, full={"Why": _why(version)}, title=version.label)

    def _highlighted(self) -> registry.ModelVersion | None:
        row = self.query_one("#versions", DataTable).cursor_row
        return self.versions[row] if 0 <= row < len(self.versions) else None

    def _duel(self, last: cycle.Retrain | None, waiting: rollout.Pending | None) -> None:
        decision = self.query_one("#decision", Static)
        steps = self.query_one("#steps-text", Static)
        table = self.query_one("#duel-table", FitTable)
        if last is None:
            table.set_rows([])
            decision.update("No retrain yet: R runs the pipeline (cockpit retrain).")
            steps.update("")
            return
        decision.update(
            f"{last.created_at[:16].replace('T', ' ')}: {last.decision} · champion "
            f"v{last.champion_version} vs challenger run {last.challenger_run or '-'} "
            f"on {last.window}"
            + (
                f"\nv{waiting.version} failed its gate ({', '.join(waiting.failed)}): nothing "
                "deployed. D deploys it anyway (asks for an override reason)."
                if waiting
                else ""
            )
        )
        steps.update("\n".join(f"- {s}" for s in last.steps))
        table.set_rows(
            [
                (
                    [
                        label,
                        _fmt(champion, timed),
                        _fmt(challenger, timed),
                        _delta(champion, challenger, timed),
                    ],
                    None,
                )
                for label, champion, challenger in _duel_rows(last)
                for timed in [label.startswith("ms per")]
            ]
        )

    @notify_errors
    def action_retrain(self) -> None:
        """Ask first, saying what may change (the challenger's gate is not known yet)."""
        found = rollout.plan(self.workspace, self.app.project)
        moves = found.moves()

        def confirmed(reason: str | None) -> None:
            if reason:
                self.notify("Retraining: champion vs challenger…")
                self.start_work("Retrain", lambda job: _retrain(job, reason, moves))

        self.app.push_screen(ConfirmReason(found.question(), changes=moves), confirmed)

    @guarded
    def on_retrained(self, done: Retrained) -> None:
        result = done.result
        self.notify(f"Retrain: {result.decision}")
        self.refresh_data()
        if result.decision != rollout.CANDIDATE:
            return
        project = self.app.project
        if self.is_current and project is not None and project.id == result.project_id:
            self.action_deploy_anyway()  # the override is a second, explicit step
        else:  # the user moved on: no dialog over another screen or project
            self.notify("The retrained challenger failed its gate: D on this screen deploys it anyway")

    @notify_errors
    def action_deploy_anyway(self) -> None:
        """Offer the latest retrain's gate-failed candidate, the reason typed as the override."""
        project = self.app.project
        waiting = rollout.pending(self.workspace, project)
        if waiting is None:
            self.notify("No retrained candidate waits for an override", severity="warning")
            return

        def confirmed(reason: str | None) -> None:
            if reason:
                try:
                    rollout.deploy_anyway(self.workspace, project, reason, expect=moves)
                except CockpitError as exc:
                    self.notify(str(exc), severity="error")
                    return
                self.notify(f"v{waiting.version} deployed despite its gate")
                self.refresh_data()

        moves = waiting.moves()
        self.app.push_screen(ConfirmReason(waiting.question(), changes=moves), confirmed)

    def action_retire(self) -> None:
        version = self._highlighted()
        if version is None:
            return
        if version.status == "retired":
            self.notify(f"{version.label} is retired already", severity="warning")
            return
        held = [
            name
            for name, alias in registry.aliases(self.workspace, self.app.project).items()
            if alias.version_id == version.id
        ]
        if "production" in held:
            self.notify(
                f"{version.label} is in production: retire it with cockpit retire "
                f"{version.version} --reason TEXT --successor VERSION",
                severity="warning",
            )
            return

        def confirmed(reason: str | None) -> None:
            if reason:
                try:
                    cycle.retire(self.workspace, self.app.project, version.version, reason)
                except Exception as exc:  # noqa: BLE001 - shown, not raised
                    self.notify(str(exc), severity="error")
                    return
                self.notify(f"{version.label} retired")
                self.refresh_data()

        changes = [Move(f"v{version.version}", version.status, "retired, its model file archived")]
        changes += [Move(name, f"v{version.version}", "none") for name in held]
        self.app.push_screen(ConfirmReason(f"Retire {version.label}?", changes=tuple(changes)), confirmed)


@dataclass
class Retrained(Message):
    """The retrain pipeline ran (whatever it decided)."""

    result: cycle.Retrain


def _retrain(job: Job, reason: str, moves: tuple[Move, ...]) -> Retrained:
    return Retrained(cycle.retrain(job.workspace, job.project, asked=reason, expect=moves))


DUEL_COLUMNS = ("On the same rows", "Champion", "Challenger", "Δ")


def _aliases(version: registry.ModelVersion, held: list[str]) -> str:
    """The aliases a version holds ('-': it serves nothing and waits for nothing), or
    'retired'; its status 'active' only says it may be deployed, not that it serves."""
    return "retired" if version.status == "retired" else ", ".join(held) or "-"


def _why(version: registry.ModelVersion) -> str:
    return version.retired_reason or version.override_reason or ""


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


def _fmt(value, timed: bool = False) -> str:
    """Metrics to 4 decimals; times (ms) to 2, which is what a timer says of them."""
    if value is None:
        return "-"
    return f"{value:.{2 if timed else 4}f}" if abs(value) < 10 else f"{value:,.1f}"


def _delta(champion, challenger, timed: bool = False) -> str:
    if champion is None or challenger is None:
        return ""
    difference = challenger - champion
    return f"{difference:+.{2 if timed else 4}f}" if abs(champion) < 10 else f"{difference:+,.1f}"
