"""Fit one model and score it: the pure step shared by single runs, sweeps and reproduce.

It takes frames and a spec and returns the fitted Pipeline with its metrics; it
never touches the workspace, so it can run in a child process or a remote worker.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cockpit.evaluation import metrics
from cockpit.features import COMPILER_VERSION, ColumnSpec
from cockpit.training import catalog, models

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[float, str], None]
StopCheck = Callable[[int, float | None], bool]  # (staged step, validation score) -> stop here?
CURVE_STEPS = 10


@dataclass
class TrainInputs:
    task: str
    target: str
    family: str
    params: dict[str, Any]
    seed: int
    specs: list[ColumnSpec]
    train: pd.DataFrame
    validation: pd.DataFrame
    metric: str
    compiler: int = COMPILER_VERSION  # the feature compiler that builds the transformer


@dataclass
class TrainOutput:
    pipeline: Any
    train_metrics: dict[str, float]
    validation_metrics: dict[str, float]
    curve: dict[str, Any] | None
    duration_s: float


def predict(pipeline, frame: pd.DataFrame, task: str):
    """Predictions, class probabilities (or None) and the class order."""
    model, inputs = pipeline, frame
    if hasattr(pipeline, "steps") and len(pipeline.steps) > 1:
        # Transform once: predict and predict_proba would each run the features again.
        model, inputs = pipeline.steps[-1][1], pipeline[:-1].transform(frame)
    y_pred = model.predict(inputs)
    proba, classes = None, None
    if catalog.is_classifier(task):
        classes = list(pipeline.classes_)
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(inputs)
    return y_pred, proba, classes


def evaluate(pipeline, frame: pd.DataFrame, task: str, target: str) -> dict[str, float]:
    y_pred, proba, classes = predict(pipeline, frame, task)
    return metrics.score(task, frame[target].to_numpy(), y_pred, proba, classes)


def fit_and_score(
    inputs: TrainInputs,
    progress: Progress | None = None,
    learning_curve: bool = True,
    should_stop: StopCheck | None = None,
) -> TrainOutput:
    """Fit features + model on the training rows and score both splits; staged families
    also record a learning curve (skipped with `learning_curve=False`: one plain fit).
    `should_stop` (a sweep's pruner) may end a staged fit early: the curve then says
    `stopped_at`, and the model has only the steps grown so far.

    A user's whole Pipeline (`module:function`) takes the spec's feature columns as they are,
    with no feature transformer in front; it is kept behind a step that selects them."""
    from sklearn.pipeline import Pipeline

    from cockpit.feature_pipeline import compile_transformer

    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    ref = models.resolve(inputs.family, inputs.task)
    X, y = inputs.train, inputs.train[inputs.target].to_numpy()
    model = ref.build(inputs.params, inputs.seed)
    curve = None
    if not ref.takes_features:
        pipeline = _fit_whole(model, inputs, y, report)
    else:
        report(0.05, "fitting features")
        transformer = compile_transformer(inputs.specs, dense=ref.dense, version=inputs.compiler)
        matrix = transformer.fit_transform(X)
        staged = ref.staged
        if learning_curve and staged and inputs.params.get(staged, 0) > 1:
            curve = _fit_staged(model, staged, matrix, y, transformer, inputs, report, should_stop)
        else:
            report(0.2, "fitting model")
            model.fit(matrix, y)
        pipeline = Pipeline([("features", transformer), ("model", model)])
    report(0.9, "scoring")
    output = TrainOutput(
        pipeline=pipeline,
        train_metrics=evaluate(pipeline, inputs.train, inputs.task, inputs.target),
        validation_metrics=evaluate(pipeline, inputs.validation, inputs.task, inputs.target),
        curve=curve,
        duration_s=time.perf_counter() - started,
    )
    report(1.0, "done")
    return output


def _fit_whole(model, inputs: TrainInputs, y, report: Progress) -> Any:
    """Fit a user's Pipeline on the raw feature columns; keep it behind their selector."""
    from cockpit.training.input_step import with_inputs

    columns = [s.column for s in inputs.specs if s.role == "feature"]
    features = inputs.train[columns]
    report(0.2, "fitting the pipeline")
    model.fit(features, y)
    return with_inputs(model, features)


def _fit_staged(
    model,
    staged: str,
    matrix,
    y,
    transformer,
    inputs: TrainInputs,
    report: Progress,
    should_stop: StopCheck | None = None,
) -> dict[str, Any]:
    """Grow trees / boosting rounds in steps (warm start): progress and a learning curve."""

    total = int(inputs.params[staged])
    steps = sorted({max(1, math.ceil(total * k / CURVE_STEPS)) for k in range(1, CURVE_STEPS + 1)})
    curve: dict[str, Any] = {
        "param": staged,
        "metric": inputs.metric,
        "steps": [],
        "train": [],
        "validation": [],
    }
    # each step scores the same rows: their features are computed once, as a Pipeline would
    scored = [
        (transformer.transform(part), part[inputs.target].to_numpy())
        for part in (inputs.train, inputs.validation)
    ]
    model.set_params(warm_start=True)
    for number, step in enumerate(steps, start=1):
        model.set_params(**{staged: step})
        model.fit(matrix, y)
        train_score, val_score = (
            metrics.score(inputs.task, truth, *predict(model, features, inputs.task)).get(inputs.metric)
            for features, truth in scored
        )
        curve["steps"].append(step)
        curve["train"].append(train_score)
        curve["validation"].append(val_score)
        report(0.1 + 0.8 * number / len(steps), f"{staged} {step}/{total}")
        if should_stop is not None and step < total and should_stop(step, val_score):
            curve["stopped_at"] = step
            break
    model.set_params(warm_start=False)
    return curve
