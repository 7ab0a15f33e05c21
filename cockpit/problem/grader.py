"""Grades a problem spec: each missing or vague field, why it matters, and a score.

A vague "use AI to reduce churn" scores near zero and names what is missing; a
spec that says what is predicted, for whom, over which window, judged by which
metric against which target, scores high.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.problem.spec import METRICS, ProblemSpec

BUZZWORDS = re.compile(
    r"\b(ai|a\.i\.|ml|machine learning|deep learning|data[- ]driven|leverage|"
    r"optimi[sz]e|synerg\w*|smart)\b",
    re.IGNORECASE,
)
PREDICTION_WORDS = re.compile(
    r"\b(predict\w*|estimat\w*|forecast\w*|classif\w*|flag\w*|scor\w*|"
    r"whether|which|how many|how much|likel\w*|probabilit\w*|detect\w*|"
    r"identif\w*)\b",
    re.IGNORECASE,
)
TIME_WORDS = re.compile(
    r"\d|\b(day|week|month|quarter|year|hour|minute|next|before|within|"
    r"until|by)\w*\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    field: str
    label: str
    status: str  # ok / missing / vague / n/a
    why: str
    weight: int

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "n/a")


@dataclass(frozen=True)
class Grade:
    score: int  # 0-100
    findings: list[Finding]

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def missing_fields(self) -> list[str]:
        return [f.field for f in self.findings if f.status == "missing"]

    def as_dict(self) -> dict:
        return {"score": self.score, "findings": [f.__dict__ for f in self.findings]}


Check = Callable[[ProblemSpec], tuple[str, str]]  # -> (status, note)


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9']+", text))


def _text(min_words: int) -> Callable[[str], tuple[str, str]]:
    def check(value: str) -> tuple[str, str]:
        if not value.strip():
            return "missing", ""
        if _words(value) < min_words:
            return "vague", f"only {_words(value)} word(s); say more"
        return "ok", ""

    return check


def _statement(spec: ProblemSpec) -> tuple[str, str]:
    text = spec.statement
    if not text.strip():
        return "missing", ""
    if not PREDICTION_WORDS.search(text):
        buzz = BUZZWORDS.search(text)
        said = f"says '{buzz.group(0)}' but " if buzz else ""
        return "vague", f"{said}does not say what is predicted (predict whether / how many ...)"
    if _words(text) < 8:
        return "vague", "too short to say what, for whom and when"
    return "ok", ""


def _time_window(spec: ProblemSpec) -> tuple[str, str]:
    status, note = _text(2)(spec.time_window)
    if status == "ok" and not TIME_WORDS.search(spec.time_window):
        return "vague", "name a horizon, e.g. 'within 30 days'"
    return status, note


def _usage(spec: ProblemSpec) -> tuple[str, str]:
    if not spec.usage:
        return "missing", ""
    if spec.usage == "online" and spec.latency_budget_ms is None:
        return "vague", "online use needs a latency budget (latency_budget_ms)"
    return "ok", ""


def _metric(spec: ProblemSpec) -> tuple[str, str]:
    if not spec.metric:
        return "missing", ""
    if spec.task and spec.metric not in METRICS.get(spec.task, ()):
        return "vague", f"{spec.metric} does not fit a {spec.task} problem"
    return "ok", ""


def _metric_target(spec: ProblemSpec) -> tuple[str, str]:
    return ("missing", "") if spec.metric_target is None else ("ok", "")


def _mistakes(spec: ProblemSpec) -> tuple[str, str]:
    if spec.task == "regression":
        return "n/a", "regression: errors are weighed by the metric"
    if not spec.costlier_mistake:
        return "missing", ""
    if spec.costlier_mistake != "equal" and spec.cost_ratio is None:
        return "vague", "say roughly how many times costlier (cost_ratio)"
    return "ok", ""


def _non_empty(name: str) -> Check:
    def check(spec: ProblemSpec) -> tuple[str, str]:
        value = getattr(spec, name)
        return ("ok", "") if value else ("missing", "")

    return check


def _field_text(name: str, min_words: int) -> Check:
    return lambda spec: _text(min_words)(getattr(spec, name))


# field, label, weight, why it matters, check
CHECKS: list[tuple[str, str, int, str, Check]] = [
    (
        "statement",
        "What is predicted",
        12,
        "A model needs one sentence naming what it predicts, for whom and when.",
        _statement,
    ),
    (
        "target",
        "Target column",
        10,
        "Without a target column there is nothing to learn or to evaluate.",
        _non_empty("target"),
    ),
    (
        "labels",
        "Labels",
        6,
        "Who labels the data and how decides what the model can learn.",
        _field_text("labels", 3),
    ),
    (
        "audience",
        "Who it serves",
        5,
        "The people who act on a prediction shape what it must say.",
        _field_text("audience", 2),
    ),
    (
        "decision",
        "Decision it drives",
        8,
        "A prediction that drives no decision has no value and no way to be judged.",
        _field_text("decision", 4),
    ),
    (
        "usage",
        "Batch or online",
        8,
        "Batch or online decides the serving path, the latency budget and the monitoring.",
        _usage,
    ),
    (
        "time_window",
        "Time window",
        8,
        "A label without a horizon ('churn' when?) cannot be measured or monitored.",
        _time_window,
    ),
    ("metric", "Success metric", 10, "The metric is what experiments optimise and the gate checks.", _metric),
    (
        "metric_target",
        "Metric target",
        8,
        "Without a target value nobody can say when the model is good enough to ship.",
        _metric_target,
    ),
    (
        "costlier_mistake",
        "Costlier mistake",
        6,
        "False positives and false negatives rarely cost the same; the threshold follows from it.",
        _mistakes,
    ),
    (
        "baseline",
        "Baseline to beat",
        6,
        "A model must beat what is done today, or a simple rule, to be worth running.",
        _field_text("baseline", 2),
    ),
    (
        "constraints",
        "Constraints",
        2,
        "Latency, cost, privacy or regulatory limits bound the design.",
        _field_text("constraints", 2),
    ),
    (
        "segments",
        "Groups to check",
        4,
        "Unequal performance across groups is invisible unless the groups are named.",
        _non_empty("segments"),
    ),
    (
        "risks",
        "Risks and ethics",
        4,
        "Who could be harmed by a wrong prediction, and how.",
        _field_text("risks", 3),
    ),
    (
        "human_path",
        "Human path",
        6,
        "Someone must be able to review, override or appeal what the model decides.",
        _field_text("human_path", 3),
    ),
]


def grade(spec: ProblemSpec) -> Grade:
    findings, earned, possible = [], 0, 0
    for name, label, weight, why, check in CHECKS:
        status, note = check(spec)
        findings.append(Finding(name, label, status, note or why, weight))
        if status == "n/a":
            continue
        possible += weight
        earned += weight if status == "ok" else 0
    score = round(100 * earned / possible) if possible else 0
    return Grade(score, findings)
