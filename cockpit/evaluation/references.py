"""Which run is the reference a new model must not be worse than, and how fair the
comparison is: the reference is scored on the candidate's own evaluation rows, and the rows
it was trained on are counted (a model scored on rows it learned from looks better)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training.runs import Run, get_run
from cockpit.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd


def production_run(ws: Workspace, project: Project) -> Run | None:
    """The run behind the production model version, once the registry has one."""
    if not ws.store.table_exists("model_versions"):
        return None
    row = ws.store.one(
        "SELECT v.run_id FROM model_versions v JOIN aliases a ON a.version_id = v.id "
        "WHERE v.project_id = ? AND a.alias = 'production'",
        [project.id],
    )
    return get_run(ws, project, row["run_id"]) if row else None


def split_version(ws: Workspace, split_id: int | None) -> int | None:
    """The data version a split cuts."""
    if split_id is None:
        return None
    return ws.store.scalar("SELECT version_id FROM splits WHERE id = ?", [split_id])


def where(part: str, split_id: int | None, version_id: int | None) -> str:
    """ "test split 4 (data v5)": which rows a number was computed on."""
    if split_id is None:
        return f"{part} split"
    return f"{part} split {split_id}" + (f" (data v{version_id})" if version_id is not None else "")


def check_scorable(
    ws: Workspace, project: Project, reference: Run, candidate: Run, frame: pd.DataFrame
) -> None:
    """Refuse, before anything is written, a reference whose model takes columns the
    candidate's evaluation rows do not have: it cannot be scored on the same rows."""
    from cockpit.evaluation.inputs import model_specs
    from cockpit.features import spec_at

    if reference.feature_spec_version is None and not reference.input_schema:
        return  # nothing recorded of its inputs: predicting will say what is missing
    specs = spec_at(ws, project, reference.feature_spec_version) if reference.feature_spec_version else []
    missing = [s.column for s in model_specs(specs, reference) if s.column not in frame.columns]
    if missing:
        raise CockpitError(
            f"reference {reference.label} takes column(s) {', '.join(missing[:5])} that "
            f"{candidate.label}'s evaluation rows (split {candidate.split_id}, data v"
            f"{candidate.version_id}) do not have, so the two cannot be compared on the same rows: "
            "pick a reference trained on these columns, or evaluate without --against"
        )


def trained_on(
    ws: Workspace, project: Project, reference: Run, candidate: Run, frame: pd.DataFrame
) -> dict[str, Any]:
    """How many of the candidate's evaluation rows (`frame`) the reference was trained on,
    matched by the entity id column, else by the rows' feature values (cockpit.entity).
    None when its training rows are not in cockpit."""
    from cockpit.data.splits import get_split, split_frames
    from cockpit.entity import entity_keys
    from cockpit.features import entity_column, spec_at

    if reference.split_id is None:
        return {"trained_on_rows": None, "matched_by": None}
    if reference.split_id == candidate.split_id:  # a split's train and test parts never share a row
        return {"trained_on_rows": 0, "matched_by": "the same split"}
    train = split_frames(ws, project, get_split(ws, project, reference.split_id))["train"]
    version = candidate.feature_spec_version or reference.feature_spec_version
    specs = spec_at(ws, project, version) if version else []
    entity = entity_column(specs)
    if entity is not None and (entity not in train.columns or entity not in frame.columns):
        entity = None
    features = [s.column for s in specs if s.role == "feature"] or [
        c for c in frame.columns if c != project.target
    ]
    shared = sorted(c for c in features if c in train.columns and c in frame.columns)
    if entity is None and not shared:
        return {"trained_on_rows": None, "matched_by": None}
    seen = set(entity_keys(train, entity, shared))
    count = int(entity_keys(frame, entity, shared).isin(seen).sum())
    return {"trained_on_rows": count, "matched_by": entity or "feature values"}


def overlap_warning(reference: dict[str, Any], part: str) -> str | None:
    """The warning an evaluation carries when its reference saw some of its rows in training."""
    count, rows = reference.get("trained_on_rows"), reference.get("rows")
    if "trained_on_rows" not in reference:
        return None  # a report from before the rows were counted
    run = reference["run_id"]
    if count is None:
        return (
            f"reference run {run}'s training rows are not in cockpit: it may have been trained on "
            f"some of these {part} rows, which would flatter its score"
        )
    if count == 0:
        return None
    return (
        f"reference run {run} was trained on {count:,} of these {rows:,} {part} rows (by "
        f"{reference['matched_by']}): its score on them is flattered"
    )


def reference_where(reference: dict[str, Any]) -> str:
    """ "trained on split 1, data v1": where a reference run came from."""
    split_id = reference.get("split_id")
    if split_id is None:
        return "trained on rows cockpit does not hold" if "split_id" in reference else ""
    version = reference.get("version_id")
    return f"trained on split {split_id}" + (f", data v{version}" if version is not None else "")
