"""What the evaluation screen shows, read in one go: one run's newest evaluation and gate,
which threshold each number uses, and the runs it can pick from."""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.evaluation import gate as gating
from cockpit.evaluation import metrics
from cockpit.evaluation.report import Evaluation, latest_evaluation
from cockpit.problem import ProblemSpec, current_spec
from cockpit.projects import Project
from cockpit.training.query import (
    FIELDS,
    PREDICT_THRESHOLD,
    THRESHOLD_METRICS,
    threshold_label,
)
from cockpit.training.runs import Run, get_run
from cockpit.workspace import Workspace

# What a classifier's own predict() uses: the threshold behind the runs table's numbers.
DEFAULT_THRESHOLD = PREDICT_THRESHOLD
PICK_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RunEvaluation:
    """One run as the evaluation screen shows it: its newest evaluation (any split) and its
    newest gate, or None where it has none yet."""

    project: Project
    run: Run
    spec: ProblemSpec
    evaluation: Evaluation | None
    gate: gating.GateResult | None

    @property
    def metric(self) -> str:
        """The spec's metric, the one shown first."""
        return metrics.primary_metric(self.project.task, self.spec.metric)


def run_evaluation(ws: Workspace, project: Project, run_id: int) -> RunEvaluation:
    """Everything the screen shows of `run_id`; CockpitError when the project has no such run."""
    run = get_run(ws, project, run_id)
    return RunEvaluation(
        project,
        run,
        current_spec(ws, project),
        latest_evaluation(ws, project, run.id, part=None),
        gating.latest_gate(ws, run.id),
    )


def threshold_of(evaluation: Evaluation, task: str, metric: str) -> str:
    """The threshold `metric`'s number in `evaluation` was computed at, in a few characters:
    "0.465", "scores" for a threshold-free metric, "" when the task has no threshold."""
    if task != "binary":
        return ""
    if metric not in THRESHOLD_METRICS:
        return "scores"
    return f"{evaluation.threshold if evaluation.threshold is not None else DEFAULT_THRESHOLD:.3f}"


def threshold_note(evaluation: Evaluation, task: str, brief: bool = False) -> str:
    """Which rows and threshold the evaluation's numbers use and where the threshold came
    from, against the default 0.5 the runs table's validation numbers use, and why it was
    chosen (left out when `brief`: a narrow screen)."""
    part = evaluation.rows_label
    if task == "regression":
        return f"{part} · a regression: no threshold"
    if task == "multiclass":
        return f"{part} · the most likely class: no threshold; f1, precision, recall, ROC AUC: macro averages"
    if evaluation.threshold is None:
        return f"{part} · at the default threshold {DEFAULT_THRESHOLD:.3f} (no scores to tune one on)"
    if brief:
        return (
            f"{part} at threshold {evaluation.threshold:.3f}, tuned on validation (runs table: "
            f"{DEFAULT_THRESHOLD:.3f}; AUCs, log loss, Brier: scores)"
        )
    note = (
        f"{part} at threshold {evaluation.threshold:.3f}, tuned on validation (the runs "
        f"table uses {DEFAULT_THRESHOLD:.3f}; AUCs, log loss and Brier use the scores)"
    )
    if evaluation.threshold_reason:
        note += f": {evaluation.threshold_reason}"
    return note


@dataclass(frozen=True, slots=True)
class RunChoice:
    """One run the evaluation screen can show: what it is, its validation number from
    training (at the default threshold) and how far its evaluation has got."""

    run_id: int
    family: str
    metric: str  # "recall@.5": the metric and the threshold its value was computed at
    value: float | None
    status: str  # "gate pass", "gate FAIL", "test, no gate", "validation only", "not evaluated", "no model"
    split_id: int | None = None  # the split its validation number is on


def run_choices(ws: Workspace, project: Project, include: int | None = None) -> list[RunChoice]:
    """The project's finished runs, best validation `metric` first and those without it
    last (at most PICK_LIMIT, plus `include` when it is further down), each with its
    evaluation status."""
    metric = metrics.primary_metric(project.task, current_spec(ws, project).metric)
    column = FIELDS.get(metric, "score")
    direction = "ASC" if metric in metrics.LOWER_IS_BETTER else "DESC"
    select = f"SELECT id, family, status, split_id, {column} AS value FROM runs WHERE project_id = ? AND "
    # only runs with a model are offered: a finished run that saved none has nothing to evaluate
    modelled = select + "artifact_sha256 IS NOT NULL AND "
    # Two reads, each in its index's order: ORDER BY "column IS NULL" would sort every run.
    rows = ws.store.rows(
        modelled + f"status = 'finished' AND {column} IS NOT NULL ORDER BY {column} {direction}, id LIMIT ?",
        [project.id, PICK_LIMIT],
    )
    if len(rows) < PICK_LIMIT:
        rows += ws.store.rows(
            modelled + f"status = 'finished' AND {column} IS NULL ORDER BY id LIMIT ?",
            [project.id, PICK_LIMIT - len(rows)],
        )
    if include is not None and all(r["id"] != include for r in rows):
        rows += ws.store.rows(select + "id = ?", [project.id, include])
    statuses = _statuses(ws, [r["id"] for r in rows])
    label = threshold_label(project.task, metric, short=True)  # as the runs table's column
    return [
        RunChoice(r["id"], r["family"], label, r["value"], statuses.get(r["id"], r["status"]), r["split_id"])
        for r in rows
    ]


def _statuses(ws: Workspace, run_ids: list[int]) -> dict[int, str]:
    """How far each finished run's evaluation has got: its newest gate's verdict, else
    whether it was evaluated at all."""
    if not run_ids:
        return {}
    marks = ", ".join("?" * len(run_ids))
    found = {r: "not evaluated" for r in run_ids}
    for row in ws.store.rows(  # a run cockpit holds no model of (imported without one): nothing to evaluate
        f"SELECT id FROM runs WHERE id IN ({marks}) AND artifact_sha256 IS NULL", run_ids
    ):
        found[row["id"]] = "no model"
    for row in ws.store.rows(
        f"SELECT run_id, max(part = 'test') AS on_test FROM evaluations "
        f"WHERE run_id IN ({marks}) GROUP BY run_id",
        run_ids,
    ):
        found[row["run_id"]] = "test, no gate" if row["on_test"] else "validation only"
    for row in ws.store.rows(
        f"SELECT g.run_id, g.passed FROM gates g WHERE g.run_id IN ({marks}) AND g.id = "
        "(SELECT max(id) FROM gates WHERE run_id = g.run_id)",
        run_ids,
    ):
        found[row["run_id"]] = "gate pass" if row["passed"] else "gate FAIL"
    return found


def reference_note(evaluation: Evaluation, task: str) -> str:
    """Which run the reference numbers are of, where it was trained, and that they are on the
    evaluation's own rows ("" without a reference)."""
    from cockpit.evaluation.references import reference_where

    reference = evaluation.reference
    if not reference:
        return ""
    trained = reference_where(reference)
    note = f"reference run {reference['run_id']}" + (f" ({trained})" if trained else "")
    note += " scored on these same rows"
    own = reference.get("threshold")
    if task == "binary":
        note += f" at its own threshold {own:.3f}" if isinstance(own, float) else " at its own threshold"
    return note
