"""The service's fast one-row path (issue 28, part 1): the numpy twin of a numeric feature
pipeline and the scorer's production-only records give the answers the pandas path and
the Router give, to the last bit, with the same warnings and the same refusals; a pipeline
the twin cannot take is left as it is. A lone one-row request scored on the caller's thread
(the event loop) is answered as the scorer thread and the Router answer it, and the thread
answers instead whenever the routing changed, it is busy, or the row was not cheap."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from cockpit.data import datasets
from cockpit.data.profile import profile_frame
from cockpit.data.splits import make_split
from cockpit.deployment import registry, rules, serving_scorer
from cockpit.deployment.domain import row_warnings
from cockpit.deployment.routing import Router
from cockpit.deployment.serving_input import invalid, request_ids, to_frame
from cockpit.deployment.serving_scorer import Scorer, StampWatch
from cockpit.entity import row_key
from cockpit.feature_pipeline import compile_transformer
from cockpit.features import infer_spec
from cockpit.projects import create_project, resolve_project
from cockpit.training.fast_pipeline import numpy_twin
from cockpit.workspace import Workspace
from storage import clock
from tests.training_here import trained_here


def _awkward(frame: pd.DataFrame) -> pd.DataFrame:
    """Gaps, a huge number and a negative one in a public dataset's rows."""
    rows = frame.head(60).copy()
    rows.iloc[::5, 3] = np.nan
    rows.iloc[1, :] = np.nan
    rows.iloc[2, 0] = 1e300
    rows.iloc[3, 7] = -1e6
    return rows


def test_the_numpy_twin_gives_the_same_probabilities_to_the_last_bit() -> None:
    frame = load_breast_cancer(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"].to_numpy()
    specs = infer_spec(profile_frame(frame), "target")
    for version in (1, 2):  # one branch per column, and grouped
        pipeline = Pipeline(
            [
                ("features", compile_transformer(specs, version=version)),
                ("model", LogisticRegression(max_iter=3000)),
            ]
        ).fit(X, y)
        twin = numpy_twin(pipeline)
        assert twin is not pipeline and type(twin[0]).__name__ == "NumpyFeatures"
        rows = _awkward(X).clip(-1e30, 1e30)
        assert np.array_equal(twin[:-1].transform(rows), pipeline[:-1].transform(rows))
        assert np.array_equal(twin.predict_proba(rows), pipeline.predict_proba(rows))


def test_a_pipeline_with_categories_keeps_its_own_path() -> None:
    frame = pd.DataFrame(
        {"x": [0.1, 0.5, 0.9, 0.3] * 5, "plan": ["a", "b", "a", "c"] * 5, "y": [0, 1, 1, 0] * 5}
    )
    specs = infer_spec(profile_frame(frame), "y")
    pipeline = Pipeline([("features", compile_transformer(specs)), ("model", LogisticRegression())])
    pipeline.fit(frame[["x", "plan"]], frame["y"])
    assert numpy_twin(pipeline) is pipeline


@pytest.fixture(scope="module")
def cancer_service(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A breast-cancer project with a logistic regression in production and one override."""
    folder = tmp_path_factory.mktemp("cancer")
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "bc", "binary", "target")
    frame = load_breast_cancer(as_frame=True).frame
    frame.to_csv(folder / "bc.csv", index=False)
    datasets.import_dataset(ws, project, folder / "bc.csv")
    make_split(ws, project, "stratified", seed=1)
    run = trained_here(ws, project, "logistic_regression")
    assert run.status == "finished"
    registry.register(ws, project, run.id, override_reason="a service test")
    registry.deploy(ws, project, 1, "blue-green", reason="first", override="first")
    rules.add_override(ws, project, "patient-7", "1", "reviewed by hand")
    dot_dir = ws.dir
    ws.close()
    return dot_dir, frame.drop(columns="target")


def _reference(dot_dir: Path, items: list) -> tuple[list[dict], dict]:
    """What the pandas path answers (the Router on the loaded pipeline, as it was), and the
    request schema."""
    ws = Workspace(dot_dir)
    try:
        router = Router(ws, resolve_project(ws, "bc"))
        schema = router.request_schema()
        frame = to_frame(items, schema)
        scored = router.score(frame, request_ids(items, schema)).frame.to_dict("records")
        warned = row_warnings(schema, frame)
    finally:
        ws.close()
    answers = [
        {
            "entity": r["entity"],
            "prediction": r["prediction"],
            "score": None if isinstance(r["score"], float) and math.isnan(r["score"]) else r["score"],
            "model_version": r["model_version"],
            "route": r["route"],
            **({"warnings": w} if w else {}),
        }
        for r, w in zip(scored, warned, strict=True)
    ]
    return answers, schema


def test_the_service_answers_as_the_router_did_with_the_same_warnings_and_refusals(cancer_service) -> None:
    dot_dir, X = cancer_service
    rows = _awkward(X)
    items = [{c: (None if pd.isna(v) else float(v)) for c, v in row.items()} for _, row in rows.iterrows()]
    items[4]["id"] = "patient-7"  # overridden
    items[5]["id"] = 12345  # its own key
    scorer = Scorer(dot_dir, "bc")
    scorer.start()
    try:
        assert type(scorer.router.pipeline(scorer.router.alias_version("production"))[0]).__name__ == (
            "NumpyFeatures"
        )
        alone = [scorer.call(scorer.score_many, [([item], False)]).result()[0] for item in items]
        together = scorer.call(scorer.score_many, [(items, True)]).result()[0]
        bad = {**items[0], "mean radius": "wide"}
        refused = scorer.call(scorer.score_many, [([bad], False)]).result()[0]
    finally:
        scorer.stop()
    expected, schema = _reference(dot_dir, items)
    # one row at a time as one row at a time (BLAS may round a 60-row product otherwise)
    one_by_one = [_reference(dot_dir, [item])[0][0] for item in items]
    assert [status for status, _, _ in alone] == [200] * len(items)
    assert [body for _, body, _ in alone] == one_by_one
    assert together[1]["predictions"] == expected
    assert expected[4]["route"] == "override" and expected[5]["entity"] == "12345"
    assert any("warnings" in answer for answer in expected)
    assert refused[:2] == invalid([bad], schema)


def _router_answer(dot_dir: Path, item: dict) -> dict:
    """The Router's answer on the pandas pipeline as loaded (the path before any fast one)."""
    ws = Workspace(dot_dir)
    try:
        router = Router(ws, resolve_project(ws, "bc"))
        schema = router.request_schema()
        record = router.score(to_frame([item], schema), request_ids([item], schema)).frame.iloc[0]
    finally:
        ws.close()
    score = record["score"]
    return {
        "entity": record["entity"],
        "prediction": record["prediction"],
        "score": None if isinstance(score, float) and math.isnan(score) else score,
        "model_version": record["model_version"],
        "route": record["route"],
    }


@pytest.fixture()
def inline_rows(cancer_service) -> tuple[Path, list[dict]]:
    """Request rows: as they are, with gaps, a 1e300, an override's key and a row's own key."""
    dot_dir, X = cancer_service
    rows = X.iloc[100:112].copy()
    rows.iloc[1, 4] = np.nan
    rows.iloc[2, :] = np.nan
    rows.iloc[3, 0] = 1e300
    items = [{c: (None if pd.isna(v) else float(v)) for c, v in row.items()} for _, row in rows.iterrows()]
    items[4]["id"] = "patient-7"
    items[5]["id"] = 777
    return dot_dir, items


@pytest.fixture()
def scorer(cancer_service):
    dot_dir, _ = cancer_service
    scorer = Scorer(dot_dir, "bc")
    scorer.start()
    control = Workspace(dot_dir)
    yield scorer, StampWatch(control, resolve_project(control, "bc").id)
    scorer.stop()
    control.close()


def test_a_lone_row_is_answered_here_as_the_scorer_thread_and_the_router_answer_it(
    inline_rows, scorer
) -> None:
    dot_dir, items = inline_rows
    scorer, watch = scorer
    assert scorer.inline([items[0]], False, watch) is None  # not measured yet: the thread
    threaded = [scorer.submit([item], False).result() for item in items]
    here = [scorer.inline([item], False, watch) for item in items]
    assert here == threaded  # status, answer and log rows
    assert all(result is not None and result[0] == 200 for result in here)
    for item, (_, answer, _) in zip(items, threaded, strict=True):
        assert {k: v for k, v in answer.items() if k != "warnings"} == _router_answer(dot_dir, item)
    assert here[4][1]["route"] == "override" and here[4][1]["score"] is None
    assert here[5][1]["entity"] == "777"
    assert here[0][1]["entity"] == row_key(items[0][c] for c in sorted(c for c in items[0] if c != "id"))
    assert "warnings" not in here[0][1]
    assert here[2][1]["warnings"] and "1e+300 far outside" in here[3][1]["warnings"][0]
    assert here[3][2][0]["warnings"] is not None  # the log row keeps them
    many = scorer.inline(items[:2], True, watch)
    assert many is None  # more than one row: the thread, batched
    bad = scorer.inline([{**items[0], "mean area": "wide"}], False, watch)
    assert bad is not None and bad[0] == 422


def test_the_thread_answers_when_the_routing_changed_or_it_is_busy(inline_rows, scorer, monkeypatch) -> None:
    dot_dir, items = inline_rows
    scorer, watch = scorer
    scorer.submit([items[0]], False).result()
    before = scorer.inline([items[0]], False, watch)
    assert before is not None and before[1]["route"] == "production"
    with scorer.lock:  # scoring in the thread
        assert scorer.inline([items[0]], False, watch) is None
    other = Workspace(dot_dir)
    try:  # another process adds an override for that row
        rules.add_override(other, resolve_project(other, "bc"), before[1]["entity"], "0", "by hand")
    finally:
        other.close()
    assert scorer.inline([items[0]], False, watch) is None  # the thread rebuilds the routing
    after = scorer.submit([items[0]], False).result()
    assert after[1]["route"] == "override" and after[1]["prediction"] == "0"
    assert scorer.inline([items[0]], False, watch) == after
    monkeypatch.setattr(serving_scorer, "INLINE_CPU", 0.0)  # no row is cheap enough
    assert scorer.inline([items[0]], False, watch) is None


def test_the_stamp_follows_an_override_expiring_without_any_commit(cancer_service, monkeypatch) -> None:
    dot_dir, _ = cancer_service
    ws = Workspace(dot_dir)
    try:
        project = resolve_project(ws, "bc")
        rules.add_override(
            ws, project, "patient-10", "1", "for a day", expires_at="2099-01-01T00:00:00+00:00"
        )
        watch = StampWatch(ws, project.id)
        stamp = watch.current()
        assert watch.current() == stamp and watch.until == "2099-01-01T00:00:00+00:00"
        monkeypatch.setattr(clock, "now_iso", lambda: "2099-01-01T00:00:01+00:00")
        assert watch.current() != stamp  # one active override fewer
    finally:
        ws.close()


def test_the_services_connections_send_at_once() -> None:
    """running_service's socket says TCP, so asyncio turns Nagle off on what it accepts: an
    answer's headers and body are not held back for the client's delayed ACK (~40 ms)."""
    import asyncio
    import socket

    from cockpit.deployment.serving import loopback_socket

    async def accepted_nodelay() -> int:
        found: asyncio.Future = asyncio.get_running_loop().create_future()

        def connected(reader, writer) -> None:
            found.set_result(
                writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            )
            writer.close()

        sock = loopback_socket()
        server = await asyncio.start_server(connected, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname())
        value = await asyncio.wait_for(found, 10)
        writer.close()
        server.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0
