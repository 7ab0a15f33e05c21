"""Monitoring on data no one here wrote, through the real CLI: palmerpenguins (multiclass,
string class labels, no id column) and scikit-learn's breast cancer set (a CSV with no id
column). Prediction drift of classes compares class frequencies; labels with blank cells
are skipped and counted; labels without an id column join by the row key (the feature
values), so decay is measured; a 1-row batch is monitored with a "too few rows" note."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import f1_score, roc_auc_score

from cockpit.entity import entity_keys
from cockpit.workspace import Workspace
from tests.monitoring_helpers import build, check, run, stored_outputs, window
from tests.monitoring_helpers import penguins as penguins_data

# -- palmerpenguins: multiclass, string labels, no id column -------------------------------


@pytest.fixture(scope="module")
def penguins_built(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    data = penguins_data()
    root = tmp_path_factory.mktemp("penguins") / "ws"
    build(root, "multiclass", "species", data.iloc[:250])
    return root, data.iloc[250:].reset_index(drop=True)


@pytest.fixture
def penguins(penguins_built, tmp_path) -> tuple[Path, pd.DataFrame]:
    """A private copy of the built workspace: tests never share state."""
    root, rest = penguins_built
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    return copy, rest


def test_string_classes_drift_by_class_frequency(penguins) -> None:
    root, rest = penguins
    rest.drop(columns=["species"]).to_csv(root / "may.csv", index=False)
    rest[rest["species"] == "Gentoo"].drop(columns=["species"]).to_csv(root / "june.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "may.csv"), "--at", "2026-05-03").stdout.strip() == "1"
    assert run(root, "monitor", "ingest", str(root / "june.csv"), "--at", "2026-06-03").stdout.strip() == "2"
    code, checked = check(root)
    with Workspace(root / ".cockpit") as ws:
        reference = json.loads(ws.store.scalar("SELECT stats FROM monitor_references"))
    ref = reference["prediction"]
    classes = sorted(ref["shares"])
    assert ref["kind"] == "categorical" and set(ref["shares"]) == {"Adelie", "Chinstrap", "Gentoo"}
    for name, batch_id in (("2026-05", 1), ("2026-06", 2)):
        found = window(checked, name)
        answered = stored_outputs(root, batch_id)["prediction"].astype(str)
        shares = answered.value_counts(normalize=True)
        assert found["prediction_classes"] == [*classes, "other"]
        assert found["prediction_shares"] == pytest.approx([shares.get(c, 0.0) for c in classes] + [0.0])
        expected = np.array([ref["shares"][c] for c in classes] + [0.0])
        actual = np.array(found["prediction_shares"])
        e, a = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
        assert found["prediction_psi"] == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
        assert found["prediction_js"] == pytest.approx(float(jensenshannon(expected + 1e-4, actual + 1e-4)))
        assert 0 <= found["prediction_chi2_p"] <= 1
    may, june = window(checked, "2026-05"), window(checked, "2026-06")
    assert may["rows"] == 94 and june["rows"] == int((rest["species"] == "Gentoo").sum())
    assert may["prediction_psi"] < 0.2  # the same population as training
    assert june["prediction_shares"][classes.index("Gentoo")] > 0.9
    assert june["prediction_psi"] > 1 and june["prediction_js"] > 0.4
    firing = {a["metric"]: a for a in checked["firing"]}
    assert code == 1 and firing["prediction_psi"]["window"] == "2026-06"


@pytest.fixture(scope="module")
def penguins_with_id_built(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    data = penguins_data()
    data.insert(0, "penguin_id", range(1000, 1000 + len(data)))  # read back as floats
    # when a cell is blank
    root = tmp_path_factory.mktemp("penguins_id") / "ws"
    build(root, "multiclass", "species", data.iloc[:250], id_column="penguin_id")
    return root, data.iloc[250:].reset_index(drop=True)


@pytest.fixture
def penguins_with_id(penguins_with_id_built, tmp_path) -> tuple[Path, pd.DataFrame]:
    root, rest = penguins_with_id_built
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    return copy, rest


def test_labels_with_blank_cells_are_skipped_and_counted(penguins_with_id) -> None:
    root, rest = penguins_with_id
    production = rest.drop(columns=["species"])
    production.loc[2, "penguin_id"] = None  # a production row that came without its id
    production.to_csv(root / "may.csv", index=False)
    labels = rest[["penguin_id", "species"]].copy()
    labels.loc[labels.index % 4 == 0, "species"] = None  # 24 of 94 not labelled yet
    labels.loc[1, "penguin_id"] = None  # and one without its id
    labels.to_csv(root / "labels.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "may.csv"), "--at", "2026-05-03").exit_code == 0
    result = run(root, "monitor", "labels", str(root / "labels.csv"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        "69 labels recorded; 24 rows without a label skipped; 1 row without an entity id skipped"
    )
    known = (rest.index % 4 != 0) & (rest.index != 1)
    with Workspace(root / ".cockpit") as ws:
        stored = {r["entity"]: r["label"] for r in ws.store.rows("SELECT * FROM labels")}
    assert stored == dict(zip(rest["penguin_id"][known].astype(str), rest["species"][known], strict=True))
    _, checked = check(root)
    may = window(checked, "2026-05")
    outputs = stored_outputs(root, 1)
    assert outputs["entity"].tolist() == [
        "" if i == 2 else str(e) for i, e in enumerate(rest["penguin_id"])
    ]  # "1042", not
    joined = known & (rest.index != 2)  # "1042.0"
    assert may["labelled"] == 68 and may["metric"] == "f1"
    assert may["metric_value"] == pytest.approx(
        f1_score(rest["species"][joined], outputs["prediction"][joined].astype(str), average="macro")
    )
    assert may["metric_value"] > 0.9


# -- breast cancer as a CSV without an id column --------------------------------------------


@pytest.fixture(scope="module")
def cancer_built(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    data = data.sample(frac=1, random_state=3).reset_index(drop=True)
    root = tmp_path_factory.mktemp("cancer") / "ws"
    build(root, "binary", "benign", data.iloc[:400])
    return root, data.iloc[400:].reset_index(drop=True)


@pytest.fixture
def cancer(cancer_built, tmp_path) -> tuple[Path, pd.DataFrame]:
    root, rest = cancer_built
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    return copy, rest


def test_labels_without_an_id_column_join_by_the_feature_values(cancer) -> None:
    """The labels file repeats the feature columns; May's labels are true (a few blank),
    June's are flipped: decay is measured in June."""
    root, rest = cancer
    may, june = rest.iloc[:85], rest.iloc[85:]
    may.drop(columns=["benign"]).to_csv(root / "may.csv", index=False)
    june.drop(columns=["benign"]).to_csv(root / "june.csv", index=False)
    for name, at in (("may", "2026-05-10"), ("june", "2026-06-10")):
        assert run(root, "monitor", "ingest", str(root / f"{name}.csv"), "--at", at).exit_code == 0
    may_labels = may.copy()
    may_labels.loc[may_labels.index % 5 == 0, "benign"] = np.nan  # read back as floats
    may_labels.loc[1, "benign"] = np.inf  # no label either
    may_labels.sample(frac=1, random_state=0).to_csv(root / "may_labels.csv", index=False)
    june.assign(benign=1 - june["benign"]).to_csv(root / "june_labels.csv", index=False)
    bare = run(root, "monitor", "labels", str(root / "june.csv"))
    assert bare.exit_code == 2 and "no column 'benign'" in bare.stderr
    only_target = root / "only_target.csv"
    june[["benign"]].to_csv(only_target, index=False)
    refused = run(root, "monitor", "labels", str(only_target))
    assert refused.exit_code == 2 and "there is no id column" in refused.stderr
    assert run(root, "monitor", "labels", str(root / "may_labels.csv")).stdout.strip() == (
        "67 labels recorded; 18 rows without a label skipped"
    )
    assert run(root, "monitor", "labels", str(root / "june_labels.csv")).stdout.strip() == (
        "84 labels recorded"
    )
    features = [c for c in may.columns if c != "benign"]
    with Workspace(root / ".cockpit") as ws:
        assert {r["label"] for r in ws.store.rows("SELECT label FROM labels")} == {"0", "1"}
        stored = {r["entity"] for r in ws.store.rows("SELECT entity FROM labels")}
    keys = entity_keys(may, None, features)  # the contract: exactly entity_keys()
    assert stored >= set(keys[may_labels["benign"].notna() & (may.index != 1)])
    assert stored_outputs(root, 1)["entity"].tolist() == keys.tolist()
    _, checked = check(root)
    measured = {}
    for name, batch_id, truth in (
        ("2026-05", 1, may_labels["benign"].replace(np.inf, np.nan)),
        ("2026-06", 2, 1 - june["benign"]),
    ):
        found = window(checked, name)
        scores = stored_outputs(root, batch_id)["score"].to_numpy()
        known = truth.notna().to_numpy()
        assert found["labelled"] == int(known.sum()) and found["metric"] == "roc_auc"
        measured[name] = found["metric_value"]
        assert measured[name] == pytest.approx(roc_auc_score(truth[known].astype(int), scores[known]))
    assert measured["2026-05"] > 0.97 and measured["2026-06"] < 0.05


def test_one_row_batch_is_monitored_with_a_note(cancer) -> None:
    root, rest = cancer
    rest.head(1).drop(columns=["benign"]).to_csv(root / "one.csv", index=False)
    ingested = run(root, "monitor", "ingest", str(root / "one.csv"), "--at", "2026-07-01")
    assert ingested.exit_code == 0 and ingested.stdout.strip() == "1"
    code, checked = check(root, "--now", "2026-07-02")  # a fresh batch
    july = window(checked, "2026-07")
    assert july["rows"] == 1 and july["max_psi"] is None and july["prediction_psi"] is None
    assert july["notes"] == [
        "feature drift: too few rows (1 < 30)",
        "prediction drift: too few answers (1 < 30)",
    ]
    assert code == 0 and checked["firing"] == []  # one row is no evidence of drift
    text = run(root, "monitor", "check", "--now", "2026-07-02")
    assert text.exit_code == 0
    assert "note 2026-07: feature drift: too few rows (1 < 30)" in text.stdout
    rest.head(1).to_csv(root / "one_label.csv", index=False)
    assert run(root, "monitor", "labels", str(root / "one_label.csv")).stdout.strip() == ("1 label recorded")
    _, checked = check(root)
    july = window(checked, "2026-07")
    assert july["labelled"] == 1 and july["metric_value"] is None  # no ROC AUC of one row


def test_true_false_labels_meet_answers_stored_as_one_and_zero() -> None:
    """A True/False target: the labels file says 'True', a stored answer may say '1'."""
    from cockpit.monitoring.checks import same_class_text

    labels = pd.Series(["True", "False", "true", "True"])
    answers = pd.Series(["1", "0", "0", "1.0"])
    both = same_class_text(labels, answers)
    assert both["label"].tolist() == ["True", "False", "True", "True"]
    assert both["prediction"].tolist() == ["True", "False", "False", "True"]
    integers = same_class_text(pd.Series(["1", "2", "3"]), pd.Series(["1.0", "2", "3.0"]))
    assert integers["label"].tolist() == integers["prediction"].tolist() == ["1", "2", "3"]
    words = same_class_text(pd.Series(["Adelie"]), pd.Series(["Gentoo"]))
    assert words["label"].tolist() == ["Adelie"] and words["prediction"].tolist() == ["Gentoo"]


def test_the_positive_class_of_a_true_false_target_is_true_itself() -> None:
    """1 == True in Python: the positive class must be the class value, so answers of a
    True/False model are True/False, never 1/0."""
    import numpy as np

    from cockpit.evaluation import metrics
    from cockpit.evaluation.predictions import apply_threshold

    positive = metrics.positive_label([False, True])
    assert positive is True
    answers = apply_threshold(np.array([[0.2, 0.8], [0.9, 0.1]]), [False, True], positive, 0.5)
    assert answers.tolist() == [True, False] and answers.dtype == bool
    assert metrics.positive_label([0, 1]) == 1 and metrics.positive_label(["no", "yes"]) == "yes"


def test_a_reference_stored_by_an_older_cockpit_is_recomputed(penguins) -> None:
    """An older cockpit stored a multiclass prediction reference as numbers (no format):
    the next check replaces it instead of never measuring prediction drift."""
    root, rest = penguins
    rest.drop(columns=["species"]).to_csv(root / "may.csv", index=False)
    run(root, "monitor", "ingest", str(root / "may.csv"), "--at", "2026-05-03")
    check(root)
    with Workspace(root / ".cockpit") as ws:
        stale = json.loads(ws.store.scalar("SELECT stats FROM monitor_references"))
        stale.pop("format")
        stale["prediction"] = {"kind": "numeric", "edges": [], "counts": []}
        with ws.store.transaction():
            ws.store.conn.execute("UPDATE monitor_references SET stats = ?", [json.dumps(stale)])
            ws.store.conn.execute("DELETE FROM monitor_windows")
    code, checked = check(root)
    with Workspace(root / ".cockpit") as ws:
        fresh = json.loads(ws.store.scalar("SELECT stats FROM monitor_references"))
        assert ws.store.scalar("SELECT count(*) FROM monitor_references") == 1
    assert fresh["prediction"]["kind"] == "categorical" and fresh["format"] == 2
    assert window(checked, "2026-05")["prediction_psi"] is not None


def test_labels_still_join_batches_an_earlier_model_scored(cancer) -> None:
    """No id column: May was scored by v1 (30 features); v2 leaves a feature out, so its row
    keys differ. Labels arriving after v2 went live still join May."""
    root, rest = cancer
    may = rest.iloc[:85]
    may.drop(columns=["benign"]).to_csv(root / "may.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "may.csv"), "--at", "2026-05-10").exit_code == 0
    for step in (
        ("features", "set", "--column", "worst area:role=ignore"),
        ("train", "--model", "logistic_regression"),
        ("register", "2", "--override", "fewer features"),
        ("deploy", "2", "--strategy", "blue-green", "--reason", "fewer features", "--override", "t"),
    ):
        assert run(root, *step).exit_code == 0, step
    may.to_csv(root / "may_labels.csv", index=False)
    assert run(root, "monitor", "labels", str(root / "may_labels.csv")).stdout.strip() == (
        "85 labels recorded"
    )
    _, checked = check(root)
    found = window(checked, "2026-05")
    assert found["labelled"] == 85
    scores = stored_outputs(root, 1)["score"].to_numpy()
    assert found["metric_value"] == pytest.approx(roc_auc_score(may["benign"], scores))
