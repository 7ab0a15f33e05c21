"""A model trained elsewhere, registered from its file (`cockpit register --file`).

The file is read once: its sha256 is of exactly the bytes loaded. joblib (and pickle) files
run code as they load, like any pickle; `.skops` files list the types they hold, and every
type skops does not trust by default must be named by the user (`--trust`). The model is
checked against the project's task, target classes and data before anything is written;
then it is recorded as an external run (source "file") scored on the split's validation
rows, gated on the test split, and registered like `register RUN`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    from cockpit.deployment.registry import ModelVersion
    from cockpit.evaluation.gate import GateResult
    from cockpit.training.external import RunData
    from cockpit.training.runs import Run

SKOPS = (".skops",)
JOBLIB = (".joblib", ".pkl", ".pickle")
SKOPS_MISSING = "install cockpit[skops] to read .skops files"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A model read from a file, with what identifies the file."""

    path: Path  # absolute
    sha256: str  # of the bytes loaded
    model: Any
    format: str  # joblib | skops
    trusted: tuple[str, ...] = ()  # the types the user trusted (skops)

    @property
    def origin(self) -> dict[str, Any]:
        origin: dict[str, Any] = {"file": str(self.path), "sha256": self.sha256, "format": self.format}
        if self.trusted:
            origin["trusted"] = list(self.trusted)
        return origin


@dataclass(frozen=True, slots=True)
class FileRegistration:
    """What `register --file` did: the run it recorded, its gate, the version it made."""

    run: Run
    gate: GateResult
    version: ModelVersion | None  # None: it failed its gate and no --override was given
    notes: list[str] = field(default_factory=list)  # what was inferred, said once

    @property
    def refused(self) -> str | None:
        """Why the recorded run was not registered (a failed gate without --override)."""
        if self.version is not None:
            return None
        failed = ", ".join(r.name for r in self.gate.rules if not r.passed)
        return (
            f"{self.run.label} failed the gate ({failed}): it is kept, not registered; "
            f"see `cockpit gate {self.run.id}`, or register it anyway with "
            f"`cockpit register {self.run.id} --override 'reason'`"
        )


def read_model_file(path: Path, trust: Sequence[str] = ()) -> ModelFile:
    """Load a joblib or skops model file; a file that is missing, unreadable or of another
    format is refused by name."""
    path = Path(path).expanduser().absolute()
    suffix = path.suffix.lower()
    if suffix not in SKOPS + JOBLIB:
        raise CockpitError(
            f"{path}: register a model saved with joblib ({', '.join(JOBLIB)}) or skops (.skops)"
        )
    if trust and suffix not in SKOPS:
        raise CockpitError(f"--trust is for .skops files; {path.name} is loaded with joblib")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CockpitError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CockpitError(f"{path} is a folder: give the model file") from None
    except OSError as exc:
        raise CockpitError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    if suffix in SKOPS:
        return ModelFile(path, sha256, _load_skops(path, data, trust), "skops", tuple(trust))
    return ModelFile(path, sha256, _load_joblib(path, data), "joblib")


def _load_joblib(path: Path, data: bytes) -> Any:
    import joblib

    try:
        return joblib.load(io.BytesIO(data))
    except ModuleNotFoundError as exc:
        raise CockpitError(
            f"{path}: the model needs the module {exc.name!r}, not installed here; install it and retry"
        ) from None
    except Exception as exc:  # any unpickling failure: the file is not what it says
        raise CockpitError(f"{path}: not a joblib model file ({type(exc).__name__}: {exc})"[:300]) from None


def _load_skops(path: Path, data: bytes, trust: Sequence[str]) -> Any:
    try:
        import skops.io as sio  # type: ignore[import-untyped]
    except ImportError:
        raise CockpitError(SKOPS_MISSING) from None
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise CockpitError(f"{path}: not a skops model file ({type(exc).__name__}: {exc})"[:300]) from None
    unknown = [t for t in trust if t not in untrusted]
    if unknown:
        raise CockpitError(
            f"--trust {', '.join(unknown)}: {path.name} holds no such type; "
            f"the types it needs trusted: {', '.join(untrusted) or 'none'}"
        )
    left = [t for t in untrusted if t not in trust]
    if left:
        flags = " ".join(f"--trust {t}" for t in left)
        raise CockpitError(
            f"{path.name} holds types skops does not trust by default: {', '.join(left)}. "
            f"Loading them can run their code: if you trust them, pass {flags}"
        )
    try:
        return sio.loads(data, trusted=list(trust))
    except Exception as exc:
        raise CockpitError(f"{path}: skops could not load it ({type(exc).__name__}: {exc})"[:300]) from None


def input_columns(model: Any, spec_columns: list[str]) -> tuple[list[str], str | None]:
    """The columns the model takes, in its order: the names it was fitted with
    (`feature_names_in_` of the model or its first step), else the feature spec's feature
    columns; the second item says so when the spec's were taken."""
    names = getattr(model, "feature_names_in_", None)
    if names is None and hasattr(model, "steps") and model.steps:
        names = getattr(model.steps[0][1], "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names], None
    fitted_width = getattr(model, "n_features_in_", None)
    if fitted_width is not None and fitted_width != len(spec_columns):
        raise CockpitError(
            f"the model records no input column names and takes {fitted_width} inputs; the feature "
            f"spec names {len(spec_columns)} feature columns. Fit it on a DataFrame (its column "
            "names are kept) or make the feature spec name its inputs"
        )
    return list(spec_columns), (
        f"the model records no input column names (feature_names_in_): it is given the feature "
        f"spec's {len(spec_columns)} feature columns, in the spec's order"
    )


def check_estimator_kind(model: Any, label: str) -> None:
    """A scikit-learn-compatible estimator with predict: what cockpit can keep inside a
    Pipeline (scikit-learn reads the final step's tags on every predict)."""
    from sklearn.utils import get_tags

    from cockpit.training import external

    if not hasattr(model, "predict"):
        raise CockpitError(f"{label} holds a {type(model).__name__}, not a model: it has no predict method")
    final = external.final_estimator(model)
    try:
        get_tags(final)
    except Exception:
        raise CockpitError(
            f"{label} holds a {type(final).__name__}, which is not a scikit-learn estimator: cockpit "
            "scores models inside a scikit-learn Pipeline; make its class inherit "
            "sklearn.base.BaseEstimator (with ClassifierMixin or RegressorMixin)"
        ) from None


def check_fit_for(model: Any, project: Project, data: RunData, columns: list[str], label: str) -> None:
    """The model suits the project: a classifier of the target's classes (or a regressor), and
    the data has every column it takes; it predicts every train and validation row."""
    from sklearn.base import is_classifier

    from cockpit.training import external

    external.check_model(model, project.task, label)
    final = external.final_estimator(model)
    if project.task == "regression" and is_classifier(final):
        raise CockpitError(
            f"{label} ({type(final).__name__}) is a classifier; a regression project needs a regressor"
        )
    if project.task != "regression":
        classes = {str(c) for c in model.classes_}
        seen = sorted({str(v) for v in data.train[project.target].dropna().unique()})
        strange = [v for v in seen if v not in classes]
        if strange:
            raise CockpitError(
                f"{label} predicts the classes {', '.join(sorted(classes))}; the target "
                f"{project.target!r} holds {', '.join(strange[:5])} too: it was trained on another target"
            )
    missing = [c for c in columns if c not in data.train.columns]
    if missing:
        # LightGBM records "mean radius" as "mean_radius": the names no longer match the data's
        spaced = {str(c).replace(" ", "_") for c in data.train.columns if " " in str(c)}
        hint = (
            "; the model wrote spaces in the column names as _ (LightGBM does): fit it inside a "
            "Pipeline, whose first step keeps the names, or rename the data's columns"
            if spaced & set(missing)
            else ""
        )
        raise CockpitError(
            f"{label} takes columns data version {data.version_id} lacks: {', '.join(missing[:10])}"
            + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
            + hint
        )
    if project.target in columns:
        raise CockpitError(f"{label} takes the target {project.target!r} as an input: it cannot be scored")
    wrapped = external.with_inputs(model, data.train[columns])
    # every row it will be scored on, train and validation: a failure after the run is
    # recorded would leave a failed run behind for what is a refusal of the file
    for name, rows in (("train", data.train), ("validation", data.validation)):
        try:
            wrapped.predict(rows)
        except Exception as exc:  # the user's model on our rows: any failure is the refusal
            raise CockpitError(_fails_on(label, name, rows[columns], exc)) from None


def _fails_on(label: str, name: str, rows: Any, exc: Exception) -> str:
    """One line: the model fails on the split's rows, and why when it is missing values."""
    first = (str(exc).strip().splitlines() or [""])[0]  # scikit-learn's NaN error runs to a paragraph
    reason = f"{type(exc).__name__}: {first}"[:200]
    if "nan" in str(exc).lower() and bool(rows.isna().any().any()):
        return (
            f"{label} fails on rows with missing values of the split's {name} rows ({reason}); "
            "put an imputer (e.g. sklearn.impute.SimpleImputer) in its Pipeline and save it again"
        )
    return f"{label} fails on the split's {name} rows ({reason})"


def split_of(ws: Workspace, project: Project, version_id: int, split_id: int | None) -> int:
    """The split to score on: `split_id` (of that data version), else the version's newest."""
    from cockpit.data.datasets import get_version
    from cockpit.data.splits import get_split, list_splits

    version = get_version(ws, project, version_id)
    if split_id is not None:
        split = get_split(ws, project, split_id)
        if split.version_id != version.id:
            raise CockpitError(
                f"split {split.id} is of data version {split.version_id}, not {version.id}: "
                f"name a split of v{version.id}, or leave --split out"
            )
        return split.id
    found = [s for s in list_splits(ws, project) if s.version_id == version.id]
    if not found:
        raise CockpitError(
            f"data version {version.id} has no split: make one with "
            f"`cockpit data split --version {version.id}`"
        )
    return max(s.id for s in found)


def record_file(
    ws: Workspace, project: Project, file: ModelFile, version_id: int, split_id: int | None = None
) -> tuple[Run, list[str]]:
    """Check the model, then record it as a finished external run scored on the split."""
    import time

    from cockpit.training import external, runs
    from cockpit.training.environment import capture

    data = external.run_data(ws, project, split_of(ws, project, version_id, split_id))
    label = file.path.name
    check_estimator_kind(file.model, label)
    external.check_model(file.model, project.task, label)
    columns, note = input_columns(file.model, data.columns)
    check_fit_for(file.model, project, data, columns, label)
    commit, dirty, versions = capture(ws.root)
    versions.update(model_library(file.model))
    started = time.perf_counter()
    run_id = external.start(
        ws, project, "file", file.origin, data=data, environment=(commit, dirty, versions)
    )
    try:
        run = external.finish_with_model(
            ws, project, run_id, file.model, data.train[columns], data, time.perf_counter() - started
        )
    except BaseException as exc:  # never left running: the run ends failed with the error
        family, model_class = external.describe(file.model)  # the detail shows what was logged
        error = f"{type(exc).__name__}: {exc}"[:500]
        extra = {"family": family, "model_class": model_class}
        runs.finish(ws, project, run_id, "failed", error=error, extra=extra)
        raise
    return run, [note] if note else []


def model_library(model: Any) -> dict[str, str]:
    """The distributions that ship the classes of the model and of every step inside it
    (a Pipeline's third-party transformers too), with their versions; scikit-learn's own are
    recorded with every run already."""
    from cockpit.deployment.provenance import distributions_of

    found: dict[str, str] = {}
    for module in sorted(step_modules(model)):
        found.update(distributions_of(module))
    return found


def step_modules(model: Any) -> set[str]:
    """The modules of the model's class and of every estimator nested in it (Pipeline steps,
    ColumnTransformer parts, wrapped estimators), as scikit-learn's get_params lists them."""
    modules = {type(model).__module__}
    get_params = getattr(model, "get_params", None)
    try:
        params = get_params(deep=True) if callable(get_params) else {}
    except Exception:  # a class whose get_params fails: its own module is what is known
        params = {}
    for value in params.values():
        if hasattr(value, "get_params") and not isinstance(value, type):
            modules.add(type(value).__module__)
    return modules


def register_file(
    ws: Workspace,
    project: Project,
    path: Path,
    version_id: int,
    split_id: int | None = None,
    trust: Sequence[str] = (),
    override_reason: str | None = None,
) -> FileRegistration:
    """Read, check, record, gate and register a model file. A refusal before the run is
    recorded writes nothing; a failed gate without --override keeps the run and its gate and
    registers nothing (`version` None)."""
    from cockpit.deployment import registry
    from cockpit.evaluation.gate import gate

    file = read_model_file(path, trust)
    run, notes = record_file(ws, project, file, version_id, split_id)
    verdict = gate(ws, project, run)
    if not verdict.passed and not (override_reason or "").strip():
        return FileRegistration(run, verdict, None, notes)
    version = registry.register(ws, project, run.id, override_reason)
    return FileRegistration(run, verdict, version, notes)
