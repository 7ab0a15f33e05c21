"""`cockpit.start_run`: a run of the user's own training code, tracked as it goes.

The run row is written as running when `start_run` returns; params and metric points are
written while the block runs; at the end the logged model is saved, scored on the split's
validation rows with the spec's metrics, and the run closed, in one transaction
(external.finish_with_model). A block that raises leaves the run failed with the error
(cancelled on Ctrl-C), its points kept, and the exception goes on to the caller.
"""

from __future__ import annotations

import atexit
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cockpit.deployment.model_file import check_fit_for, input_columns
from cockpit.errors import CockpitError
from cockpit.projects import Project, resolve_project
from cockpit.tracking import values
from cockpit.tracking.buffer import Point, StepBuffer
from cockpit.tracking.origin import Environment, environment, estimator_library
from cockpit.tracking.place import Pins, check_rerun, checked_seed, open_workspace, rerun_split, split_pins
from cockpit.tracking.portable import check_portable
from cockpit.training import external, runs, steps
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd


def start_run(
    project: str | None = None,
    split: int | None = None,
    *,
    workspace: str | Path | Workspace | None = None,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
) -> ActiveRun:
    """Start tracking a run of your own training code (use it as a context manager).

    `workspace`: a folder, its `.cockpit/`, or an open Workspace; by default
    COCKPIT_WORKSPACE, else the nearest `.cockpit/` above the current folder (as the CLI).
    `project`: its name; by default COCKPIT_PROJECT, else the workspace's only project.
    `split`: a split id; by default the project's newest. `seed` is recorded as the run's
    seed: pass `run.seed` to your estimators. A bad project, split, seed or param is refused
    with CockpitError before anything is written.
    """
    seed, checked = checked_seed(seed), values.params(params or {})
    ws = open_workspace(workspace)
    found = resolve_project(ws, project)
    split = rerun_split() if split is None else split
    pins = split_pins(ws, found, split)
    source, origin = external.script_origin()
    check_rerun(pins, origin)
    env = environment(source, origin)
    run_id = external.start(ws, found, source, origin, checked, seed, pins, env)
    _watch_exit()
    return ActiveRun(ws, found, run_id, source, pins, split is not None, seed, checked, env)


class ActiveRun:
    """A run in progress. Log from the thread that started it (its connection is that
    thread's)."""

    def __init__(
        self,
        ws: Workspace,
        project: Project,
        run_id: int,
        source: str,
        pins: Pins | None,
        split_named: bool,
        seed: int,
        params: dict[str, Any],
        env: Environment,
    ) -> None:
        self.workspace, self.project, self.id, self.seed = ws, project, run_id, seed
        self.source = source  # script or notebook
        self.status = "running"
        self.result: runs.Run | None = None  # the run as recorded, once it has ended
        self._pins, self._split_named = pins, split_named
        self._params, self._versions = params, dict(env[2])
        self._data: external.RunData | None = None
        self._read = False  # has the user's code been handed the split's rows?
        self._model: Any = None
        self._example: pd.DataFrame | None = None
        self._started = time.perf_counter()
        self._steps = StepBuffer(self._write_points)
        self._keys: dict[str, str] = {}  # metric names as given -> as checked, checked once
        self._closing = False
        _OPEN[id(self)] = self

    def __repr__(self) -> str:
        return f"<cockpit run {self.id} of {self.project.name!r}: {self.status}>"

    @property
    def split_id(self) -> int | None:
        """The split the run trains on; None when its model was trained on other data."""
        return self._pins.split_id if self._pins else None

    # -- the data --------------------------------------------------------------

    def train_frame(self) -> tuple[pd.DataFrame, pd.Series]:
        """The split's training rows: (the feature columns, in the spec's order; the target)."""
        data = self._rows()
        return data.train[data.columns].copy(), data.train[data.target].copy()

    def validation_frame(self) -> tuple[pd.DataFrame, pd.Series]:
        """The split's validation rows, as train_frame (for early stopping; the test rows
        stay held out for `cockpit evaluate`)."""
        data = self._rows()
        return data.validation[data.columns].copy(), data.validation[data.target].copy()

    def _rows(self) -> external.RunData:
        data = self._load()
        self._read = True
        return data

    def _load(self) -> external.RunData:
        self._check_running()
        if self._pins is None:
            raise CockpitError(
                f"run {self.id} has no split (project {self.project.name!r} had none when it started, "
                "or its model was logged with input_example); make one with `cockpit data split`"
            )
        if self._data is None:
            self._data = external.run_data(self.workspace, self.project, self._pins.split_id)
        return self._data

    # -- params and metrics ----------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Merge params into the run's (written at once); numpy values become plain ones,
        values JSON cannot hold are kept as text."""
        self._check_running()
        merged = {**self._params, **values.params(params)}
        if merged != self._params:
            self.workspace.store.update("runs", {"id": self.id}, {"params": merged})
            self._params = merged
        self._steps.tick()

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        """One point of a metric's curve; without a step, the key's next one (0, 1, 2 ...).
        NaN and inf are kept as missing points."""
        self._hold(key, value, step)
        self._steps.tick()

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Several keys at one step, written together."""
        for key, value in metrics.items():
            self._hold(key, value, step)
        self._steps.tick()

    def _hold(self, key: str, value: Any, step: int | None) -> None:
        self._check_running()
        name = self._keys.get(key) if isinstance(key, str) else None
        if name is None:
            name = self._keys[key] = steps.check_key(key)
        number = values.metric_value(name, value)
        self._steps.add(name, None if step is None else values.step_number(name, step), number)

    def _write_points(self, points: list[Point]) -> int:
        if not self._closing:  # a run cancelled elsewhere (`cockpit cancel`, the UI) stops here
            row = self.workspace.store.one("SELECT status, error FROM runs WHERE id = ?", [self.id])
            if row and row["status"] != "running":
                raise CockpitError(f"run {self.id} was {row['status']} ({row['error']}): its code stops here")
        return steps.append_steps(self.workspace, self.id, points)

    # -- the model -------------------------------------------------------------

    def log_model(self, model: Any, input_example: pd.DataFrame | None = None) -> None:
        """The run's fitted model (any scikit-learn-compatible estimator or Pipeline), saved
        and scored when the run ends. It takes the columns it was fitted on (its
        `feature_names_in_`, else the split's feature columns), or those of `input_example`
        (a DataFrame of rows like those it was fitted on): when the run read no split and
        named none, it is logged without one, and scored once one is named
        (`cockpit evaluate RUN --data VERSION --split SPLIT`)."""
        self._check_running()
        if self._model is not None:
            raise CockpitError(
                f"run {self.id} has a model logged already; start another run for another model"
            )
        external.check_model(model, self.project.task)
        check_portable(model)
        if input_example is None:
            example = self._fitted_columns(model)
        else:
            example = self._example_frame(input_example)
            self._check_fits(model, example)
        library = estimator_library(model)
        if library and library[0] not in self._versions:
            self._versions[library[0]] = library[1]
            self.workspace.store.update("runs", {"id": self.id}, {"library_versions": self._versions})
        self._model, self._example = model, example
        self._steps.tick()

    def _fitted_columns(self, model: Any) -> pd.DataFrame:
        """Rows of the split with the columns the model was fitted on: those it recorded
        (`feature_names_in_`, when fitted on a DataFrame), else the spec's feature columns."""
        data = self._load()
        columns, _ = input_columns(model, data.columns)
        if self.project.target in columns:
            raise CockpitError(
                f"the model was fitted with the target column {self.project.target!r} as an input; "
                "fit it on the feature columns only"
            )
        missing = [c for c in columns if c not in data.train.columns]
        if missing:
            raise CockpitError(
                f"the model was fitted on columns split {data.split_id} lacks: {', '.join(missing)}; "
                "make them in a Pipeline step before the model: cockpit calls it on the split's rows"
            )
        # what `cockpit register --file` checks: task, target classes, a prediction on the rows
        check_fit_for(model, self.project, data, columns, "the model")
        return data.train[columns].head(5)

    def _check_fits(self, model: Any, example: pd.DataFrame) -> None:
        """A model logged with input_example: the task and a prediction on the example's rows
        (the split's rows too, when the run has one)."""
        from sklearn.base import is_classifier

        if self._pins is not None:
            check_fit_for(model, self.project, self._load(), [str(c) for c in example.columns], "the model")
            return
        final = external.final_estimator(model)
        if self.project.task == "regression" and is_classifier(final):
            raise CockpitError(
                f"the model ({type(final).__name__}) is a classifier; a regression project needs a regressor"
            )
        try:
            external.with_inputs(model, example).predict(example)
        except Exception as exc:  # the user's model on its own example rows
            why = f"{type(exc).__name__}: {exc}"
            raise CockpitError(f"the model fails on input_example ({why})"[:300]) from None

    def _example_frame(self, example: Any) -> pd.DataFrame:
        import pandas as pd

        if not isinstance(example, pd.DataFrame) or example.empty:
            raise CockpitError(
                "input_example: give a pandas DataFrame with a few rows of the columns the model takes"
            )
        if self.project.target in example.columns:
            raise CockpitError(
                f"input_example holds the target column {self.project.target!r}: give the model's inputs only"
            )
        if self._read or self._split_named:
            data = self._load()
            missing = [str(c) for c in example.columns if c not in data.train.columns]
            if missing:
                raise CockpitError(
                    f"input_example has columns split {data.split_id} lacks: {', '.join(missing)}; "
                    "a run scored on a split takes the split's columns"
                )
        elif self._pins is not None:
            # trained on rows cockpit does not hold: no split until `evaluate --data --split`
            none = {"version_id": None, "split_id": None, "feature_spec_version": None}
            self.workspace.store.update("runs", {"id": self.id}, none)
            self._pins = None
        return example.head(5)

    # -- the end ---------------------------------------------------------------

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        """Close the run; an error in the block goes on to the caller."""
        self._close(error)

    def end(self) -> runs.Run:
        """End the run as a `with` block's end would (for code that does not use `with`)."""
        return self._close(None)

    def _close(self, error: BaseException | None) -> runs.Run:
        if self.result is not None:
            return self.result
        duration = time.perf_counter() - self._started
        self._closing = True
        try:
            if error is None or _clean_exit(error):
                try:
                    self._steps.flush()
                    self._finish(duration)
                except BaseException as failure:
                    self._fail(failure, duration)
                    raise
            else:
                self._fail(error, duration)
        finally:
            _OPEN.pop(id(self), None)
            self.result = runs.get_run(self.workspace, self.project, self.id)
            self.status = self.result.status
        return self.result

    def _finish(self, duration: float) -> None:
        if self._model is None:  # params and curves only, like an MLflow run
            runs.finish(self.workspace, self.project, self.id, "finished", extra={"duration_s": duration})
            return
        assert self._example is not None
        data = self._load() if self._pins is not None else None
        external.finish_with_model(
            self.workspace, self.project, self.id, self._model, self._example, data, duration
        )

    def _fail(self, error: BaseException, duration: float) -> None:
        cancelled = isinstance(error, KeyboardInterrupt)
        text = runs.cancel_note("Ctrl-C") if cancelled else f"{type(error).__name__}: {error}".rstrip(": ")
        if isinstance(error, SystemExit) and isinstance(error.code, int):
            text = f"the code exited with status {error.code} (sys.exit) before the run ended"
        try:
            self._steps.flush()
        except Exception as lost:  # the run is still recorded as ended, saying so
            text += f" ({len(self._steps.pending)} metric points could not be written: {lost})"
        status = "cancelled" if cancelled else "failed"
        extra: dict[str, Any] = {"duration_s": duration}
        if self._model is not None:  # logged but not saved or scored: the detail names its class
            extra["family"], extra["model_class"] = external.describe(self._model)
        runs.finish(self.workspace, self.project, self.id, status, error=text, extra=extra)

    def _check_running(self) -> None:
        _EXIT.clear()  # code still running after a sys.exit: the SystemExit was caught
        if self.result is not None:
            raise CockpitError(f"run {self.id} has ended ({self.status}); start another run")


def _clean_exit(error: BaseException) -> bool:
    """sys.exit() and sys.exit(0) inside the block end the run as finished."""
    return isinstance(error, SystemExit) and error.code in (None, 0)


_OPEN: dict[int, ActiveRun] = {}  # runs not ended yet, ended when the process exits
_EXIT: list[Any] = []  # the status of the last sys.exit() call, while no run call followed it


def _watch_exit() -> None:
    """Keep the status sys.exit() is called with: at exit the interpreter has handled the
    SystemExit and says nothing of it (sys.last_value is for other exceptions), so a run
    left open by `sys.exit(3)` would otherwise be recorded as finished."""
    if getattr(sys.exit, "_cockpit", False):
        return
    original = sys.exit

    def exit(status: str | int | None = None, /) -> NoReturn:
        _EXIT[:] = [status]
        original(status)

    exit._cockpit = True  # type: ignore[attr-defined]
    exit.__doc__ = original.__doc__
    sys.exit = exit


def _interactive() -> bool:
    """A notebook's kernel or an interactive session: an error it showed earlier did not
    end the code that logged the run."""
    ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)  # imported is not running
    shell = ipython() if ipython is not None else None
    return "ipykernel" in sys.modules or hasattr(sys, "ps1") or shell is not None


def _exit_error() -> BaseException | None:
    """What ended the process, when it was not a clean end: an uncaught exception (kept by
    the interpreter in sys.last_value) or sys.exit() with a status other than 0 or None."""
    if _interactive():
        return None
    error = getattr(sys, "last_value", None)
    if error is not None:
        return error
    if _EXIT and _EXIT[0] not in (None, 0):
        return SystemExit(_EXIT[0])
    return None


@atexit.register
def _end_open_runs() -> None:
    """A run the code never ended: failed with the exception or sys.exit status that stopped
    the process, else finished (a script that forgot `end()`, a notebook's kernel shutting
    down)."""
    error = _exit_error()
    for run in list(_OPEN.values()):
        try:
            run._close(error)
        except Exception as failure:
            print(f"cockpit: run {run.id} failed at exit: {failure}", file=sys.stderr)
