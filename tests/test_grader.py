"""The spec grader on a table of specs, from a slogan to a complete spec."""

import pytest

from cockpit.problem import ProblemSpec
from cockpit.problem.grader import grade

CHURN = dict(
    statement="Predict whether a customer will cancel their subscription in the next 30 days, "
    "so we can intervene with a retention offer",
    task="binary",
    target="churned",
    labels="cancellations recorded by billing",
    audience="the retention team",
    decision="who receives a retention offer this month",
    usage="batch",
    time_window="within 30 days of the snapshot",
    metric="recall",
    metric_target=0.8,
    costlier_mistake="false_negative",
    cost_ratio=3.0,
    baseline="offer to everyone with 3+ support tickets",
    constraints="budget of 400 offers",
    segments=["plan", "city"],
    risks="offers by city could be unfair",
    human_path="the retention lead approves the list; customers can decline",
)


def spec(**fields) -> ProblemSpec:
    return ProblemSpec(**fields)


# (name, spec, lowest score, highest score, fields that must be named as missing)
TABLE = [
    ("slogan", spec(statement="Use AI to reduce churn"), 0, 29, {"target", "time_window", "usage"}),
    ("empty", spec(), 0, 0, {"statement", "target", "metric"}),
    (
        "slogan with a target",
        spec(statement="Use machine learning to optimise retention", task="binary", target="churned"),
        5,
        29,
        {"time_window", "usage", "metric"},
    ),
    ("full churn spec", spec(**CHURN), 95, 100, set()),
    (
        "churn without the nice-to-haves",
        spec(**{**CHURN, "constraints": "", "risks": "", "segments": []}),
        80,
        94,
        {"constraints", "risks", "segments"},
    ),
    ("churn with no metric target", spec(**{**CHURN, "metric_target": None}), 80, 95, {"metric_target"}),
    ("churn with no human path", spec(**{**CHURN, "human_path": ""}), 80, 95, {"human_path"}),
    ("online without a latency budget", spec(**{**CHURN, "usage": "online"}), 80, 95, set()),
    (
        "regression needs no mistake costs",
        spec(
            **{
                **CHURN,
                "task": "regression",
                "target": "price",
                "metric": "mae",
                "metric_target": 30000,
                "costlier_mistake": "",
                "cost_ratio": None,
            }
        ),
        95,
        100,
        set(),
    ),
    (
        "metric only",
        spec(task="binary", target="y", metric="recall", metric_target=0.8),
        25,
        45,
        {"statement", "time_window", "usage", "decision"},
    ),
    ("costlier mistake without a ratio", spec(**{**CHURN, "cost_ratio": None}), 85, 97, set()),
    ("window without a horizon", spec(**{**CHURN, "time_window": "soon-ish enough"}), 80, 95, set()),
]


@pytest.mark.parametrize(("name", "the_spec", "low", "high", "missing"), TABLE, ids=[row[0] for row in TABLE])
def test_grade_table(name, the_spec, low, high, missing) -> None:
    result = grade(the_spec)
    assert low <= result.score <= high, f"{name}: {result.score}%"
    assert missing <= set(result.missing_fields), result.missing_fields


def test_slogan_is_called_vague_with_the_reason() -> None:
    finding = next(
        f for f in grade(spec(statement="Use AI to reduce churn")).findings if f.field == "statement"
    )
    assert finding.status == "vague" and "'AI'" in finding.why


def test_vague_fields_say_what_to_add() -> None:
    findings = {
        f.field: f
        for f in grade(
            spec(**{**CHURN, "usage": "online", "time_window": "soon-ish enough", "cost_ratio": None})
        ).findings
    }
    assert findings["usage"].status == "vague" and "latency" in findings["usage"].why
    assert findings["time_window"].status == "vague"
    assert findings["costlier_mistake"].status == "vague" and "cost_ratio" in findings["costlier_mistake"].why
