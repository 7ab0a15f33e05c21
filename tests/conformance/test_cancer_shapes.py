"""The conformance matrix: the whole headless loop on each case (see loop.py, cases.py)."""

from pathlib import Path

import pytest

from tests.conformance import cases
from tests.conformance.loop import run_case

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("case", cases.CANCER_SHAPES, ids=str)
def test_whole_loop(case: cases.Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)
