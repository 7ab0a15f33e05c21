"""Evaluate a run on its held-out split: metrics, curves, comparisons, stored.

The test split is meant to be used once: every evaluation on it is recorded,
and a repeated look shows as a warning.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar

from cockpit.audit import current_user
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.evaluation.notes import Notes, caught, class_notes, interval_note, segment_notes
from cockpit.evaluation.predictions import Predictions, run_predictions
from cockpit.evaluation.robustness import EdgeCase, Importance, Latency, Stability
from cockpit.evaluation.segments import FairnessGap, Segment
from cockpit.problem import current_spec
from cockpit.projects import Project
from cockpit.training.runs import Run, check_has_model, get_run, load_pipeline
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    import numpy as np
    from _typeshed import DataclassInstance

PARTS = ("test", "validation")
CURVE_POINTS = 100

Record = TypeVar("Record", bound="DataclassInstance")


def _stored(kind: type[Record], entry: dict[str, Any]) -> Record:
    """A frozen record read back from a stored report's JSON, field by field: a field with
    a default may be missing from older reports, any other must be there."""
    values = {}
    for spec in fields(kind):
        if spec.name in entry:
            values[spec.name] = entry[spec.name]
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise KeyError(spec.name)
    return kind(**values)


@dataclass(frozen=True, slots=True)
class Confusion:
    """Rows by actual class (one row each) and predicted class (one count each)."""

    labels: list[str]
    counts: list[list[int]]


@dataclass(frozen=True, slots=True)
class ErrorBand:
    """A regression's mean absolute error over one fifth of the target's range."""

    low: float
    high: float
    mae: float
    rows: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    id: int
    run_id: int
    part: str
    metric: str
    threshold: float | None
    threshold_reason: str | None
    metrics: dict[str, float]
    details: dict[str, Any]
    baseline: dict[str, Any]
    reference: dict[str, Any] | None
    looks_before: int
    created_at: str
    warnings: list[str] = field(default_factory=list)
    split_id: int | None = None  # the split whose `part` was scored
    version_id: int | None = None  # the data version that split cuts

    @property
    def rows_label(self) -> str:
        """ "test split 4 (data v5)": the rows every number of this evaluation is on."""
        from cockpit.evaluation.references import where

        return where(self.part, self.split_id, self.version_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def notes(self) -> list[str]:
        """What the evaluation learned on the way (undefined per-class metrics, refits that
        did not converge, one-class segments), each said once."""
        return list(self.details.get("notes", []))

    @property
    def segments(self) -> list[Segment]:
        """The metric per group of each segment column, weak first."""
        return [_stored(Segment, entry) for entry in self.details.get("segments", [])]

    @property
    def fairness(self) -> list[FairnessGap]:
        return [_stored(FairnessGap, entry) for entry in self.details.get("fairness", [])]

    @property
    def stability(self) -> Stability | None:
        found = self.details.get("stability")
        return _stored(Stability, found) if found else None

    @property
    def edge_cases(self) -> list[EdgeCase]:
        return [_stored(EdgeCase, entry) for entry in self.details.get("edge_cases", [])]

    @property
    def latency(self) -> Latency | None:
        found = self.details.get("latency")
        return _stored(Latency, found) if found else None

    @property
    def importance(self) -> list[Importance]:
        """Permutation importance, largest first."""
        return [_stored(Importance, entry) for entry in self.details.get("importance", [])]

    @property
    def confusion(self) -> Confusion | None:
        """A classifier's confusion matrix; None for regression."""
        if "confusion" not in self.details:
            return None
        return Confusion(self.details["labels"], self.details["confusion"])

    @property
    def error_by_range(self) -> list[ErrorBand] | None:
        """A regression's error per fifth of the target range; None for classifiers."""
        if "error_by_range" not in self.details:
            return None
        return [ErrorBand(b["low"], b["high"], b["mae"], b["rows"]) for b in self.details["error_by_range"]]

    @property
    def baseline_metrics(self) -> dict[str, float]:
        """The dummy baseline's scores on the same rows."""
        return dict(self.baseline.get("metrics", {}))

    @property
    def reference_metrics(self) -> dict[str, float]:
        """The reference run's scores on the same rows; empty without a reference."""
        return dict((self.reference or {}).get("metrics", {}))

    @property
    def reference_run(self) -> int | None:
        return self.reference["run_id"] if self.reference else None

    @property
    def segment_metric(self) -> str | None:
        return self.details.get("segment_metric")

    @property
    def segment_columns(self) -> list[str]:
        return list(self.details.get("segment_columns", []))

    @property
    def segment_bootstrap(self) -> int | None:
        """The resamples asked for the segment intervals (None: analytic where standard)."""
        return self.details.get("segment_bootstrap")


def ensure_threshold(ws: Workspace, project: Project, run: Run) -> tuple[float | None, str | None]:
    """A binary run's decision threshold, chosen once on validation and stored with the run."""
    from cockpit.evaluation.thresholds import choose_threshold

    if project.task != "binary":
        return None, None
    row = ws.store.one("SELECT threshold, threshold_reason FROM runs WHERE id = ?", [run.id])
    assert row is not None  # `run` was read from the store
    if row["threshold"] is not None:
        return row["threshold"], row["threshold_reason"]
    validation = run_predictions(ws, project, run, "validation")
    if validation.positive_scores is None:
        return None, None
    threshold, reason = choose_threshold(
        validation.truth, validation.positive_scores, validation.positive, current_spec(ws, project)
    )
    with ws.store.transaction():
        ws.store.update("runs", {"id": run.id}, {"threshold": threshold, "threshold_reason": reason})
        ws.record(
            "evaluation",
            "threshold",
            project.id,
            {"run": run.id, "threshold": round(threshold, 4), "why": reason},
        )
    return threshold, reason


def score_predictions(task: str, predictions: Predictions) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss

    scored = metrics.score(
        task, predictions.y_true, predictions.y_pred, predictions.proba, predictions.classes
    )
    if predictions.positive_scores is not None:
        is_positive = predictions.y_true == predictions.positive
        scored["brier"] = float(brier_score_loss(is_positive, predictions.positive_scores))
    return scored


def details_of(task: str, predictions: Predictions) -> dict[str, Any]:
    if task == "regression":
        return _regression_details(predictions)
    return _classification_details(predictions)


def _classification_details(p: Predictions) -> dict[str, Any]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import (
        classification_report,
        confusion_matrix,
        precision_recall_curve,
        roc_curve,
    )

    from cockpit.evaluation.thresholds import threshold_curve

    labels = p.classes if p.classes is not None else sorted(set(p.truth))
    report = classification_report(p.y_true, p.y_pred, labels=labels, output_dict=True, zero_division=0)
    details: dict[str, Any] = {
        "labels": [str(c) for c in labels],
        "confusion": confusion_matrix(p.y_true, p.y_pred, labels=labels).tolist(),
        "per_class": {
            str(c): {k: float(v) for k, v in report[str(c)].items()} for c in labels if str(c) in report
        },
    }
    scores = p.positive_scores
    if scores is not None:
        is_positive = p.y_true == p.positive
        fpr, tpr, _ = roc_curve(is_positive, scores)
        precision, recall, _ = precision_recall_curve(is_positive, scores)
        prob_true, prob_pred = calibration_curve(is_positive, scores, n_bins=10, strategy="quantile")
        details["roc"] = {"fpr": _thin(fpr), "tpr": _thin(tpr)}
        details["pr"] = {"recall": _thin(recall), "precision": _thin(precision)}
        details["calibration"] = {"predicted": prob_pred.tolist(), "observed": prob_true.tolist()}
        details["threshold_curve"] = threshold_curve(p.y_true, scores, p.positive)
    return details


def _regression_details(p: Predictions) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    y_true, y_pred = np.asarray(p.y_true, float), np.asarray(p.y_pred, float)
    residuals = y_pred - y_true
    counts, edges = np.histogram(residuals, bins=20)
    bins = pd.qcut(pd.Series(y_true).rank(method="first"), q=5, labels=False)
    by_range = []
    for b in range(5):
        mask = (bins == b).to_numpy()
        if mask.any():
            by_range.append(
                {
                    "low": float(y_true[mask].min()),
                    "high": float(y_true[mask].max()),
                    "mae": float(np.abs(residuals[mask]).mean()),
                    "rows": int(mask.sum()),
                }
            )
    sample = np.linspace(0, len(y_true) - 1, min(len(y_true), 200)).astype(int)
    return {
        "residuals": {"counts": counts.tolist(), "edges": edges.tolist()},
        "error_by_range": by_range,
        "actual_vs_predicted": {"actual": y_true[sample].tolist(), "predicted": y_pred[sample].tolist()},
    }


def _thin(values: np.ndarray) -> list[float]:
    import numpy as np

    if len(values) <= CURVE_POINTS:
        return values.tolist()
    return values[np.linspace(0, len(values) - 1, CURVE_POINTS).astype(int)].tolist()


def baseline_scores(ws: Workspace, project: Project, run: Run, part: str) -> dict[str, Any]:
    """A dummy model (class prior / mean) fitted on the same training rows, scored on `part`."""
    import numpy as np
    from sklearn.dummy import DummyClassifier, DummyRegressor

    from cockpit.data.splits import get_split, split_frames
    from cockpit.evaluation.metrics import positive_label
    from cockpit.evaluation.predictions import Predictions

    parts = split_frames(ws, project, get_split(ws, project, run.split_id))
    y_train = parts["train"][project.target].to_numpy()
    frame = parts[part]
    zeros = np.zeros((len(frame), 1))
    if project.task == "regression":
        model = DummyRegressor(strategy="mean").fit(np.zeros((len(y_train), 1)), y_train)
        predictions = Predictions(frame, frame[project.target].to_numpy(), model.predict(zeros), None, None)
    else:
        model = DummyClassifier(strategy="prior").fit(np.zeros((len(y_train), 1)), y_train)
        classes = list(model.classes_)
        predictions = Predictions(
            frame,
            frame[project.target].to_numpy(),
            model.predict(zeros),
            model.predict_proba(zeros),
            classes,
            positive_label(classes) if project.task == "binary" else None,
        )
    return {
        "source": "dummy (class prior)" if project.task != "regression" else "dummy (mean)",
        "metrics": score_predictions(project.task, predictions),
    }


def reference_scores(
    ws: Workspace, project: Project, candidate: Run, reference: Run, frame
) -> dict[str, Any]:
    """Another run's own pipeline (its sha256-checked artifact) on the candidate's evaluation
    rows, with its own threshold; with where it was trained and how many of these rows it
    was trained on."""
    from cockpit.evaluation import references
    from cockpit.evaluation.predictions import predict_frame

    references.check_scorable(ws, project, reference, candidate, frame)
    threshold, _ = ensure_threshold(ws, project, reference)
    pipeline = load_pipeline(ws, reference)
    try:
        predictions = predict_frame(pipeline, frame, project, threshold)
    except (KeyError, ValueError, TypeError) as exc:
        raise CockpitError(
            f"reference {reference.label} could not score {candidate.label}'s evaluation rows "
            f"({exc}): compare with a run trained on the same columns, or evaluate without --against"
        ) from None
    return {
        "run_id": reference.id,
        "family": reference.family,
        "threshold": threshold,
        "metrics": score_predictions(project.task, predictions),
        "split_id": reference.split_id,
        "version_id": reference.version_id,
        "rows": len(frame),
        **references.trained_on(ws, project, reference, candidate, frame),
    }


def evaluate(
    ws: Workspace,
    project: Project,
    run: Run,
    part: str = "test",
    against: Run | None = None,
    segments: list[str] | None = None,
    seeds: int = 3,
    bootstrap: int | None = None,
) -> Evaluation:
    """Evaluate and store; every look at the test split is counted.

    Beyond the metrics: segment breakdowns (the spec's segment columns plus
    `segments`; intervals analytic where standard, or the bootstrap of `bootstrap`
    resamples), fairness gaps, stability across `seeds` refits (0 skips it),
    edge cases, latency and permutation importance.
    """
    if part not in PARTS:
        raise CockpitError(f"--split {part!r}: evaluate on test or validation")
    check_has_model(run, "evaluated")
    if run.split_id is None:  # logged on rows cockpit did not hold
        raise CockpitError(
            f"{run.label} has no data in cockpit yet: name the data version to score it on "
            f"(cockpit evaluate {run.id} --data VERSION)"
        )
    spec = current_spec(ws, project)
    wanted = list(dict.fromkeys([*spec.segments, *(segments or [])]))
    _check_segment_columns(ws, project, run, wanted)  # before anything is written
    notes = Notes()
    with caught(notes, "threshold on validation"):
        threshold, reason = ensure_threshold(ws, project, run)
    with caught(notes, f"{part} metrics"):
        predictions = run_predictions(ws, project, run, part, threshold)
        scored = score_predictions(project.task, predictions)
        details = details_of(project.task, predictions)
    with caught(notes, "reference"):  # first: a reference that cannot be compared is refused early
        reference = reference_scores(ws, project, run, against, predictions.frame) if against else None
    for text in class_notes(predictions, part):
        notes.add(text)
    metric = metrics.primary_metric(project.task, spec.metric)
    details.update(
        _beyond_the_metric(
            ws, project, run, predictions, scored.get(metric), metric, wanted, seeds, notes, bootstrap
        )
    )
    with caught(notes, "baseline"):
        baseline = baseline_scores(ws, project, run, part)
    details["notes"] = notes.as_list()
    looks = (
        ws.store.rows(
            "SELECT DISTINCT run_id FROM evaluations WHERE split_id = ? AND part = 'test'", [run.split_id]
        )
        if part == "test"
        else []
    )
    with ws.store.transaction():
        evaluation_id = ws.store.insert(
            "evaluations",
            {
                "project_id": project.id,
                "run_id": run.id,
                "split_id": run.split_id,
                "part": part,
                "threshold": threshold,
                "metrics": scored,
                "details": details,
                "baseline": baseline,
                "reference": reference,
                "looks_before": len(looks),
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        ws.record(
            "evaluation",
            "evaluate",
            project.id,
            {
                "run": run.id,
                "split": part,
                metric: round(scored.get(metric, float("nan")), 4),
                "looks_before": len(looks),
            },
        )
    return get_evaluation(ws, project, evaluation_id)


def _beyond_the_metric(
    ws: Workspace,
    project: Project,
    run: Run,
    predictions: Predictions,
    overall: float | None,
    metric: str,
    columns: list[str],
    seeds: int,
    notes: Notes,
    bootstrap: int | None = None,
) -> dict[str, Any]:
    from cockpit.evaluation import robustness, segments
    from cockpit.evaluation.inputs import model_specs
    from cockpit.features import spec_at

    wanted = list(dict.fromkeys(columns))
    with caught(notes, "segments"):
        found = segments.breakdown(predictions, wanted, project.task, metric, overall, bootstrap)
        fairness = segments.fairness_gaps(found, predictions)
    for text in segment_notes(found, predictions):
        notes.add(text)
    no_analytic = interval_note(project.task, metric)
    if found and not bootstrap and no_analytic:
        notes.add(no_analytic)
    pipeline = load_pipeline(ws, run)
    assert run.feature_spec_version is not None  # a finished run pinned its feature spec
    specs = model_specs(spec_at(ws, project, run.feature_spec_version), run)
    features = [s.column for s in specs]
    out: dict[str, Any] = {
        "segment_metric": metric,
        "segment_columns": wanted,
        "segment_bootstrap": bootstrap,
        "segments": found,
        "fairness": fairness,
    }
    with caught(notes, "edge cases"):
        out["edge_cases"] = robustness.edge_cases(pipeline, predictions.frame, project, specs)
    with caught(notes, "latency"):
        out["latency"] = robustness.latency(
            pipeline, predictions.frame, project, current_spec(ws, project).latency_budget_ms
        )
    with caught(notes, "permutation importance"):
        out["importance"] = robustness.importance(pipeline, predictions.frame, project, metric, features)
    if seeds:
        with caught(notes, "stability refits"):
            out["stability"] = _stability(ws, project, run, pipeline, metric, seeds)
        if out["stability"].get("not_applicable"):
            notes.add(f"stability: not applicable: {out['stability']['not_applicable']}")
    return out


def _stability(
    ws: Workspace, project: Project, run: Run, pipeline, metric: str, seeds: int
) -> dict[str, Any]:
    """Refits with other seeds: a catalogue recipe is fitted again by name; a model trained
    elsewhere is refitted as a clone of the one saved."""
    from cockpit.evaluation import robustness

    if not run.external:
        from cockpit.training.child import load_inputs

        return robustness.stability(load_inputs(ws, project, run), metric, seeds)
    from cockpit.data.splits import get_split, split_frames

    parts = split_frames(ws, project, get_split(ws, project, run.split_id))
    return robustness.clone_stability(
        pipeline, parts["train"], parts["validation"], project.task, project.target, metric, run.seed, seeds
    )


def _check_segment_columns(ws: Workspace, project: Project, run: Run, wanted: list[str]) -> None:
    from cockpit.data.datasets import get_version

    columns = list(get_version(ws, project, run.version_id).schema)
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise CockpitError(
            f"segment column(s) {', '.join(missing)} are not in the data; "
            f"columns: {', '.join(map(str, columns[:15]))}"
        )
    if run.feature_spec_version is None:
        return
    from cockpit.features import spec_at

    # one group per row: thousands of one-row segments, none with an interval
    specs = {s.column: s for s in spec_at(ws, project, run.feature_spec_version)}
    for column in wanted:
        spec = specs.get(column)
        kind = (
            "the entity id"
            if spec and spec.role == "id"
            else "free text"
            if spec and spec.kind == "text"
            else None
        )
        if kind:
            raise CockpitError(
                f"segment column {column!r} is {kind} (a group per row): "
                "segment by a categorical column, or a numeric one (binned into quartiles)"
            )


def get_evaluation(ws: Workspace, project: Project, evaluation_id: int) -> Evaluation:
    row = ws.store.one(
        "SELECT * FROM evaluations WHERE id = ? AND project_id = ?", [evaluation_id, project.id]
    )
    if row is None:
        raise CockpitError(f"no evaluation {evaluation_id}")
    run = get_run(ws, project, row["run_id"])
    previous = ws.store.rows(
        "SELECT DISTINCT run_id FROM evaluations WHERE split_id = ? AND part = 'test' AND id < ?",
        [row["split_id"], row["id"]],
    )
    from cockpit.evaluation.references import overlap_warning, split_version

    warnings = []
    reference = json.loads(row["reference"]) if row["reference"] else None
    if row["part"] == "test" and previous:
        runs_seen = ", ".join(str(r["run_id"]) for r in previous[:6])
        warnings.append(
            f"the test split has been looked at before (runs {runs_seen}): choosing "
            "among models by their test score makes it optimistic"
        )
    flattered = overlap_warning(reference, row["part"]) if reference else None
    if flattered:
        warnings.append(flattered)
    return Evaluation(
        id=row["id"],
        run_id=row["run_id"],
        part=row["part"],
        metric=metrics.primary_metric(project.task, current_spec(ws, project).metric),
        threshold=row["threshold"],
        threshold_reason=run.threshold_reason,
        metrics=json.loads(row["metrics"]),
        details=json.loads(row["details"] or "{}"),
        baseline=json.loads(row["baseline"] or "{}"),
        reference=reference,
        looks_before=len(previous),
        created_at=row["created_at"],
        warnings=warnings,
        split_id=row["split_id"],
        version_id=split_version(ws, row["split_id"]),
    )


def latest_evaluation(
    ws: Workspace, project: Project, run_id: int, part: str | None = "test"
) -> Evaluation | None:
    """The run's newest evaluation on `part`; on any part when part is None."""
    sql = "SELECT id FROM evaluations WHERE run_id = ?" + (" AND part = ?" if part else "")
    row = ws.store.one(sql + " ORDER BY id DESC LIMIT 1", [run_id, *([part] if part else [])])
    return get_evaluation(ws, project, row["id"]) if row else None


def last_evaluated_run(ws: Workspace, project: Project) -> int | None:
    """The run the project's newest evaluation looked at, if any was made."""
    return ws.store.scalar(
        "SELECT run_id FROM evaluations WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project.id]
    )
