"""What production may become and what a deploy leaves (issue 23, governance; tour items 7,
14 and 15): a version whose gate failed (or never ran) becomes production only with
--override REASON, kept in the ledger; a version that serves is no longer a candidate, by
the CLI as by retraining; c/s offer no version that already holds the alias; a rollback
with nowhere to go says so; a 422 names every offending field. Real data: breast cancer."""

from __future__ import annotations

import json

import pytest

from cockpit import problem
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry
from cockpit.deployment.serving_input import invalid
from cockpit.deployment.standing import left_behind
from cockpit.errors import CockpitError
from cockpit.evaluation.gate import gate
from cockpit.projects import create_project
from cockpit.training import runs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """v1 passed its gate, v2 failed it (target), v3 was never gated; v1 in production."""
    from sklearn.datasets import load_breast_cancer

    from cockpit.workspace import Workspace

    folder = tmp_path_factory.mktemp("promotion")
    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    data[[c for c in data.columns if c.endswith(" error")] + ["benign"]].to_csv(
        folder / "bc.csv", index=False
    )
    ws, _ = Workspace.init(folder)
    with ws:
        project = create_project(ws, "bc", "binary", "benign")
        datasets.import_dataset(ws, project, folder / "bc.csv")
        make_split(ws, project, "stratified", seed=0)
        problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.6))
        good = runs.train(ws, project, "logistic_regression")
        assert gate(ws, project, good).passed
        other = runs.train(ws, project, "decision_tree", ["max_depth=2"])
        problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.9999))
        failed = gate(ws, project, other)
        assert not failed.passed and [r.name for r in failed.rules if not r.passed] == ["target"]
        third = runs.train(ws, project, "decision_tree", ["max_depth=3"])
        registry.register(ws, project, good.id)
        registry.register(ws, project, other.id, "a shallow tree to compare")
        registry.register(ws, project, third.id, "never gated")
        registry.deploy(ws, project, 1, "blue-green", reason="first")
    return folder, project


@pytest.fixture
def ws(built, private_copy):
    from cockpit.workspace import Workspace

    folder, project = built
    workspace = Workspace(private_copy(folder) / ".cockpit")
    yield workspace, project
    workspace.close()


def _state(ws, project) -> tuple:
    return registry.aliases(ws, project), registry.ledger(ws, project)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("promote", "2"), "v2 failed its gate: target; promote it anyway with --override 'REASON'"),
        (("deploy", "2", "--strategy", "blue-green"), "v2 failed its gate: target; deploy it anyway"),
        (("promote", "3"), "v3 was never gated; promote it anyway with --override 'REASON'"),
    ],
)
def test_production_refuses_a_version_whose_gate_did_not_pass(run_cli, ws, args, said) -> None:
    workspace, project = ws
    before = _state(workspace, project)
    refused = run_cli(*args, "--reason", "looks fine", workspace=workspace.root)
    assert refused.exit_code == 2 and refused.stdout == ""
    assert said in refused.stderr and refused.stderr.count("\n") == 1
    assert _state(workspace, project) == before


def test_an_override_promotes_it_and_the_ledger_keeps_who_which_rules_and_why(run_cli, ws) -> None:
    workspace, project = ws
    done = run_cli("promote", "2", "--override", "the tree is easier to explain", workspace=workspace.root)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == (
        "promoted v2 to production (production: v1 → v2; "
        "gate: failed (target) → overridden, the reason in the ledger)\n"
    )
    line = registry.ledger(workspace, project)[0]
    assert (line.alias, line.action, line.version, line.previous_version) == ("production", "promote", 2, 1)
    assert line.reason == (
        f"override by {line.user}: the tree is easier to explain (v2 failed its gate: target)"
    )
    event = workspace.store.one("SELECT details FROM events WHERE action = 'promote' ORDER BY id DESC")
    assert json.loads(event["details"])["override"] == "the tree is easier to explain"


def test_a_blank_override_is_refused_and_a_passed_gate_needs_none(run_cli, ws) -> None:
    workspace, project = ws
    blank = run_cli("deploy", "3", "--strategy", "blue-green", "--override", "  ", workspace=workspace.root)
    assert blank.exit_code == 2 and "--override takes a reason" in blank.stderr
    registry.promote(workspace, project, 2, "try", override="compare in production")
    back = registry.promote(workspace, project, 1, "v1 passed its gate")
    assert back.gate is None and [m.line() for m in back.moves] == ["production: v2 → v1"]


def test_the_plan_says_the_gate_failed_before_anything_moves(ws) -> None:
    workspace, project = ws
    plan = registry.plan_deploy(workspace, project, 3, "blue-green")
    assert plan.gate is not None and plan.gate.sentence() == "v3 was never gated"
    assert [m.line() for m in plan.moves] == [
        "production: v1 → v3",
        "candidate: v3 → none",
        "gate: never run → overridden, the reason in the ledger",
    ]
    with pytest.raises(CockpitError, match="changed since you were asked"):
        registry.deploy(workspace, project, 3, "blue-green", "go", expect=plan.moves[:2], override="go")


@pytest.mark.parametrize("strategy", ["canary", "shadow", "blue-green"])
def test_a_version_that_serves_is_no_longer_a_candidate(run_cli, ws, strategy) -> None:
    workspace, project = ws
    assert (
        registry.aliases(workspace, project)["candidate"].version_id
        == registry.get_version(workspace, project, 3).id
    )
    extra = {"canary": ["--percent", "10"], "shadow": [], "blue-green": ["--override", "try it"]}[strategy]
    done = run_cli("deploy", "3", "--strategy", strategy, *extra, "--json", workspace=workspace.root)
    assert done.exit_code == 0, done.stderr
    assert {"what": "candidate", "before": "v3", "after": "none"} in json.loads(done.stdout)["changes"]
    held = registry.alias_labels(workspace, project)[registry.get_version(workspace, project, 3).id]
    assert held == [{"canary": "canary 10%", "shadow": "shadow", "blue-green": "production"}[strategy]]


def test_the_rule_for_what_a_deploy_leaves() -> None:
    held = {"production": 1, "canary": 3, "shadow": 3, "candidate": 3}
    assert left_behind(held, 3, "production") == ["candidate", "canary", "shadow"]
    assert left_behind(held, 3, "canary") == ["candidate"]
    assert left_behind(held, 2, "shadow") == []
    assert left_behind(held, 3, "candidate") == []


def test_deployable_leaves_out_the_version_already_holding_the_alias(ws) -> None:
    workspace, project = ws
    registry.deploy(workspace, project, 3, "canary", 10, "try")
    assert [v.version for v in registry.deployable(workspace, project, "canary")] == [2]
    assert [v.version for v in registry.deployable(workspace, project, "shadow")] == [3, 2]
    assert [v.version for v in registry.deployable(workspace, project)] == [3, 2]


def test_rollback_with_nowhere_to_go_says_why(ws) -> None:
    workspace, project = ws
    said = "production has no earlier version to roll back to (v1 replaced none)"
    assert registry.rollback_blocker(workspace, project) == said
    with pytest.raises(CockpitError, match=r"no earlier version to roll back to \(v1 replaced none\)"):
        registry.rollback(workspace, project, "errors up")
    registry.promote(workspace, project, 2, "try", override="compare")
    assert registry.rollback_blocker(workspace, project) is None
    workspace.store.conn.execute("UPDATE model_versions SET status = 'retired' WHERE version = 1")
    assert registry.rollback_blocker(workspace, project) == (
        f"the version production replaced, {registry.get_version(workspace, project, 1).label}, is retired"
    )


def test_a_422_names_every_offending_field(ws) -> None:
    workspace, project = ws
    schema = registry.get_version(workspace, project, 1).input_schema
    columns = list(schema["columns"])
    assert len(columns) == 10
    status, body = invalid([{}, {}], schema)
    assert status == 422 and len(body["fields"]) == 20
    assert body["error"] == "invalid input: " + "; ".join(f"{c}: missing in 2 rows" for c in columns)
    one = {c: 0.1 for c in columns[1:]}
    assert invalid([one], schema)[1]["error"] == f"invalid input: {columns[0]}: missing"
