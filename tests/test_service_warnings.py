"""Issue 22: a value outside the training domain is answered, but the row says so.

The warning is defined once (cockpit/deployment/domain.py) from the model's input schema:
an unseen category, a number far outside the training range, a missing value in a column
that never had one; never about the id column. The service puts them in the answer's
`"warnings"` and its request log (m021), monitoring counts warned rows per window, batch
scoring lists them per column, and the bundle server answers them too."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import batch, registry
from cockpit.deployment.domain import row_warnings, summaries
from cockpit.deployment.serving import Service
from cockpit.deployment.serving_log import service_stats
from cockpit.monitoring.service import service_windows
from cockpit.projects import create_project, get_project
from cockpit.training import runs
from cockpit.workspace import Workspace
from storage import Store, migrations
from tests.serving_helpers import subscribers
from tests.training_here import trained_here


def test_m021_adds_request_warnings_on_an_empty_and_the_previous_schema(tmp_path: Path) -> None:
    import sqlite_utils

    Store(tmp_path / "fresh.db", create=True).close()
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.build().apply(db, stop_before="m021_request_warnings")
    assert "warnings" not in db["requests"].columns_dict
    project = (
        db["projects"]
        .insert({"name": "old", "task": "binary", "target": "y", "created_at": "2026-01-01"})
        .last_pk
    )
    db["requests"].insert(
        {
            "project_id": project,
            "request_id": "r1",
            "at": "2026-05-01",
            "status": 200,
            "entity": "E1",
            "route": "production",
        }
    )
    db.close()
    store = Store(path)
    assert store.applied_migrations() == migrations.KNOWN_NAMES
    assert store.rows("SELECT request_id, entity, warnings FROM requests") == [
        {"request_id": "r1", "entity": "E1", "warnings": None}
    ]
    store.close()
    db = sqlite_utils.Database(tmp_path / "fresh.db")
    assert db["requests"].columns_dict["warnings"] is str
    db.close()


# -- the definition, one test per kind --------------------------------------------------

SCHEMA = {
    "entity": "user_id",
    "columns": {
        "user_id": {"kind": "categorical", "role": "id", "nulls": 0, "categories": ["U1", "U2"]},
        "island": {"kind": "categorical", "role": "feature", "nulls": 0, "categories": ["Biscoe", "Dream"]},
        "grade": {"kind": "categorical", "role": "feature", "nulls": 3, "categories": ["1", "2"]},
        "mass": {"kind": "numeric", "role": "feature", "nulls": 0, "min": 2700.0, "max": 6300.0},
        "depth": {"kind": "numeric", "role": "feature", "nulls": 2, "min": 13.0, "max": 21.5},
        "level": {"kind": "numeric", "role": "feature", "min": 5.0, "max": 5.0},
    },
}


def rows(**changes) -> pd.DataFrame:
    base = {"user_id": "U999", "island": "Dream", "grade": 2, "mass": 4000.0, "depth": 17.0, "level": 5.0}
    return pd.DataFrame([base, {**base, **changes}])


def test_an_unseen_category_is_named_with_its_value() -> None:
    assert row_warnings(SCHEMA, rows(island="Atlantis")) == [[], ["island: 'Atlantis' not seen in training"]]
    assert row_warnings(SCHEMA, rows(grade=2.0)) == [[], []]  # 2.0 is the category "2"
    assert row_warnings(SCHEMA, rows(grade="7")) == [[], ["grade: '7' not seen in training"]]
    assert row_warnings(SCHEMA, rows(island=None, grade=None)) == [
        [],
        ["island: missing, never missing in training"],
    ]  # grade had missing values


def test_a_number_beyond_the_range_by_more_than_its_width() -> None:
    # mass: 2700-6300, width 3600: inside -900..9900 is quiet
    assert row_warnings(SCHEMA, rows(mass=9899.0)) == [[], []]
    assert row_warnings(SCHEMA, rows(mass=-901.0)) == [
        [],
        ["mass: -901 far outside the training range 2700 to 6300"],
    ]
    assert row_warnings(SCHEMA, rows(mass=1e300, depth=-1e6)) == [
        [],
        [
            "mass: 1e+300 far outside the training range 2700 to 6300",
            "depth: -1e+06 far outside the training range 13 to 21.5",
        ],
    ]
    # a constant column (width 0) uses its own size: 5 +- 5
    assert row_warnings(SCHEMA, rows(level=10.0)) == [[], []]
    assert row_warnings(SCHEMA, rows(level=10.5)) == [
        [],
        ["level: 10.5 far outside the training range 5 to 5"],
    ]


def test_a_missing_value_where_training_had_none() -> None:
    assert row_warnings(SCHEMA, rows(mass=float("nan"), depth=float("nan"))) == [
        [],
        ["mass: missing, never missing in training"],
    ]
    # a schema without a null count (an older model version) says nothing about missing
    assert row_warnings(SCHEMA, rows(level=None)) == [[], []]


def test_the_id_column_is_never_warned_about_and_batches_get_one_line_per_column() -> None:
    frame = pd.concat(
        [rows(user_id="NEW-1", island="Atlantis"), rows(user_id="NEW-2", island="Atlantis", mass=None)],
        ignore_index=True,
    )
    assert row_warnings(SCHEMA, frame)[0] == []
    assert summaries(SCHEMA, frame) == [
        "island: 2 rows with a value not seen in training (e.g. 'Atlantis')",
        "mass: 1 missing value, never missing in training",
    ]


def test_batch_predict_does_not_report_the_id_column(workspace, tmp_path: Path) -> None:
    """Issue 22: `cockpit predict` said "user_id: N value(s) not seen in training" for new
    ids (a table with 200 ids or fewer keeps its ids' categories in the schema)."""
    project = create_project(workspace, "subs", "binary", "left")
    subscribers(150).to_csv(tmp_path / "subs.csv", index=False)
    datasets.import_dataset(workspace, project, tmp_path / "subs.csv")
    make_split(workspace, project, "stratified", seed=1)
    run = runs.train(workspace, project, "logistic_regression")
    registry.register(workspace, project, run.id, override_reason="a test")
    registry.deploy(workspace, project, 1, "blue-green", reason="first", override="first")
    assert registry.get_version(workspace, project, 1).input_schema["entity"] == "user_id"
    new = subscribers(40, seed=5).drop(columns=["left"])
    new["user_id"] = [f"NEW{i}" for i in range(40)]
    new.to_csv(tmp_path / "new.csv", index=False)
    done = batch.predict_file(workspace, project, tmp_path / "new.csv", tmp_path / "out.csv")
    assert done["warnings"] == []
    new.loc[:2, "plan"] = "enterprise"
    new.to_csv(tmp_path / "new.csv", index=False)
    done = batch.predict_file(workspace, project, tmp_path / "new.csv", tmp_path / "out.csv")
    assert done["warnings"] == ["plan: 3 rows with a value not seen in training (e.g. 'enterprise')"]


# -- the service, monitoring and the bundle server, on palmerpenguins --------------------

PENGUIN = {
    "island": "Biscoe",
    "bill_length_mm": 45.2,
    "bill_depth_mm": 15.8,
    "flipper_length_mm": 215.0,
    "body_mass_g": 5300.0,
    "sex": "male",
    "year": 2008,
}
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


@pytest.fixture(scope="module")
def penguins_built(tmp_path_factory) -> Path:
    """palmerpenguins (species; no id column), logistic regression in production."""
    from palmerpenguins import load_penguins

    folder = tmp_path_factory.mktemp("penguins")
    ws, _ = Workspace.init(folder)
    project = create_project(ws, "penguins", "multiclass", "species")
    load_penguins().to_csv(folder / "penguins.csv", index=False)
    datasets.import_dataset(ws, project, folder / "penguins.csv")
    make_split(ws, project, "stratified", seed=1)
    run = trained_here(ws, project, "logistic_regression")
    registry.register(ws, project, run.id, override_reason="a warnings test")
    registry.deploy(ws, project, 1, "blue-green", reason="first", override="first")
    ws.close()
    return folder


@pytest.fixture
def penguins(penguins_built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "penguins"
    shutil.copytree(penguins_built, copy)
    return copy


ODD = [
    ({"island": "Atlantis"}, ["island: 'Atlantis' not seen in training"]),
    ({"body_mass_g": 1e300}, ["body_mass_g: 1e+300 far outside the training range 2700 to 6300"]),
    (
        {"year": None, "flipper_length_mm": "-400"},
        [
            "flipper_length_mm: -400 far outside the training range 172 to 231",
            "year: missing, never missing in training",
        ],
    ),
    ({"sex": None, "bill_length_mm": None}, None),
]  # both had missing values in training


async def test_the_service_answers_outside_the_domain_and_monitoring_counts_it(
    penguins: Path, run_cli
) -> None:
    import httpx

    service = Service(penguins / ".cockpit", "penguins", flush_interval=0.05)
    service.open()
    try:
        transport = httpx.ASGITransport(app=service.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            fine = await client.post("/predict", json=PENGUIN)
            assert fine.status_code == 200 and "warnings" not in fine.json()
            assert fine.json()["prediction"] == "Gentoo"
            one = await client.post("/predict", json={**PENGUIN, "island": "Atlantis"})
            assert one.status_code == 200
            assert one.json()["warnings"] == ["island: 'Atlantis' not seen in training"]
            many = await client.post(
                "/predict", json={"rows": [{**PENGUIN, **changes} for changes, _ in ODD]}
            )
            assert many.status_code == 200
            answers = many.json()["predictions"]
            assert [a.get("warnings") for a in answers] == [found for _, found in ODD]
            assert {a["prediction"] for a in answers} <= SPECIES
            assert all(a["route"] == "production" for a in answers)
            spec = (await client.get("/openapi.json")).json()
            assert "warnings" in spec["components"]["schemas"]["Answer"]["properties"]
    finally:
        service.close()
    with Workspace(penguins / ".cockpit") as ws:
        logged = ws.store.rows("SELECT warnings FROM requests ORDER BY id")
        project = get_project(ws, "penguins")
        windows = service_windows(ws, project, "month")
        stats = service_stats(ws, project)
    assert [json.loads(r["warnings"]) if r["warnings"] else None for r in logged] == [
        None,
        ["island: 'Atlantis' not seen in training"],
        *[found for _, found in ODD],
    ]
    assert stats.warned_rows == 4 and stats.rows == 6
    (window,) = windows.values()
    assert (window.warned_rows, window.warned_rate) == (4, round(4 / 6, 4))
    checked = run_cli("monitor", "check", "--json", workspace=penguins)
    assert checked.exit_code in (0, 1), checked.stderr
    (shown,) = json.loads(checked.stdout)["windows"]
    assert (shown["warned_rows"], shown["warned_rate"], shown["requests"]) == (4, 0.6667, 3)
    table = run_cli("monitor", "check", workspace=penguins).stdout.splitlines()
    assert table[0].split()[-2:] == ["ERRORS", "WARNED"] and table[1].split()[-1] == "0.6667"


async def test_the_bundle_server_answers_with_warnings_too(penguins: Path) -> None:
    import httpx

    from cockpit.deployment.bundle import write_bundle
    from cockpit.deployment.bundle_server import BundleService

    with Workspace(penguins / ".cockpit") as ws:
        write_bundle(ws, get_project(ws, "penguins"), 1, penguins / "bundle")
    service = BundleService(penguins / "bundle", penguins / "requests.jsonl")
    transport = httpx.ASGITransport(app=service.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bundle") as client:
        many = await client.post(
            "/predict", json={"rows": [PENGUIN, {**PENGUIN, "island": "Atlantis", "body_mass_g": 1e300}]}
        )
    assert many.status_code == 200
    answers = many.json()["predictions"]
    expected = [
        "island: 'Atlantis' not seen in training",
        "body_mass_g: 1e+300 far outside the training range 2700 to 6300",
    ]
    assert "warnings" not in answers[0] and sorted(answers[1]["warnings"]) == sorted(expected)
    assert {a["prediction"] for a in answers} <= SPECIES
    (line,) = (penguins / "requests.jsonl").read_text().splitlines()
    assert json.loads(line)["answers"] == answers


def test_a_null_in_a_text_column_reaches_the_model_as_missing_not_as_nan_text() -> None:
    from cockpit.deployment.serving_input import to_frame

    schema = {"columns": {"sex": {"kind": "categorical", "role": "feature", "dtype": "str"}}}
    frame = to_frame([{"sex": "male"}, {"sex": None}], schema)
    assert frame["sex"].isna().tolist() == [False, True]


def test_the_monitoring_screen_lists_warned_rows_with_the_service_health() -> None:
    from cockpit.monitoring.checks import Window, empty_window
    from screens.monitoring import _service_text

    stats = {
        **empty_window("2026-05", "month"),
        "requests": 40,
        "p95_latency_ms": 12.0,
        "error_rate": 0.0,
        "fallback_rate": 0.0,
        "warned_rows": 0,
        "warned_rate": 0.0,
    }
    assert _service_text([Window.from_stats(stats)]) == (
        "service 2026-05: 40 requests · p95 12 ms · errors 0.0% · fallback 0.0%"
    )
    warned = Window.from_stats({**stats, "warned_rows": 3, "warned_rate": 0.075})
    assert _service_text([warned]).endswith("· fallback 0.0% · warned 7.5%")


def test_a_huge_number_is_answered_without_a_warning_on_the_terminal() -> None:
    """A forest casts its input to float32: 1e300 overflows there. The answer carries the
    domain warning; nothing is printed where no one reads it."""
    import warnings

    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from cockpit.data.profile import profile_frame
    from cockpit.deployment.routing import answers
    from cockpit.feature_pipeline import compile_transformer
    from cockpit.features import infer_spec
    from cockpit.projects import Project

    frame = load_breast_cancer(as_frame=True).frame
    pipeline = Pipeline(
        [
            ("features", compile_transformer(infer_spec(profile_frame(frame), "target"))),
            ("model", RandomForestClassifier(n_estimators=5, random_state=0)),
        ]
    )
    pipeline.fit(frame, frame["target"])
    row = frame.drop(columns="target").iloc[[0]].assign(**{"mean radius": 1e300})
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        predicted, scores = answers(pipeline, row, Project(1, "bc", "binary", "target", "", ""), 0.5)
    assert predicted.tolist() in ([0], [1]) and 0 <= scores[0] <= 1
    assert [str(w.message) for w in raised] == []
