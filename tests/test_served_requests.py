"""A version's service traffic in the review counts requests, not their rows (a request may
carry many rows), and survives the request log's retention (`serve --keep-days`): each day
retention removes keeps what each version answered on it."""

from __future__ import annotations

from cockpit.deployment.serving_log import prune_request_log
from cockpit.monitoring.served import served
from cockpit.projects import resolve_project
from cockpit.workspace import Workspace


def test_requests_are_counted_once_each_and_kept_past_retention(demo_path) -> None:
    with Workspace.open(demo_path) as ws:
        project = resolve_project(ws, "learner-support")
        logged = ws.store.rows(
            "SELECT model_version, count(DISTINCT request_id) AS requests, count(*) AS rows "
            "FROM requests WHERE project_id = ? AND model_version IS NOT NULL GROUP BY model_version",
            [project.id],
        )
        before = {v: served(ws, project, v) for v in (1, 2, 3)}
        assert [(r["model_version"], r["requests"], r["rows"]) for r in logged] == [(1, 33, 95), (2, 14, 26)]
        assert [(before[v].requests, before[v].request_rows) for v in (1, 2, 3)] == [
            (33, 95),
            (14, 26),
            (0, 0),
        ]

        removed = prune_request_log(ws, project, keep_days=1)  # the demo's requests are months old
        after = {v: served(ws, project, v) for v in (1, 2, 3)}
        assert removed == 122 and not ws.store.scalar("SELECT count(*) FROM requests")
    assert after == before  # requests, rows, windows and the newest moment alike


def test_a_day_pruned_twice_adds_up_what_each_version_answered() -> None:
    import pandas as pd

    from cockpit.deployment.serving_log import log_figures, merge_figures, version_figures

    def figures(rows: list[tuple]) -> dict:
        frame = pd.DataFrame(rows, columns=["at", "request_id", "model_version"]).assign(
            status=200, route="production", latency_ms=3.0, score=0.5, warnings=None
        )
        return {**log_figures(frame), "versions": version_figures(frame)}

    morning = figures(
        [("2026-09-01T08:00", "a", 1), ("2026-09-01T08:00", "a", 1), ("2026-09-01T09:00", "b", 2)]
    )
    evening = figures([("2026-09-01T20:00", "c", 1), ("2026-09-01T21:00", "d", None)])
    assert merge_figures(morning, evening)["versions"] == {
        "1": {"requests": 2, "rows": 3, "last": "2026-09-01T20:00"},
        "2": {"requests": 1, "rows": 1, "last": "2026-09-01T09:00"},
    }
