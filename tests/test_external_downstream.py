"""Everything after registration works on a model trained elsewhere: evaluate (stability
refits a clone of the user's pipeline, or says why it cannot), gate, canary, shadow and
blue-green, the prediction service, batch scoring, monitoring, review, card and bundle.

One workspace per module (scikit-learn's breast cancer data, ten columns): a catalogue
logistic regression in production (v1), a user's LightGBM Pipeline registered from its
file (v2, run 2), and a model whose class cannot be cloned, recorded from its file (run 3).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from tests.cli_workspaces import Built, build, copy
from tests.test_register_file import cancer, user_pipeline


class Layered(ClassifierMixin, BaseEstimator):
    """A user's estimator whose constructor copies its parameter: clone() refuses it."""

    def __init__(self, sizes=(8,)):
        self.sizes = list(sizes)

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=2000).fit(X, y)
        self.classes_ = self.model_.classes_
        self.feature_names_in_ = self.model_.feature_names_in_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def opened(made: Built):
    from cockpit.projects import resolve_project
    from cockpit.workspace import Workspace

    ws = Workspace.open(str(made.root))
    return ws, resolve_project(ws, None)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    from cockpit.deployment.model_file import read_model_file, record_file
    from cockpit.training.external import run_data

    folder = tmp_path_factory.mktemp("external_downstream")
    made = build(
        folder,
        cancer(),
        "binary",
        "target",
        spec=("metric=roc_auc", "metric_target=0.9"),
        runs=(("--model", "logistic_regression"),),
    )
    ws, project = opened(made)
    with ws:
        data = run_data(ws, project, 1)
        X, y = data.train[data.columns], data.train["target"]
        joblib.dump(user_pipeline().fit(X, y), folder / "lgbm.joblib")
        joblib.dump(Layered().fit(X, y), folder / "layered.joblib")
    assert made.cli("register", "1", "--override", "the catalogue baseline").exit_code == 0
    assert made.cli("deploy", "1", "--strategy", "blue-green", "--override", "test").exit_code == 0
    registered = made.cli("register", "--file", str(folder / "lgbm.joblib"), "--data", "1")
    assert registered.exit_code == 0, registered.stderr
    ws, project = opened(made)
    with ws:
        record_file(ws, project, read_model_file(folder / "layered.joblib"), 1)
    return made


@pytest.fixture
def made(built: Built, tmp_path: Path) -> Built:
    return copy(built, tmp_path / "copy")


def rows(n: int = 40) -> pd.DataFrame:
    return cancer().drop(columns="target").head(n)


def test_stability_refits_clones_of_the_users_pipeline_with_other_seeds(made: Built) -> None:
    from cockpit.data.splits import get_split, split_frames
    from cockpit.evaluation.robustness import clone_stability, seeded
    from cockpit.training.runs import get_run, load_pipeline

    result = made.cli("evaluate", "2", "--split", "validation", "--segments", "mean_radius", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    details = report["details"]
    assert report["threshold"] is not None and 0.9 < report["metrics"]["roc_auc"] <= 1
    assert {s["column"] for s in details["segments"]} == {"mean_radius"}
    assert {c["case"]: c["ok"] for c in details["edge_cases"]} == dict.fromkeys(
        ("missing values", "out-of-range numbers", "far below range"), True
    )
    assert details["latency"]["p95_ms"] > 0
    assert {i["column"] for i in details["importance"]} == set(cancer().columns.drop("target"))
    stability = details["stability"]
    assert "not_applicable" not in stability
    assert len(stability["values"]) == 3 and all(0.9 < v <= 1 for v in stability["values"])
    assert stability["spread"] == pytest.approx(max(stability["values"]) - min(stability["values"]))
    ws, project = opened(made)
    with ws:
        run = get_run(ws, project, 2)
        pipeline = load_pipeline(ws, run)
        parts = split_frames(ws, project, get_split(ws, project, run.split_id))
    assert seeded(pipeline, 5) == {"model__lgbmclassifier__random_state": 5}
    # the numbers are refits of the user's own pipeline (not a catalogue recipe of its class)
    again = clone_stability(pipeline, parts["train"], parts["validation"], "binary", "target", "roc_auc", 0)
    assert again["values"] == pytest.approx(stability["values"], abs=1e-12)
    other = clone_stability(pipeline, parts["train"], parts["validation"], "binary", "target", "roc_auc", 7)
    assert other["values"] != again["values"]
    assert pipeline.named_steps["model"].steps[-1][1].random_state == 3  # the saved model is untouched


def test_a_model_that_cannot_be_cloned_makes_stability_not_applicable_everywhere(made: Built) -> None:
    evaluated = made.cli("evaluate", "3", "--split", "test")
    assert evaluated.exit_code == 0, evaluated.stderr
    assert (
        "stability: not applicable: the model cannot be cloned to refit it (RuntimeError" in evaluated.stdout
    )
    table = made.cli("gate", "3")
    line = next(line for line in table.stdout.splitlines() if line.startswith("stability"))
    assert line.split()[1] == "n/a" and "not applicable: the model cannot be cloned" in line
    verdict = json.loads(made.cli("gate", "3", "--json").stdout)
    rule = next(r for r in verdict["rules"] if r["name"] == "stability")
    assert (rule["applicable"], rule["passed"]) == (False, True)
    others = [r["passed"] for r in verdict["rules"] if r["name"] != "stability"]
    assert verdict["passed"] == all(others)
    markdown = made.cli("evaluate", "3", "--split", "validation", "--markdown").stdout
    assert "Stability: not applicable: the model cannot be cloned" in markdown


def test_canary_service_batch_and_monitoring_take_the_external_model(made: Built, tmp_path: Path) -> None:
    from cockpit.deployment.serving import running_service

    assert made.cli("deploy", "2", "--strategy", "canary", "--percent", "50").exit_code == 0
    sent = rows().to_dict("records")
    with running_service(made.root / ".cockpit", "p") as url:
        answered = httpx.post(f"{url}/predict", json={"rows": sent}).json()["predictions"]
        again = httpx.post(f"{url}/predict", json={"rows": sent}).json()["predictions"]
        lacking = httpx.post(f"{url}/predict", json={k: v for k, v in sent[0].items() if k != "mean_area"})
    routes = {a["route"]: a["model_version"] for a in answered}
    assert routes == {"production": 1, "canary": 2}  # no id column: keyed by the row's features
    assert [a["route"] for a in again] == [a["route"] for a in answered]  # sticky
    assert {a["prediction"] for a in answered} <= {"benign", "malignant"}
    assert lacking.status_code == 422 and lacking.json()["error"] == "invalid input: mean_area: missing"
    source, out = tmp_path / "batch.csv", tmp_path / "scored.csv"
    rows().to_csv(source, index=False)
    scored = made.cli("predict", str(source), "-o", str(out), "--json")
    assert scored.exit_code == 0, scored.stderr
    assert set(json.loads(scored.stdout)["routes"]) == {"production", "canary"}
    written = pd.read_csv(out)
    canary = written[written["route"] == "canary"]
    assert (canary["model_version"] == 2).all() and len(canary) > 0
    labels = tmp_path / "labels.csv"
    cancer().head(40).to_csv(labels, index=False)  # the features key the rows: no id column
    assert made.cli("monitor", "labels", str(labels)).exit_code == 0
    checked = made.cli("monitor", "check", "--json")
    assert checked.exit_code in (0, 1), checked.stderr  # 1: an alert may fire on 40 rows
    (window,) = json.loads(checked.stdout)["windows"]
    assert (window["rows"], window["labelled"]) == (40, 40)
    assert 0.5 < window["metric_value"] <= 1


def test_shadow_and_blue_green_route_to_the_external_model(made: Built) -> None:
    from cockpit.deployment.routing import Router

    assert made.cli("deploy", "2", "--strategy", "shadow").exit_code == 0
    ws, project = opened(made)
    with ws:
        scored = Router(ws, project).score(rows())
    assert set(scored.frame["route"]) == {"production"}
    assert scored.shadow is not None and (scored.shadow["model_version"] == 2).all()
    assert set(scored.shadow["prediction"]) <= {"benign", "malignant"}
    assert made.cli("deploy", "2", "--strategy", "blue-green", "--override", "test").exit_code == 0
    ws, project = opened(made)
    with ws:
        scored = Router(ws, project).score(rows())
    assert set(scored.frame["model_version"]) == {2} and set(scored.frame["route"]) == {"production"}


def test_requests_carry_every_column_a_served_model_takes(made: Built, tmp_path: Path) -> None:
    from cockpit.deployment.routing import Router
    from cockpit.deployment.serving_input import check_rows
    from cockpit.training.external import run_data

    ws, project = opened(made)
    with ws:
        data = run_data(ws, project, 1)
    few = ["mean_radius", "mean_texture", "mean_smoothness"]
    joblib.dump(user_pipeline().fit(data.train[few], data.train["target"]), tmp_path / "few.joblib")
    registered = made.cli("register", "--file", str(tmp_path / "few.joblib"), "--data", "1")
    assert registered.exit_code == 0, registered.stderr
    assert made.cli("deploy", "3", "--strategy", "blue-green", "--override", "test").exit_code == 0
    assert made.cli("deploy", "2", "--strategy", "canary", "--percent", "30").exit_code == 0
    ws, project = opened(made)
    with ws:
        router = Router(ws, project)
        production = router.main_version().input_schema
        wanted = router.request_schema()
    assert set(production["columns"]) == set(few)  # the store keeps a schema's keys sorted
    assert set(wanted["columns"]) == set(data.columns)
    only_few = [{c: 1.0 for c in few}]
    assert {p["field"] for p in check_rows(only_few, wanted)} == set(data.columns) - set(few)


def test_card_review_and_bundle_say_what_the_model_is_and_where_it_came_from(
    made: Built, tmp_path: Path
) -> None:
    import lightgbm

    from cockpit.deployment.bundle import load_bundle
    from cockpit.training.runs import get_run

    ws, project = opened(made)
    with ws:
        run = get_run(ws, project, 2)
    sha = run.origin["sha256"]
    card = made.cli("card", "2").stdout
    assert (
        f"- Model: LGBMClassifier (lightgbm.LGBMClassifier), trained elsewhere, registered from the file "
        f"{run.origin['file']} (sha256 {sha[:16]})" in card
    )
    assert "Code, seed and training time: not recorded" in card
    assert "## Inputs" in card and "Feature spec v" not in card and "Seed 0" not in card
    assert "Scored on dataset version v1" in card
    review = json.loads(made.cli("review", "2", "--json").stdout)
    reproducible = next(s for s in review["steps"] if s["name"] == "reproducible")
    texts = [text for _, text in reproducible["evidence"]]
    assert texts[0].startswith("model LGBMClassifier (lightgbm.LGBMClassifier), trained elsewhere")
    assert not reproducible["passed"]
    assert any("model from a file" in mode for mode in review["failure_modes"])
    out = tmp_path / "bundle"
    assert made.cli("package", "2", "--out", str(out)).exit_code == 0
    assert f"lightgbm=={lightgbm.__version__}" in (out / "requirements.txt").read_text().splitlines()
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["kind"] == "file" and config["model"]["origin"]["sha256"] == sha
    pipeline, _, warnings = load_bundle(out)
    assert warnings == []
    frame = rows(10)
    assert list(pipeline.predict(frame)) == list(joblib.load(made.root.parent / "lgbm.joblib").predict(frame))
    assert np.isfinite(pipeline.predict_proba(frame)).all()


def test_a_script_runs_origin_is_said_with_its_script_and_arguments(made: Built) -> None:
    from cockpit.training.origin import model_text, origin_text
    from cockpit.training.runs import get_run

    ws, project = opened(made)
    with ws:
        run = get_run(ws, project, 2)
        catalogue = get_run(ws, project, 1)
    script = replace(run, source="script", origin={"script": "/src/train.py", "argv": ["--depth", "6"]})
    assert origin_text(script) == "trained by the script /src/train.py --depth 6"
    assert model_text(catalogue) == "logistic_regression"
    assert origin_text(catalogue) == "trained by cockpit (catalogue family)"


def test_a_run_logged_without_data_is_refused_until_its_data_is_named(made: Built) -> None:
    from cockpit.training import external

    ws, project = opened(made)
    with ws:
        frame = cancer()
        X, y = frame.drop(columns="target"), frame["target"]
        run_id = external.start(ws, project, "notebook", {"kernel": "python", "cwd": "/nb"})
        external.finish_with_model(ws, project, run_id, user_pipeline().fit(X, y), X, None, 1.0)
    registered = made.cli("register", str(run_id), "--override", "try")
    assert registered.exit_code == 2
    assert f"has no data in cockpit yet: score it on a data version first (cockpit evaluate {run_id}" in (
        registered.stderr
    )
    gated = made.cli("gate", str(run_id))
    assert gated.exit_code == 2 and "has no data in cockpit yet" in gated.stderr
    assert made.cli("models", "--json").stdout.count('"run_id"') == 2  # v1 and v2 only


def test_deploy_refuses_a_version_whose_model_cannot_load_here(
    made: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's class from a module that is gone by deploy time: every strategy refuses the
    version by name (exit 2) and no alias moves, so the service never routes to it."""
    import importlib
    import sys

    from cockpit.training.external import run_data

    folder = tmp_path / "usercode"
    folder.mkdir()
    module = folder / "gone_model.py"
    module.write_text(
        "from sklearn.linear_model import LogisticRegression\n\n\nclass Mine(LogisticRegression):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(folder))
    import gone_model  # type: ignore[import-not-found]

    ws, project = opened(made)
    with ws:
        data = run_data(ws, project, 1)
    fitted = gone_model.Mine(max_iter=5000).fit(data.train[data.columns], data.train["target"])
    joblib.dump(fitted, folder / "m.joblib")
    registered = made.cli("register", "--file", str(folder / "m.joblib"), "--data", "1", "--override", "test")
    assert registered.exit_code == 0, registered.stderr
    version = registered.stdout.strip().splitlines()[-1]
    module.unlink()
    monkeypatch.delitem(sys.modules, "gone_model")
    sys.path.remove(str(folder))
    importlib.invalidate_caches()
    before = made.cli("models", "--json").stdout
    for args in (("canary", "--percent", "50"), ("shadow",), ("blue-green",)):
        refused = made.cli("deploy", version, "--strategy", *args)
        assert refused.exit_code == 2, refused.stdout
        assert f"v{version} (run 4) cannot be deployed" in refused.stderr
        assert "'gone_model'" in refused.stderr and refused.stderr.count("\n") == 1
    assert made.cli("models", "--json").stdout == before
    sound = made.cli("deploy", "2", "--strategy", "canary", "--percent", "50")
    assert sound.exit_code == 0, sound.stderr  # a version whose model answers still goes
