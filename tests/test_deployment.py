"""Registry, aliases, ledger, rollback, routing (canary, overrides, fallback), batches, bundles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, bundle, registry, rules
from cockpit.deployment.routing import Router
from cockpit.errors import CockpitError
from cockpit.evaluation.gate import gate
from cockpit.projects import create_project
from tests.training_here import trained_here


def frame(n: int = 800, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "customer_id": [f"C{seed}-{i}" for i in range(n)],
            "x": x.round(3),
            "plan": rng.choice(["a", "b"], n),
            "left": (x + rng.normal(0, 1, n) > 0.5).astype(int),
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two runs trained and the first gated, built once; tests take copies (`deployed`...)."""
    from cockpit import problem
    from cockpit.workspace import Workspace

    folder = tmp_path_factory.mktemp("deploy")
    ws, _ = Workspace.init(folder)
    with ws:
        project = create_project(ws, "subs", "binary", "left")
        frame().to_csv(folder / "train.csv", index=False)
        datasets.import_dataset(ws, project, folder / "train.csv")
        make_split(ws, project, "stratified")
        problem.save_spec(ws, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.6))
        good = trained_here(ws, project, "logistic_regression")
        other = trained_here(ws, project, "random_forest", ["n_estimators=20"])
        gate(ws, project, good)
    return folder, project, good, other


@pytest.fixture
def deployed(trained, private_copy):
    """A private copy of `trained`: (workspace, project, gated run, other run)."""
    from cockpit.workspace import Workspace

    folder, project, good, other = trained
    ws = Workspace(private_copy(folder) / ".cockpit")
    yield ws, project, good, other
    ws.close()


@pytest.fixture
def registered(deployed):
    """v1 (the gated run) and v2 (the other, by override) registered; nothing deployed."""
    ws, project, good, other = deployed
    registry.register(ws, project, good.id)
    registry.register(ws, project, other.id, "trying forests")
    return deployed


@pytest.fixture
def in_production(registered):
    """v1 in production."""
    ws, project, _, _ = registered
    registry.deploy(ws, project, 1, "blue-green", reason="first")
    return registered


@pytest.fixture
def with_canary(in_production):
    """v1 in production, v2 a 25% canary."""
    ws, project, _, _ = in_production
    registry.deploy(ws, project, 2, "canary", 25, reason="again")
    return in_production


def test_register_needs_a_passed_gate_or_an_override(deployed) -> None:
    ws, project, good, other = deployed
    with pytest.raises(CockpitError, match="has not been gated.*--override"):
        registry.register(ws, project, other.id)
    v1 = registry.register(ws, project, good.id)
    v2 = registry.register(ws, project, other.id, "trying forests")
    assert (v1.version, v1.gate_passed, v2.override_reason) == (1, True, "trying forests")
    assert set(v1.input_schema["columns"]) == {"customer_id", "x", "plan"}
    assert v1.input_schema["columns"]["plan"]["categories"] == ["a", "b"]
    assert registry.aliases(ws, project)["candidate"].version_id == v2.id


def test_canary_promote_rollback_and_the_ledger(registered) -> None:
    ws, project, _, _ = registered
    with pytest.raises(CockpitError, match="needs a production model"):
        registry.deploy(ws, project, 2, "canary", 10)
    registry.deploy(ws, project, 1, "blue-green", reason="first")
    registry.deploy(ws, project, 2, "canary", 30, reason="try")
    assert registry.aliases(ws, project)["canary"].percent == 30
    before = registry.ledger(ws, project)[0].at
    registry.promote(ws, project, reason="canary looked good", override="v2 was never gated: try it")
    assert registry.get_version(ws, project, "production").version == 2
    assert "canary" not in registry.aliases(ws, project)
    back = registry.rollback(ws, project, "errors went up")
    assert back.target.version == 1 and registry.get_version(ws, project, "production").version == 1
    actions = [(r.alias, r.action) for r in registry.ledger(ws, project)][:5]
    assert actions == [
        ("production", "rollback"),
        ("canary", "clear"),
        ("production", "promote"),
        ("canary", "deploy"),
        ("candidate", "clear"),  # v2 serves as the canary: no longer a candidate
    ]
    assert registry.production_at(ws, project, before) in (1, 2)
    with pytest.raises(CockpitError, match="needs a reason"):
        registry.rollback(ws, project, "")


def test_routing_canary_share_is_sticky_overrides_and_fallback(in_production, tmp_path) -> None:
    ws, project, _, _ = in_production
    registry.deploy(ws, project, 2, "canary", 25, reason="again")
    rows = frame(2000, seed=5).drop(columns=["left"])
    first = Router(ws, project).score(rows).frame
    share = (first["route"] == "canary").mean()
    assert 0.21 < share < 0.29
    again = Router(ws, project).score(rows.sample(frac=1, random_state=1)).frame
    assert dict(zip(first["entity"], first["route"], strict=True)) == dict(
        zip(again["entity"], again["route"], strict=True)
    )

    entity = rows["customer_id"].iloc[0]
    rules.add_override(ws, project, entity, "1", "the account manager asked")
    scored = Router(ws, project).score(rows.head(3)).frame
    assert scored.loc[0, "route"] == "override" and scored.loc[0, "prediction"] == "1"

    rules.set_fallback(ws, project, "x > 0 -> 1 else 0")
    production = registry.get_version(ws, project, "production")
    path = ws.artifacts.path_for(production.artifact_sha256)
    original = path.read_bytes()
    try:
        path.write_bytes(original[:-10] + b"0123456789")  # tampered: storage refuses it
        broken = Router(ws, project).score(rows.head(50)).frame
        answered = broken[broken["route"] != "override"]
        assert set(answered["route"]) <= {"fallback", "canary"} and "fallback" in set(answered["route"])
        fallback_rows = answered[answered["route"] == "fallback"]
        expected = np.where(rows.head(50).loc[fallback_rows.index, "x"] > 0, 1, 0)
        assert list(fallback_rows["prediction"]) == list(expected)
        assert "changed after cockpit wrote it" in fallback_rows["error"].iloc[0]
    finally:
        path.write_bytes(original)


def test_batch_predict_validates_writes_and_logs(with_canary, tmp_path) -> None:
    ws, project, _, _ = with_canary
    source = tmp_path / "new.csv"
    frame(300, seed=9).drop(columns=["left"]).to_csv(source, index=False)
    out = tmp_path / "scored.parquet"
    summary = batch.predict_file(ws, project, source, out, at="2026-05-01T00:00:00+00:00")
    scored = pd.read_parquet(out)
    assert len(scored) == 300 and {"prediction", "score", "route", "model_version"} <= set(scored)
    logged = batch.list_batches(ws, project)[0]
    assert logged["id"] == summary["id"] and logged["rows"] == 300
    inputs, outputs = batch.load_batch(ws, logged)
    assert len(inputs) == len(outputs) == 300
    bad = tmp_path / "bad.csv"
    frame(20).drop(columns=["x", "left"]).to_csv(bad, index=False)
    with pytest.raises(CockpitError, match="missing column.*x"):
        batch.predict_file(ws, project, bad, tmp_path / "o.csv")


def test_bundle_round_trip_and_tampering(registered, tmp_path) -> None:
    ws, project, _, _ = registered
    manifest = bundle.write_bundle(ws, project, 1, tmp_path / "b")
    assert set(manifest["files"]) == {
        "model.pkl",
        "schema.json",
        "config.json",
        "requirements.txt",
        "Dockerfile",
        "MODEL_CARD.md",
    }
    pipeline, config, warnings = bundle.load_bundle(tmp_path / "b")
    assert config["version"] == 1 and warnings == []
    assert pipeline.predict(frame(5, seed=3)).shape == (5,)
    assert "scikit-learn==" in (tmp_path / "b" / "requirements.txt").read_text()
    (tmp_path / "b" / "schema.json").write_text("{}")
    with pytest.raises(CockpitError, match="schema.json was changed"):
        bundle.load_bundle(tmp_path / "b")


async def test_a_bundle_is_served_without_the_workspace(registered, tmp_path, run_cli) -> None:
    import httpx

    from cockpit.deployment.bundle_server import BundleService

    ws, project, _, _ = registered
    bundle.write_bundle(ws, project, 1, tmp_path / "b")
    assert "--bundle" in (tmp_path / "b" / "Dockerfile").read_text()
    pipeline, config, _ = bundle.load_bundle(tmp_path / "b")
    rows = frame(6, seed=4).drop(columns=["left"])
    service = BundleService(tmp_path / "b", tmp_path / "requests.jsonl", token="s3cret-token")
    transport = httpx.ASGITransport(app=service.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bundle") as client:
        assert (await client.post("/predict", json={"rows": []})).status_code == 401
        auth = {"authorization": "Bearer s3cret-token"}
        many = await client.post(
            "/predict", headers=auth, json={"rows": json.loads(rows.to_json(orient="records"))}
        )
        assert many.status_code == 200
        scores = pipeline.predict_proba(rows)[:, 1]
        answers = many.json()["predictions"]
        assert [a["entity"] for a in answers] == rows["customer_id"].tolist()
        assert [a["score"] for a in answers] == pytest.approx(scores.tolist())
        assert [a["prediction"] for a in answers] == [int(s >= config["threshold"]) for s in scores]
        bad = await client.post(
            "/predict", headers=auth, json={"customer_id": "C9", "x": "high", "plan": "a"}
        )
        assert bad.status_code == 422 and "x: must be a number" in bad.json()["error"]
        assert (await client.get("/health")).json()["requests"] == 3
    logged = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [e["status"] for e in logged] == [401, 200, 422]
    assert len(logged[1]["answers"]) == 6
    assert "s3cret" not in (tmp_path / "requests.jsonl").read_text()
    refused = run_cli("serve", "--bundle", str(tmp_path / "b"), "--host", "0.0.0.0", "--port", "0")
    assert refused.exit_code == 2 and "COCKPIT_SERVE_TOKEN" in refused.stderr
    (tmp_path / "b" / "model.pkl").write_bytes(b"not the model")
    with pytest.raises(CockpitError, match="model.pkl was changed"):
        BundleService(tmp_path / "b", tmp_path / "r.jsonl")


def test_cli_deployment_commands(run_cli, with_canary, tmp_path) -> None:
    ws, project, _, _ = with_canary
    folder = ws.root
    listed = json.loads(run_cli("models", "--json", workspace=folder).stdout)
    assert [v["version"] for v in listed] == [1, 2]
    assert run_cli("promote", "--percent", "40", workspace=folder).exit_code == 0
    assert registry.aliases(ws, project)["canary"].percent == 40
    assert run_cli("rollback", workspace=folder).exit_code == 2  # --reason is required
    added = run_cli("override", "add", "C1", "0", "--reason", "test", workspace=folder)
    assert added.exit_code == 0
    assert "C1" in run_cli("override", "list", workspace=folder).stdout
    assert run_cli("fallback", "set", "x >> 1", workspace=folder).exit_code == 2
    card = run_cli("card", "1", workspace=folder).stdout
    assert "# Model card: subs v1" in card and "## Deployment history" in card
    assert run_cli("register", "1", workspace=folder).stdout.strip() == "3"


@pytest.mark.parametrize("strategy", ["canary", "shadow"])
def test_the_production_version_is_refused_as_its_own_canary_or_shadow(
    run_cli, in_production, strategy
) -> None:
    ws, project, _, _ = in_production
    before = registry.ledger(ws, project)
    percent = ["--percent", "10"] if strategy == "canary" else []
    with pytest.raises(CockpitError, match=rf"v1 \(run \d+\) is already production: a {strategy} of it"):
        registry.deploy(ws, project, 1, strategy, 10 if percent else None)
    refused = run_cli("deploy", "1", "--strategy", strategy, *percent, workspace=ws.root)
    assert refused.exit_code == 2 and "already production" in refused.stderr
    assert registry.ledger(ws, project) == before
    assert set(registry.aliases(ws, project)) == {"production", "candidate"}
    registry.deploy(ws, project, 2, strategy, 10 if percent else None)  # another version is fine
    assert registry.aliases(ws, project)[strategy].version_id != registry.get_version(ws, project, 1).id


def test_deploy_promote_and_rollback_print_what_changed(run_cli, registered) -> None:
    ws, project, _, _ = registered
    folder = ws.root
    first = run_cli("deploy", "1", "--strategy", "blue-green", "--reason", "first", workspace=folder)
    assert first.stdout == "deployed v1 as blue-green (production: none → v1)\n"
    canary = run_cli("deploy", "2", "--strategy", "canary", "--percent", "25", "--json", workspace=folder)
    assert json.loads(canary.stdout) == {
        "version": 2,
        "run": registry.get_version(ws, project, 2).run_id,
        "strategy": "canary",
        "percent": 25.0,
        "changes": [
            {"what": "canary", "before": "none", "after": "v2 at 25%"},
            {"what": "candidate", "before": "v2", "after": "none"},
        ],
    }
    share = run_cli("promote", "--percent", "40", workspace=folder)
    assert share.stdout == "canary v2 at 40% (canary share: 25% → 40%)\n"
    promoted = json.loads(run_cli("promote", "--json", "--override", "try", workspace=folder).stdout)
    assert promoted["changes"] == [
        {"what": "production", "before": "v1", "after": "v2"},
        {"what": "canary", "before": "v2 at 40%", "after": "none"},
        {"what": "gate", "before": "never run", "after": "overridden, the reason in the ledger"},
    ]
    back = run_cli("rollback", "--reason", "errors up", workspace=folder)
    assert back.stdout == "rolled production back to v1 (production: v2 → v1)\n"
    again = run_cli("deploy", "1", "--strategy", "blue-green", workspace=folder)
    assert again.exit_code == 0 and again.stdout.endswith("(nothing changed)\n")


def test_blue_green_of_the_canary_ends_its_canary(with_canary) -> None:
    """One version is never production and canary at once: switching production to the
    canary's version ends the canary, as promoting it does."""
    ws, project, _, _ = with_canary
    plan = registry.plan_deploy(ws, project, 2, "blue-green")
    assert [m.line() for m in plan.moves][:2] == ["production: v1 → v2", "canary: v2 at 25% → none"]
    done = registry.deploy(ws, project, 2, "blue-green", reason="all in", override="never gated")
    assert done.moves == plan.moves
    assert set(registry.aliases(ws, project)) == {"production"}
    assert [(r.alias, r.action) for r in registry.ledger(ws, project)][:2] == [
        ("canary", "clear"),
        ("production", "deploy"),
    ]


def test_deployable_versions_never_include_production(with_canary) -> None:
    ws, project, _, _ = with_canary
    assert [v.version for v in registry.deployable(ws, project)] == [2]
    assert [v.version for v in registry.deployable(ws, project, "canary")] == []  # v2 is the canary
    registry.promote(ws, project, reason="good", override="never gated")
    assert [v.version for v in registry.deployable(ws, project)] == [1]


def test_promoting_the_shadow_ends_its_shadow(in_production) -> None:
    """Promoting a version clears every alias it served under beside production, as a
    blue-green switch does: it is never production and shadow at once."""
    ws, project, _, _ = in_production
    registry.deploy(ws, project, 2, "shadow", reason="compare")
    plan = registry.plan_promote(ws, project, 2)
    assert [m.line() for m in plan.moves][:2] == ["production: v1 → v2", "shadow: v2 → none"]
    assert registry.promote(ws, project, 2, "shadow looked good", override="never gated").moves == plan.moves
    assert set(registry.aliases(ws, project)) == {"production"}
    registry.deploy(ws, project, 1, "shadow", reason="compare again")
    back = registry.rollback(ws, project, "v2 answered slower")
    assert [m.line() for m in back.moves] == ["production: v2 → v1", "shadow: v1 → none"]


def test_an_action_refuses_when_its_plan_changed_since_it_was_confirmed(in_production) -> None:
    """The moves a person confirmed are the moves carried out, or nothing is done."""
    ws, project, _, _ = in_production
    asked = registry.plan_deploy(ws, project, 2, "canary", 10).moves
    registry.deploy(ws, project, 2, "shadow", reason="someone else, meanwhile")
    before = registry.aliases(ws, project), registry.ledger(ws, project)
    with pytest.raises(CockpitError, match="changed since you were asked: .*; nothing done"):
        registry.promote(ws, project, 2, "go", expect=asked)
    with pytest.raises(CockpitError, match="changed since you were asked"):
        registry.deploy(ws, project, 2, "blue-green", reason="all in", expect=asked)
    assert (registry.aliases(ws, project), registry.ledger(ws, project)) == before
    # the shadow took v2's candidate alias, which the canary would have cleared: asked again
    with pytest.raises(CockpitError, match="changed since you were asked"):
        registry.deploy(ws, project, 2, "canary", 10, "as asked", expect=asked)
    again = registry.plan_deploy(ws, project, 2, "canary", 10).moves
    registry.deploy(ws, project, 2, "canary", 10, "as asked again", expect=again)
    assert registry.aliases(ws, project)["canary"].percent == 10
