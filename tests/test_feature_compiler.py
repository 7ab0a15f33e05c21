"""The grouped feature compiler (one branch per treatment) and inference on real columns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit import features
from cockpit.data.profile import profile_frame
from cockpit.feature_pipeline import compile_transformer

# runs train in this process: what they record is the subject, not the training process
pytestmark = pytest.mark.usefixtures("train_here")

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def _frames() -> dict[str, tuple[pd.DataFrame, str]]:
    from palmerpenguins import load_penguins
    from sklearn.datasets import load_breast_cancer

    return {
        "churn": (pd.read_csv(SAMPLES / "churn" / "customers.csv"), "churned"),
        "houses": (pd.read_csv(SAMPLES / "house_prices" / "houses.csv"), "price"),
        "learners": (pd.read_csv(SAMPLES / "learner_support" / "reference.csv"), "needs_support"),
        "breast_cancer": (load_breast_cancer(as_frame=True).frame, "target"),
        "penguins": (load_penguins(), "species"),
    }


@pytest.mark.parametrize("name", ["churn", "houses", "learners", "breast_cancer", "penguins"])
def test_grouped_compiler_gives_the_same_matrix_as_one_branch_per_column(name: str) -> None:
    frame, target = _frames()[name]
    specs = features.infer_spec(profile_frame(frame), target)
    per_column = compile_transformer(specs, dense=True, version=1).fit(frame)
    grouped = compile_transformer(specs, dense=True, version=2).fit(frame)
    old = pd.DataFrame(per_column.transform(frame), columns=per_column.get_feature_names_out())
    new = pd.DataFrame(grouped.transform(frame), columns=grouped.get_feature_names_out())
    assert sorted(old.columns) == sorted(new.columns)
    # the same columns and values; summing a group at once may round the last bit differently
    np.testing.assert_allclose(new[old.columns].to_numpy(), old.to_numpy(), rtol=1e-9, atol=1e-12)
    used = sum(s.role == "feature" for s in specs)
    assert len(per_column.transformers) == used
    kinds = {
        (s.kind, s.missing, s.scaling) if s.kind != "text" else s.column for s in specs if s.role == "feature"
    }
    assert len(grouped.transformers) == len(kinds) < used


def test_thirty_numeric_columns_share_one_branch() -> None:
    frame, target = _frames()["breast_cancer"]
    specs = features.infer_spec(profile_frame(frame), target)
    grouped = compile_transformer(specs, version=2)
    assert [(name, len(columns)) for name, _, columns in grouped.transformers] == [("num_0", 30)]
    with pytest.raises(ValueError, match="unknown feature compiler version 7"):
        compile_transformer(specs, version=7)


def test_runs_record_their_compiler_and_reproduce_rebuilds_an_old_one(workspace) -> None:
    from cockpit.projects import create_project
    from cockpit.training import runs
    from cockpit.training.child import load_inputs
    from cockpit.training.fit import fit_and_score
    from cockpit.training.reproduce import reproduce

    frame, target = _frames()["penguins"]
    path = workspace.root / "penguins.csv"
    frame.to_csv(path, index=False)
    from cockpit.data.datasets import import_dataset
    from cockpit.data.splits import make_split

    project = create_project(workspace, "penguins", "multiclass", target)
    import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified", seed=1)
    run = runs.train(workspace, project, "logistic_regression", [], seed=1)
    assert run.status == "finished", run.error
    assert run.feature_compiler == features.COMPILER_VERSION == 4

    # A run from before grouping: no compiler recorded, its artifact built one branch per column.
    inputs = load_inputs(workspace, project, run)
    inputs.compiler = 1
    old = fit_and_score(inputs)
    assert len(old.pipeline.named_steps["features"].transformers) == 7  # one per column
    ref = workspace.artifacts.put(old.pipeline, kind="model", library_versions=run.library_versions)
    with workspace.store.transaction():
        workspace.store.conn.execute(
            "UPDATE runs SET feature_compiler = NULL, artifact_sha256 = ? WHERE id = ?", [ref.sha256, run.id]
        )
    assert runs.get_run(workspace, project, run.id).feature_compiler is None
    result = reproduce(workspace, project, run.id)
    assert result.artifact_match and result.identical, result


def _profile(values: list, name: str = "when") -> dict:
    frame = pd.DataFrame({name: values, "y": [0, 1] * (len(values) // 2)})
    return next(c for c in profile_frame(frame) if c["name"] == name)


def test_date_parts_follow_how_the_column_varies() -> None:
    yearly = _profile([f"{2000 + i % 20}-01-01" for i in range(100)])
    assert yearly["type"] == "date" and yearly["date_parts"] == ["year"]
    monthly = _profile([f"2024-{1 + i % 12:02d}-01" for i in range(100)])
    assert monthly["date_parts"] == ["month"]
    days = pd.date_range("2022-01-01", periods=100, freq="9D").strftime("%Y-%m-%d").tolist()
    assert _profile(days)["date_parts"] == ["year", "month", "dayofweek"]
    hours = pd.date_range("2024-03-04 00:00", periods=100, freq="37min").astype(str).tolist()
    assert _profile(hours)["date_parts"] == ["dayofweek", "hour"]
    spec = features.infer_spec([yearly], "y")[0]
    assert spec.kind == "date" and spec.date_parts == ["year"] and "year" in spec.note


def test_yearly_dates_keep_the_year_and_drop_constant_parts() -> None:
    frame = pd.DataFrame({"founded": [f"{1990 + i % 30}-01-01" for i in range(120)], "y": np.arange(120) % 2})
    specs = features.infer_spec(profile_frame(frame), "y")
    raw = compile_transformer(specs, version=2).fit(frame)
    assert list(raw.get_feature_names_out()) == ["founded_year"]
    years = [float(1990 + i % 30) for i in range(120)]
    assert raw.transform(frame)[:, 0].tolist() == years
    scaled = compile_transformer(specs).fit(frame)  # compiler 3: the spec's scaling, standard
    assert list(scaled.get_feature_names_out()) == ["founded_year"]
    np.testing.assert_allclose(scaled.transform(frame)[:, 0], (years - np.mean(years)) / np.std(years))
    unscaled = [replace(s, scaling="none") if s.kind == "date" else s for s in specs]
    assert compile_transformer(unscaled).fit_transform(frame)[:, 0].tolist() == years


def _penguins_with_egg_dates() -> pd.DataFrame:
    """The raw Palmer penguins table: its real 'Date Egg' column (2007-2009) beside the
    measurements; the task, the sex of the penguin."""
    from palmerpenguins import load_penguins_raw

    columns = ["Island", "Clutch Completion", "Date Egg", "Culmen Length (mm)", "Culmen Depth (mm)"]
    columns += ["Flipper Length (mm)", "Body Mass (g)", "Sex"]
    return load_penguins_raw()[columns].dropna(subset=["Sex"]).reset_index(drop=True)


def test_logistic_regression_converges_on_scaled_date_parts_and_a_v2_run_rebuilds(workspace) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from cockpit.data.datasets import import_dataset
    from cockpit.data.splits import make_split
    from cockpit.projects import create_project
    from cockpit.training import runs
    from cockpit.training.child import load_inputs
    from cockpit.training.fit import fit_and_score
    from cockpit.training.reproduce import reproduce

    frame = _penguins_with_egg_dates()
    path = workspace.root / "penguins_raw.csv"
    frame.to_csv(path, index=False)
    project = create_project(workspace, "penguins", "binary", "Sex")
    import_dataset(workspace, project, path)
    make_split(workspace, project, "stratified", seed=1)
    run = runs.train(workspace, project, "logistic_regression", ["max_iter=100"], seed=1)
    assert run.status == "finished", run.error
    assert run.feature_compiler == 4
    inputs = load_inputs(workspace, project, run)
    assert [s.date_parts for s in inputs.specs if s.kind == "date"] == [["year", "month", "dayofweek"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        new = fit_and_score(inputs)
    assert new.pipeline.named_steps["model"].n_iter_[0] < 30  # 15 with scikit-learn 1.9

    # The same run under compiler 2 (date parts unscaled, the year ~2008): lbfgs stops at
    # max_iter (it needs 283 iterations), and a run that recorded compiler 2 still rebuilds
    # to its own artifact and predictions.
    inputs.compiler = 2
    with pytest.warns(ConvergenceWarning):
        old = fit_and_score(inputs)
    assert old.pipeline.named_steps["model"].n_iter_[0] == 100
    ref = workspace.artifacts.put(old.pipeline, kind="model", library_versions=run.library_versions)
    with workspace.store.transaction():
        workspace.store.conn.execute(
            "UPDATE runs SET feature_compiler = 2, artifact_sha256 = ? WHERE id = ?", [ref.sha256, run.id]
        )
    result = reproduce(workspace, project, run.id)
    assert result.artifact_match and result.identical, result


def test_high_cardinality_text_is_never_one_hot() -> None:
    rng = np.random.default_rng(0)
    words = [
        "late",
        "delivery",
        "broken",
        "screen",
        "refund",
        "great",
        "support",
        "slow",
        "app",
        "crash",
        "login",
        "price",
        "friendly",
        "battery",
        "order",
    ]
    notes = [" ".join(rng.choice(words, size=4)) + f" #{i}" for i in range(318)]
    pool = words + ["cold", "warm", "fast", "ok", "bad"]
    remarks = [f"{a} {b}" for a, b in rng.choice(pool, size=(318, 2))]  # ~220 distinct pairs
    codes = [f"SKU{rng.integers(10**6)}" for _ in range(300)] + ["SKU1"] * 18
    frame = pd.DataFrame({"notes": notes, "remarks": remarks, "code": codes, "y": rng.integers(0, 2, 318)})
    profiles = {c["name"]: c for c in profile_frame(frame)}
    assert profiles["remarks"]["type"] == "categorical" and 200 < profiles["remarks"]["distinct"] < 300
    specs = {s.column: s for s in features.infer_spec(list(profiles.values()), "y")}
    assert specs["notes"].kind == "text"
    assert specs["remarks"].kind == "text" and "text (TF-IDF), not one-hot" in specs["remarks"].note
    assert specs["code"].role == "ignore" and "id-like" in specs["code"].note
    transformer = compile_transformer(list(specs.values())).fit(frame)
    names = list(transformer.get_feature_names_out())
    assert not any(n.startswith("code") or n.startswith("remarks_") for n in names)
    assert sum(n.startswith("remarks:") for n in names) <= features.DEFAULT_TEXT_VOCABULARY


def test_features_set_names_a_column_added_by_a_later_data_version(tmp_path, run_cli) -> None:
    frame, _ = _frames()["penguins"]
    first = tmp_path / "v1.csv"
    frame.to_csv(first, index=False)
    folder = tmp_path / "ws"
    assert run_cli("init", str(folder)).exit_code == 0
    assert (
        run_cli(
            "project", "new", "p", "--task", "multiclass", "--target", "species", workspace=folder
        ).exit_code
        == 0
    )
    assert run_cli("data", "import", str(first), workspace=folder).exit_code == 0
    assert run_cli("features", "set", "--column", "island:role=ignore", workspace=folder).exit_code == 0
    second = tmp_path / "v2.csv"
    frame.assign(
        **{"Penguin No.": [f"P{i:04d}" for i in range(len(frame))], "colony": np.arange(len(frame)) % 4}
    ).to_csv(second, index=False)
    assert run_cli("data", "import", str(second), workspace=folder).exit_code == 0
    result = run_cli("features", "set", "--column", "Penguin No.:role=id", workspace=folder)
    assert result.exit_code == 0, result.output
    shown = run_cli("features", "show", "--json", workspace=folder)
    import json

    columns = {c["column"]: c for c in json.loads(shown.output)["columns"]}
    assert columns["Penguin No."]["role"] == "id" and columns["island"]["role"] == "ignore"
    # another column new in that version came in ignored, not as a model input
    assert columns["colony"]["role"] == "ignore" and "new in" in columns["colony"]["note"]


def test_whole_number_ids_named_like_ids_are_the_entity_id() -> None:
    frame, target = _frames()["breast_cancer"]
    numbers = np.random.default_rng(4).choice(np.arange(84_300_000, 92_000_000), len(frame), replace=False)
    frame = frame.assign(**{"Patient No.": numbers, "visits": np.arange(len(frame)) % 9})
    specs = {s.column: s for s in features.infer_spec(profile_frame(frame), target)}
    assert specs["Patient No."].role == "id" and features.entity_column(list(specs.values())) == "Patient No."
    assert specs["visits"].role == "feature" and specs["mean radius"].kind == "numeric"
    transformer = compile_transformer(list(specs.values())).fit(frame)
    assert "Patient No." not in transformer.get_feature_names_out()
