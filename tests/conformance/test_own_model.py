"""The conformance loop on a user's own model (issue 24): LightGBM trained in the user's script
and logged through `cockpit.start_run`, then evaluate → gate → register → canary → serve →
predict → monitor → retrain (the script runs again on the new data) → review → card → package."""

from pathlib import Path

import pytest

from tests.conformance import cases
from tests.conformance.loop import run_case

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("case", cases.OWN_MODEL, ids=str)
def test_whole_loop_on_own_model(case: cases.Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)
