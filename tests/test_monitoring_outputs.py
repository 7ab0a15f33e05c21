"""Monitoring beside the team's tools (issue 30).

Alerts reach people: a rule's webhook, a local HTTP server on 127.0.0.1 here, is posted
Slack-compatible JSON once when its alert fires and once when it resolves, after the alert's
transaction committed; a failing endpoint is retried, and its failure recorded and told,
never raised.

`monitor check --prom-textfile`: the gauges node_exporter's textfile collector reads, parsed
back by prometheus_client's own parser, equal `monitor check --json`'s figures.

Breast cancer (scikit-learn's copy): 200 rows train the production model, 60 arrive as a
batch in March 2026 and their labels later. The rule `freshness_days > 10` fires when the
check is judged in 2027 (--now) and resolves when judged at the batch itself."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.monitoring_helpers import build, counts, run

LATE = "2027-01-01"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    from sklearn.datasets import load_breast_cancer

    root = tmp_path_factory.mktemp("webhooks") / "ws"
    data = load_breast_cancer(as_frame=True).frame.sample(frac=1, random_state=3)
    build(root, "binary", "target", data.head(200))
    data.iloc[200:260].drop(columns=["target"]).to_csv(root / "march.csv", index=False)
    data.iloc[200:260].to_csv(root / "labels.csv", index=False)  # no id column: joined by the features
    assert run(root, "monitor", "ingest", str(root / "march.csv"), "--at", "2026-03-15").exit_code == 0
    assert run(root, "monitor", "labels", str(root / "labels.csv")).exit_code == 0
    return root


@pytest.fixture
def root(built: Path, private_copy) -> Path:
    return private_copy(built)


class Hook:
    """What the server was posted, and whether the store's write lock was free meanwhile."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.posts: list[tuple[str, dict]] = []
        self.lock_free: list[bool] = []


@pytest.fixture
def hook(root: Path) -> Iterator[tuple[Hook, str]]:
    """A server on 127.0.0.1: /ok answers 200, /down 500; (what it saw, its base URL)."""
    seen = Hook(root / ".cockpit" / "cockpit.db")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.posts.append((self.path, body))
            seen.lock_free.append(_write_lock_free(seen.db))
            self.send_response(200 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _write_lock_free(db: Path) -> bool:
    """Can another connection take the write lock now? (Not while a transaction holds it.)"""
    conn = sqlite3.connect(db, timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def notifications(root: Path) -> list[dict]:
    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM notifications ORDER BY id")]
    finally:
        db.close()


def add_rule(root: Path, url: str) -> None:
    added = run(
        root, "monitor", "rules", "--add", "freshness_days > 10", "--severity", "critical", "--notify", url
    )
    assert added.exit_code == 0, added.output
    assert f"{url.split('/')[0]}//{url.split('/')[2]}/…" in added.stdout  # the path is not shown


def test_posted_once_when_it_fires_and_once_when_it_resolves(root: Path, hook) -> None:
    seen, base = hook
    add_rule(root, f"{base}/ok")
    assert run(root, "monitor", "check", "--now", LATE).exit_code == 1
    assert run(root, "monitor", "check", "--now", LATE).exit_code == 1  # still firing: no second post
    assert len(seen.posts) == 1
    path, body = seen.posts[0]
    assert path == "/ok" and list(body) == ["text"]
    assert body["text"].startswith("[critical] p: alert ") and " fired: freshness_days " in body["text"]
    fresh = ("monitor", "check", "--now", "2026-03-20")  # judged days after the batch: fresh again
    assert run(root, *fresh).exit_code in (0, 1)
    assert run(root, *fresh).exit_code in (0, 1)
    assert len(seen.posts) == 2
    assert " resolved: freshness_days > 10 no longer holds (fired " in seen.posts[1][1]["text"]
    assert seen.lock_free == [True, True]  # posted after the alert's transaction committed
    sent = notifications(root)
    assert [(n["event"], n["status"], n["attempts"], n["error"]) for n in sent] == [
        ("fired", "delivered", 1, None),
        ("resolved", "delivered", 1, None),
    ]
    assert sent[0]["alert_id"] == sent[1]["alert_id"]


def test_a_failing_endpoint_is_retried_and_the_failure_recorded(root: Path, hook, monkeypatch) -> None:
    from cockpit.monitoring import notify

    monkeypatch.setattr(notify, "BACKOFF_S", 0.0)
    seen, base = hook
    add_rule(root, f"{base}/down")
    checked = run(root, "monitor", "check", "--now", LATE)
    assert checked.exit_code == 1  # the alert fires and is recorded all the same
    assert [p for p, _ in seen.posts] == ["/down"] * notify.ATTEMPTS
    (sent,) = notifications(root)
    assert (sent["event"], sent["status"], sent["attempts"]) == ("fired", "failed", notify.ATTEMPTS)
    assert sent["error"] == "HTTP 500 Internal Server Error"
    assert (
        f"alert {sent['alert_id']} (fired) was not posted to its webhook after {notify.ATTEMPTS} "
        "attempt(s): HTTP 500" in checked.stderr
    )
    assert run(root, "monitor", "check", "--now", LATE).exit_code == 1
    assert len(seen.posts) == notify.ATTEMPTS  # a failed post is not sent again


def test_a_webhook_that_is_not_http_is_refused(root: Path) -> None:
    for url in ("file:///etc/passwd", "hooks.example.com/x", "http://"):
        said = run(root, "monitor", "rules", "--add", "rows < 1", "--notify", url)
        assert said.exit_code == 2 and "a webhook is an http:// or https:// URL with a host" in said.stderr
    alone = run(root, "monitor", "rules", "--notify", "http://127.0.0.1/x")
    assert alone.exit_code == 2 and "give the rule with --add" in alone.stderr


def test_the_textfile_holds_the_checks_figures(root: Path, hook) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    add_rule(root, f"{hook[1]}/ok")
    out = root / "textfile" / "cockpit.prom"
    out.parent.mkdir()
    checked = run(root, "monitor", "check", "--now", LATE, "--json", "--prom-textfile", str(out))
    assert checked.exit_code == 1, checked.stderr
    shown = json.loads(checked.stdout)
    assert shown["status"] == "checked"
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out.read_text())
        for s in family.samples
    }
    for figure, name in (
        ("max_psi", "max_psi"),
        ("prediction_psi", "prediction_psi"),
        ("missing_rate", "missing_rate"),
        ("rows", "rows"),
        ("labelled", "labelled_rows"),
        ("metric_value", "metric_value"),
    ):
        newest = [w for w in shown["windows"] if w.get(figure) is not None][-1]  # as a rule reads it
        at = [("project", "p"), ("window", newest["window"])]
        at += [("metric", newest["metric"])] if figure == "metric_value" else []
        assert samples[(f"cockpit_monitor_{name}", tuple(sorted(at)))] == pytest.approx(newest[figure]), (
            figure
        )
    assert shown["windows"][-1]["labelled"] == 60  # decay: the metric on the labelled rows
    assert samples[("cockpit_monitor_freshness_days", (("project", "p"),))] == shown["freshness_days"]
    assert shown["freshness_days"] > 10
    for severity in ("info", "warning", "critical"):
        count = sum(a["severity"] == severity for a in shown["firing"])
        labels = (("project", "p"), ("severity", severity))
        assert samples[("cockpit_monitor_alerts_firing", labels)] == count
    for alert in shown["firing"]:
        labels = (
            ("alert", str(alert["id"])),
            ("metric", alert["metric"]),
            ("project", "p"),
            ("severity", alert["severity"]),
            ("status", alert["status"]),
        )
        assert samples[("cockpit_monitor_alert", labels)] == 1
    assert any(name == "cockpit_monitor_feature_psi" for name, _ in samples)
    assert [p.name for p in out.parent.iterdir()] == ["cockpit.prom"]  # no temporary file left


def test_a_textfile_the_collector_would_not_read_is_refused_first(root: Path) -> None:
    before = counts(root)  # nothing is judged or written: no window, alert or event
    for path, said in (
        (root / "cockpit.txt", "reads only *.prom files"),
        (root / "nowhere" / "cockpit.prom", "no folder"),
    ):
        refused = run(root, "monitor", "check", "--prom-textfile", str(path))
        assert refused.exit_code == 2 and said in refused.stderr
        assert not path.exists()
    assert counts(root) == before


def test_a_post_claimed_by_a_check_that_died_is_sent_later(root: Path, hook, monkeypatch) -> None:
    """Killed while posting: the claim holds for ten minutes (no second post meanwhile), then
    the next check sends it."""
    from datetime import timedelta

    from cockpit.monitoring import notify
    from storage import clock

    seen, base = hook
    add_rule(root, f"{base}/ok")

    def killed(url, payload):
        raise SystemExit(137)  # the process ends in the middle of the post

    with monkeypatch.context() as patched:
        patched.setattr(notify, "post", killed)
        assert run(root, "monitor", "check", "--now", LATE).exit_code == 137
    assert [n["status"] for n in notifications(root)] == ["sending"]
    assert run(root, "monitor", "check", "--now", LATE).exit_code == 1
    assert seen.posts == []
    later = clock.now() + notify.STALE_CLAIM + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert run(root, "monitor", "check", "--now", LATE).exit_code == 1
    assert len(seen.posts) == 1 and " fired: " in seen.posts[0][1]["text"]
    assert [n["status"] for n in notifications(root)] == ["delivered"]
