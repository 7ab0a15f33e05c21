"""Data stage: versions, profile, validation checks on data of the tests' own, recipes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit.data import checks, datasets, recipes
from cockpit.data.semantics import date_format, spelling_groups
from cockpit.errors import CockpitError
from cockpit.projects import create_project


def messy_frame(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Data unlike sample_data: other cities, a fourth date format, other columns."""
    rng = np.random.default_rng(seed)
    cities = rng.choice(["Los Angeles", "Boston", "Denver"], n).astype(object)
    cities[:12] = "los angeles"
    cities[12:20] = "LA"
    cities[20:23] = "Los  Angeles"
    formats = ["%Y-%m-%d", "%m/%d/%Y", "%d %b %Y", "%B %d, %Y"]
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    joined = [d.strftime(formats[i % 4]) for i, d in enumerate(days)]
    weight = rng.normal(70, 8, n).round(1)
    weight[5] = 7000.0
    height = rng.normal(170, 9, n).round(1)
    height[7] = -4.0
    frame = pd.DataFrame(
        {
            "member_ref": [f"M{i:05d}" for i in range(n)],
            "city": cities,
            "joined": joined,
            "weight_kg": weight,
            "height_cm": height,
            "visits": rng.poisson(3, n),
            "renewed": (rng.random(n) < 0.06).astype(int),
        }
    )
    frame.loc[30:35, "visits"] = np.nan
    copies = frame.iloc[40:45]
    repeat = frame.iloc[50:53].assign(visits=7)
    return pd.concat([frame, copies, repeat], ignore_index=True)


@pytest.fixture
def members(workspace):
    return create_project(workspace, "members", "binary", "renewed")


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "members.csv"
    messy_frame().to_csv(path, index=False)
    return path


def _by_check(report: checks.Report) -> dict[str, list[checks.Finding]]:
    found: dict[str, list[checks.Finding]] = {}
    for finding in report.findings:
        found.setdefault(finding.check, []).append(finding)
    return found


def test_checks_catch_the_planted_problems_in_data_of_our_own(workspace, members, messy_csv):
    version, created = datasets.import_dataset(workspace, members, messy_csv)
    assert created and version.rows == 408
    report = checks.validate(workspace, members, version)
    found = _by_check(report)

    spelling = found["spelling"][0]
    assert spelling.column == "city" and set(spelling.examples) == {
        "Los Angeles",
        "los angeles",
        "LA",
        "Los  Angeles",
    }
    assert spelling.fix["mapping"] == {
        "los angeles": "Los Angeles",
        "LA": "Los Angeles",
        "Los  Angeles": "Los Angeles",
    }
    dates = found["date_formats"][0]
    assert dates.column == "joined" and len(dates.examples) == 4
    assert {(f.column, f.examples[0]) for f in found["outliers"]} == {
        ("weight_kg", 7000.0),
        ("height_cm", -4.0),
    }
    assert found["range"][0].column == "height_cm" and found["range"][0].rows == 1
    assert found["duplicates"][0].rows == 5
    keys = found["repeated_keys"][0]
    assert keys.column == "member_ref" and keys.rows == 6
    assert found["nulls"][0].column == "visits" and found["nulls"][0].rows == 6
    balance = found["class_balance"][0]
    assert balance.severity == "warning" and "rare" in balance.message
    assert report.passed  # warnings only
    stored = workspace.store.one("SELECT warnings, findings FROM validations")
    assert stored["warnings"] == report.count("warning")
    assert len(json.loads(stored["findings"])) == len(report.findings)


def test_suggested_recipe_fixes_them_into_a_child_version(workspace, members, messy_csv):
    version, _ = datasets.import_dataset(workspace, members, messy_csv)
    report = checks.validate(workspace, members, version)
    child, results = recipes.clean_version(workspace, members, recipes.suggest_recipe(report.findings))
    assert child.parent_id == version.id and child.recipe[0]["step"]["op"] == "standardise"
    assert child.rows == 408 - 5 - 3 - 2  # copies, repeated keys, two outliers (one also < 0)
    frame = datasets.load_frame(workspace, child)
    assert set(frame["city"]) == {"Los Angeles", "Boston", "Denver"}
    assert frame["joined"].dtype.kind == "M" and frame["joined"].notna().all()
    assert frame["visits"].notna().all()
    validated = checks.latest_report(workspace, child)  # the clean step validated its child
    assert validated is not None
    after = _by_check(validated)
    assert set(after) <= {"class_balance", "schema"}
    assert all(f.severity == "info" for f in after.get("schema", []))
    events = [e["action"] for e in workspace.store.rows("SELECT action FROM events WHERE stage='data'")]
    assert events == ["import", "validate", "clean", "validate"]


def test_recipe_replays_on_new_data(workspace, members, messy_csv):
    steps = [
        {"op": "standardise", "column": "city", "mapping": {"LA": "Los Angeles"}},
        {"op": "fill", "column": "visits", "strategy": "value", "value": 0},
    ]
    fresh = messy_frame(n=120, seed=99)
    cleaned, results = recipes.apply_recipe(fresh, steps)
    assert "LA" not in set(cleaned["city"]) and cleaned["visits"].isna().sum() == 0
    assert results[0].cells_changed == 8 and results[1].cells_changed == 6


def test_same_content_is_one_version_whatever_the_format(workspace, members, messy_csv, tmp_path):
    first, _ = datasets.import_dataset(workspace, members, messy_csv)
    again, created = datasets.import_dataset(workspace, members, messy_csv, name="again")
    assert not created and again.id == first.id
    parquet = tmp_path / "same.parquet"
    datasets.load_frame(workspace, first).to_parquet(parquet)
    as_parquet, created = datasets.import_dataset(workspace, members, parquet)
    assert not created and as_parquet.id == first.id


def test_schema_changes_against_the_previous_version(workspace, members, messy_csv, tmp_path):
    datasets.import_dataset(workspace, members, messy_csv)
    changed = (
        messy_frame().drop(columns=["height_cm"]).assign(visits=lambda f: f["visits"].astype(str), extra=1)
    )
    path = tmp_path / "changed.csv"
    changed.to_csv(path, index=False)
    version, _ = datasets.import_dataset(workspace, members, path)
    schema = {
        (f.column, f.severity) for f in _by_check(checks.validate(workspace, members, version))["schema"]
    }
    assert {("height_cm", "warning"), ("extra", "info")} <= schema


def test_user_set_range_is_an_error(workspace, members, messy_csv):
    version, _ = datasets.import_dataset(workspace, members, messy_csv)
    checks.set_column_range(workspace, members, "weight_kg", 30, 200)
    report = checks.validate(workspace, members, version)
    assert not report.passed
    error = next(f for f in report.findings if f.severity == "error")
    assert error.check == "range" and error.column == "weight_kg" and error.examples == [7000.0]


def test_recipe_errors_name_the_step(workspace, members, messy_csv, tmp_path):
    datasets.import_dataset(workspace, members, messy_csv)
    with pytest.raises(CockpitError, match="step 2: unknown op 'melt'"):
        recipes.check_steps([{"op": "drop_duplicates"}, {"op": "melt"}], "r.toml")
    with pytest.raises(CockpitError, match=r"step 1 \(fill\) needs strategy"):
        recipes.check_steps([{"op": "fill", "column": "x"}], "r.toml")
    with pytest.raises(CockpitError, match="no column 'nope'"):
        recipes.clean_version(workspace, members, [{"op": "drop_outliers", "column": "nope"}])
    with pytest.raises(CockpitError, match="nothing new"):
        recipes.clean_version(workspace, members, [{"op": "clip", "column": "visits", "min": -1}])
    assert workspace.store.scalar("SELECT count(*) FROM dataset_versions") == 1


def test_recipe_toml_round_trips(tmp_path):
    steps = [
        {"op": "standardise", "column": "city", "mapping": {"LA": "Los Angeles", "la": "L A"}},
        {"op": "dedupe_keys", "column": "id", "keep": "last", "order_by": "joined"},
        {"op": "fill", "column": "v", "strategy": "value", "value": 0},
    ]
    path = tmp_path / "recipe.toml"
    path.write_text(recipes.recipe_to_toml(steps))
    assert recipes.load_recipe(path) == steps


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ("2025-03-14", "Y-9-9"),
        ("03/14/2025", "9/9/Y"),
        ("14 Mar 2025", "9 Mon Y"),
        ("March 14, 2025", "Mon 9, Y"),
        ("2025.03.14", "Y.9.9"),
        ("2025-03-14T10:22:01Z", "Y-9-9T9:9:9Z"),
        ("Boston", None),
        ("12", None),
        ("", None),
    ],
)
def test_date_formats(value, shape):
    assert date_format(value) == shape


def test_spelling_groups_need_no_known_list():
    groups = spelling_groups({"Rio de Janeiro": 40, "rio de janeiro": 3, "RDJ": 2, "Lima": 9})
    assert groups == [{"Rio de Janeiro": 40, "rio de janeiro": 3, "RDJ": 2}]
    assert spelling_groups({"Lima": 3, "Quito": 4}) == []


def test_churn_sample_problems_are_all_reported(workspace):
    import sample_data

    churn = create_project(workspace, "churn", "binary", "churned")
    version, _ = datasets.import_dataset(workspace, churn, sample_data.churn_customers())
    found = _by_check(checks.validate(workspace, churn, version))
    assert {f.column for f in found["spelling"]} == {"city"}
    assert {"NY", "new york"} <= {e for f in found["spelling"] for e in f.examples}
    assert len(found["date_formats"][0].examples) == 3
    assert found["duplicates"][0].rows == 40
    assert found["repeated_keys"][0].column == "customer_id"
    outliers = {f.column: f.examples for f in found["outliers"]}
    assert 200 in outliers["age"] and 99999 in outliers["monthly_charges"]
    assert {f.column for f in found["nulls"]} == {"age", "monthly_charges", "payment_method"}
    assert found["range"][0].column == "age"


def test_profile_types_and_histogram(workspace, members, messy_csv):
    version, _ = datasets.import_dataset(workspace, members, messy_csv)
    profile = {c["name"]: c for c in datasets.load_profile(workspace, version)}
    assert profile["member_ref"]["type"] == "id"
    assert profile["joined"]["type"] == "date"
    assert profile["city"]["type"] == "categorical"
    assert profile["weight_kg"]["type"] == "numeric" and profile["weight_kg"]["max"] == 7000.0
    assert sum(profile["weight_kg"]["histogram"]["counts"]) == 408
    assert profile["renewed"]["type"] == "binary"
    assert profile["visits"]["nulls"] == 6


def test_column_profiles_are_typed_with_the_stored_values(workspace, members, messy_csv):
    """What the data screen shows, read as ColumnProfile records."""
    version, _ = datasets.import_dataset(workspace, members, messy_csv)
    stored = datasets.load_profile(workspace, version)
    typed = datasets.column_profiles(workspace, version)
    assert [(c.name, c.type, c.nulls, c.null_pct, c.distinct) for c in typed] == [
        (c["name"], c["type"], c["nulls"], c["null_pct"], c["distinct"]) for c in stored
    ]
    by_name = {c.name: c for c in typed}
    weight = by_name["weight_kg"]
    assert weight.max == 7000.0 and weight.min is not None and weight.min <= weight.mean <= weight.max
    assert (
        sum(weight.histogram.counts) == 408
        and len(weight.histogram.edges) == len(weight.histogram.counts) + 1
    )
    assert by_name["joined"].formats and by_name["joined"].histogram is None
    city = by_name["city"]
    assert city.top and all(isinstance(v, str) and n > 0 for v, n in city.top)
    assert [n for _, n in city.top] == sorted((n for _, n in city.top), reverse=True)


def test_blanks_are_filled_with_the_median_or_the_most_common_value(workspace, members, tmp_path):
    """A 0/1 column with blanks is read as numbers: filling it with a "missing" level could
    not be stored, so binary and categorical columns get their mode, numbers their median."""
    path = tmp_path / "blanks.csv"
    pd.DataFrame(
        {
            "member_ref": [f"M{i}" for i in range(40)],
            "opted_in": [1, 0, 1, None] * 10,  # 0/1 with 10 blanks: mode 1
            "spend": [10.0, 20.0, None, 40.0, 1000.0] * 8,  # median of the rest: 30
            "plan": ["basic", "pro", "basic", None] * 10,  # mode "basic"
            "renewed": [0, 1] * 20,
        }
    ).to_csv(path, index=False)
    version, _ = datasets.import_dataset(workspace, members, path)
    report = checks.validate(workspace, members, version)
    fixes = {f.column: f.fix for f in _by_check(report)["nulls"]}
    assert fixes == {
        "opted_in": {"op": "fill", "column": "opted_in", "strategy": "mode"},
        "spend": {"op": "fill", "column": "spend", "strategy": "median"},
        "plan": {"op": "fill", "column": "plan", "strategy": "mode"},
    }
    child, results = recipes.clean_version(workspace, members, list(fixes.values()))
    frame = datasets.load_frame(workspace, child)
    assert frame["opted_in"].tolist() == [1, 0, 1, 1] * 10
    assert frame["spend"].tolist() == [10.0, 20.0, 30.0, 40.0, 1000.0] * 8
    assert frame["plan"].tolist() == ["basic", "pro", "basic", "basic"] * 10
    assert {r.note for r in results} == {"value 1.0", "value 30.0", "value 'basic'"}


def test_a_column_mixing_numbers_and_text_is_flagged_with_a_fix(workspace, members, tmp_path):
    path = tmp_path / "mixed.csv"
    pd.DataFrame(
        {
            "member_ref": [f"M{i}" for i in range(40)],
            # 20 numbers, 5 "n/a" (read as missing), 10 "abc", 5 "1,2"
            "amount": ["12", "15", "abc", "n/a", "7.5", "-3", "abc", "1,2"] * 5,
            "plan": ["basic", "pro", "basic", "12"] * 10,  # 25% numbers: not flagged
            "account_id": [str(100 + i) for i in range(36)] + ["X1"] * 4,  # an id: not flagged
            "renewed": [0, 1] * 20,
        }
    ).to_csv(path, index=False)
    version, _ = datasets.import_dataset(workspace, members, path)
    report = checks.validate(workspace, members, version)
    [mixed] = _by_check(report)["mixed_types"]
    assert (mixed.severity, mixed.column, mixed.rows) == ("warning", "amount", 15)
    assert mixed.message.startswith(
        "column 'amount' mixes numbers and text: 20 of 35 values "
        "(57.1%) are numbers, 15 are text ('abc', '1,2')"
    )
    assert mixed.examples == ["abc", "1,2"]
    assert mixed.fix == {"op": "to_numeric", "column": "amount"}
    child, results = recipes.clean_version(workspace, members, [mixed.fix])
    frame = datasets.load_frame(workspace, child)
    assert frame["amount"].dtype == "float64" and frame["amount"].notna().sum() == 20
    assert frame["amount"].sum() == (12 + 15 + 7.5 - 3) * 5
    assert results[0].note == "15 values were not numbers (now missing)"
    after = _by_check(checks.validate(workspace, members, child))
    assert "mixed_types" not in after and after["nulls"][0].fix["strategy"] == "median"
    # the step replays on data whose column is numbers already, leaving it as it is
    again, _ = recipes.apply_recipe(frame, [mixed.fix])
    assert again["amount"].equals(frame["amount"])
    with pytest.raises(CockpitError, match="to_numeric renewed: the column holds bool"):
        recipes.apply_recipe(frame.assign(renewed=frame["renewed"] == 1), [mixed.fix | {"column": "renewed"}])


def test_outlier_drops_that_together_would_move_the_class_balance_are_withdrawn(workspace, tmp_path):
    """Three columns' outliers, each more often class 1 but not enough to be signal: the three
    drops together would move the class share by 2 points, so the most unbalanced ones are
    withdrawn, each saying why, until the rest moves it by less than one point."""
    rng = np.random.default_rng(11)
    n = 1000
    y = np.array([0, 1] * (n // 2))
    frame = pd.DataFrame({"y": y})
    ones, zeros = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for i, (name, in_one) in enumerate([("a", 22), ("b", 21), ("c", 20)]):
        values = rng.normal(50, 5, n).round(2)
        values[np.r_[ones[30 * i : 30 * i + in_one], zeros[30 * i : 30 * i + 30 - in_one]]] = 5000.0
        frame[name] = values
    path = tmp_path / "balance.csv"
    frame.to_csv(path, index=False)
    project = create_project(workspace, "balance", "binary", "y")
    version, _ = datasets.import_dataset(workspace, project, path)
    report = checks.validate(workspace, project, version)
    found = {f.column: f for f in report.findings if f.check == "outliers"}
    assert set(found) == {"a", "b", "c"} and all(f.severity == "warning" for f in found.values())
    why = "; not suggested for dropping: with the other outlier drops it would move the class balance by"
    assert found["a"].fix is None and found["a"].message.endswith(f"{why} 2.0%")  # all three: 437/910
    assert found["b"].fix is None and found["b"].message.endswith(f"{why} 1.2%")  # b and c: 459/940
    assert (
        found["c"].fix == {"op": "drop_outliers", "column": "c"} and "not suggested" not in found["c"].message
    )


def test_a_fill_step_names_the_value_it_fills_with() -> None:
    text = checks._fill_step("mentor_notes", "text")
    assert recipes.describe(text) == "fill mentor_notes with an empty text"
    step = {"op": "fill", "column": "sex", "strategy": "value", "value": "unknown"}
    assert recipes.describe(step) == "fill sex with 'unknown'"
    numeric = checks._fill_step("bill_length_mm", "numeric")
    assert recipes.describe(numeric) == "fill bill_length_mm with median"
