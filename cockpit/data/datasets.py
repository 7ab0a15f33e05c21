"""Immutable dataset versions: rows in a content-addressed Parquet artifact, facts in SQLite.

A version is identified by the sha256 of its content (column names, types and
values), so importing the same data twice — even as CSV once and Parquet once —
is recognised instead of duplicated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.data.profile import ColumnProfile
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock, faults

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    id: int
    project_id: int
    name: str
    content_sha256: str
    artifact_sha256: str
    parent_id: int | None
    recipe: list[dict] | None
    source: str
    rows: int
    n_columns: int
    schema: dict[str, str]
    created_at: str
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def label(self) -> str:
        return f"v{self.id} {self.name}"


COLUMNS = (
    "id, project_id, name, content_sha256, artifact_sha256, parent_id, recipe, source, rows, "
    "n_columns, schema, created_at, created_by"
)


def _from_row(row: dict) -> DatasetVersion:
    return DatasetVersion(
        **{
            **row,
            "recipe": json.loads(row["recipe"]) if row["recipe"] else None,
            "schema": json.loads(row["schema"] or "{}"),
        }
    )


def list_versions(ws: Workspace, project: Project) -> list[DatasetVersion]:
    rows = ws.store.rows(
        f"SELECT {COLUMNS} FROM dataset_versions WHERE project_id = ? ORDER BY id", [project.id]
    )
    return [_from_row(r) for r in rows]


def get_version(ws: Workspace, project: Project, version_id: int | None = None) -> DatasetVersion:
    """A version by id, or the project's newest; CockpitError when there is none."""
    if version_id is None:
        row = ws.store.one(
            f"SELECT {COLUMNS} FROM dataset_versions WHERE project_id = ? ORDER BY id DESC LIMIT 1",
            [project.id],
        )
        if row is None:
            raise CockpitError(
                f"project {project.name!r} has no data yet; import a file with `cockpit data import FILE`"
            )
    else:
        row = ws.store.one(
            f"SELECT {COLUMNS} FROM dataset_versions WHERE id = ? AND project_id = ?",
            [version_id, project.id],
        )
        if row is None:
            raise CockpitError(f"no dataset version {version_id} in project {project.name!r}")
    return _from_row(row)


def load_profile(ws: Workspace, version: DatasetVersion) -> list[dict]:
    text = ws.store.scalar("SELECT profile FROM dataset_versions WHERE id = ?", [version.id])
    return json.loads(text or "[]")


def column_profiles(ws: Workspace, version: DatasetVersion) -> list[ColumnProfile]:
    """The version's column profiles, typed (the data screen shows them)."""
    return [ColumnProfile.of(entry) for entry in load_profile(ws, version)]


def load_frame(ws: Workspace, version: DatasetVersion) -> pd.DataFrame:
    """The version's rows, after the artifact's sha256 is checked."""
    import pandas as pd

    return pd.read_parquet(ws.artifacts.verified_path(version.artifact_sha256, ".parquet"))


def content_hash(frame: pd.DataFrame) -> str:
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(frame[c].dtype)] for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def check_target(frame: pd.DataFrame, project: Project, source: str) -> None:
    """A training file must hold the project's target, with at least two values."""
    target = project.target
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:12]))
        raise CockpitError(
            f"{source}: no column {target!r} (the target of project {project.name!r}); columns: {shown}"
        )
    values = frame[target].dropna()
    if values.empty:
        raise CockpitError(f"{source}: the target column {target!r} is empty in every row")
    if values.nunique() < 2:
        raise CockpitError(
            f"{source}: the target column {target!r} has only one value "
            f"({values.iloc[0]!r}); a model needs at least two"
        )
    if project.task == "binary":
        # yes/Yes/1/true are one class spelled several ways (a recipe standardises them)
        spelled = values.astype(str).str.strip().str.lower()
        classes = spelled.replace(
            {
                **dict.fromkeys(("yes", "y", "true", "t", "1", "1.0"), "1"),
                **dict.fromkeys(("no", "n", "false", "f", "0", "0.0"), "0"),
            }
        ).unique()
        if len(classes) < 2:
            raise CockpitError(
                f"{source}: the target column {target!r} has only one value, "
                f"spelled {values.nunique()} ways; a model needs two"
            )
        if len(classes) > 2:
            shown = ", ".join(repr(v) for v in values.unique()[:4])
            raise CockpitError(
                f"{source}: a binary target needs two values; {target!r} has "
                f"{len(classes)} ({shown}, ...): a multiclass or regression "
                "project?"
            )


def check_columns(frame: pd.DataFrame, source: str) -> None:
    empty = [str(c) for c in frame.columns if frame[c].isna().all()]
    if empty:
        raise CockpitError(
            f"{source}: column(s) {', '.join(map(repr, empty))} are empty in every "
            "row; drop them before importing"
        )


def import_dataset(
    ws: Workspace,
    project: Project,
    path: Path,
    name: str | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> tuple[DatasetVersion, bool]:
    """Import a file as a dataset version. Returns (version, created)."""
    from cockpit.data.reading import read_table

    path = Path(path)
    frame = read_table(path, delimiter, encoding)
    check_target(frame, project, str(path))
    check_columns(frame, str(path))
    return save_frame(ws, project, frame, name or path.stem, source=path.name)


def save_frame(
    ws: Workspace,
    project: Project,
    frame: pd.DataFrame,
    name: str,
    source: str,
    parent: DatasetVersion | None = None,
    recipe: list[dict] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store a frame as a version (or find the identical one). One transaction."""
    from cockpit.data.profile import profile_frame

    frame = frame.reset_index(drop=True)
    digest = content_hash(frame)
    existing = ws.store.one(
        "SELECT id FROM dataset_versions WHERE project_id = ? AND content_sha256 = ?", [project.id, digest]
    )
    if existing:
        return get_version(ws, project, existing["id"]), False
    profile = profile_frame(frame)
    with ws.store.transaction():
        # Written straight into the artifacts folder: no second copy in $TMPDIR, and a full
        # disk is told as one (storage.disk) with nothing recorded.
        ref = ws.artifacts.put_written(
            lambda path: frame.to_parquet(path, index=False),
            kind="dataset",
            suffix=".parquet",
            what=f"dataset {name!r} ({len(frame):,} rows)",
        )
        version_id = ws.store.insert(
            "dataset_versions",
            {
                "project_id": project.id,
                "name": name,
                "content_sha256": digest,
                "artifact_sha256": ref.sha256,
                "parent_id": parent.id if parent else None,
                "recipe": recipe,
                "source": source,
                "rows": len(frame),
                "n_columns": len(frame.columns),
                "schema": {str(c): str(frame[c].dtype) for c in frame.columns},
                "profile": profile,
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("data.import:after_insert")
        details = {"version": version_id, "name": name, "rows": len(frame), "columns": len(frame.columns)}
        if parent:
            details["parent"] = parent.id
        ws.record("data", "clean" if parent else "import", project.id, details)
    return get_version(ws, project, version_id), True
