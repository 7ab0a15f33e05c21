"""Issue 22: data without an id column, end to end.

Every single-row `/predict` used to get entity "0" (the frame's index), so a 20% canary
received every request, and `retrain` refused ("retraining joins labels by the entity id").
Now each row's key is cockpit.entity's: the id column's value, else the request row's own
`id` field, else a hash of its feature values; routing, overrides, the request log, the
answer's `entity` and the retrain's label join all use it. On scikit-learn's breast cancer
table saved without an id column."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry, rules
from cockpit.deployment.routing import Router
from cockpit.deployment.serving import Service
from cockpit.entity import ROW_KEY_PREFIX, entity_keys
from cockpit.projects import create_project, get_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from tests.training_here import trained_here

CANARY_PERCENT = 20


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def features() -> list[str]:
    return [c for c in cancer().columns if c != "target"]


def distinct_rows(n: int, seed: int) -> pd.DataFrame:
    """n rows unlike each other and unlike the training rows: real rows, each value moved
    by up to 2% (rounded to 4 significant digits, as the file has them)."""
    rng = np.random.default_rng(seed)
    data = cancer()
    picked = data.iloc[rng.integers(0, len(data), n)].reset_index(drop=True)
    values = picked[features()] * rng.uniform(0.98, 1.02, (n, len(features())))
    return picked.assign(**{c: values[c].map(lambda v: float(f"{v:.4g}")) for c in features()})


@pytest.fixture(scope="module")
def canary_built(tmp_path_factory) -> Path:
    """breast cancer without an id column: logistic regression in production, a second
    logistic regression (C=0.05) as a 20% canary."""
    folder = tmp_path_factory.mktemp("cancer")
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "cancer", "binary", "target")
    cancer().to_csv(folder / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, folder / "cancer.csv")
    make_split(ws, project, "stratified", seed=1)
    first = trained_here(ws, project, "logistic_regression", seed=1)
    second = trained_here(ws, project, "logistic_regression", ["C=0.05"], seed=1)
    assert (first.status, second.status) == ("finished", "finished"), second.error
    for run in (first, second):
        registry.register(ws, project, run.id, override_reason="an entity key test")
    registry.deploy(ws, project, 1, "blue-green", reason="first", override="first")
    registry.deploy(ws, project, 2, "canary", percent=CANARY_PERCENT, reason="try it")
    assert registry.get_version(ws, project, 1).input_schema["entity"] is None
    ws.close()
    return folder


@pytest.fixture
def cancer_folder(canary_built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cancer"
    shutil.copytree(canary_built, copy)
    return copy


def _request(row: pd.Series) -> dict:
    return {c: float(row[c]) for c in features()}


def _routed_one_by_one(folder: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Each row scored alone through the Router, as the service scores a single-row request."""
    with Workspace(folder / ".cockpit") as ws:
        router = Router(ws, get_project(ws, "cancer"))
        return pd.DataFrame(
            [router.score(rows.iloc[[i]]).frame.iloc[0] for i in range(len(rows))]
        ).reset_index(drop=True)


def test_single_rows_without_an_id_split_honestly_and_stick(cancer_folder: Path) -> None:
    """1,000 distinct single rows: the canary's share is its percent (it was 100%: every
    row was entity "0"); the same row again gets the same key and arm."""
    rows = distinct_rows(1000, seed=7)
    expected = entity_keys(rows, None, features())
    assert expected.nunique() == 1000
    scored = _routed_one_by_one(cancer_folder, rows)
    share = 100 * (scored["route"] == "canary").mean()
    assert abs(share - CANARY_PERCENT) <= 5, share
    assert scored["entity"].tolist() == expected.tolist()  # labels join by this key
    assert scored["entity"].str.startswith(ROW_KEY_PREFIX).all()
    again = _routed_one_by_one(cancer_folder, rows.head(60))
    assert again[["entity", "route", "score"]].equals(scored.head(60)[["entity", "route", "score"]])


async def test_the_service_keys_single_row_requests_by_their_features(cancer_folder: Path) -> None:
    rows = distinct_rows(120, seed=7)  # the first rows of the test above
    routed = _routed_one_by_one(cancer_folder, rows)
    assert set(routed["route"]) == {"production", "canary"}
    service = Service(cancer_folder / ".cockpit", "cancer", flush_interval=0.05)
    service.open()
    try:
        transport = httpx.ASGITransport(app=service.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            answers = []
            for i in [*range(120), *range(20)]:  # the first 20 twice
                response = await client.post("/predict", json=_request(rows.iloc[i]))
                assert response.status_code == 200, response.text
                answers.append(response.json())
    finally:
        service.close()
    assert [(a["entity"], a["route"]) for a in answers] == [
        (routed.loc[i, "entity"], routed.loc[i, "route"]) for i in [*range(120), *range(20)]
    ]
    assert [a["score"] for a in answers] == pytest.approx(
        routed["score"].tolist() + routed["score"].head(20).tolist()
    )
    with Workspace(cancer_folder / ".cockpit") as ws:
        logged = ws.store.rows("SELECT entity, route FROM requests ORDER BY id")
    assert [(r["entity"], r["route"]) for r in logged] == [(a["entity"], a["route"]) for a in answers]


async def test_a_request_row_may_carry_its_own_id(cancer_folder: Path) -> None:
    rows = distinct_rows(400, seed=11)
    service = Service(cancer_folder / ".cockpit", "cancer", flush_interval=0.05)
    service.open()
    try:
        transport = httpx.ASGITransport(app=service.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            many = await client.post(
                "/predict",
                json={"rows": [{"id": f"order-{i}", **_request(row)} for i, row in rows.iterrows()]},
            )
            assert many.status_code == 200
            answers = many.json()["predictions"]
            assert [a["entity"] for a in answers] == [f"order-{i}" for i in range(400)]
            share = 100 * np.mean([a["route"] == "canary" for a in answers])
            assert abs(share - CANARY_PERCENT) <= 5, share
            # the same id with other feature values keeps its arm; an integer id is text
            moved = await client.post(
                "/predict",
                json={
                    "rows": [{"id": f"order-{i}", **_request(rows.iloc[(i + 1) % 400])} for i in range(40)]
                },
            )
            assert [a["route"] for a in moved.json()["predictions"]] == [a["route"] for a in answers[:40]]
            number = await client.post("/predict", json={"id": 17, **_request(rows.iloc[0])})
            assert number.json()["entity"] == "17"
            for bad in ([1], "", True, 1.5, "x" * 201, 2**64):
                refused = await client.post("/predict", json={"id": bad, **_request(rows.iloc[0])})
                assert refused.status_code == 422, bad
                assert refused.json()["fields"] == [
                    {
                        "row": 0,
                        "field": "id",
                        "problem": (
                            "must be text of 1-200 characters or an integer (the row's own entity key)"
                        ),
                    }
                ]
            spec = (await client.get("/openapi.json")).json()
    finally:
        service.close()
    assert "id" in spec["components"]["schemas"]["Row"]["properties"]
    assert "id" not in spec["components"]["schemas"]["Row"]["required"]
    assert "own `id` field" in spec["paths"]["/predict"]["post"]["description"]


def test_overrides_and_batches_use_the_row_key(cancer_folder: Path) -> None:
    rows = distinct_rows(2000, seed=3)
    with Workspace(cancer_folder / ".cockpit") as ws:
        project = get_project(ws, "cancer")
        keys = entity_keys(rows, None, features())
        rules.add_override(ws, project, keys.iloc[5], "1", "a person decided", None)
        scored = Router(ws, project).score(rows).frame
    assert scored["entity"].tolist() == keys.tolist()
    assert (scored.loc[5, "route"], scored.loc[5, "prediction"]) == ("override", "1")
    share = 100 * (scored["route"] == "canary").mean()
    assert abs(share - CANARY_PERCENT) <= 3, share
    # one row alone gets the key (and the arm) it gets inside the batch
    with Workspace(cancer_folder / ".cockpit") as ws:
        router = Router(ws, get_project(ws, "cancer"))
        alone = [router.score(rows.iloc[[i]]).frame.iloc[0] for i in range(0, 2000, 97)]
    assert [(a["entity"], a["route"]) for a in alone] == [
        (scored.loc[i, "entity"], scored.loc[i, "route"]) for i in range(0, 2000, 97)
    ]


@pytest.fixture(scope="module")
def yes_no_built(tmp_path_factory) -> Path:
    """breast cancer without an id column, its target True/False: one model in production."""
    folder = tmp_path_factory.mktemp("cancer_bool")
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "cancer", "binary", "target")
    cancer().assign(target=cancer()["target"] == 1).to_csv(folder / "cancer.csv", index=False)
    datasets.import_dataset(ws, project, folder / "cancer.csv")
    make_split(ws, project, "stratified", seed=1)
    run = trained_here(ws, project, "logistic_regression", seed=1)
    registry.register(ws, project, run.id, override_reason="an entity key test")
    registry.deploy(ws, project, 1, "blue-green", reason="first", override="first")
    ws.close()
    return folder


@pytest.mark.parametrize("labels", ["0/1", "True/False"])
def test_retrain_without_an_id_column_through_the_cli(
    canary_built: Path, yes_no_built: Path, tmp_path: Path, labels: str, run_cli
) -> None:
    """Ingest two months of production rows, label them with a file that repeats the feature
    columns, retrain: the challenger learns from the reference plus the first month's
    labelled rows (with their own labels: "False" stays False) and is judged on the
    second's."""
    cancer_folder = tmp_path / "cancer"
    shutil.copytree(canary_built if labels == "0/1" else yes_no_built, cancer_folder)
    march, april = distinct_rows(120, seed=21), distinct_rows(80, seed=22)
    if labels == "True/False":
        march["target"], april["target"] = march["target"] == 1, april["target"] == 1
    for name, batch, at in (("march", march, "2026-03-15"), ("april", april, "2026-04-15")):
        batch[features()].to_csv(cancer_folder / f"{name}.csv", index=False)
        ingested = run_cli(
            "monitor", "ingest", str(cancer_folder / f"{name}.csv"), "--at", at, workspace=cancer_folder
        )
        assert ingested.exit_code == 0, ingested.stderr
    pd.concat([march, april]).to_csv(cancer_folder / "labels.csv", index=False)
    labelled = run_cli("monitor", "labels", str(cancer_folder / "labels.csv"), workspace=cancer_folder)
    assert labelled.exit_code == 0, labelled.stderr
    done = run_cli("retrain", "--json", workspace=cancer_folder)
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["decision"] in ("deployed", "kept production"), result
    assert result["steps"][0] == "120 new labelled rows; 80 held out from 2026-04"
    assert result["comparison"]["rows"] == 80
    with Workspace(cancer_folder / ".cockpit") as ws:
        project = get_project(ws, "cancer")
        challenger = runs.get_run(ws, project, result["challenger_run"])
        data = datasets.load_frame(ws, datasets.get_version(ws, project, challenger.version_id))
    assert len(data) == len(cancer()) + 120
    learned = data.tail(120).reset_index(drop=True)
    assert learned["target"].tolist() == march["target"].tolist()
    assert np.allclose(learned[features()].to_numpy(), march[features()].to_numpy())


def test_only_a_model_without_an_id_column_takes_the_request_rows_own_id() -> None:
    from cockpit.deployment.serving_input import check_rows, request_ids, takes_request_id

    plain = {"entity": None, "columns": {"x": {"kind": "numeric", "role": "feature"}}}
    keyed = {
        "entity": "user_id",
        "columns": {
            "user_id": {"kind": "categorical", "role": "id"},
            "x": {"kind": "numeric", "role": "feature"},
        },
    }
    named = {"entity": None, "columns": {"id": {"kind": "numeric", "role": "feature"}}}
    assert [takes_request_id(s) for s in (plain, keyed, named)] == [True, False, False]
    rows = [{"id": "a", "x": 1, "user_id": "U1"}, {"x": 2, "id": None, "user_id": "U2"}]
    assert request_ids(rows, plain) == ["a", None]
    assert request_ids(rows, keyed) is None and request_ids([{"x": 1}], plain) is None
    # with an id column, or a feature named id, an odd `id` is not the key's business
    assert check_rows([{"id": [1], "x": 1, "user_id": "U1"}], keyed) == []
    assert check_rows([{"id": "seven"}], named) == [{"row": 0, "field": "id", "problem": "must be a number"}]


def test_an_integer_id_read_as_floats_keys_as_its_integers() -> None:
    import numpy as np

    from cockpit.entity import entity_keys

    with_blank = pd.DataFrame({"id": [1042.0, np.nan, 7.0, 2.5], "x": [1, 2, 3, 4]})
    whole = pd.DataFrame({"id": [1042, 7], "x": [1, 3]})
    assert entity_keys(with_blank, "id", ["x"]).tolist() == ["1042", "", "7", "2.5"]
    assert entity_keys(whole, "id", ["x"]).tolist() == ["1042", "7"]


def test_scored_files_without_an_id_column_carry_each_rows_key(cancer_folder: Path, tmp_path: Path) -> None:
    """The key an override or a later labels file refers to is in the scored file."""
    from cockpit.deployment import batch

    rows = distinct_rows(50, seed=8)
    rows.to_csv(tmp_path / "new.csv", index=False)
    with Workspace(cancer_folder / ".cockpit") as ws:
        batch.predict_file(ws, get_project(ws, "cancer"), tmp_path / "new.csv", tmp_path / "scored.parquet")
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    assert scored["entity"].tolist() == entity_keys(rows, None, features()).tolist()
    assert scored["entity"].str.startswith("row:").all()
