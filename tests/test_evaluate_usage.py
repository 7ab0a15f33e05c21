"""Bad usage of `evaluate` writes nothing (issue 22): an unknown segment column is refused
before the binary decision threshold is chosen and stored. On breast cancer."""

from __future__ import annotations

import json
from pathlib import Path

from tests import cli_workspaces as real


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def test_an_unknown_segment_column_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    built = real.build(
        tmp_path, breast_cancer(), "binary", "target", runs=(("--model", "logistic_regression"),)
    )
    events = len(json.loads(built.cli("log", "--json", "--limit", "1000").stdout))
    refused = built.cli("evaluate", "1", "--split", "validation", "--segments", "mean radius,nope")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("cockpit: segment column(s) nope are not in the data")
    assert len(json.loads(built.cli("log", "--json", "--limit", "1000").stdout)) == events
    from cockpit.workspace import Workspace

    with Workspace.open(str(built.root)) as ws:
        assert ws.store.scalar("SELECT threshold FROM runs WHERE id = 1") is None
        assert ws.store.scalar("SELECT count(*) FROM evaluations") == 0
    shown = built.cli(
        "evaluate", "1", "--split", "validation", "--seeds", "0", "--segments", "mean radius", "--json"
    )
    assert shown.exit_code == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["metrics"]["roc_auc"] > 0.98  # breast cancer, logistic regression
    assert {s["column"] for s in report["details"]["segments"]} == {"mean radius"}
