"""GET /metrics: the prediction service in the Prometheus text format (prometheus_client).

Each service has its own registry (two services in one process never share counters):

- `cockpit_requests_total` / `cockpit_request_latency_seconds` (histogram): answered
  requests by project, model version and route (production, canary, override, fallback,
  bundle; `mixed` when a request's rows took several routes or versions), 4xx and 5xx
  answers included, with their `status`;
- `cockpit_request_errors_total`: answers that were not 200, by status (a 422 for a bad
  row, a 503 when no model can answer, a 500), apart from
- `cockpit_client_aborts_total` (the client left before its answer, or sent its body too
  slowly) and `cockpit_auth_failures_total` (refused for the token), which are not errors;
- `cockpit_rows_scored_total`: rows answered by project, version and route, shadow rows
  too (route `shadow`: logged, never answered), so its routes match the request log's;
- `cockpit_model_load_failures_total`: a routed model that could not be loaded when the
  routing was built or rebuilt, by alias and version.
"""

from __future__ import annotations

from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    def __init__(self, project: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.project = project
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["project", "version", "route"]
        self.requests = Counter(
            "cockpit_requests", "Requests answered", [*labels, "status"], registry=self.registry
        )
        self.latency = Histogram(
            "cockpit_request_latency_seconds",
            "Time to answer a request, from its arrival to its answer",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "cockpit_request_errors",
            "Answers that were not 200",
            ["project", "status"],
            registry=self.registry,
        )
        self.aborts = Counter(
            "cockpit_client_aborts",
            "Requests their client left before the answer (or sent too slowly)",
            ["project"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "cockpit_auth_failures",
            "Requests refused for a missing or wrong token",
            ["project"],
            registry=self.registry,
        )
        self.rows = Counter(
            "cockpit_rows_scored",
            "Rows answered (shadow: scored, never answered)",
            labels,
            registry=self.registry,
        )
        self.load_failures = Counter(
            "cockpit_model_load_failures",
            "Routed models that could not be loaded",
            ["project", "alias", "version"],
            registry=self.registry,
        )
        for counter in (self.aborts, self.auth_failures):  # present at 0 from the start
            counter.labels(project)

    def answered(self, status: int, seconds: float, rows: list[dict[str, Any]]) -> None:
        """One answered request and its log rows (route, model_version, shadow_version)."""
        routes = {row.get("route") for row in rows if row.get("route")}
        versions = {row.get("model_version") for row in rows if row.get("model_version") is not None}
        route = routes.pop() if len(routes) == 1 else ("mixed" if routes else "none")
        version = str(versions.pop()) if len(versions) == 1 else ("mixed" if versions else "none")
        self.requests.labels(self.project, version, route, str(status)).inc()
        self.latency.labels(self.project, version, route).observe(seconds)
        if status != 200:
            self.errors.labels(self.project, str(status)).inc()
            return
        for row in rows:
            if row.get("route"):
                self.rows.labels(self.project, _version(row.get("model_version")), row["route"]).inc()
            if row.get("shadow_version") is not None:
                self.rows.labels(self.project, _version(row["shadow_version"]), "shadow").inc()

    def aborted(self) -> None:
        self.aborts.labels(self.project).inc()

    def refused(self) -> None:
        self.auth_failures.labels(self.project).inc()

    def load_failed(self, alias: str, version: int) -> None:
        self.load_failures.labels(self.project, alias, str(version)).inc()

    def scrape(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _version(value: Any) -> str:
    return "none" if value is None else str(value)
