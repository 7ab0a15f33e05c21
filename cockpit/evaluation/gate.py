"""The evaluation gate: pass or fail, built from the problem spec, with each rule's numbers.

Rules: the spec's target is met on the test split; the model beats the dummy
baseline; it is not worse than the reference (another run, or production once
the registry has one) by more than a tolerance; no segment is flagged below its
floor; the metric is stable across seeds; p95 latency is within the budget. A rule that cannot be
checked on a model (stability, for a model trained elsewhere that cannot be refitted) is
listed as not applicable, with the reason: it fails nothing and is never left out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from cockpit.audit import current_user
from cockpit.evaluation import metrics
from cockpit.evaluation.references import overlap_warning
from cockpit.evaluation.report import Evaluation, evaluate, get_evaluation, latest_evaluation
from cockpit.problem import current_spec
from cockpit.projects import Project
from cockpit.training.runs import Run
from cockpit.workspace import Workspace
from storage import clock

DEFAULT_TOLERANCE = 0.01  # absolute, for metrics between 0 and 1
RELATIVE_TOLERANCE = 0.02  # relative, for error metrics (mae, rmse ...)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    passed: bool
    detail: str
    value: float | None = None
    limit: float | None = None
    applicable: bool = True  # False: the rule cannot be checked on this model (detail says why)

    @property
    def verdict(self) -> str:
        """pass, FAIL, or n/a: a rule that cannot be checked is listed, and fails nothing."""
        return "n/a" if not self.applicable else "pass" if self.passed else "FAIL"


@dataclass(frozen=True, slots=True)
class GateResult:
    id: int
    run_id: int
    passed: bool
    rules: list[Rule]
    evaluation_id: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "passed": self.passed,
            "evaluation_id": self.evaluation_id,
            "rules": [asdict(r) for r in self.rules],
        }


def rules_for(evaluation: Evaluation, spec, task: str, tolerance: float | None = None) -> list[Rule]:
    metric = evaluation.metric
    value = evaluation.metrics.get(metric)
    rules = [_target_rule(metric, value, spec, task), _baseline_rule(metric, evaluation, task)]
    rules.append(_reference_rule(metric, value, evaluation, tolerance))
    details = evaluation.details
    if "segments" in details:
        rules.append(_segments_rule(details))
    if "stability" in details:
        rules.append(_stability_rule(details["stability"]))
    if "latency" in details:
        rules.append(_latency_rule(details["latency"]))
    return rules


def _segments_rule(details: dict) -> Rule:
    weak = [s for s in details["segments"] if s["flagged"]]
    metric = details.get("segment_metric", "")
    if not details.get("segment_columns"):
        return Rule("segments", True, "no segment columns named in the problem spec")
    if not weak:
        return Rule(
            "segments",
            True,
            f"no segment more than the margin below overall {metric} "
            f"({', '.join(details['segment_columns'])})",
        )
    shown = "; ".join(f"{s['column']}={s['group']} {metric} {s['value']:.3f}" for s in weak[:3])
    return Rule("segments", False, f"{len(weak)} weak segment(s): {shown}", weak[0]["value"])


def _stability_rule(stability: dict) -> Rule:
    if stability.get("not_applicable"):
        return Rule("stability", True, f"not applicable: {stability['not_applicable']}", applicable=False)
    spread = stability.get("spread")
    if spread is None:
        return Rule("stability", False, "the refits gave no metric")
    return Rule(
        "stability",
        stability["stable"],
        f"{stability['metric']} spread {spread:.4f} over {stability['seeds']} seeds "
        f"(tolerance {stability['tolerance']:.4f})",
        spread,
        stability["tolerance"],
    )


def _latency_rule(latency: dict) -> Rule:
    budget = latency.get("budget_ms")
    # How the rows were timed, so a pass on a loaded machine can be checked: each first
    # call's p95 is what one call per row would have given (older reports have neither).
    how = ""
    if "first_call_p95_ms" in latency:
        how = f" (a row's least of up to 5 calls; first calls' p95 {latency['first_call_p95_ms']:.1f} ms)"
    if budget is None:
        return Rule(
            "latency", True, f"p95 {latency['p95_ms']:.1f} ms per row{how}; the spec sets no latency budget"
        )
    return Rule(
        "latency",
        latency["within_budget"],
        f"p95 {latency['p95_ms']:.1f} ms per row vs budget {budget:g} ms{how}",
        latency["p95_ms"],
        budget,
    )


def _target_rule(metric: str, value: float | None, spec, task: str) -> Rule:
    if spec.metric_target is None or metrics.metric_column(spec.metric) != metric:
        named = metrics.spec_name(task, metric)  # multiclass f1 is f1_macro in a spec
        return Rule(
            "target",
            False,
            f"the problem spec sets no target for {metric}: "
            f"cockpit problem set --set metric={named} --set metric_target=VALUE",
        )
    if value is None:
        return Rule("target", False, f"{metric} could not be computed on the test split")
    met = not metrics.better(metric, spec.metric_target, value)
    return Rule(
        "target",
        met,
        f"test {metric} {value:.4f} {'meets' if met else 'misses'} the target {spec.metric_goal()}",
        value,
        spec.metric_target,
    )


SKILL_METRIC = {"binary": "roc_auc", "multiclass": "balanced_accuracy"}
SKILL_MARGIN = 0.01


def _baseline_rule(metric: str, evaluation: Evaluation, task: str) -> Rule:
    """Skill beyond guessing, on a metric no threshold can game: predicting every row
    positive meets any recall target, but its ROC AUC stays that of a coin."""
    skill = SKILL_METRIC.get(task, metric)
    value = evaluation.metrics.get(skill)
    base = evaluation.baseline.get("metrics", {}).get(skill)
    if value is None or base is None:
        return Rule("baseline", False, f"no {skill} for the model or the baseline")
    if skill in metrics.LOWER_IS_BETTER:
        beats = value < base * (1 - SKILL_MARGIN)
    else:
        beats = value > base + SKILL_MARGIN
    return Rule(
        "baseline",
        beats,
        f"{skill} {value:.4f} vs {evaluation.baseline['source']} "
        f"{base:.4f}" + ("" if beats else ": no better than guessing"),
        value,
        base,
    )


def _reference_rule(
    metric: str, value: float | None, evaluation: Evaluation, tolerance: float | None
) -> Rule:
    reference = evaluation.reference
    if reference is None:
        return Rule("reference", True, "no reference model to compare with (pass --against RUN)")
    ref_value = reference["metrics"].get(metric)
    if value is None or ref_value is None:
        return Rule("reference", False, f"no {metric} for the model or the reference")
    if metric in metrics.LOWER_IS_BETTER:
        allowed = ref_value * (1 + (tolerance if tolerance is not None else RELATIVE_TOLERANCE))
        ok = value <= allowed
    else:
        allowed = ref_value - (tolerance if tolerance is not None else DEFAULT_TOLERANCE)
        ok = value >= allowed
    detail = (
        f"{metric} {value:.4f} vs run {reference['run_id']} {ref_value:.4f} on the same rows, "
        f"{evaluation.rows_label} (worst allowed {allowed:.4f})"
    )
    flattered = overlap_warning(reference, evaluation.part)
    if flattered:
        detail += f"; warning: {flattered}"
    return Rule("reference", ok, detail, value, allowed)


def gate(
    ws: Workspace,
    project: Project,
    run: Run,
    against: Run | None = None,
    tolerance: float | None = None,
    extra_rules: list[Rule] | None = None,
    segments: list[str] | None = None,
    bootstrap: int | None = None,
) -> GateResult:
    """Judge a run on its test split (reusing its last test evaluation when it has one
    against the same reference, so the gate is not an extra look). `bootstrap`: the segment
    intervals from that many resamples (an evaluation with other intervals is not reused)."""
    evaluation = latest_evaluation(ws, project, run.id, "test")
    wanted = against.id if against else None
    same_segments = evaluation is not None and set(segments or []) <= set(
        evaluation.details.get("segment_columns", [])
    )
    if (
        evaluation is None
        or (evaluation.reference or {}).get("run_id") != wanted
        or not same_segments
        or "segments" not in evaluation.details
        or (bootstrap is not None and evaluation.segment_bootstrap != bootstrap)
    ):
        evaluation = evaluate(ws, project, run, "test", against, segments, bootstrap=bootstrap)
    rules = rules_for(evaluation, current_spec(ws, project), project.task, tolerance)
    rules += extra_rules or []
    passed = all(rule.passed for rule in rules)
    with ws.store.transaction():
        gate_id = ws.store.insert(
            "gates",
            {
                "project_id": project.id,
                "run_id": run.id,
                "evaluation_id": evaluation.id,
                "passed": int(passed),
                "rules": [asdict(r) for r in rules],
                "reference_run_id": wanted,
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        failed = [r.name for r in rules if not r.passed]
        ws.record(
            "evaluation", "gate", project.id, {"run": run.id, "passed": passed, "failed": ", ".join(failed)}
        )
    return GateResult(gate_id, run.id, passed, rules, evaluation.id)


def latest_gate(ws: Workspace, run_id: int) -> GateResult | None:
    row = ws.store.one("SELECT * FROM gates WHERE run_id = ? ORDER BY id DESC LIMIT 1", [run_id])
    if row is None:
        return None
    rules = [Rule(**r) for r in json.loads(row["rules"])]
    return GateResult(row["id"], run_id, bool(row["passed"]), rules, row["evaluation_id"])


def judged(ws: Workspace, project: Project, run_id: int) -> tuple[GateResult | None, Evaluation | None]:
    """The gate that applies to a run (its newest) and the test evaluation it judged; with no
    gate, the run's newest test evaluation. Test evaluations made after the gate (another
    look, other segments) neither unmake the gate nor stand in for the evaluation it judged."""
    gate = latest_gate(ws, run_id)
    if gate is not None:
        return gate, get_evaluation(ws, project, gate.evaluation_id)
    return None, latest_evaluation(ws, project, run_id, "test")
