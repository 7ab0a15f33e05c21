"""The gate's latency rule on an injected clock: calls the scheduler preempted (a few huge
first calls) do not fail a fast model, and a model slow on its rows still fails."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
from sklearn.datasets import load_iris

from cockpit.evaluation import robustness
from cockpit.evaluation.gate import _latency_rule

PROJECT = SimpleNamespace(target="target")
BUDGET_MS = 5.0


@pytest.fixture(scope="module")
def iris() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


class FakeModel:
    """A model on a fake clock: predicting a row moves the clock by that row's cost, plus
    the next of `stalls` (ms) on each timed call, as if the scheduler had preempted it."""

    def __init__(self, cost_ms, stalls: dict[int, float]) -> None:
        self.now, self.calls = 0.0, 0
        self.cost_ms, self.stalls = cost_ms, stalls

    def clock(self) -> float:
        return self.now

    def predict(self, frame: pd.DataFrame):
        self.calls += 1
        if len(frame) == 1:
            stall = self.stalls.get(self.calls, 0.0)
            self.now += (self.cost_ms(int(frame.index[0])) + stall) / 1000
        return [0] * len(frame)


def _gate(model: FakeModel, frame: pd.DataFrame):
    found = robustness.latency(model, frame, PROJECT, BUDGET_MS, clock=model.clock)
    return found, _latency_rule(found)


def test_a_few_preempted_calls_do_not_fail_a_fast_model(iris) -> None:
    # 0.3 ms a row; 5 of the 50 first calls (10%) stalled 40 ms: their p95 is past the budget
    stalls = {call: 40.0 for call in (4, 12, 23, 37, 48)}  # call 1 is the warm-up
    found, rule = _gate(FakeModel(lambda row: 0.3, stalls), iris)
    assert found["first_call_p95_ms"] > BUDGET_MS  # what one call per row would have judged
    assert found["p50_ms"] == pytest.approx(0.3) and found["p95_ms"] == pytest.approx(0.3)
    assert rule.passed and found["calls"] == 55 and found["rows"] == 50
    assert "first calls' p95 40.3 ms" in rule.detail and found["method"] == robustness.LATENCY_METHOD


def test_rows_slow_on_every_call_still_fail(iris) -> None:
    # 6 rows of 50 take 30 ms on every call (a real slow path): their least is 30 ms
    slow = {3, 9, 17, 26, 33, 41}
    model = FakeModel(lambda row: 30.0 if row in slow else 0.3, {})
    found, rule = _gate(model, iris)
    assert found["p95_ms"] == pytest.approx(30.0) and not rule.passed
    assert found["calls"] == 50 + 6 * (robustness.LATENCY_REPEATS - 1)


def test_a_model_slow_everywhere_is_timed_once_a_row_and_fails(iris) -> None:
    # a 500-tree forest: ~100 ms on every row, a few rows somewhat slower, one call stalled
    model = FakeModel(lambda row: 100.0 + (row % 7), {20: 400.0})
    found, rule = _gate(model, iris)
    assert not rule.passed and found["p50_ms"] == pytest.approx(103.0)
    assert found["calls"] == 50 + 1  # only the stalled row (504 ms > 2x the median) again
    assert found["p95_ms"] == pytest.approx(106.0)
