"""A segment column that is free text or the entity id (one group per row: thousands of
one-row "segments" without an interval) is refused before anything is written, naming the
column and what to segment by. On scikit-learn's diabetes set with a free-text note and an id."""

from __future__ import annotations

import json
from pathlib import Path

from tests import cli_workspaces as real


def diabetes_with_text_and_id():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True).frame
    frame["note"] = [f"visit notes, patient {i}: nothing unusual" for i in range(len(frame))]
    frame["patient_id"] = [f"P{i:04d}" for i in range(len(frame))]
    frame["site"] = ["north" if i % 3 else "south" for i in range(len(frame))]
    return frame


def test_free_text_and_id_segment_columns_are_refused(tmp_path: Path) -> None:
    built = real.build(
        tmp_path, diabetes_with_text_and_id(), "regression", "target", runs=(("--model", "ridge"),)
    )
    events = len(json.loads(built.cli("log", "--json", "--limit", "1000").stdout))
    for column, kind in (("note", "free text"), ("patient_id", "the entity id")):
        refused = built.cli("evaluate", "1", "--split", "validation", "--segments", f"site,{column}")
        assert refused.exit_code == 2, refused.stdout
        assert refused.stderr.startswith(f"cockpit: segment column {column!r} is {kind}"), refused.stderr
    assert len(json.loads(built.cli("log", "--json", "--limit", "1000").stdout)) == events
