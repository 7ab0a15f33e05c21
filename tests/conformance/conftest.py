"""Every conformance case trains its runs in the test's process (tests/training_here.py): the
cases are about what each command does on tables no one here wrote; the training process
itself is tested in tests/test_training.py and tests/test_runs_record.py. The steps a case
runs through the installed `cockpit` script still train in a child process."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _train_here(train_here: None) -> None:
    return train_here
