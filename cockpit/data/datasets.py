"""Immutable dataset versions: rows in a content-addressed Parquet artifact, facts in SQLite.

A version is identified by the sha256 of its content (column names, types and
values), so importing the same data twice — even as CSV once and Parquet once —
is recognised instead of duplicated.
"""

from __future__ import annotations

import hashlib
import json
import os
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
            distinct = values.unique().tolist()  # Python values: 0, not np.int64(0)
            shown = ", ".join(repr(v) for v in distinct[:4]) + (", ..." if len(distinct) > 4 else "")
            raise CockpitError(
                f"{source}: a binary target needs two values; {target!r} has "
                f"{len(classes)} ({shown}): a multiclass or regression "
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
    """Import a file as a dataset version. Returns (version, created). The file is read in
    chunks (cockpit.data.chunks): each is hashed, tallied for the target and empty-column
    checks and written to Parquet as it comes, outside the write lock; the profile is made
    one column at a time from that file; the transaction records it by a rename."""
    import pandas as pd

    from cockpit.data.chunk_writers import ParquetChunks, disk_full_told, scratch_file
    from cockpit.data.chunks import open_table

    path = Path(path)
    name = name or path.stem
    table = open_table(path, delimiter, encoding)
    if project.target not in table.columns:
        check_target(pd.DataFrame(columns=table.columns), project, str(path))  # names the columns
    scratch = scratch_file(ws, ".parquet")
    try:
        tally = ImportTally(project.target, table.columns)
        writer = ParquetChunks(scratch)
        with disk_full_told(ws.artifacts.root, f"dataset {name!r} ({table.rows:,} rows)"):
            for chunk in table:
                tally.add(chunk)
                writer.write(chunk)
            writer.close()
        # the distinct target values in the order they first appear: what check_target reads
        check_target(pd.DataFrame({project.target: tally.targets}), project, str(path))
        empty = [c for c, count in tally.present.items() if count == 0]
        check_columns(pd.DataFrame({c: [None] for c in empty}), str(path))
        return _record(
            ws, project, scratch, tally.digest.hexdigest(), table.rows, tally.schema, name, path.name
        )
    finally:
        scratch.unlink(missing_ok=True)


class ImportTally:
    """What import checks and records of a file read in chunks: the content hash (the same
    as `content_hash` of the whole frame), the schema, each column's count of values, and
    the target's distinct values in the order they first appear."""

    def __init__(self, target: str, columns: list[str]) -> None:
        import pandas as pd

        self.target = target
        self.digest = hashlib.sha256()
        self.schema: dict[str, str] = {}
        self.present = dict.fromkeys(columns, 0)
        self.targets = pd.Series(dtype=object)

    def add(self, chunk: pd.DataFrame) -> None:
        import pandas as pd

        if not self.schema:
            self.schema = {str(c): str(chunk[c].dtype) for c in chunk.columns}
            self.digest.update(json.dumps([[c, t] for c, t in self.schema.items()]).encode())
            self.targets = chunk[self.target].iloc[:0]
        self.digest.update(pd.util.hash_pandas_object(chunk, index=False).to_numpy().tobytes())
        for column, count in chunk.notna().sum().items():
            self.present[str(column)] += int(count)
        values = chunk[self.target].dropna().drop_duplicates()
        self.targets = pd.concat([self.targets, values], ignore_index=True).drop_duplicates()


def _record(
    ws: Workspace,
    project: Project,
    prepared: Path,
    digest: str,
    rows: int,
    schema: dict[str, str],
    name: str,
    source: str,
    parent: DatasetVersion | None = None,
    recipe: list[dict] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Record a Parquet file written outside the store as a version (or find the identical
    one): the profile is made one column at a time from the file, and the transaction
    adopts the file by a rename and writes the rows."""
    import pyarrow.parquet as pq

    from cockpit.data.chunk_writers import sealed
    from cockpit.data.profile import profile_column

    existing = ws.store.one(
        "SELECT id FROM dataset_versions WHERE project_id = ? AND content_sha256 = ?", [project.id, digest]
    )
    if existing:
        return get_version(ws, project, existing["id"]), False
    written = pq.ParquetFile(prepared)
    profile = [
        profile_column(column, written.read(columns=[column]).to_pandas()[column]) for column in schema
    ]

    def adopt(tmp: Path) -> None:
        os.replace(prepared, tmp)

    digest_of_file = sealed(prepared)
    with ws.store.transaction():
        ref = ws.artifacts.put_written(
            adopt,
            sha256=digest_of_file,
            kind="dataset",
            suffix=".parquet",
            what=f"dataset {name!r} ({rows:,} rows)",
            needed=prepared.stat().st_size,
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
                "rows": rows,
                "n_columns": len(schema),
                "schema": schema,
                "profile": profile,
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("data.import:after_insert")
        details = {"version": version_id, "name": name, "rows": rows, "columns": len(schema)}
        if parent:
            details["parent"] = parent.id
        # a child without a recipe (a retrain's reference+production data) is not a clean
        ws.record("data", "clean" if parent and recipe else "import", project.id, details)
    return get_version(ws, project, version_id), True


def save_frame(
    ws: Workspace,
    project: Project,
    frame: pd.DataFrame,
    name: str,
    source: str,
    parent: DatasetVersion | None = None,
    recipe: list[dict] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Store a frame as a version (or find the identical one). Its Parquet file is written
    before the transaction, which records it."""
    from cockpit.data.chunk_writers import scratch_file

    frame = frame.reset_index(drop=True)
    digest = content_hash(frame)
    existing = ws.store.one(
        "SELECT id FROM dataset_versions WHERE project_id = ? AND content_sha256 = ?", [project.id, digest]
    )
    if existing:
        return get_version(ws, project, existing["id"]), False
    scratch = scratch_file(ws, ".parquet")
    try:
        try:
            frame.to_parquet(scratch, index=False)
        except OSError as exc:
            from storage.disk import disk_full, is_disk_full

            if is_disk_full(exc):
                scratch.unlink(missing_ok=True)
                raise disk_full(ws.artifacts.root, None, f"dataset {name!r} ({len(frame):,} rows)") from None
            raise
        schema = {str(c): str(frame[c].dtype) for c in frame.columns}
        return _record(ws, project, scratch, digest, len(frame), schema, name, source, parent, recipe)
    finally:
        scratch.unlink(missing_ok=True)
