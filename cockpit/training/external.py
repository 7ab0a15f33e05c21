"""Runs whose model was trained outside cockpit: in a user's script or notebook (the Python
API, cockpit/tracking) or in a file registered with `cockpit register --file`.

cockpit keeps the fitted model behind a step that hands it exactly the columns it was
trained on, in their order, so every later stage (evaluate, serve, batch, monitor) calls it
on a whole table like a catalogue pipeline. Scoring on the split's validation rows uses the
spec's metrics, as for a catalogue run.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training import runs
from cockpit.training.input_step import INPUT_STEP as INPUT_STEP  # moved beside fit, which uses it too
from cockpit.training.input_step import with_inputs as with_inputs
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class RunData:
    """The rows a run trains and is scored on, as the user's code sees them."""

    split_id: int
    version_id: int
    feature_spec_version: int
    columns: list[str]  # the feature columns, in the spec's order
    target: str
    train: pd.DataFrame
    validation: pd.DataFrame


class DataPins(Protocol):
    """What a run pins of its data: a RunData, or a split's ids before its rows are read."""

    @property
    def version_id(self) -> int: ...
    @property
    def split_id(self) -> int: ...
    @property
    def feature_spec_version(self) -> int: ...


def feature_columns(specs) -> list[str]:
    return [s.column for s in specs if s.role == "feature"]


def run_data(ws: Workspace, project: Project, split_id: int | None = None) -> RunData:
    """The split's train and validation rows and the feature columns the spec names."""
    from cockpit.data.splits import get_split, split_frames
    from cockpit.features import ensure_spec

    split = get_split(ws, project, split_id)
    spec_version, specs = ensure_spec(ws, project)
    parts = split_frames(ws, project, split)
    return RunData(
        split.id,
        split.version_id,
        spec_version,
        feature_columns(specs),
        project.target,
        parts["train"],
        parts["validation"],
    )


def input_schema(frame: pd.DataFrame) -> list[dict[str, str]]:
    return [{"name": str(c), "dtype": str(t)} for c, t in frame.dtypes.items()]


def final_estimator(model: Any) -> Any:
    while hasattr(model, "steps"):
        model = model.steps[-1][1]
    return model


def class_path(cls: type) -> str:
    """The shortest public path that names the class: `lightgbm.LGBMClassifier`,
    `sklearn.ensemble.HistGradientBoostingRegressor` (not its private module), else the full
    module path."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        module = ".".join(parts[:end])
        if any(p.startswith("_") for p in parts[1:end]):
            break
        try:
            if getattr(importlib.import_module(module), cls.__name__, None) is cls:
                return f"{module}.{cls.__name__}"
        except ImportError:
            break
    return f"{cls.__module__}.{cls.__name__}"


def describe(model: Any) -> tuple[str, str]:
    """(family, model_class) the runs table shows for a fitted model."""
    cls = type(final_estimator(model))
    return class_path(cls), cls.__name__


def check_model(model: Any, task: str, label: str = "the model") -> None:
    """A fitted estimator with predict (and classes_ for a classifier); else one clear refusal."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(model, "predict"):
        raise CockpitError(f"{label} ({type(model).__name__}) has no predict method: log a fitted estimator")
    final = final_estimator(model)
    if not hasattr(final, "__sklearn_tags__"):
        # scikit-learn (1.6+) asks every estimator for its tags; a class without them breaks
        # the pipeline cockpit keeps it in, at its first prediction
        raise CockpitError(
            f"{label} ({type(final).__name__}) is not a scikit-learn estimator: cockpit scores models "
            "inside a scikit-learn Pipeline; make its class inherit sklearn.base.BaseEstimator (with "
            "ClassifierMixin or RegressorMixin)"
        )
    try:
        check_is_fitted(final)
    except NotFittedError:
        raise CockpitError(
            f"{label} ({type(model).__name__}) is not fitted: call fit before logging it"
        ) from None
    except TypeError:
        pass  # not a scikit-learn estimator: predict is all it is asked for
    if task in ("binary", "multiclass") and not hasattr(model, "classes_"):
        raise CockpitError(
            f"{label} ({type(model).__name__}) has no classes_: a {task} project needs a classifier"
        )


def start(
    ws: Workspace,
    project: Project,
    source: str,
    origin: dict[str, Any],
    params: dict[str, Any] | None = None,
    seed: int = 0,
    data: DataPins | None = None,
    environment: tuple[str | None, bool | None, dict] | None = None,
) -> int:
    """Record an external run as running (`data`: the split it trains on; None when the model
    is trained on rows cockpit does not hold)."""
    from cockpit.evaluation import metrics
    from cockpit.problem import current_spec

    if source not in runs.EXTERNAL_SOURCES:
        raise CockpitError(f"source {source!r}: one of {', '.join(runs.EXTERNAL_SOURCES)}")
    plan = runs.RunPlan(
        family=source,
        params=dict(params or {}),
        seed=seed,
        version_id=data.version_id if data else None,  # type: ignore[arg-type]
        split_id=data.split_id if data else None,  # type: ignore[arg-type]
        feature_spec_version=data.feature_spec_version if data else None,  # type: ignore[arg-type]
        metric=metrics.primary_metric(project.task, current_spec(ws, project).metric),
        source=source,
        origin=origin,
    )
    # source and origin in the row's INSERT: no reader sees an external run without them
    return runs.create_run(ws, project, plan, environment=environment)


def score(model: Any, data: RunData, task: str) -> tuple[dict[str, float], dict[str, float]]:
    """Train and validation metrics of a wrapped model on the run's split."""
    from cockpit.training.fit import evaluate

    return (
        evaluate(model, data.train, task, data.target),
        evaluate(model, data.validation, task, data.target),
    )


def finish_with_model(
    ws: Workspace,
    project: Project,
    run_id: int,
    model: Any,
    example: pd.DataFrame,
    data: RunData | None,
    duration_s: float,
) -> runs.Run:
    """Save the fitted model (behind its input step), score it on the split when the run has
    one, and close the run as finished: the artifact first, then one transaction."""
    from cockpit.training.environment import library_versions
    from cockpit.training.fit import TrainOutput

    check_model(model, project.task)
    wrapped = with_inputs(model, example)
    family, model_class = describe(model)
    versions = library_versions()
    ref = ws.artifacts.put(wrapped, kind="model", library_versions=versions)
    output = None
    if data is not None:
        train_metrics, validation_metrics = score(wrapped, data, project.task)
        output = TrainOutput(wrapped, train_metrics, validation_metrics, None, duration_s)
    extra: dict[str, Any] = {
        "family": family,
        "model_class": model_class,
        "input_schema": input_schema(example),
    }
    if output is None:
        extra.update(duration_s=duration_s, artifact_sha256=ref.sha256)
    runs.finish(ws, project, run_id, "finished", output=output, artifact_sha256=ref.sha256, extra=extra)
    return runs.get_run(ws, project, run_id)


def attach_data(ws: Workspace, project: Project, run_id: int, split_id: int | None = None) -> runs.Run:
    """Name the data version and split of a run logged on rows cockpit did not hold, and
    score it there, in one transaction."""
    from cockpit.training.runs import RUN_METRICS

    run = runs.get_run(ws, project, run_id)
    if not run.external or run.status != "finished":
        raise CockpitError(f"{run.label} is not a finished external run; it has its data already")
    if run.split_id is not None and split_id in (None, run.split_id):
        raise CockpitError(f"{run.label} is scored on split {run.split_id} already")
    data = run_data(ws, project, split_id)
    missing = [c["name"] for c in run.input_schema or [] if c["name"] not in data.train.columns]
    if missing:
        raise CockpitError(
            f"{run.label} takes columns the split's data lacks: {', '.join(missing)}; "
            "name a data version that has them"
        )
    model = runs.load_pipeline(ws, run)
    train_metrics, validation_metrics = score(model, data, project.task)
    values: dict[str, Any] = {
        "version_id": data.version_id,
        "split_id": data.split_id,
        "feature_spec_version": data.feature_spec_version,
        "train_metrics": train_metrics,
        "validation_metrics": validation_metrics,
        "score": validation_metrics.get(run.metric or ""),
    }
    values.update({f"m_{k}": v for k, v in validation_metrics.items() if k in RUN_METRICS})
    with ws.store.transaction():
        # checked again inside the transaction: another `evaluate --data` may have scored it
        # while this one was scoring
        now = ws.store.one("SELECT status, split_id FROM runs WHERE id = ?", [run_id])
        if now is None or now["status"] != "finished" or now["split_id"] != run.split_id:
            where = f"split {now['split_id']}" if now and now["split_id"] else "another split"
            raise CockpitError(f"{run.label} was scored on {where} meanwhile; nothing written")
        ws.store.update("runs", {"id": run_id}, values)
        ws.record(
            "experiments",
            "run scored",
            project.id,
            {"run": run_id, "split": data.split_id, "score": values["score"]},
        )
    return runs.get_run(ws, project, run_id)


def script_origin(argv: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """(source, origin) of the calling process: a script with its path, argv and working
    folder (and its module, run with `python -m`), or a notebook (an interactive session has
    no script to run again)."""
    import sys

    argv = list(sys.argv if argv is None else argv)
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    interactive = (
        path is None or "ipykernel" in sys.modules or (argv and argv[0].endswith("ipykernel_launcher.py"))
    )
    if interactive or path is None:
        return "notebook", {
            "kernel": "ipykernel" if "ipykernel" in sys.modules else "python",
            "cwd": os.getcwd(),
        }
    origin: dict[str, Any] = {
        "script": os.path.abspath(path),
        "argv": argv[1:],
        "cwd": os.getcwd(),
        "python": sys.executable,
    }
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name not in (None, "__main__"):
        # `python -m pkg.train`: run again as a module (its relative imports need its package)
        origin["module"] = spec.name
    return "script", origin
