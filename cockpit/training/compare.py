"""Side-by-side runs: params, data version, feature spec, code and metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training.origin import origin_text
from cockpit.training.runs import Run, get_run
from cockpit.workspace import Workspace

SKIPPED_PARAMS = {"verbose", "n_jobs", "warm_start"}
SECTIONS = ("param", "lib", "val", "train")  # the prefixed fields, after the run's own


@dataclass(frozen=True, slots=True)
class ComparedField:
    """One field of every compared run, in the runs' order."""

    field: str
    values: list[Any]
    differs: bool


@dataclass(frozen=True, slots=True)
class Comparison:
    runs: list[int]
    rows: list[ComparedField]

    def as_dict(self) -> dict[str, Any]:
        """As `cockpit compare --json` prints it."""
        return {
            "runs": self.runs,
            "rows": [{"field": r.field, "values": r.values, "differs": r.differs} for r in self.rows],
        }


def _fields(run: Run) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "model": run.model_name,
        "model path": run.family if run.kind != "catalog" else None,
        "source": run.kind,
        "from": origin_text(run),
        "mlflow run": (run.origin or {}).get("run_id") if run.kind == "mlflow" else None,
        "status": run.status,
        "seed": run.seed,
        "data version": f"v{run.version_id}" if run.version_id else None,
        "split": run.split_id,
        "feature spec": run.feature_spec_version,
        "code commit": (run.git_commit or "")[:12] or None,
        "dirty tree": run.git_dirty,
        "python": run.python_version,
        "duration s": round(run.duration_s, 2) if run.duration_s else None,
    }
    for name, value in sorted((run.params or {}).items()):
        if name not in SKIPPED_PARAMS:
            fields[f"param {name}"] = value
    for name, value in sorted((run.library_versions or {}).items()):
        if name != "python":
            fields[f"lib {name}"] = value
    for name, value in (run.validation_metrics or {}).items():
        fields[f"val {name}"] = round(value, 4)
    for name, value in (run.train_metrics or {}).items():
        fields[f"train {name}"] = round(value, 4)
    return fields


def compare(
    ws: Workspace, project: Project, run_ids: list[int], differences_only: bool = False
) -> Comparison:
    """The runs' fields side by side; with differences_only, the fields that differ."""
    if len(run_ids) < 2:
        raise CockpitError("compare needs two or more runs")
    found = [get_run(ws, project, run_id) for run_id in run_ids]
    tables = [_fields(run) for run in found]
    names: list[str] = []
    for table in tables:
        names += [n for n in table if n not in names]
    # a field only a later run has goes with its kind (a forest's params among the params, not
    # below the metrics): sections in _fields' order, each in order of first appearance
    names.sort(key=lambda name: 1 + SECTIONS.index(name.split()[0]) if name.split()[0] in SECTIONS else 0)
    rows = []
    for name in names:
        values = [table.get(name) for table in tables]
        differs = any(v != values[0] for v in values[1:])
        if differs or not differences_only:
            rows.append(ComparedField(name, values, differs))
    return Comparison(run_ids, rows)
