"""Never a silent fallback on a broken model in the batch paths (`cockpit predict`, `monitor
ingest`): a production, canary or shadow model whose file is tampered, truncated or missing
is refused by name (exit 2, nothing written) unless --allow-fallback is given; then the
fallback answers, stderr says so, and the stored batch marks each row it answered.

Breast cancer (scikit-learn's copy, columns with _ for spaces so the fallback rule can name
one): a logistic regression (v1) in production, a dummy (v2) registered beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.monitoring_helpers import build, run, stored_outputs

RULE = "mean_radius > 15 -> 1 else 0"


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame.sample(frac=1, random_state=3).reset_index(drop=True)


def with_fallback(root: Path, *more: tuple[str, ...]) -> pd.DataFrame:
    """Breast cancer's first 400 rows trained on, a dummy model registered (v1 the logistic
    regression `build` trains), the fallback RULE set, then the steps `more`; rows 400-459
    without their label are arrived.csv. Returns the data."""
    data = cancer()
    build(root, "binary", "target", data.head(400))
    for step in (
        ("train", "--model", "dummy"),
        ("register", "2", "--override", "a fallback test"),
        ("fallback", "set", RULE),
        *more,
    ):
        assert run(root, *step).exit_code == 0, step
    data.iloc[400:460].drop(columns=["target"]).to_csv(root / "arrived.csv", index=False)
    return data


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fallback") / "ws"
    with_fallback(root)
    return root


@pytest.fixture
def root(built: Path, private_copy) -> Path:
    return private_copy(built)


def model_file(root: Path, version: int) -> Path:
    from cockpit.deployment import registry
    from cockpit.projects import get_project
    from cockpit.workspace import Workspace

    with Workspace(root / ".cockpit") as ws:
        found = registry.get_version(ws, get_project(ws, "p"), version)
        return ws.artifacts.path_for(found.artifact_sha256)


def break_file(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "tampered":
        path.write_bytes(data[:-10] + b"0123456789")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.unlink()


def written(root: Path) -> tuple[int, int]:
    """(batches, events): equal before and after means nothing was stored."""
    import sqlite3

    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("batches", "events"))
    finally:
        db.close()


def batch_command(root: Path, command: str, *extra: str):
    source = str(root / "arrived.csv")
    if command == "predict":
        return run(root, "predict", source, "-o", str(root / "scored.csv"), *extra)
    return run(root, "monitor", "ingest", source, *extra)


def one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["predict", "ingest"])
@pytest.mark.parametrize("how", ["tampered", "truncated", "missing"])
def test_a_broken_production_model_is_refused_by_name(root: Path, command: str, how: str) -> None:
    path = model_file(root, 1)
    break_file(path, how)
    before = written(root)
    result = batch_command(root, command)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    line = one_line(result)
    assert "production model v1" in line and path.name in line and "--allow-fallback" in line, line
    assert written(root) == before and not (root / "scored.csv").exists()


@pytest.mark.parametrize("command", ["predict", "ingest"])
def test_allow_fallback_answers_says_so_and_marks_the_rows(root: Path, command: str) -> None:
    break_file(model_file(root, 1), "tampered")
    result = batch_command(root, command, "--allow-fallback")
    assert result.exit_code == 0, result.stderr
    assert "production model v1" in result.stderr and "60 rows answered by the fallback rule" in result.stderr
    batch_id = int(result.stdout.strip().splitlines()[-1])
    outputs = stored_outputs(root, batch_id)
    assert set(outputs["route"]) == {"fallback"} and len(outputs) == 60
    assert outputs["error"].str.startswith("v1 (run 1): ").all()
    arrived = pd.read_csv(root / "arrived.csv")
    assert outputs["prediction"].astype(int).tolist() == (arrived["mean_radius"] > 15).astype(int).tolist()
    event = json.loads(_last_event(root, command)["details"])
    assert event["batch"] == batch_id and event["fallback_rows"] == 60 and "v1" in event["fallback_reason"]
    if command == "predict":
        scored = pd.read_csv(root / "scored.csv")
        assert set(scored["route"]) == {"fallback"}


def _last_event(root: Path, command: str) -> dict:
    import sqlite3

    action = "predict" if command == "predict" else "ingest"
    db = sqlite3.connect(root / ".cockpit" / "cockpit.db")
    db.row_factory = sqlite3.Row
    try:
        found = db.execute(
            "SELECT details FROM events WHERE action = ? ORDER BY id DESC LIMIT 1", [action]
        ).fetchone()
        return dict(found)
    finally:
        db.close()


def test_a_broken_canary_is_refused_then_its_rows_are_marked(root: Path) -> None:
    assert run(root, "deploy", "2", "--strategy", "canary", "--percent", "50", "--reason", "t").exit_code == 0
    path = model_file(root, 2)
    break_file(path, "truncated")
    before = written(root)
    refused = batch_command(root, "ingest")
    assert refused.exit_code == 2 and written(root) == before
    line = one_line(refused)
    assert "canary model v2" in line and path.name in line, line
    allowed = batch_command(root, "ingest", "--allow-fallback")
    assert allowed.exit_code == 0, allowed.stderr
    assert "canary model v2" in allowed.stderr
    outputs = stored_outputs(root, int(allowed.stdout.strip()))
    routes = outputs["route"].value_counts().to_dict()
    assert set(routes) == {"production", "fallback"} and routes["fallback"] > 0
    assert outputs.loc[outputs["route"] == "fallback", "error"].str.startswith("v2 (run 2): ").all()


def test_a_broken_shadow_is_refused_then_its_failure_is_stored(root: Path) -> None:
    assert run(root, "deploy", "2", "--strategy", "shadow", "--reason", "t").exit_code == 0
    path = model_file(root, 2)
    break_file(path, "missing")
    before = written(root)
    refused = batch_command(root, "predict")
    assert refused.exit_code == 2 and written(root) == before
    line = one_line(refused)
    assert "shadow model v2" in line and path.name in line, line
    allowed = batch_command(root, "predict", "--allow-fallback")
    assert allowed.exit_code == 0, allowed.stderr
    assert "shadow model v2" in allowed.stderr
    outputs = stored_outputs(root, int(allowed.stdout.strip()))
    assert set(outputs["route"]) == {"production"}  # the shadow never answers
    assert outputs["shadow_error"].str.contains("v2").all()


def test_allow_fallback_without_a_fallback_rule_is_still_refused(root: Path) -> None:
    from cockpit.projects import get_project
    from cockpit.workspace import Workspace

    with Workspace(root / ".cockpit") as ws, ws.store.transaction():
        ws.store.conn.execute("DELETE FROM fallbacks WHERE project_id = ?", [get_project(ws, "p").id])
    break_file(model_file(root, 1), "tampered")
    before = written(root)
    result = batch_command(root, "predict", "--allow-fallback")
    assert result.exit_code == 2 and written(root) == before
    assert "no fallback rule" in one_line(result)


def test_a_healthy_model_scores_as_before(root: Path) -> None:
    result = batch_command(root, "ingest")
    assert result.exit_code == 0 and result.stderr == ""
    outputs = stored_outputs(root, int(result.stdout.strip()))
    assert set(outputs["route"]) == {"production"} and (outputs["error"] == "").all()


def test_a_model_that_loads_but_fails_on_the_rows_is_refused_too(root: Path, monkeypatch) -> None:
    """A model can load and still fail on every row (here its predict raises, as a library
    that changed under it would): refused by name unless --allow-fallback, like a broken file."""
    from cockpit.deployment.routing import Router

    real = Router._predict

    def failing(self, version, rows):
        if version.version == 1:
            raise ValueError("X has 29 features, but the model is expecting 30")
        return real(self, version, rows)

    monkeypatch.setattr(Router, "_predict", failing)
    before = written(root)
    refused = batch_command(root, "ingest")
    assert refused.exit_code == 2 and written(root) == before
    line = one_line(refused)
    assert "production model v1 failed on 60 rows" in line and "expecting 30" in line, line
    allowed = batch_command(root, "ingest", "--allow-fallback")
    assert allowed.exit_code == 0 and "60 rows answered by the fallback rule" in allowed.stderr
    assert set(stored_outputs(root, int(allowed.stdout.strip()))["route"]) == {"fallback"}
