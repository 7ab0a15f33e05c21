"""Labels that name a class the production model never learned (a fourth penguin species) are
recorded as given and said: every one is a mistake the model could not avoid, so the metrics on
labelled rows fall (macro f1 0.925 -> 0.689 on the tour's penguins) for a reason the user hears."""

from __future__ import annotations

import json
from pathlib import Path

from tests.monitoring_helpers import build, penguins, run
from tests.training_here import training_here


def test_labels_naming_a_class_the_model_never_learned_are_counted_and_said(tmp_path: Path) -> None:
    root = tmp_path / "penguins"
    frame = penguins().reset_index(drop=True)
    with training_here():
        build(root, "multiclass", "species", frame)
    batch = frame.sample(n=40, random_state=3)
    batch.drop(columns=["species"]).to_csv(root / "batch.csv", index=False)
    assert run(root, "monitor", "ingest", str(root / "batch.csv"), "--at", "2026-10-01").exit_code == 0
    labels = batch.copy()
    labels.iloc[:3, labels.columns.get_loc("species")] = "Emperor"
    labels.to_csv(root / "labels.csv", index=False)

    said = run(root, "monitor", "labels", str(root / "labels.csv"))

    assert said.exit_code == 0
    assert said.stdout.startswith("40 labels recorded")
    assert (
        "warning: 3 labels name a class the production model never learned: Emperor (3); recorded, "
        "but the model can only be wrong on them, so its metrics on labelled rows fall"
    ) in said.stderr
    as_json = json.loads(run(root, "monitor", "labels", str(root / "labels.csv"), "--json").stdout)
    assert as_json["unseen_classes"] == {"Emperor": 3}
    batch.to_csv(root / "known.csv", index=False)
    again = run(root, "monitor", "labels", str(root / "known.csv"))
    assert again.exit_code == 0 and "never learned" not in again.stderr
