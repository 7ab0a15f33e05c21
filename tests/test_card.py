"""The model card (and the bundle that carries it) on a monitored model whose newest window
has no drift figure: a window of service requests only, as in the demo (here on scikit-learn's
breast cancer set). Every figure of a
stored window is optional to the card."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from cockpit.deployment.card import window_summary
from tests.monitoring_helpers import build, check, run


def post(url: str, body: dict) -> int:
    request = urllib.request.Request(
        f"{url}/predict", json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_card_and_package_when_the_newest_window_has_no_drift_figure(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    from cockpit.deployment.serving import running_service

    data = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "benign"})
    # its ten standard-error columns: none predicts the label alone, so the split's leak
    # check (a cross-validated comparison per strong column, most of this test's time on
    # all thirty columns) has nothing to weigh; the card reads the same windows either way
    data = data[[c for c in data.columns if c.endswith(" error")] + ["benign"]]
    data = data.sample(frac=1, random_state=3).reset_index(drop=True)
    root = tmp_path / "ws"
    build(root, "binary", "benign", data.iloc[:400])
    rest = data.iloc[400:].drop(columns=["benign"])
    rest.to_csv(root / "old.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "old.csv"), "--at", "2020-01-15").exit_code == 0
    rows = json.loads(rest.head(12).to_json(orient="records"))
    with running_service(root / ".cockpit", "p") as url:  # logged at the real time: later
        assert [post(url, row) for row in rows] == [200] * 12
    _, checked = check(root)
    served = checked["windows"][-1]
    card = run(root, "card", "1")
    assert card.exit_code == 0, card.stderr
    monitoring = card.stdout.split("## Monitoring\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert monitoring[0] == (
        f"- 2 monthly windows; latest {served['window']}: 0 rows, 12 requests, no drift figure"
    )
    bundle = tmp_path / "bundle"
    packaged = run(root, "package", "1", "--out", str(bundle))
    assert packaged.exit_code == 0, packaged.stderr
    assert monitoring[0] in (bundle / "MODEL_CARD.md").read_text()
    assert served["window"] > "2020-01" and served["rows"] == 0 and served["requests"] == 12
    assert served["max_psi"] is None and served["prediction_psi"] is None
    assert served["notes"] == ["prediction drift: too few answers (12 < 30)"]


FULL = {
    "window": "2026-05",
    "size": "month",
    "rows": 94,
    "max_psi": 0.31,
    "features": {"island": {"psi": 0.31}, "year": {"psi": None}, "sex": {}},
}


@pytest.mark.parametrize("missing", ["window", "size", "rows", "max_psi", "features"])
def test_a_window_summary_copes_with_any_missing_figure(missing: str) -> None:
    window = {k: v for k, v in FULL.items() if k != missing}
    line = window_summary(window)
    expected = {
        "rows": "0 rows, max PSI 0.310, drifted: island",
        "max_psi": "94 rows, no drift figure (too few rows)",
        "features": "94 rows, max PSI 0.310, drifted: none",
    }
    assert line == expected.get(missing, "94 rows, max PSI 0.310, drifted: island")


def test_a_window_summary_of_strange_values() -> None:
    assert window_summary({"rows": None, "max_psi": float("nan"), "requests": 3}) == (
        "0 rows, 3 requests, no drift figure"
    )
    assert window_summary({"rows": 1, "max_psi": 0.0, "features": {"x": None}}) == (
        "1 row, max PSI 0.000, drifted: none"
    )
