"""The launch-readiness review: evidence, failure modes, sign-offs (core, CLI and keys)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cockpit import problem, review
from cockpit.data import datasets
from cockpit.data.splits import make_split
from cockpit.deployment import registry
from cockpit.errors import CockpitError
from cockpit.projects import create_project
from cockpit.training import runs


@pytest.fixture
def registered(workspace, tmp_path):
    project = create_project(workspace, "svc", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 600)
    pd.DataFrame(
        {
            "user_id": [f"U{i}" for i in range(600)],
            "x": x,
            "left": (x + rng.normal(0, 1, 600) > 0.5).astype(int),
        }
    ).to_csv(tmp_path / "d.csv", index=False)
    datasets.import_dataset(workspace, project, tmp_path / "d.csv")
    make_split(workspace, project, "stratified")
    problem.save_spec(workspace, project, problem.ProblemSpec(metric="roc_auc", metric_target=0.6))
    run = runs.train(workspace, project, "logistic_regression")
    version = registry.register(workspace, project, run.id, "review test")
    return project, version


def test_failure_modes_are_named_from_the_store(workspace, registered) -> None:
    project, version = registered
    result = review.review(workspace, project, version.version)
    assert not result.ready
    modes = " | ".join(result.failure_modes)
    assert "notebook-only model" in modes  # not in git
    assert "no monitoring" in modes and "no human path" in modes
    steps = {s.name: s for s in result.steps}
    assert not steps["reproducible"].passed and not steps["monitored"].passed


def test_signoffs_block_and_waive(workspace, registered) -> None:
    project, version = registered
    for step in review.STEPS:
        review.sign(workspace, project, version.version, step, "waive", "accepted for a pilot")
    assert review.review(workspace, project, version.version).ready
    review.sign(workspace, project, version.version, "monitored", "block", "no alerts at all")
    blocked = review.review(workspace, project, version.version)
    assert not blocked.ready and not {s.name: s for s in blocked.steps}["monitored"].ok
    with pytest.raises(CockpitError, match="say why"):
        review.sign(workspace, project, version.version, "evaluated", "block", "")
    with pytest.raises(CockpitError, match="not one of"):
        review.sign(workspace, project, version.version, "vibes", "approve", "")


def test_cli_review_exit_codes(run_cli, workspace, registered) -> None:
    project, version = registered
    folder = workspace.root
    assert run_cli("review", "1", workspace=folder).exit_code == 1
    for step in review.STEPS:
        run_cli(
            "review", "sign", "1", "--step", step, "--decision", "waive", "--comment", "ok", workspace=folder
        )
    assert run_cli("review", "1", workspace=folder).exit_code == 0


async def test_a_full_review_signed_off_by_keys(workspace, registered) -> None:
    from textual.widgets import Input

    from screens.app import CockpitApp
    from screens.review import ReviewScreen

    project, version = registered
    app = CockpitApp(workspace, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("9")
        for _ in range(50):  # the mode switch mounts the screen asynchronously
            if isinstance(app.screen, ReviewScreen) and app.screen.result is not None:
                break
            await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, ReviewScreen) and not screen.result.ready
        for index, step in enumerate(screen.result.steps):
            await pilot.press("w" if not step.passed else "a")
            field = app.screen.query_one(Input)
            field.value = "signed in the review meeting"
            await pilot.press("enter")
            if index < len(review.STEPS) - 1:
                await pilot.press("down")
        assert screen.result.ready
        assert "READY" in str(screen.query_one("#review-verdict").render())
    signed = workspace.store.rows("SELECT step, decision FROM signoffs ORDER BY id")
    assert [s["step"] for s in signed] == list(review.STEPS)
