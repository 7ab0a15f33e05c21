"""A new user's first hour on data no one here wrote (session 10's tour): palmerpenguins with
species as a text target, 5% of it blanked, no id column, a year and a free-text column, walked
through the README's CLI path. Each test is a way the CLI misled on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit.data.datasets import get_version, load_frame
from cockpit.projects import get_project
from cockpit.workspace import Workspace
from tests.monitoring_helpers import check, run, window
from tests.training_here import training_here

WORDS = ["calm", "windy", "cold", "rocky", "sunny", "foggy", "nest", "shore", "ice", "krill"]


def awkward_penguins() -> pd.DataFrame:
    """palmerpenguins as a new user might export it: species blanked on 5% of rows, a sentence of
    island, sex and random words in `notes`."""
    from palmerpenguins import load_penguins

    frame = load_penguins()
    rng = np.random.default_rng(0)
    frame["notes"] = [
        f"seen on {island} ({sex}) near the {' '.join(rng.choice(WORDS, 3))}"
        for island, sex in zip(frame["island"], frame["sex"], strict=True)
    ]
    frame.loc[rng.choice(len(frame), size=len(frame) // 20, replace=False), "species"] = np.nan
    return frame


@pytest.fixture(scope="module")
def penguins_built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's loop on it: import, clean --suggested (sex's gaps filled with its mode, the
    numbers' with their medians), split, a logistic regression in production."""
    root = tmp_path_factory.mktemp("tour") / "penguins"
    root.mkdir()
    awkward_penguins().to_csv(root / "penguins.csv", index=False)
    steps = [
        ("init", str(root)),
        ("project", "new", "penguins", "--task", "multiclass", "--target", "species"),
        ("data", "import", str(root / "penguins.csv")),
        ("data", "clean", "--suggested"),
        ("data", "split", "--seed", "42"),
        ("train", "--model", "logistic_regression"),
        ("register", "1", "--override", "tour"),
        ("deploy", "1", "--strategy", "blue-green", "--override", "tour"),
    ]
    with training_here():
        for step in steps:
            result = run(root, *step)
            assert result.exit_code in ((0, 1) if step[:2] == ("data", "split") else (0,)), (step, result)
    return root


def test_retrain_fills_new_rows_gaps_with_the_values_the_cleaning_used(
    penguins_built: Path, private_copy, train_here
) -> None:
    """A user saw `cockpit retrain` stop with 'fill sex with mode: the column has no values':
    the cleaning recipe was replayed on the new labelled rows alone, so two new rows without a
    sex had no mode, and a new row's missing body mass would have been filled with the new
    rows' median rather than the one the training data was cleaned with."""
    root = private_copy(penguins_built)
    with Workspace(root / ".cockpit") as ws:
        project = get_project(ws, "penguins")
        cleaned = load_frame(ws, get_version(ws, project, 2))
    mode_sex = cleaned["sex"].mode().iloc[0]
    median_mass = float(cleaned["body_mass_g"].median())
    source = awkward_penguins().dropna().sample(frac=1, random_state=7).reset_index(drop=True)
    judged = source.iloc[:60]  # the newest month: held out to judge the two models on
    learned = source.iloc[60:63].copy()  # an older month, trained on: no sex, one mass missing
    learned["sex"] = np.nan
    learned["body_mass_g"] = [6300.0, 6300.0, np.nan]  # their own median would be 6300
    for name, frame, at in (("learned", learned, "2026-09-01"), ("judged", judged, "2026-10-01")):
        frame.drop(columns=["species"]).to_csv(root / f"{name}.csv", index=False)
        frame.to_csv(root / f"{name}_labels.csv", index=False)
        assert run(root, "monitor", "ingest", str(root / f"{name}.csv"), "--at", at).exit_code == 0
        assert run(root, "monitor", "labels", str(root / f"{name}_labels.csv")).exit_code == 0

    result = run(root, "retrain", "--override", "tour")

    assert result.exit_code in (0, 1), result.stderr
    assert "3 new labelled rows; 60 held out from 2026-10" in result.output
    with Workspace(root / ".cockpit") as ws:
        project = get_project(ws, "penguins")
        newest = max(v["id"] for v in ws.store.rows("SELECT id FROM dataset_versions"))
        combined = load_frame(ws, get_version(ws, project, newest))
    added = combined.iloc[len(cleaned) :]
    assert len(added) == 3
    assert added["sex"].tolist() == [mode_sex] * 3
    assert added["body_mass_g"].tolist() == [6300.0, 6300.0, median_mass]


def test_retrain_judges_held_out_rows_with_inf_as_production_answered_them(
    penguins_built: Path, private_copy, train_here
) -> None:
    """A user whose shifted production month held `inf` in bill_depth_mm (answered in production,
    with a warning) saw `cockpit retrain` end in a traceback ('Input X contains infinity'): the
    held-out rows reached both models unclipped. They are scored as production scored them."""
    root = private_copy(penguins_built)
    source = awkward_penguins().dropna().sample(frac=1, random_state=7).reset_index(drop=True)
    judged, learned = source.iloc[:60].copy(), source.iloc[60:120]
    judged.loc[[3, 17], "bill_depth_mm"] = np.inf
    for name, frame, at in (("learned", learned, "2026-09-01"), ("judged", judged, "2026-10-01")):
        frame.drop(columns=["species"]).to_csv(root / f"{name}.csv", index=False)
        frame.to_csv(root / f"{name}_labels.csv", index=False)
        assert run(root, "monitor", "ingest", str(root / f"{name}.csv"), "--at", at).exit_code == 0
        assert run(root, "monitor", "labels", str(root / f"{name}_labels.csv")).exit_code == 0

    result = run(root, "retrain", "--override", "tour", "--json")

    assert result.exit_code in (0, 1), result.stderr
    import json

    comparison = json.loads(result.stdout)["comparison"]
    assert comparison["window"] == "2026-10" and comparison["rows"] == 60
    # the champion's answers on the held-out month are the ones production gave
    with Workspace(root / ".cockpit") as ws:
        from tests.monitoring_helpers import stored_outputs

        batch = ws.store.scalar("SELECT id FROM batches WHERE at LIKE '2026-10%'")
    answered = stored_outputs(root, batch)
    truth = judged["species"].to_numpy()
    accuracy = float((answered["prediction"].to_numpy() == truth).mean())
    champion = next(m for m in comparison["metrics"] if m["name"] == "accuracy")["champion"]
    assert champion == pytest.approx(accuracy)


def test_gate_without_a_target_names_the_metric_the_spec_takes(penguins_built: Path, private_copy) -> None:
    """On a multiclass project the gate said 'the problem spec sets no target for f1: set metric
    and metric_target'; the user typed `problem set --set metric=f1`, which is refused for
    multiclass (it takes f1_macro). The rule now gives the command that works."""
    root = private_copy(penguins_built)
    assert run(root, "evaluate", "1", "--split", "test").exit_code == 0

    gate = run(root, "gate", "1")

    assert gate.exit_code == 1
    line = next(line for line in gate.output.splitlines() if line.startswith("target"))
    assert "cockpit problem set --set metric=f1_macro --set metric_target=" in line
    spec = ("--set", "metric=f1_macro", "--set", "metric_target=0.9")
    assert run(root, "problem", "set", *spec).exit_code == 0
    assert run(root, "gate", "1").exit_code == 0


def _class_balance(root: Path, frame: pd.DataFrame, target: str) -> dict:
    import json

    root.mkdir()
    frame.to_csv(root / "data.csv", index=False)
    for step in (("init", str(root)), ("project", "new", "p", "--task", "multiclass", "--target", target)):
        assert run(root, *step).exit_code == 0
    assert run(root, "data", "import", str(root / "data.csv")).exit_code == 0
    found = json.loads(run(root, "data", "validate", "--json").stdout)["findings"]
    return next(f for f in found if f["check"] == "class_balance")


def test_ten_even_classes_are_not_called_rare(tmp_path: Path) -> None:
    """digits' ten classes hold 9.7-10.2% of the rows each; validation warned 'the minority class
    is rare: use recall / PR AUC' (a class under 10% was rare whatever the number of classes)."""
    from sklearn.datasets import load_digits

    finding = _class_balance(tmp_path / "digits", load_digits(as_frame=True).frame, "target")

    assert finding["severity"] == "info"
    assert "rare" not in finding["message"]


def test_a_rare_class_among_three_is_warned_with_multiclass_metrics(tmp_path: Path) -> None:
    """iris with one class cut to 6 rows (5.7%, a sixth of an even share) is warned, with the
    metrics a multiclass spec takes (PR AUC is not one of them)."""
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame = pd.concat([frame[frame["target"] != 2], frame[frame["target"] == 2].head(6)])

    finding = _class_balance(tmp_path / "iris", frame, "target")

    assert finding["severity"] == "warning" and finding["rows"] == 6
    assert "the minority class is rare: use balanced_accuracy or f1_macro, stratify" in finding["message"]


def test_ink_in_a_mostly_blank_pixel_is_no_outlier_a_typo_still_is(tmp_path: Path) -> None:
    """digits: pixel_6_1 is 0 on 98% of the images; validation called every stroke of ink in it
    an outlier (robust z > 7: with the median absolute deviation 0, the spread fell back to the
    mean distance, 0.18) and `clean --suggested` dropped 42 images, after which the cleaned
    version had 46 new 'outliers' and four pixels held no ink at all. Values apart from a
    column's common value are now judged by their own distance from it: a typo of 1000 among
    ink of 1-16 is still found."""
    import json

    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    frame.loc[100, "pixel_6_1"] = 1000.0
    root = tmp_path / "digits"
    root.mkdir()
    frame.to_csv(root / "digits.csv", index=False)
    for step in (("init", str(root)), ("project", "new", "d", "--task", "multiclass", "--target", "target")):
        assert run(root, *step).exit_code == 0
    assert run(root, "data", "import", str(root / "digits.csv")).exit_code == 0

    found = json.loads(run(root, "data", "validate", "--json").stdout)["findings"]

    outliers = {f["column"]: f for f in found if f["check"] == "outliers"}
    assert outliers["pixel_6_1"]["rows"] == 1 and outliers["pixel_6_1"]["examples"] == [1000.0]
    assert [f["fix"]["column"] for f in found if f["fix"] and f["fix"]["op"] == "drop_outliers"] == [
        "pixel_6_1"
    ]


def test_free_text_is_no_entity_to_group_by(penguins_built: Path) -> None:
    """A split of penguins with a free-text `notes` column (a sentence per bird) warned '5 notes
    values are in training and in validation/test; use --strategy group --group notes': a
    column of sentences was taken for an entity id because nearly every value differs. The
    feature spec reads it as text (TF-IDF), and so does the split."""
    import json

    found = json.loads(run(penguins_built, "data", "leakage", "--json").stdout)

    assert not [f for f in found["findings"] if f.get("column") == "notes"], found


def test_a_time_split_by_year_cuts_three_years_into_three_parts(penguins_built: Path, private_copy) -> None:
    """penguins were measured in 2007, 2008 and 2009 (a third each); `data split --strategy time
    --time year` said 'too few distinct times to cut into three parts', and no --val / --test
    made it work: the 70% and 85% cuts both fall in 2009. Cuts move to the distinct times
    before them when a part would be empty: train 2007, validation 2008, test 2009."""
    import json

    root = private_copy(penguins_built)
    result = run(root, "data", "split", "--strategy", "time", "--time", "year", "--json")

    assert result.exit_code in (0, 1), result.stderr
    sizes = json.loads(result.stdout)["sizes"]
    with Workspace(root / ".cockpit") as ws:
        project = get_project(ws, "penguins")
        years = load_frame(ws, get_version(ws, project, 2))["year"]
    counts = years.value_counts()
    assert (sizes["train"], sizes["validation"], sizes["test"]) == (counts[2007], counts[2008], counts[2009])
    # the years are years, not nanoseconds after 1970 (it said 'training ends 1970-01-01')
    assert "training ends 2007-01-01, test starts 2009-01-01" in result.stderr + result.output


def test_a_time_split_of_two_times_says_how_many_it_has(penguins_built: Path, private_copy) -> None:
    """Two distinct times cannot make three parts: the refusal says how many there are."""
    root = private_copy(penguins_built)
    frame = awkward_penguins()
    frame = frame[frame["year"] != 2009].dropna(subset=["species"])
    frame.to_csv(root / "two_years.csv", index=False)
    assert run(root, "data", "import", str(root / "two_years.csv")).exit_code == 0

    result = run(root, "data", "split", "--strategy", "time", "--time", "year")

    assert result.exit_code == 2
    assert "--time 'year' has 2 distinct times (2007 to 2008); a time split needs 3" in result.stderr


def test_validation_counts_read_as_words(tmp_path: Path) -> None:
    """wine's validation said 'passed · 0 errors, 0 warnings, 1 notes' (the Data screen says
    '1 note')."""
    from sklearn.datasets import load_wine

    root = tmp_path / "wine"
    root.mkdir()
    load_wine(as_frame=True).frame.to_csv(root / "wine.csv", index=False)
    for step in (
        ("init", str(root)),
        ("project", "new", "wine", "--task", "multiclass", "--target", "target"),
        ("data", "import", str(root / "wine.csv")),
    ):
        assert run(root, *step).exit_code == 0

    result = run(root, "data", "validate")

    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "v1 wine: passed · 0 errors, 0 warnings, 1 note"


def _labelled_october(root: Path) -> None:
    """60 penguins scored as production in 2026-10, and their species as labels."""
    batch = awkward_penguins().dropna().sample(n=60, random_state=7)
    batch.drop(columns=["species"]).to_csv(root / "batch.csv", index=False)
    batch.to_csv(root / "labels.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "batch.csv"), "--at", "2026-10-01").exit_code == 0
    assert run(root, "monitor", "labels", str(root / "labels.csv")).exit_code == 0


def test_retrain_with_no_new_rows_to_learn_from_trains_nothing(penguins_built: Path, private_copy) -> None:
    """Every labelled production row of wine was in one month, the one held out to judge on:
    `cockpit retrain` trained the champion's recipe on the champion's own data again, found the
    copy 'not better', raised an alert about it, and the copy became Experiments' best run (the
    newest split's). It now stops first, saying what to label, and writes nothing."""
    root = private_copy(penguins_built)
    _labelled_october(root)
    tables = ("runs", "dataset_versions", "alerts")
    with Workspace(root / ".cockpit") as ws:
        before = {t: ws.store.scalar(f"SELECT count(*) FROM {t}") for t in tables}

    result = run(root, "retrain")

    assert result.exit_code == 2
    assert (
        "no new labelled rows to learn from: all 60 are in 2026-10, held out to judge the models on; "
        "label rows of another window too (cockpit monitor labels FILE)" in result.stderr
    )
    with Workspace(root / ".cockpit") as ws:
        assert {t: ws.store.scalar(f"SELECT count(*) FROM {t}") for t in before} == before


def test_a_multiclass_window_has_no_false_positive_rate(penguins_built: Path, private_copy) -> None:
    """penguins' monitoring windows had a 'false_positive_rate' (0.052: non-Gentoo birds called
    Gentoo, the last class by name taken as 'positive'), also in the Prometheus file; three
    species have no positive class."""
    root = private_copy(penguins_built)
    _labelled_october(root)

    code, checked = check(root)

    window = next(w for w in checked["windows"] if w["window"] == "2026-10")
    assert window["labelled"] == 60 and window["metric_value"] is not None
    assert "false_positive_rate" not in window


def test_monitor_checks_table_names_the_most_drifted_features_and_counts_the_rest(tmp_path: Path) -> None:
    """digits with every pixel clipped at 8 drifted in 34 pixels: `monitor check` printed all 34
    names in the DRIFTED cell, a row 450 characters wide that no terminal shows whole. It names
    the three largest PSIs and counts the rest (`--json` lists all)."""
    from sklearn.datasets import load_digits

    from tests.monitoring_helpers import build

    frame = load_digits(as_frame=True).frame
    root = tmp_path / "digits"
    with training_here():
        build(root, "multiclass", "target", frame)
    frame.drop(columns=["target"]).clip(upper=8).to_csv(root / "shift.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "shift.csv"), "--at", "2026-10-01").exit_code == 0

    _, checked = check(root)
    shown = run(root, "monitor", "check").output

    from cockpit.monitoring.alerts import stored_windows

    with Workspace(root / ".cockpit") as ws:
        stored = next(w for w in stored_windows(ws, get_project(ws, "p")) if w.window == "2026-10")
    psi = {name: found.psi for name, found in stored.features.items()}
    ranked = sorted(window(checked, "2026-10")["drifted"], key=lambda name: -psi[name])
    assert len(ranked) > 10
    line = next(line for line in shown.splitlines() if line.startswith("2026-10"))
    assert f"{', '.join(ranked[:3])} +{len(ranked) - 3} more" in line
    assert len(line) < 160


def test_compare_keeps_each_runs_params_together(penguins_built: Path, private_copy, train_here) -> None:
    """`cockpit compare 1 2` (a logistic regression and a random forest on penguins) listed the
    regression's params, then the metrics, then the forest's params below the metrics."""
    import json

    root = private_copy(penguins_built)
    assert run(root, "train", "--model", "random_forest", "--param", "n_estimators=20").exit_code == 0

    rows = json.loads(run(root, "compare", "1", "2", "--json").stdout)["rows"]

    sections = [row["field"].split()[0] for row in rows]
    params = [i for i, s in enumerate(sections) if s == "param"]
    metrics = [i for i, s in enumerate(sections) if s in ("val", "train")]
    assert "param n_estimators" in [row["field"] for row in rows]
    assert max(params) < min(metrics)
    assert params == list(range(min(params), max(params) + 1))  # one block


def _deployable(root: Path, version: str) -> list:
    import json

    found = json.loads(run(root, "review", version, "--json").stdout)
    return next(step for step in found["steps"] if step["name"] == "deployable")["evidence"]


def test_review_names_the_rollback_target(penguins_built: Path, private_copy, train_here) -> None:
    """penguins' first production model v1, with a second version registered beside it: the
    review said 'ok a rollback target or fallback exists' while `cockpit rollback` said
    'production has no earlier version to roll back to (v1 replaced none)'. A version in
    production has the target rollback would use; one not yet in production, production."""
    root = private_copy(penguins_built)
    assert run(root, "train", "--model", "random_forest", "--param", "n_estimators=20").exit_code == 0
    assert run(root, "register", "2", "--override", "tour").exit_code == 0
    assert run(root, "rollback", "--reason", "tour").exit_code == 2

    assert [False, "production has no earlier version to roll back to (v1 replaced none)"] in (
        _deployable(root, "1")
    )
    assert [True, "rollback target: v1 (production now)"] in _deployable(root, "2")
    assert run(root, "deploy", "2", "--strategy", "blue-green", "--override", "tour").exit_code == 0
    assert [True, "rollback target: v1 (production replaced it)"] in _deployable(root, "2")
