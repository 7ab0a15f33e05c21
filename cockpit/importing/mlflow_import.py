"""`cockpit import mlflow`: each experiment of an MLflow store becomes a project, each of
its runs an external run (source 'mlflow'). Read through MLflow's client (mlflow_store), one
transaction per run, keyed by MLflow's run id (table imported_runs) so a second import adds
only what is new and follows runs that were still running."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from cockpit.errors import CockpitError
from cockpit.importing import mapping, mlflow_read
from cockpit.importing.mlflow_models import LoadedModel
from cockpit.importing.mlflow_store import StoreInfo, open_store
from cockpit.importing.mlflow_write import Prepared, known_runs, note_registered, prepare, write
from cockpit.projects import Project, create_project, get_project
from cockpit.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Options:
    experiment: str | None = None  # import this experiment only
    project: str | None = None  # into this project (one experiment)
    task: str | None = None
    target: str | None = None
    data_version: int | None = None  # score loadable models on this data version's split
    split_id: int | None = None
    trust: tuple[str, ...] = ()  # skops types the user trusts


@dataclass(slots=True)
class ExperimentResult:
    experiment: str
    experiment_id: str
    project: str | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    loadable: int = 0
    not_loadable: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)  # {"run": mlflow id, "error": why}
    refused: str | None = None  # why the experiment was not imported
    created: bool = False  # the project was made by this import

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def line(self) -> str:
        if self.refused:
            return f"experiment {self.experiment}: not imported: {self.refused}"
        text = (
            f"experiment {self.experiment} -> project {self.project}: {self.new} runs new, "
            f"{self.updated} updated, {self.loadable} model{'s' if self.loadable != 1 else ''} loadable, "
            f"{self.not_loadable} not"
        )
        if self.failed:
            text += f"; {len(self.failed)} failed: " + "; ".join(
                f"{f['run']}: {f['error']}" for f in self.failed
            )
        return text


@dataclass(slots=True)
class ImportResult:
    store: str
    kind: str
    upgraded_from: str | None
    experiments: list[ExperimentResult]

    @property
    def ok(self) -> bool:
        return not any(e.failed or e.refused for e in self.experiments)

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "kind": self.kind,
            "upgraded_from": self.upgraded_from,
            "ok": self.ok,
            "experiments": [e.as_dict() for e in self.experiments],
        }


def import_store(ws: Workspace, info: StoreInfo, options: Options) -> ImportResult:
    """Import every experiment of the store (or the one named) that has runs."""
    with open_store(info) as (client, info):
        found = mlflow_read.experiments(client, options.experiment)
        if options.experiment and not found:
            names = ", ".join(e.name for e in mlflow_read.experiments(client)) or "none"
            raise CockpitError(
                f"no experiment named {options.experiment!r} in {info.uri} (experiments: {names})"
            )
        batches = [(e, mlflow_read.runs_of(client, e.experiment_id)) for e in found]
        batches = [(e, r) for e, r in batches if r]
        if (options.project or options.data_version) and len(batches) > 1:
            raise CockpitError(
                f"{info.uri} has {len(batches)} experiments with runs; --project and --data go with "
                "one: name it with --experiment NAME"
            )
        registered = mlflow_read.registered_aliases(client)
        results = [
            Importer(ws, client, info, options, registered).experiment(exp, runs) for exp, runs in batches
        ]
    if options.experiment and results and results[0].refused:
        raise CockpitError(results[0].line)
    return ImportResult(info.uri, info.kind, info.upgraded_from, results)


class Importer:
    """One pass over a store's experiments, with the models it loaded kept by run."""

    def __init__(self, ws: Workspace, client, info: StoreInfo, options: Options, registered) -> None:
        self.ws, self.client, self.info, self.options = ws, client, info, options
        self.registered: dict[str, list[str]] = registered
        self.models: dict[str, list[LoadedModel]] = {}
        self.histories_read: set[str] = set()  # runs whose metric histories were read in bulk

    def experiment(self, exp: mlflow_read.Experiment, runs: list[mlflow_read.MlflowRun]) -> ExperimentResult:
        result = ExperimentResult(exp.name, exp.experiment_id)
        try:
            project, result.created = self.project_for(exp, runs)
        except CockpitError as exc:
            result.refused = str(exc)
            return result
        result.project = project.name
        known = known_runs(self.ws, project)
        data = self.data_for(project)
        pending = [r for r in runs if not (r.run_id in known and known[r.run_id].complete)]
        self.histories_read = mlflow_read.read_histories_bulk(self.client, pending)
        for run in runs:
            entry = known.get(run.run_id)
            registered = self.registered.get(run.run_id, [])
            if entry is not None and entry.complete:
                if entry.registered != registered:  # registered or given an alias in MLflow since
                    note_registered(self.ws, project, entry, registered)
                result.unchanged += 1
                continue
            try:
                prepared = self.prepare(project, exp, run, data)
                write(self.ws, project, prepared, entry)
            except Exception as exc:  # a broken run is reported, the others are imported
                result.failed.append({"run": run.run_id, "error": f"{type(exc).__name__}: {exc}"[:300]})
                continue
            if entry is None:
                result.new += 1
            else:
                result.updated += 1
            result.loadable += int(prepared.model is not None)
            result.not_loadable += sum(1 for m in prepared.models if not m.loadable) + int(
                prepared.model is None and any(m.loadable for m in prepared.models)
            )
        return result

    def prepare(self, project: Project, exp, run: mlflow_read.MlflowRun, data) -> Prepared:
        if run.run_id not in self.histories_read:
            mlflow_read.read_histories(self.client, run)
        return prepare(
            self.ws,
            project,
            run,
            mapping.origin(run, exp.name, self.info.resolved),
            self.models_of(run),
            self.registered.get(run.run_id, []),
            data,
        )

    def models_of(self, run: mlflow_read.MlflowRun) -> list[LoadedModel]:
        from cockpit.importing.mlflow_models import load

        if run.run_id not in self.models:
            self.models[run.run_id] = [
                load(self.client, run.run_id, s, self.options.trust)
                for s in mlflow_read.model_sources(self.client, run)
            ]
        return self.models[run.run_id]

    def project_for(self, exp, runs: Sequence[mlflow_read.MlflowRun]) -> tuple[Project, bool]:
        """The project an experiment goes to: named, or after the experiment; made with the
        task and target given or read from a logged model, else refused with what to pass."""
        options = self.options
        name = options.project or mapping.project_name(exp.name)
        project = get_project(self.ws, name)
        if project is not None:
            for flag, given, has in (
                ("--task", options.task, project.task),
                ("--target", options.target, project.target),
            ):
                if given and given != has:
                    raise CockpitError(
                        f"project {name} has {flag[2:]} {has!r}, not {given!r}: leave {flag} out"
                    )
            return project, False
        task, target = options.task, options.target
        if not (task and target):
            found_task, found_target = self.infer(runs)
            task, target = task or found_task, target or found_target
        if not (task and target):
            missing = " and ".join(
                f
                for f, v in (("--task binary|multiclass|regression", task), ("--target COLUMN", target))
                if not v
            )
            raise CockpitError(
                f"cockpit needs project {name}'s task and target, and no scikit-learn model or "
                f"dataset its runs logged names them: pass {missing}"
            )
        return create_project(self.ws, name, task, target), True

    def infer(self, runs: Sequence[mlflow_read.MlflowRun]) -> tuple[str | None, str | None]:
        """(task, target) from the first logged scikit-learn model that tells them."""
        task = target = None
        for run in runs:
            if not run.model_ids and run.status != "FINISHED":
                continue
            try:
                models = self.models_of(run)
            except Exception:  # a run whose model cannot be read tells nothing; it is reported when imported
                continue
            for model in models:
                if model.model is not None:
                    task = task or mapping.task_of(model.model)
                target = target or mapping.target_of(model.input_names, model.output, run.datasets)
            if task and target:
                break
        return task, target

    def data_for(self, project: Project):
        """The split --data names, read once for the experiment's runs."""
        if self.options.data_version is None:
            return None
        from cockpit.deployment.model_file import split_of
        from cockpit.training import external

        split = split_of(self.ws, project, self.options.data_version, self.options.split_id)
        return external.run_data(self.ws, project, split)
