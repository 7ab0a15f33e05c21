"""Stage 6 screen: versions and aliases, the traffic split, the ledger, the fallback and
overrides, and the scored entities with their top reasons."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from cockpit.deployment import batch, registry, rules
from cockpit.deployment.serving_log import recent_service_stats
from cockpit.errors import CockpitError
from cockpit.workspace import Workspace
from screens.base import StageScreen
from screens.confirm import ConfirmReason
from screens.dialogs_input import PromptDialog
from screens.guard import guarded, notify_errors
from screens.keys import Key, bindings
from screens.work import Job

if TYPE_CHECKING:
    import pandas as pd

    from cockpit.deployment.reasons import Reason

DEPLOYMENT_KEYS = [
    Key(
        "deployment.promote",
        "P",
        "promote",
        "Promote",
        cli="promote",
        help="Make the canary (or the highlighted version) production",
    ),
    Key(
        "deployment.canary",
        "c",
        "deploy('canary')",
        "Canary",
        cli="deploy --strategy canary",
        help="Start the highlighted version as a canary on a percent of entities",
    ),
    Key(
        "deployment.shadow",
        "s",
        "deploy('shadow')",
        "Shadow",
        show=False,
        cli="deploy --strategy shadow",
        help="Score the highlighted version in shadow (logged only)",
    ),
    Key(
        "deployment.bluegreen",
        "d",
        "deploy('blue-green')",
        "Blue-green",
        show=False,
        cli="deploy --strategy blue-green",
        help="Switch production to the highlighted version",
    ),
    Key(
        "deployment.more",
        "plus",
        "percent(5)",
        "Canary +5%",
        show=False,
        cli="promote --percent",
        help="Give the canary 5 points more traffic",
    ),
    Key(
        "deployment.less",
        "minus",
        "percent(-5)",
        "Canary -5%",
        show=False,
        cli="promote --percent",
        help="Give the canary 5 points less traffic",
    ),
    Key(
        "deployment.rollback",
        "b",
        "rollback",
        "Rollback",
        cli="rollback",
        help="Production back to the version before it (asks for a reason)",
    ),
    Key("deployment.next_tab", "right_square_bracket", "next_tab(1)", "Tabs", help="Next tab"),
]


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

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="traffic")
        with TabbedContent(initial="versions"):
            with TabPane("Versions", id="versions"):
                yield DataTable(id="versions-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Ledger", id="ledger"):
                yield DataTable(id="ledger-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Scored", id="scored"):
                yield DataTable(id="scored-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Fallback & overrides", id="rules"):
                yield Static(id="fallback-text")
                yield DataTable(id="overrides-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#versions-table", DataTable).add_columns(
            "Version", "Run", "Gate", "Aliases", "Status", "Registered"
        )
        self.query_one("#ledger-table", DataTable).add_columns(
            "When", "Alias", "Action", "Version", "From", "%", "Who", "Why"
        )
        self.query_one("#scored-table", DataTable).add_columns(
            "Entity", "Score", "Answer", "Route", "Top reasons"
        )
        self.query_one("#overrides-table", DataTable).add_columns(
            "Id", "Entity", "Answer", "Why", "By", "Expires"
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
                "pass" if v.gate_passed else "override",
                ", ".join(by_version.get(v.id, [])) or "-",
                v.status,
                v.created_at.replace("T", " ")[:16],
            )
        if self.versions:
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
            f"{len(overrides)} override(s)\n{self._service_line()}"
        )

    def _service_line(self) -> str:
        stats = recent_service_stats(self.workspace, self.app.project, hours=24)
        if not stats.requests:
            return "service: no requests in the last 24 h (cockpit serve)"
        share = 100 * stats.errors / stats.requests
        return (
            f"service 24 h: {stats.requests:,} requests · {stats.errors:,} errors "
            f"({share:.1f}%) · {stats.fallback_rows:,} fallback · p50 "
            f"{_ms(stats.p50_ms)} · p95 {_ms(stats.p95_ms)}"
        )

    def _ledger(self) -> None:
        table = self.query_one("#ledger-table", DataTable)
        table.clear()
        for r in registry.ledger(self.workspace, self.app.project, 100):
            table.add_row(
                r.at.replace("T", " ")[:16],
                r.alias,
                r.action,
                f"v{r.version}" if r.version else "-",
                f"v{r.previous_version}" if r.previous_version else "-",
                f"{r.percent:g}" if r.percent else "",
                r.user[:8],
                (r.reason or "")[:40],
            )

    def _rules(self) -> None:
        fallback = rules.get_fallback(self.workspace, self.app.project)
        self.query_one("#fallback-text", Static).update(
            f"Fallback rule: {fallback.text} (set by {fallback.updated_by})"
            if fallback
            else "No fallback rule: cockpit fallback set 'COLUMN > X -> A else B'"
        )
        table = self.query_one("#overrides-table", DataTable)
        table.clear()
        for o in rules.active_overrides(self.workspace, self.app.project).values():
            table.add_row(
                str(o.id),
                o.entity,
                o.prediction,
                o.reason[:30],
                (o.created_by or "")[:8],
                o.expires_at or "-",
            )

    def _scored(self) -> None:
        latest = batch.list_batches(self.workspace, self.app.project, 1)
        if latest:
            self.start_work("Scoring", functools.partial(_load_scored, latest[0]))

    @guarded
    def on_scored(self, done: Scored) -> None:
        top, reasons = done.top, done.reasons
        table = self.query_one("#scored-table", DataTable)
        table.clear()
        for i, (_, row) in enumerate(top.iterrows()):
            why = ", ".join(f"{r.column}={r.value}" for r in reasons[i]) if reasons else ""
            table.add_row(
                str(row["entity"]),
                "-" if row["score"] != row["score"] else f"{row['score']:.3f}",
                str(row["prediction"]),
                str(row["route"]),
                why[:60],
            )

    # -- actions ---------------------------------------------------------------

    def _highlighted(self) -> registry.ModelVersion | None:
        if not self.versions:
            return None
        return self.versions[self.query_one("#versions-table", DataTable).cursor_row]

    def _act(self, question: str, action) -> None:
        def confirmed(reason: str | None) -> None:
            if reason is None:
                return
            try:
                message = action(reason)
            except CockpitError as exc:
                self.notify(str(exc), severity="error", timeout=8)
                return
            self.notify(message)
            self.refresh_data()

        self.app.push_screen(ConfirmReason(question), confirmed)

    def action_deploy(self, strategy: str) -> None:
        version = self._highlighted()
        if version is None:
            self.notify("No model version to deploy", severity="warning")
            return
        ws, project = self.workspace, self.app.project
        if strategy != "canary":
            self._act(
                f"Deploy {version.label} as {strategy}?",
                lambda reason: (
                    registry.deploy(ws, project, version.version, strategy, reason=reason),
                    f"{version.label} deployed ({strategy})",
                )[1],
            )
            return

        def percent_chosen(text: str | None) -> None:
            if text:
                try:
                    percent = float(text)
                except ValueError:
                    self.notify("The percent is a number", severity="error")
                    return
                self._act(
                    f"Start {version.label} as a {percent:g}% canary?",
                    lambda reason: (
                        registry.deploy(ws, project, version.version, "canary", percent, reason),
                        f"canary {version.label} at {percent:g}%",
                    )[1],
                )

        self.app.push_screen(PromptDialog("Canary percent of entities", value="10"), percent_chosen)

    @notify_errors
    def action_percent(self, step: float) -> None:
        canary = registry.aliases(self.workspace, self.app.project).get("canary")
        if canary is None:
            self.notify("No canary is running", severity="warning")
            return
        percent = min(95.0, max(5.0, (canary.percent or 0) + step))
        registry.set_canary_percent(
            self.workspace, self.app.project, percent, f"canary to {percent:g}% from the deployment screen"
        )
        self.notify(f"Canary at {percent:g}%")
        self.refresh_data()

    def action_promote(self) -> None:
        ws, project = self.workspace, self.app.project
        canary = registry.alias_version_id(ws, project, "canary")
        target = None if canary else self._highlighted()
        label = "the canary" if canary else (target.label if target else None)
        if label is None:
            self.notify("Nothing to promote", severity="warning")
            return
        version = None if canary else target.version

        def promote(reason: str) -> str:
            return f"production: {registry.promote(ws, project, version, reason).label}"

        self._act(f"Promote {label} to production?", promote)

    def action_rollback(self) -> None:
        ws, project = self.workspace, self.app.project
        self._act(
            "Roll production back to the previous version?",
            lambda reason: f"production: {registry.rollback(ws, project, reason).label}",
        )


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


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
