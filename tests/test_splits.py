"""Splits: each strategy's guarantee, reproducibility, and the leakage checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sample_data
from cockpit.data import datasets, splits
from cockpit.errors import CockpitError
from cockpit.projects import create_project


def visits_frame(n_people: int = 300, seed: int = 3) -> pd.DataFrame:
    """Several rows per person over a year; the label depends on the visit."""
    rng = np.random.default_rng(seed)
    person = rng.integers(0, n_people, n_people * 4)
    day = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 365, len(person)), unit="D")
    score = rng.normal(0, 1, len(person))
    label = (score + rng.normal(0, 1, len(person)) > 1.2).astype(int)
    return pd.DataFrame(
        {
            "person_id": [f"P{p}" for p in person],
            "visit_day": day.strftime("%Y-%m-%d"),
            "score": score.round(3),
            "channel": rng.choice(["web", "app"], len(person)),
            "bought": label,
        }
    )


@pytest.fixture
def shop(workspace, tmp_path: Path):
    project = create_project(workspace, "shop", "binary", "bought")
    path = tmp_path / "visits.csv"
    visits_frame().to_csv(path, index=False)
    version, _ = datasets.import_dataset(workspace, project, path)
    return project, version


def _parts(workspace, project, split):
    return splits.split_frames(workspace, project, split)


def test_stratified_keeps_the_class_balance(workspace, shop) -> None:
    project, _ = shop
    split = splits.make_split(workspace, project, "stratified", seed=1)
    shares = [split.balance[p]["1"] for p in splits.PARTS]
    assert max(shares) - min(shares) < 0.01
    total = sum(split.sizes.values())
    assert abs(split.sizes["test"] / total - 0.15) < 0.01
    assert abs(split.sizes["validation"] / total - 0.15) < 0.01


def test_a_split_reads_back_its_findings_and_distributions_typed(workspace, shop) -> None:
    """What the split panel shows, read from the stored split as typed records."""
    project, _ = shop
    made = splits.make_split(workspace, project, "stratified", seed=1)
    split = splits.get_split(workspace, project, made.id)
    assert [(f.id, f.check, f.severity, f.message, f.column) for f in split.findings] == [
        (f["id"], f["check"], f["severity"], f["message"], f.get("column")) for f in made.leakage
    ]
    assert all(f.accepted_by is None for f in split.findings)  # nobody accepted any
    score, channel = split.distribution("score"), split.distribution("channel")
    assert score.kind == "numeric" and set(score.parts) == set(splits.PARTS)
    assert all(len(score.parts[p]) == len(score.edges) - 1 for p in splits.PARTS)
    assert sum(score.parts["train"]) == split.sizes["train"]
    assert channel.kind == "categorical" and sorted(channel.categories) == ["app", "web"]
    assert all(abs(sum(channel.parts[p]) - 1) < 1e-3 for p in splits.PARTS)
    assert split.distribution("bought") is None  # the target is not a feature


def test_group_split_never_shares_an_entity(workspace, shop) -> None:
    project, _ = shop
    split = splits.make_split(workspace, project, "group", group="person_id", seed=5)
    parts = _parts(workspace, project, split)
    people = {p: set(frame["person_id"]) for p, frame in parts.items()}
    assert not people["train"] & people["test"] and not people["train"] & people["validation"]
    assert not people["validation"] & people["test"]
    shared = next(f for f in split.leakage if f["check"] == "shared_entities")
    assert shared["severity"] == "ok"
    random = splits.make_split(workspace, project, "random", seed=5)
    warned = next(f for f in random.leakage if f["check"] == "shared_entities")
    assert warned["severity"] == "warning" and "--strategy group" in warned["message"]


def test_time_split_never_trains_on_the_future(workspace, shop) -> None:
    project, _ = shop
    split = splits.make_split(workspace, project, "time", time="visit_day")
    parts = {p: pd.to_datetime(f["visit_day"]) for p, f in _parts(workspace, project, split).items()}
    assert parts["train"].max() < parts["validation"].min()
    assert parts["validation"].max() < parts["test"].min()
    order = next(f for f in split.leakage if f["check"] == "time_order")
    assert order["severity"] == "ok"


def test_same_seed_same_rows_other_seed_other_rows(workspace, shop) -> None:
    project, _ = shop
    first = splits.make_split(workspace, project, "stratified", seed=11)
    again = splits.make_split(workspace, project, "stratified", seed=11)
    other = splits.make_split(workspace, project, "stratified", seed=12)
    assert first.assignment_sha256 == again.assignment_sha256 != other.assignment_sha256
    assert set(np.unique(splits.load_assignment(workspace, first))) == {0, 1, 2}


def test_noisy_label_copy_is_flagged_and_real_features_are_not(workspace, tmp_path) -> None:
    project = create_project(workspace, "learners", "binary", "needs_support")
    frame = pd.read_csv(sample_data.learner_reference())
    clean_path = tmp_path / "clean.csv"
    frame.to_csv(clean_path, index=False)
    datasets.import_dataset(workspace, project, clean_path)
    honest = splits.make_split(workspace, project, "stratified")
    assert honest.leaks == 0
    verdict = next(f for f in honest.leakage if f["check"] == "target_predictor")
    assert verdict["severity"] == "ok" and verdict["value"] < 0.85

    rng = np.random.default_rng(0)
    proxy = frame["needs_support"].to_numpy().copy()
    flip = rng.random(len(proxy)) < 0.03
    proxy[flip] = 1 - proxy[flip]
    leaky_path = tmp_path / "leaky.csv"
    frame.assign(follow_up_flag=proxy).to_csv(leaky_path, index=False)
    datasets.import_dataset(workspace, project, leaky_path)
    leaky = splits.make_split(workspace, project, "stratified")
    flagged = [f["column"] for f in leaky.leakage if f["severity"] == "error"]
    assert flagged == ["follow_up_flag"] and leaky.leaks == 1


def test_copies_across_parts_are_reported(workspace, tmp_path) -> None:
    project = create_project(workspace, "dups", "binary", "bought")
    frame = visits_frame()
    path = tmp_path / "dups.csv"
    pd.concat([frame, frame.iloc[:400]]).to_csv(path, index=False)
    datasets.import_dataset(workspace, project, path)
    split = splits.make_split(workspace, project, "random", seed=2)
    copies = next(f for f in split.leakage if f["check"] == "identical_rows")
    assert copies["severity"] in ("warning", "error") and copies["value"] > 0


def test_regression_is_stratified_on_target_quantiles(workspace) -> None:
    project = create_project(workspace, "houses", "regression", "price")
    datasets.import_dataset(workspace, project, sample_data.house_prices())
    split = splits.make_split(workspace, project, "stratified")
    means = [split.balance[p]["mean"] for p in splits.PARTS]
    assert max(means) / min(means) < 1.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "group"}, "pass --group COLUMN"),
        ({"strategy": "group", "group": "nope"}, "no such column"),
        ({"strategy": "time", "time": "channel"}, "are not dates"),
        ({"strategy": "random", "val": 0.5, "test": 0.45}, "at least 10%"),
        ({"strategy": "sideways"}, "not one of"),
    ],
)
def test_bad_split_requests(workspace, shop, kwargs, message) -> None:
    project, _ = shop
    with pytest.raises(CockpitError, match=message):
        splits.make_split(workspace, project, **kwargs)
    assert workspace.store.scalar("SELECT count(*) FROM splits") == 0


def test_cli_split_prints_id_and_verdicts(run_cli, tmp_path) -> None:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "shop", "--task", "binary", "--target", "bought", workspace=folder)
    path = tmp_path / "visits.csv"
    visits_frame().to_csv(path, index=False)
    run_cli("data", "import", str(path), workspace=folder)
    made = run_cli("data", "split", "--strategy", "group", "--group", "person_id", workspace=folder)
    assert made.exit_code == 0 and made.stdout.strip() == "1"
    assert "no person_id is in two parts" in made.stderr
    as_json = json.loads(run_cli("data", "split", "--seed", "3", "--json", workspace=folder).stdout)
    assert as_json["id"] == 2 and as_json["strategy"] == "stratified" and as_json["seed"] == 3
    listed = json.loads(run_cli("data", "splits", "--json", workspace=folder).stdout)
    assert [s["strategy"] for s in listed] == ["group", "stratified"]

    leaky = visits_frame().assign(copy_of_label=lambda f: f["bought"])
    leaky.to_csv(path, index=False)
    run_cli("data", "import", str(path), workspace=folder)
    flagged = run_cli("data", "split", workspace=folder)
    assert flagged.exit_code == 1 and "LEAK" in flagged.stderr and "copy_of_label" in flagged.stderr
