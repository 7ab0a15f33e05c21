"""Which open alerts still need someone: one reading of the store that the overview, the
review and the CLI share, so none of them counts an acknowledged alert as firing."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.monitoring.alerts import Alert, open_alerts
from cockpit.projects import Project
from cockpit.workspace import Workspace


@dataclass(frozen=True, slots=True)
class OpenAlerts:
    """The project's open alerts: `firing` (nobody has acknowledged them yet) and
    `acknowledged` (someone said, with a comment, what is being done)."""

    firing: tuple[Alert, ...]
    acknowledged: tuple[Alert, ...]

    @property
    def critical(self) -> tuple[Alert, ...]:
        """The firing alerts of critical severity: they hold a serving model back."""
        return tuple(a for a in self.firing if a.severity == "critical")

    @property
    def metrics(self) -> list[str]:
        """The metrics of the firing alerts, each once, sorted."""
        return sorted({a.metric for a in self.firing})


def alert_state(ws: Workspace, project: Project) -> OpenAlerts:
    """The open alerts of a project, split by whether someone has acknowledged them."""
    found = open_alerts(ws, project)
    return OpenAlerts(
        tuple(a for a in found if a.status == "firing"),
        tuple(a for a in found if a.status != "firing"),
    )
