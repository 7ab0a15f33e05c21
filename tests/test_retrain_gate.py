"""A retrained challenger that beats production is deployed only when it passes its gate;
otherwise it is a candidate, nothing is deployed and an alert says why. An override (a
person's reason) deploys it anyway and the ledger keeps who, why and the failed rules; the
cron path (`--if-due`) follows the same rule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cockpit.cli import cli
from cockpit.deployment import registry
from cockpit.errors import CockpitError
from cockpit.projects import get_project
from cockpit.retraining import cycle, policy, rollout
from cockpit.workspace import Workspace
from tests.test_retraining import _workspace, month

FAILED = "target, baseline, segments"  # the mixed-relation challenger, judged on x's quartiles


@pytest.fixture(scope="module")
def fails_its_gate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three months where the relation flipped: the challenger wins the newest month, but on
    its own test split (reference and new rows mixed) it is no better than guessing."""
    folder = tmp_path_factory.mktemp("fails")
    ws, _ = _workspace(folder, [month(800, n, shifted=True) for n in (1, 2, 3)])
    ws.close()
    return folder


@pytest.fixture(scope="module")
def passes_its_gate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same flip with more new rows and no segment columns: the challenger passes."""
    folder = tmp_path_factory.mktemp("passes")
    ws, _ = _workspace(folder, [month(1500, n, shifted=True) for n in (1, 2, 3)], segments=())
    ws.close()
    return folder


def _copy(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "w"))


def _open(folder: Path):
    ws = Workspace(folder / ".cockpit")
    return ws, get_project(ws, "svc")


def _serving(ws, project) -> dict[str, tuple[int, float | None]]:
    """alias -> (version number, percent), candidate included."""
    return {
        name: (registry.version_by_id(ws, a.version_id).version, a.percent)
        for name, a in registry.aliases(ws, project).items()
    }


def _cli(folder: Path, *args: str):
    return CliRunner().invoke(cli, ["--workspace", str(folder), *args], catch_exceptions=False)


def test_a_challenger_that_passes_its_gate_starts_as_the_triggers_say(passes_its_gate, tmp_path) -> None:
    ws, project = _open(_copy(passes_its_gate, tmp_path))
    result = cycle.retrain(ws, project)
    assert result.decision == rollout.DEPLOYED
    assert _serving(ws, project) == {"production": (1, None), "canary": (2, 10.0)}  # no longer a candidate
    version = registry.get_version(ws, project, 2)
    assert version.gate_passed and version.override_reason is None
    assert "gate passed against v1" in result.steps
    ws.close()


def test_a_challenger_that_fails_its_gate_is_a_candidate_and_nothing_is_deployed(
    fails_its_gate, tmp_path
) -> None:
    ws, project = _open(_copy(fails_its_gate, tmp_path))
    before = registry.ledger(ws, project)
    result = cycle.retrain(ws, project)
    assert result.decision == rollout.CANDIDATE
    assert result.challenger_score > result.champion_score  # it did beat production
    assert _serving(ws, project) == {"production": (1, None), "candidate": (2, None)}
    assert [e.alias for e in registry.ledger(ws, project)[: -len(before)]] == ["candidate"]
    alert = ws.store.one("SELECT status, message FROM alerts")
    assert alert["status"] == "firing"
    assert f"failed its gate ({FAILED})" in alert["message"]
    assert "nothing deployed" in alert["message"] and rollout.DEPLOY_ANYWAY in alert["message"]
    assert f"gate failed: {FAILED}" in result.steps
    # its own alert does not make the next retrain due: cron would only repeat it
    assert not any(r.startswith("alert") for r in policy.due(ws, project))
    waiting = rollout.pending(ws, project)
    assert waiting is not None and (waiting.version, waiting.failed) == (2, FAILED.split(", "))
    ws.close()


def test_deploying_the_candidate_anyway_records_the_override_in_the_ledger(fails_its_gate, tmp_path) -> None:
    ws, project = _open(_copy(fails_its_gate, tmp_path))
    retrained = cycle.retrain(ws, project)
    with pytest.raises(CockpitError, match="--override takes a reason"):
        rollout.deploy_anyway(ws, project, "   ")
    assert "canary" not in registry.aliases(ws, project)
    done = rollout.deploy_anyway(ws, project, "mentors watch the weak quartile by hand")
    assert [m.line() for m in done.moves()[:2]] == ["canary: none → v2 at 10%", "candidate: v2 → none"]
    assert _serving(ws, project) == {"production": (1, None), "canary": (2, 10.0)}  # no longer a candidate
    entry = registry.ledger(ws, project)[0]
    assert (entry.alias, entry.version, entry.user) == ("canary", 2, "tester")
    assert entry.reason == (
        f"override by tester: mentors watch the weak quartile by hand (gate failed: {FAILED})"
    )
    recorded = cycle.list_retrains(ws, project)[0]
    assert recorded.id == retrained.id and recorded.decision == rollout.OVERRIDDEN
    assert (
        recorded.steps[-1] == "deployed anyway as canary by tester: mentors watch the weak quartile by hand"
    )
    alert = ws.store.one("SELECT status, comment FROM alerts")  # "nothing deployed" no more
    assert alert == {"status": "acknowledged", "comment": recorded.steps[-1]}
    assert rollout.pending(ws, project) is None
    with pytest.raises(CockpitError, match="no retrained candidate waits"):
        rollout.deploy_anyway(ws, project, "again")
    ws.close()


def test_cron_if_due_follows_the_gate_rule_and_override_deploys(fails_its_gate, tmp_path) -> None:
    folder = _copy(fails_its_gate, tmp_path)
    cron = _cli(folder, "retrain", "--if-due")
    assert cron.exit_code == 1, cron.output
    assert "retrain: candidate: gate failed" in cron.output
    assert "why: data: 2400 new labelled rows" in cron.output
    assert f"to deploy it anyway: {rollout.DEPLOY_ANYWAY}" in cron.output
    ws, project = _open(folder)
    assert _serving(ws, project) == {"production": (1, None), "candidate": (2, None)}
    ws.close()
    forced = _cli(folder, "retrain", "--override", "month 3 is what matters", "--json")
    assert forced.exit_code == 0, forced.output
    shown = json.loads(forced.output)
    assert shown["decision"] == rollout.OVERRIDDEN
    ws, project = _open(folder)
    new = registry.version_by_id(ws, shown["version_id"])
    assert new.version == 3 and new.override_reason == "month 3 is what matters"
    assert _serving(ws, project)["canary"] == (3, 10.0)
    entry = registry.ledger(ws, project)[0]
    assert (entry.alias, entry.user, entry.action) == ("canary", "tester", "deploy")
    assert entry.reason == f"override by tester: month 3 is what matters (gate failed: {FAILED})"
    ws.close()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("retrain", "--override", "  "), "--override takes a reason"),
        (("retrain", "--if-due", "--override", "why"), "not a standing rule for scheduled runs"),
        (("retrain", "--override", "ok", "history"), "--override belong(s) to `cockpit retrain` itself"),
        (("retrain", "--if-due", "triggers", "show"), "--if-due belong(s) to `cockpit retrain` itself"),
        (("retrain", "deploy"), "Missing option '--override'"),
        (("retrain", "deploy", "--override", " "), "--override takes a reason"),
        (
            ("retrain", "deploy", "--override", "why"),
            "no retrained candidate waits for an override (no retrain yet)",
        ),
    ],
)
def test_bad_retrain_combinations_exit_2_and_change_nothing(fails_its_gate, tmp_path, args, said) -> None:
    folder = _copy(fails_its_gate, tmp_path)
    tables = ("runs", "model_versions", "ledger", "retrains", "alerts", "dataset_versions")
    ws, _ = _open(folder)
    counts = {t: ws.store.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    ws.close()
    refused = _cli(folder, *args)
    assert refused.exit_code == 2
    assert said in refused.output
    ws, _ = _open(folder)
    assert counts == {t: ws.store.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    ws.close()


def _governed(ws) -> dict[str, list[dict]]:
    """What a retrain's outcome writes: versions, aliases, ledger, alerts, retrains, events."""
    tables = ("model_versions", "aliases", "ledger", "alerts", "alert_rules", "retrains")
    written = {table: ws.store.rows(f"SELECT * FROM {table} ORDER BY rowid") for table in tables}
    written["events"] = ws.store.rows(
        "SELECT * FROM events WHERE stage IN ('deployment', 'retrain', 'monitoring')"
    )
    return written


@pytest.mark.parametrize("built", ["fails_its_gate", "passes_its_gate"])
def test_a_retrain_that_fails_at_its_last_write_leaves_nothing_of_its_outcome(
    built, request, tmp_path, monkeypatch
) -> None:
    """Registering the challenger, deploying it (or alerting) and the retrain's row are one
    transaction: a failure at the last write leaves no challenger without its retrain row."""
    from storage import faults

    ws, project = _open(_copy(request.getfixturevalue(built), tmp_path))
    before = _governed(ws)

    def fail(name: str) -> None:
        if name == "retrain:after_record":
            raise OSError("disk full")

    monkeypatch.setattr(faults, "point", fail)
    with pytest.raises(OSError, match="disk full"):
        cycle.retrain(ws, project)
    assert _governed(ws) == before
    ws.close()
