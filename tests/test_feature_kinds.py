"""A date column that holds numbers (features.kinds_for): whole years 1000-2999 are read as
1 January of each year in training and in every scoring path; any other number is refused
as a date when the spec is saved, and an old spec holding one says so (features show, the
Features screen, training). On palmerpenguins, whose `year` column holds 2007-2009."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit import features
from cockpit.data.profile import profile_frame
from cockpit.errors import CockpitError
from cockpit.feature_pipeline import DateParts, compile_transformer
from cockpit.workspace import Workspace
from tests.cli_workspaces import Built, build, penguins

# runs train in this process: what the model reads is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """palmerpenguins imported and split (random, seed 1); no spec saved yet."""
    return build(tmp_path_factory.mktemp("kinds"), penguins(), "multiclass", "species")


@pytest.fixture
def copied(built: Built, private_copy) -> Built:
    folder = private_copy(built.root.parent)
    return Built(folder / "ws", folder / built.data.name)


def _spec(copied: Built) -> dict[str, dict]:
    shown = copied.cli("features", "show", "--json")
    return {c["column"]: c for c in json.loads(shown.output)["columns"]}


def _date_branch(pipeline):
    """The fitted date branch of a run's pipeline, without its scaler: the parts as read."""
    transformer = pipeline.named_steps["features"]
    name = next(n for n, _, columns in transformer.transformers_ if n.startswith("date_"))
    return transformer.named_transformers_[name][:-1]


def test_kinds_follow_what_each_column_holds() -> None:
    frame = penguins()
    gap = frame.assign(year=frame["year"].where(frame.index != 3))  # a gap: float64 years
    kinds = {c["name"]: features.kinds_for(c) for c in profile_frame(gap)}
    assert kinds["year"] == features.ColumnKinds(
        "year", ("numeric", "categorical", "date"), "years 2007-2009", years=True
    )
    assert kinds["body_mass_g"].kinds == ("numeric", "categorical")
    assert kinds["body_mass_g"].holds == "whole numbers 2700 to 6300"
    assert kinds["bill_length_mm"].holds == "numbers with fractions, 32.1 to 59.6"
    assert kinds["island"].kinds == ("categorical", "text")
    assert features.kind_problem(features.ColumnSpec("island", kind="date"), kinds["island"]) == (
        "holds text: its kind can be categorical or text, not date; a parse_dates step of a cleaning "
        "recipe (cockpit data clean) reads its dates"
    )
    from sklearn.datasets import load_diabetes

    bmi = next(c for c in profile_frame(load_diabetes(as_frame=True).frame) if c["name"] == "bmi")
    assert features.kinds_for(bmi).kinds == ("numeric", "categorical")
    dated = pd.DataFrame({"seen": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(60)]})
    assert features.kinds_for(profile_frame(dated)[0]).kinds == ("categorical", "date", "text")
    # a profile stored before "whole" was recorded: integers are whole, floats unknown
    old = {"name": "y", "type": "numeric", "dtype": "float64", "min": 2007.0, "max": 2009.0}
    assert not features.kinds_for(old).years and features.kinds_for({**old, "dtype": "int64"}).years


def test_date_parts_read_whole_numbers_as_years() -> None:
    parts = DateParts(("year", "days_since")).fit(pd.DataFrame({"y": [2007, 2008]}))
    read = parts.transform(pd.DataFrame({"y": [2007.0, 1000, 2999, 3000, 2007.5, np.nan]}))
    # 13514 days from 1970-01-01 to 2007-01-01; year 1000 and 2999 are beyond nanoseconds' range
    assert read[:3].tolist() == [[2007, 13514], [1000, -354285], [2999, 375835]]
    assert np.isnan(read[3:]).all()  # not a year: unreadable, as an unreadable date
    # rows built from JSON: numbers and text in one column
    mixed = pd.DataFrame({"y": pd.Series([2009, "2010-06-01", None, "soon"], dtype=object)})
    assert DateParts(("year",)).fit(mixed).transform(mixed)[:, 0].tolist()[:2] == [2009, 2010]
    assert pickle.loads(pickle.dumps(parts)).years is True
    with pytest.raises(CockpitError, match=r"'y' holds years: .* \(month would tell the model nothing\)"):
        DateParts(("year", "month")).fit(pd.DataFrame({"y": [2007, 2008]}))


def test_compiler_3_keeps_reading_numbers_as_it_did() -> None:
    """A run recorded under compiler 3 rebuilds as it was trained (nanoseconds after 1970),
    to the same bytes: its DateParts pickles without `years`, and unpickles without it."""
    frame = pd.DataFrame({"year": [2007, 2008, 2009] * 4})
    spec = [features.ColumnSpec("year", kind="date", date_parts=["year"], scaling="none")]
    old = compile_transformer(spec, version=3).fit(frame)
    assert old.transform(frame)[:, 0].tolist() == [1970.0] * 12
    step = old.named_transformers_["date_0"][0]
    assert "years" not in step.__getstate__() and pickle.loads(pickle.dumps(step)).years is False
    new = compile_transformer(spec).fit(frame)
    assert new.transform(frame)[:, 0].tolist() == [2007.0, 2008.0, 2009.0] * 4


def test_a_year_column_as_date_trains_and_every_scoring_path_reads_the_year(copied: Built) -> None:
    from cockpit.data.reading import read_table
    from cockpit.deployment.registry import input_schema
    from cockpit.deployment.serving_input import check_rows, openapi, to_frame
    from cockpit.projects import get_project
    from cockpit.training import runs

    assert copied.cli("features", "set", "--column", "year:kind=date").exit_code == 0
    year = _spec(copied)["year"]
    assert (year["kind"], year["date_parts"]) == ("date", ["year"])  # month, dayofweek: constant
    trained = copied.cli("train", "--model", "logistic_regression")
    assert trained.exit_code == 0, trained.output
    with Workspace.open(copied.root) as ws:
        project = get_project(ws, "p")
        run = runs.get_run(ws, project, int(trained.output.split()[-1]))
        assert run.feature_compiler == 4
        pipeline = runs.load_pipeline(ws, run)
        schema = input_schema(ws, project, run)
    assert "year_year" in pipeline.named_steps["features"].get_feature_names_out()
    date = _date_branch(pipeline)
    batch = read_table(copied.data)  # as a batch file is read: int64 years
    assert date.transform(batch[["year"]])[:, 0].tolist() == batch["year"].astype(float).tolist()
    assert len(pipeline.predict(batch)) == len(batch)
    # the service's rows: the year as a number or as text
    first = {c: (None if pd.isna(v) else v) for c, v in batch.iloc[0].items() if c in schema["columns"]}
    rows = [{**first, "year": 2008}, {**first, "year": "2009"}]
    assert check_rows(rows, schema) == []
    served = to_frame(rows, schema)
    assert date.transform(served[["year"]])[:, 0].tolist() == [2008.0, 2009.0]
    assert len(pipeline.predict(served)) == 2
    assert check_rows([{**first, "year": 20070}], schema) == [
        {"row": 0, "field": "year", "problem": "must be a whole year 1000-2999, or a date as text"}
    ]
    row = openapi(schema, "p", "1")["components"]["schemas"]["Row"]["properties"]
    assert row["year"]["type"] == ["integer", "string", "null"]


def test_numbers_that_are_not_years_are_refused_as_dates(copied: Built, tmp_path: Path) -> None:
    mass = copied.cli("features", "set", "--column", "body_mass_g:kind=date")
    assert mass.exit_code == 2
    assert (
        "feature spec: column 'body_mass_g' holds whole numbers 2700 to 6300, not dates: a number is read "
        "as a date only when it is a whole year 1000-2999 (1 January of that year); keep it numeric"
    ) in mass.output
    inferred = json.loads(copied.cli("features", "show", "--json").output)["columns"]
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps([{**c, "kind": "date"} if c["column"] == "bill_length_mm" else c for c in inferred])
    )
    from_file = copied.cli("features", "set", "--file", str(spec))
    assert from_file.exit_code == 2
    assert f"{spec}: column 'bill_length_mm' holds numbers with fractions, 32.1 to 59.6, not dates" in (
        from_file.output
    )
    parts = copied.cli("features", "set", "--column", "year:kind=date", "--column", "year:date_parts=month")
    assert parts.exit_code == 2
    assert (
        "column 'year' holds years 2007-2009: each is read as 1 January, so its date parts can be year or "
        "days_since (month would tell the model nothing)"
    ) in parts.output
    assert json.loads(copied.cli("features", "show", "--json").output)["version"] is None  # nothing saved


def _save_unchecked(root: Path, column: str, **fields) -> None:
    """A spec version saved before kinds were checked against the data (an old spec)."""
    from dataclasses import replace

    from cockpit.projects import get_project
    from storage import clock

    with Workspace.open(root) as ws:
        project = get_project(ws, "p")
        _, specs = features.current_spec(ws, project)
        specs = [replace(s, **fields) if s.column == column else s for s in specs]
        with ws.store.transaction():
            ws.store.insert(
                "feature_specs",
                {
                    "project_id": project.id,
                    "version": 1,
                    "spec": [s.as_dict() for s in specs],
                    "created_at": clock.now_iso(),
                    "created_by": "old",
                    "comment": "",
                },
            )


def test_an_old_spec_with_a_number_as_a_date_says_so_and_does_not_train(copied: Built) -> None:
    _save_unchecked(copied.root, "body_mass_g", kind="date")
    shown = copied.cli("features", "show")
    assert "! body_mass_g holds whole numbers 2700 to 6300, not dates" in shown.output
    trained = copied.cli("train", "--model", "logistic_regression")
    assert trained.exit_code == 1
    assert "date column 'body_mass_g' holds numbers that are not years (e.g. 3750)" in trained.output


async def _features(pilot, app) -> tuple:
    """The Features screen (key 3) and its rows' column names."""
    from screens.features import FeaturesScreen

    await pilot.press("3")
    await pilot.pause()
    assert isinstance(app.screen, FeaturesScreen)
    return app.screen, [s.column for s in app.screen.specs]


async def test_the_screen_offers_only_the_kinds_a_column_can_take(copied: Built) -> None:
    from screens.app import CockpitApp

    ws = Workspace.open(copied.root)
    app = CockpitApp(ws, "p")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, rows = await _features(pilot, app)
        await pilot.press(*["down"] * rows.index("body_mass_g"))
        seen = []
        for _ in range(4):
            await pilot.press("k")
            seen.append(screen.specs[rows.index("body_mass_g")].kind)
        assert seen == ["categorical", "numeric", "categorical", "numeric"]  # never date
        await pilot.press(*["down"] * (rows.index("year") - rows.index("body_mass_g")))
        await pilot.press("k", "k")
        year = screen.specs[rows.index("year")]
        assert (year.kind, year.date_parts) == ("date", ["year"])
        await pilot.press("k")
        assert screen.specs[rows.index("year")].kind == "numeric"
    ws.close()


async def test_the_screen_says_when_a_saved_kind_does_not_fit(copied: Built) -> None:
    from screens.app import CockpitApp

    _save_unchecked(copied.root, "body_mass_g", kind="date")
    ws = Workspace.open(copied.root)
    app = CockpitApp(ws, "p")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, rows = await _features(pilot, app)
        assert "! body_mass_g: kind does not fit the data" in str(
            screen.query_one("#features-summary").render()
        )
        await pilot.press(*["down"] * rows.index("body_mass_g"))
        await pilot.pause()
        note = str(screen.query_one("#features-note").render())
        assert note.startswith("! body_mass_g holds whole numbers 2700 to 6300, not dates")
        await pilot.press("k")
        await pilot.pause()
        assert screen.specs[rows.index("body_mass_g")].kind == "numeric"
        said = [n.message for n in app._notifications]
        assert any(m.startswith("body_mass_g holds whole numbers 2700 to 6300, not dates") for m in said)
    ws.close()
