"""Stage 6 screen: versions and aliases, the traffic split, the ledger, the fallback and
overrides, and the scored entities with their top reasons."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from cockpit.deployment import batch, registry, rules
from cockpit.deployment.moves import Move, summary
from cockpit.deployment.serving_log import recent_service_stats
from cockpit.text import counted
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.dialogs_input import PromptDialog
from screens.fit_table import FitTable, show_active_row
from screens.footer import KeysFooter
from screens.guard import guarded, notify_errors
from screens.keys import bindings
from screens.stage_keys import DEPLOYMENT_KEYS
from screens.work import Job

if TYPE_CHECKING:
    import pandas as pd

    from cockpit.deployment.reasons import Reason


Moves = tuple[Move, ...]
LEDGER_COLUMNS = ("When", "Alias", "Action", "Version", "From", "%", "Who", "Why")
SCORED_COLUMNS = ("Entity", "Score", "Answer", "Route", "Top reasons")
OVERRIDE_COLUMNS = ("Id", "Entity", "Answer", "Why", "By", "Expires")
# short facts a narrow terminal must not cut (screens/fit_table.py): text columns give way instead
LEDGER_WHOLE = ("When", "Alias", "Action", "Version", "%")
SCORED_WHOLE = ("Score", "Answer", "Route")
OVERRIDE_WHOLE = ("Id", "Answer", "Expires")


class DeploymentScreen(StageScreen):
    """What serves, how traffic splits, and how to roll back."""

    TITLE = "Deployment"
    CSS_PATH = "deployment.tcss"
    BINDINGS = bindings(DEPLOYMENT_KEYS)
    KEYS = DEPLOYMENT_KEYS
    TABS = ("versions", "ledger", "scored", "rules")

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.versions: list[registry.ModelVersion] = []
        self._placed_for: int | None = None  # the project the cursor was first placed for

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="traffic")
        with TabbedContent(initial="versions"):
            with TabPane("Versions", id="versions"):
                yield DataTable(id="versions-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Ledger", id="ledger"):
                yield FitTable(LEDGER_COLUMNS, "Why", whole=LEDGER_WHOLE, id="ledger-table")
            with TabPane("Scored", id="scored"):
                yield FitTable(SCORED_COLUMNS, "Top reasons", whole=SCORED_WHOLE, id="scored-table")
            with TabPane("Fallback & overrides", id="rules"):
                yield Static(id="fallback-text")
                yield FitTable(OVERRIDE_COLUMNS, "Why", whole=OVERRIDE_WHOLE, id="overrides-table")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#versions-table", DataTable).add_columns(
            "Version", "Run", "Gate", "Aliases", "Status", "Registered"
        )
        self.refresh_data()

    @notify_errors
    def refresh_data(self) -> None:
        project = self.app.project
        if project is None:
            return
        self.versions = registry.list_versions(self.workspace, project)
        aliases = registry.aliases(self.workspace, project)
        by_version = registry.alias_labels(self.workspace, project)
        table = self.query_one("#versions-table", DataTable)
        row = table.cursor_row
        table.clear()
        for v in self.versions:
            table.add_row(
                f"v{v.version}",
                str(v.run_id),
                v.gate_label,
                ", ".join(by_version.get(v.id, [])) or "-",
                v.status,
                v.created_at.replace("T", " ")[:16],
            )
        if self.versions:
            if self._placed_for != project.id:  # first look: on the version c/s/d would deploy
                self._placed_for = project.id
                row = self._row_of(self._default())
            table.move_cursor(row=min(row, len(self.versions) - 1))
        self._traffic(aliases)
        self._ledger()
        self._rules()
        self._scored()

    def _traffic(self, aliases: dict[str, registry.Alias]) -> None:
        def name(alias: str) -> str:
            info = aliases.get(alias)
            return f"v{registry.version_by_id(self.workspace, info.version_id).version}" if info else "-"

        if not self.versions:
            self.query_one("#traffic", Static).update(
                "No model registered: cockpit register RUN (from the best gated run)."
            )
            return
        canary = aliases.get("canary")
        share = (canary.percent or 0) if canary else 0
        bar = "█" * round((100 - share) / 5) + "░" * round(share / 5)
        fallback = rules.get_fallback(self.workspace, self.app.project)
        overrides = rules.active_overrides(self.workspace, self.app.project)
        self.query_one("#traffic", Static).update(
            f"production {name('production')} {100 - share:g}% {bar} {share:g}% canary "
            f"{name('canary')} · shadow {name('shadow')}\n"
            f"fallback: {fallback.text if fallback else 'none (set one!)'} · "
            f"{counted(len(overrides), 'override')}\n{self._service_line()}"
        )

    def _service_line(self) -> str:
        stats = recent_service_stats(self.workspace, self.app.project, hours=24)
        if not stats.requests:
            return "service: no requests in the last 24 h (cockpit serve)"
        share = 100 * stats.errors / stats.requests
        return (
            f"service 24 h: {counted(stats.requests, 'request')} · {counted(stats.errors, 'error')} "
            f"({share:.1f}%) · {stats.fallback_rows:,} fallback · p50 "
            f"{_ms(stats.p50_ms).removesuffix(' ms')} · p95 {_ms(stats.p95_ms)}"
        )

    def _ledger(self) -> None:
        self.query_one("#ledger-table", FitTable).set_rows(
            [
                (
                    [
                        r.at.replace("T", " ")[:16],
                        r.alias,
                        r.action,
                        f"v{r.version}" if r.version else "-",
                        f"v{r.previous_version}" if r.previous_version else "-",
                        f"{r.percent:g}" if r.percent else "",
                        r.user,
                        r.reason or "",
                    ],
                    str(r.id),
                )
                for r in registry.ledger(self.workspace, self.app.project, 100)
            ]
        )

    def _rules(self) -> None:
        fallback = rules.get_fallback(self.workspace, self.app.project)
        self.query_one("#fallback-text", Static).update(
            f"Fallback rule: {fallback.text} (set by {fallback.updated_by})"
            if fallback
            else "No fallback rule: cockpit fallback set 'COLUMN > X -> A else B'"
        )
        self.query_one("#overrides-table", FitTable).set_rows(
            [
                ([str(o.id), o.entity, o.prediction, o.reason, o.created_by or "", o.expires_at or "-"], None)
                for o in rules.active_overrides(self.workspace, self.app.project).values()
            ]
        )

    def _scored(self) -> None:
        latest = batch.list_batches(self.workspace, self.app.project, 1)
        if latest:
            self.start_work("Scoring", functools.partial(_load_scored, latest[0]))

    @guarded
    def on_scored(self, done: Scored) -> None:
        top, reasons = done.top, done.reasons
        rows = []
        for i, (_, row) in enumerate(top.iterrows()):
            why = ", ".join(f"{r.column}={r.value}" for r in reasons[i]) if reasons else ""
            score = "-" if row["score"] != row["score"] else f"{row['score']:.3f}"
            rows.append(([str(row["entity"]), score, str(row["prediction"]), str(row["route"]), why], None))
        self.query_one("#scored-table", FitTable).set_rows(rows)

    @guarded
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a table (it has the focus): the row in full."""
        self.action_show_row()

    @notify_errors
    def action_show_row(self) -> None:
        show_active_row(self, "Deployment")

    # -- actions ---------------------------------------------------------------
    # Every key that changes what production serves plans first (the core refuses what cannot
    # be done), shows what changes, from → to, and acts only on a typed reason.

    def _highlighted(self) -> registry.ModelVersion | None:
        if not self.versions:
            return None
        return self.versions[self.query_one("#versions-table", DataTable).cursor_row]

    def _default(self) -> registry.ModelVersion | None:
        """The newest active version that is not production: what c/s/d offer by default."""
        found = registry.deployable(self.workspace, self.app.project)
        return found[0] if found else None

    def _held(self, version: registry.ModelVersion) -> str:
        """'production', 'the canary'... what keeps a version from being offered."""
        if version.status != "active":
            return version.status
        names = [
            n
            for n, a in registry.aliases(self.workspace, self.app.project).items()
            if a.version_id == version.id
        ]
        serving = [n for n in ("production", "canary", "shadow") if n in names]
        return "production" if "production" in serving else f"the {serving[0]}" if serving else "active"

    def _row_of(self, version: registry.ModelVersion | None) -> int:
        ids = [v.id for v in self.versions]
        return ids.index(version.id) if version is not None and version.id in ids else 0

    def _deploy_target(self, strategy: str) -> tuple[registry.ModelVersion | None, str]:
        """The highlighted version if it can be deployed so, else the default; with a note
        when the highlighted one was passed over (production is never offered, nor the
        version that already holds the strategy's alias)."""
        highlighted = self._highlighted()
        offered = registry.deployable(self.workspace, self.app.project, strategy)
        if highlighted is not None and any(v.id == highlighted.id for v in offered):
            return highlighted, ""
        target = offered[0] if offered else None
        if highlighted is None or target is None:
            return target, ""
        return target, f"v{highlighted.version} is {self._held(highlighted)}: "

    def _nothing_to_deploy(self, strategy: str) -> str:
        """Why c/s/d offer no version: each active version and what it is already."""
        active = [v for v in reversed(self.versions) if v.status == "active"]
        if not active:
            return "No active version to deploy: register one first"
        said = ", ".join(f"v{v.version} is {self._held(v)}" for v in active)
        return f"No version can become {_AS[strategy]}: {said}; register another first"

    def _confirm(self, question: str, plan: registry.Plan, action: Callable[[str, Moves], str]) -> None:
        """Ask with the plan's moves; `action(reason, moves)` runs only on a typed reason, and
        the core refuses it if the moves differ by then (the aliases changed meanwhile). A
        version whose gate did not pass says so first: the reason typed is the override."""
        if not plan.moves:
            self.notify(f"Already so, nothing changed: {question.rstrip('?')}", severity="warning")
            return
        if plan.gate is not None:
            question = (
                f"{plan.gate.sentence()}; review says it is NOT READY. {question} "
                "The reason you type overrides the gate."
            )

        def confirmed(reason: str | None) -> None:
            if reason is not None:
                self._carry_out(action, reason, plan.moves)

        self.app.push_screen(ConfirmReason(question, changes=plan.moves), confirmed)

    @notify_errors
    def _carry_out(self, action: Callable[[str, Moves], str], reason: str, moves: Moves) -> None:
        try:
            self.notify(action(reason, moves))
        finally:  # refused or done: the screen shows the aliases as they are now
            self.refresh_data()

    @notify_errors
    def action_deploy(self, strategy: str) -> None:
        version, note = self._deploy_target(strategy)
        if version is None:
            self.notify(self._nothing_to_deploy(strategy), severity="warning")
            return
        ws, project, number = self.workspace, self.app.project, version.version

        def deployed(percent: float | None, reason: str, moves: Moves) -> str:
            override = reason if strategy == "blue-green" and _overridden(moves) else None
            plan = registry.deploy(
                ws, project, number, strategy, percent, reason, expect=moves, override=override
            )
            return f"{plan.target.label} deployed ({strategy}): " + summary(plan.moves)

        if strategy != "canary":
            plan = registry.plan_deploy(ws, project, number, strategy)
            self._confirm(
                f"{note}Deploy {version.label} as {strategy}?", plan, functools.partial(deployed, None)
            )
            return

        def percent_chosen(text: str | None) -> None:
            if text:
                self._canary_at(text, version, note, deployed)

        self.app.push_screen(
            PromptDialog(f"{note}Canary percent of entities for {version.label}", value="10"), percent_chosen
        )

    @notify_errors
    def _canary_at(
        self,
        text: str,
        version: registry.ModelVersion,
        note: str,
        deployed: Callable[[float | None, str, Moves], str],
    ) -> None:
        try:
            percent = float(text)
        except ValueError:
            self.notify("The percent is a number", severity="error")
            return
        plan = registry.plan_deploy(self.workspace, self.app.project, version.version, "canary", percent)
        self._confirm(
            f"{note}Start {version.label} as a {percent:g}% canary?",
            plan,
            functools.partial(deployed, percent),
        )

    @notify_errors
    def action_percent(self, step: float) -> None:
        ws, project = self.workspace, self.app.project
        canary = registry.aliases(ws, project).get("canary")
        if canary is None:
            self.notify("No canary is running", severity="warning")
            return
        percent = _stepped(canary.percent or 0, step)
        if percent is None:
            low, high = SHARE_LIMITS
            self.notify(
                f"The canary is at {canary.percent or 0:g}%: already at the limit "
                f"({high if step > 0 else low:g}%) for {'+' if step > 0 else '-'}; nothing changed",
                severity="warning",
            )
            return
        plan = registry.plan_canary_percent(ws, project, percent)

        def changed(reason: str, moves: Moves) -> str:
            return summary(registry.set_canary_percent(ws, project, percent, reason, expect=moves).moves)

        self._confirm(f"Canary {plan.target.label} at {percent:g}% of entities?", plan, changed)

    @notify_errors
    def action_promote(self) -> None:
        ws, project = self.workspace, self.app.project
        canary = registry.alias_version_id(ws, project, "canary")
        highlighted = self._highlighted()
        if canary is None and highlighted is None:
            self.notify("Nothing to promote", severity="warning")
            return
        ref = None if canary else highlighted.version  # type: ignore[union-attr]
        plan = registry.plan_promote(ws, project, ref)
        what = "the canary " if canary else ""

        def promoted(reason: str, moves: Moves) -> str:
            override = reason if _overridden(moves) else None
            return summary(registry.promote(ws, project, ref, reason, expect=moves, override=override).moves)

        self._confirm(f"Promote {what}{plan.target.label} to production?", plan, promoted)

    @notify_errors
    def action_rollback(self) -> None:
        ws, project = self.workspace, self.app.project
        blocked = registry.rollback_blocker(ws, project)
        if blocked is not None:
            self.notify(f"Nothing to roll back to: {blocked}", title="Rollback", severity="warning")
            return
        plan = registry.plan_rollback(ws, project)

        def rolled_back(reason: str, moves: Moves) -> str:
            return summary(registry.rollback(ws, project, reason, expect=moves).moves)

        self._confirm(f"Roll production back to {plan.target.label}?", plan, rolled_back)


@dataclass
class Scored(Message):
    """The latest batch's 20 highest scores (a frame) with each row's top reasons."""

    batch: dict
    top: pd.DataFrame
    reasons: list[list[Reason]]


def _load_scored(found: dict, job: Job) -> Scored:
    from cockpit.deployment.reasons import top_reasons

    ws = job.workspace
    inputs, outputs = batch.load_batch(ws, found)
    production = registry.get_version(ws, job.project, "production")
    pipeline = ws.artifacts.load(production.artifact_sha256)
    order = outputs["score"].fillna(-1).sort_values(ascending=False).index[:20]
    columns = production.feature_columns
    reasons = []
    if job.project.task == "binary" and hasattr(pipeline, "predict_proba"):
        from cockpit.evaluation.metrics import positive_label

        reasons = top_reasons(
            pipeline, inputs.loc[order], inputs, columns, positive_label(list(pipeline.classes_))
        )
    return Scored(found, outputs.loc[order], reasons)


_AS = {"canary": "the canary", "shadow": "the shadow", "blue-green": "production"}


def _overridden(moves: Moves) -> bool:
    """The confirmed moves override a gate (the reason typed is the override)."""
    return any(m.what == "gate" for m in moves)


SHARE_LIMITS = (5.0, 95.0)  # what + and - step the canary's share within (the CLI takes any 0–100)


def _stepped(share: float, step: float) -> float | None:
    """The share one step on, held at the limit it moves toward; None when the share is at
    or past that limit already (a 97% canary is never moved down by +, nor a 3% one up by -)."""
    low, high = SHARE_LIMITS
    if (step > 0 and share >= high) or (step < 0 and share <= low):
        return None
    return min(high, share + step) if step > 0 else max(low, share + step)


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
