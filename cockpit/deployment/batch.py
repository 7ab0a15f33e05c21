"""Batch scoring: input validated against the model's schema, routed, written, and logged
as a batch (inputs and outputs kept as Parquet artifacts) for monitoring."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.data.chunk_writers import scratch_file, sealed
from cockpit.deployment import batch_guard
from cockpit.deployment.exports import open_export
from cockpit.deployment.registry import ModelVersion
from cockpit.deployment.routing import Router, Scored
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock, faults

if TYPE_CHECKING:
    import pandas as pd


def check_input(frame: pd.DataFrame, schema: dict[str, Any], source: str, warn: bool = True) -> list[str]:
    """Refuse missing columns and non-numbers in numeric columns; warn, per column, on values
    outside the training domain (cockpit/deployment/domain.py; never the id column)."""
    import pandas as pd

    from cockpit.deployment.domain import summaries

    columns = schema.get("columns", {})
    missing = [c for c, spec in columns.items() if c not in frame.columns]
    if missing:
        raise CockpitError(f"{source}: missing column(s) the model needs: {', '.join(missing)}")
    for column, spec in columns.items():
        values = frame[column]
        if spec["kind"] == "numeric" and values.dtype.kind not in "iufb":
            numbers = pd.to_numeric(values, errors="coerce")
            bad = numbers.isna() & values.notna()
            if bad.any():
                example = values[bad].iloc[0]
                raise CockpitError(
                    f"{source}: column {column!r} must be numeric; "
                    f"{int(bad.sum())} values are not (e.g. {example!r})"
                )
            frame[column] = numbers
    return summaries(schema, frame) if warn else []


def typed_predictions(values: pd.Series, task: str, classes: Any = None) -> pd.Series:
    """Predictions with the target's own type: numbers for regression; for classes, each
    answer as the model knows the class (integer-coded classes stay integers, labels stay
    text), an override or fallback answer written as text matched to its class."""
    import numpy as np
    import pandas as pd

    if task == "regression":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    known = list(classes) if classes is not None else []
    by_text = {str(c): c for c in known}
    typed = [None if v is None or v is pd.NA else by_text.get(str(v), v) for v in values]
    kind = np.asarray(known).dtype.kind if known else "O"
    dtype = {"b": "boolean", "i": "Int64", "u": "Int64", "f": "Float64"}.get(kind, "string")
    try:
        return pd.Series(pd.array(typed, dtype=dtype), index=values.index, name=values.name)
    except (TypeError, ValueError):  # an answer outside the classes (a fallback rule's)
        return pd.Series(
            pd.array([None if v is None else str(v) for v in typed], dtype="string"),
            index=values.index,
            name=values.name,
        )


class DomainTally:
    """`check_input`'s domain warnings over a batch read in chunks: per (column, kind), the
    rows of every chunk and the example of the first."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.found: dict[tuple[str, str], tuple[Any, Any, int]] = {}  # finding, values, rows

    def add(self, frame: pd.DataFrame) -> None:
        from cockpit.deployment.domain import findings

        for found in findings(self.schema, frame):
            key = (found.column, found.kind)
            first, values, rows = self.found.get(key, (found, frame[found.column].reset_index(drop=True), 0))
            self.found[key] = (first, values, rows + int(found.mask.sum()))

    def summaries(self) -> list[str]:
        order = {
            (c, k): i
            for i, c in enumerate(self.schema.get("columns", {}))
            for k in ("missing", "range", "unseen")
        }
        ranked = sorted(
            self.found.items(),
            key=lambda item: (order.get(item[0], 0), ("missing", "range", "unseen").index(item[0][1])),
        )
        return [first.summary(values, rows) for _, (first, values, rows) in ranked]

    def merge(self, other: DomainTally) -> None:
        """Add a later chunk's tally."""
        for key, (first, values, rows) in other.found.items():
            kept = self.found.get(key)
            self.found[key] = (first, values, rows) if kept is None else (kept[0], kept[1], kept[2] + rows)


@dataclass
class Prepared:
    """A batch scored into files outside the store: what its transaction records."""

    rows: int
    inputs: Path  # Parquet, in the artifacts folder, not yet recorded
    outputs: Path
    routes: dict[str, int]
    warnings: list[str]
    guarded: batch_guard.Guarded
    versions: dict[int, int] | None = None  # rows per model version number (version_rows)

    digests: tuple[str, str] | None = None

    def seal(self) -> tuple[str, str]:
        """The files synced and hashed (once): done before any transaction records them."""
        if self.digests is None:
            self.digests = (sealed(self.inputs), sealed(self.outputs))
        return self.digests

    def discard(self) -> None:
        self.inputs.unlink(missing_ok=True)
        self.outputs.unlink(missing_ok=True)


def stored_outputs(scored: Scored) -> pd.DataFrame:
    """A batch's answers as kept: each row's route and error, and the shadow's answers."""
    outputs = scored.frame.copy()
    if scored.shadow is not None:
        for column in ("prediction", "score", "model_version", "error"):
            if column in scored.shadow:
                outputs[f"shadow_{column}"] = scored.shadow[column].to_numpy()
    return outputs


def version_rows(outputs: pd.DataFrame) -> dict[int, int]:
    """Rows per model version number in a batch's answers (fallback and override rows name
    none), as stored with the batch (batch_versions) for the review to count."""
    counts: dict[int, int] = {}
    if "model_version" not in outputs:
        return counts
    for value, rows in outputs["model_version"].dropna().value_counts(sort=False).items():
        if str(value).strip():  # kept as text or numbers, by the batch's writer
            version = int(float(value))
            counts[version] = counts.get(version, 0) + int(rows)
    return counts


def _kept(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})


@dataclass
class Part:
    """One chunk scored (here or on a Dask worker): what is written and counted of it."""

    inputs: pd.DataFrame  # as kept in the batch's artifacts
    outputs: pd.DataFrame
    result: pd.DataFrame | None  # the rows of the scored file, when one is written
    routes: dict[str, int]
    versions: dict[int, int]
    domain: DomainTally
    fallback_rows: int
    failed: dict[int, tuple[int, str]]


def score_part(
    router: Router,
    broken: list[batch_guard.Broken],
    chunk: pd.DataFrame,
    schema: dict[str, Any],
    source: str,
    allow_fallback: bool,
    result_of: Callable[[pd.DataFrame, Scored], pd.DataFrame] | None = None,
) -> Part:
    """Check and score one chunk; CockpitError on bad input or a model that fails on it."""
    check_input(chunk, schema, source, warn=False)
    domain = DomainTally(schema)
    domain.add(chunk)
    guard = batch_guard.Guard(router, source, allow_fallback, broken)
    scored = guard.score(chunk)
    routes = {str(k): int(v) for k, v in scored.frame["route"].value_counts().items()}
    result = result_of(chunk, scored) if result_of is not None else None
    outputs = _kept(stored_outputs(scored))
    versions = version_rows(outputs)
    return Part(_kept(chunk), outputs, result, routes, versions, domain, guard.rows, guard.failed)


def score_chunks(
    ws: Workspace,
    router: Router,
    chunks: Iterable[pd.DataFrame],
    schema: dict[str, Any],
    source: str,
    allow_fallback: bool,
    result: Any = None,
    client: Any = None,
) -> Prepared:
    """Check, score and keep a batch chunk by chunk: inputs and answers are written to
    files in the artifacts folder as they come, and the rows of the scored file to
    `result` (a writer, with `result.rows_of(chunk, scored)`), nothing recorded. With a Dask
    `client` the chunks are scored on its workers, a few at a time, and written here in
    order. A bad chunk raises with every file removed."""
    from cockpit.data.chunk_writers import ParquetChunks, disk_full_told

    guard = batch_guard.Guard(router, source, allow_fallback)
    domain = DomainTally(schema)
    routes: dict[str, int] = {}
    versions: dict[int, int] = {}
    files = [scratch_file(ws, ".parquet"), scratch_file(ws, ".parquet")]
    writers = [ParquetChunks(path) for path in files]
    result_of = result.rows_of if result is not None else None
    try:
        if client is None:
            parts: Iterable[Part] = (
                score_part(router, guard.broken, chunk, schema, source, allow_fallback, result_of)
                for chunk in chunks
            )
        else:
            parts = _on_cluster(
                client, router, guard.broken, chunks, schema, source, allow_fallback, result_of
            )
        with disk_full_told(ws.artifacts.root, "a batch's files"):
            for part in parts:
                writers[0].write(part.inputs)
                writers[1].write(part.outputs)
                if result is not None and part.result is not None:
                    result.write(part.result)
                for route, rows in part.routes.items():
                    routes[route] = routes.get(route, 0) + rows
                for version, rows in part.versions.items():
                    versions[version] = versions.get(version, 0) + rows
                domain.merge(part.domain)
                guard.merge(part.fallback_rows, part.failed)
            for writer in writers:
                writer.close()
    except BaseException:
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.close()
        for path in files:
            path.unlink(missing_ok=True)
        raise
    routes = dict(sorted(routes.items(), key=lambda item: -item[1]))  # as value_counts orders
    prepared = Prepared(
        writers[0].rows, files[0], files[1], routes, domain.summaries(), guard.result(), versions
    )
    try:
        prepared.seal()
    except BaseException:
        prepared.discard()
        raise
    return prepared


def _on_cluster(
    client: Any,
    router: Router,
    broken: list[batch_guard.Broken],
    chunks: Iterable[pd.DataFrame],
    schema: dict[str, Any],
    source: str,
    allow_fallback: bool,
    result_of: Any,
) -> Iterator[Part]:
    """The chunks scored by `score_part` on the cluster's workers, handed back in order. The
    models are loaded (and checked) here and sent once; this process reads and writes."""
    from cockpit.cluster import ordered_map

    return ordered_map(
        client,
        score_part,
        detached(router, broken),
        ((broken, chunk, schema, source, allow_fallback, result_of) for chunk in chunks),
    )


def detached(router: Router, broken: list[batch_guard.Broken]) -> Router:
    """A copy of `router` that needs no workspace (sent to Dask workers): every model it
    routes to loaded, and each one that cannot load standing in as what raises its error."""
    import copy

    unloadable = {b.version.id: b for b in broken}
    for _role, version in batch_guard.routed(router):
        if version.id not in unloadable:
            router.pipeline(version)
    router.main_version()
    copied = copy.copy(router)
    copied.ws = None  # type: ignore[assignment]
    copied._pipelines = {
        **router._pipelines,
        **{vid: Unloadable(b.error) for vid, b in unloadable.items() if b.error is not None},
    }
    return copied


class Unloadable:
    """A model whose file could not be loaded: using it raises that error again (so a
    worker's fallback rows say what this process's would)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "error":
            raise AttributeError(name)
        raise self.error


def record_batch(
    ws: Workspace,
    project: Project,
    prepared: Prepared,
    source: str,
    kind: str = "batch",
    at: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Record a prepared batch: its files become artifacts by a rename, and the transaction
    writes only their rows, the batch and its event. Call inside a transaction or not."""
    files = {
        "inputs": (prepared.inputs, prepared.seal()[0]),
        "outputs": (prepared.outputs, prepared.seal()[1]),
    }
    with ws.store.transaction():
        refs = [
            ws.artifacts.put_written(
                _move_from(path),
                kind=f"batch-{name}",
                suffix=".parquet",
                needed=path.stat().st_size,
                sha256=digest,
            )
            for name, (path, digest) in files.items()
        ]
        batch_id = ws.store.insert(
            "batches",
            {
                "project_id": project.id,
                "source": source,
                "kind": kind,
                "rows": prepared.rows,
                "inputs_sha256": refs[0].sha256,
                "outputs_sha256": refs[1].sha256,
                "routes": json.dumps(prepared.routes),
                "versions_counted": 1 if prepared.versions is not None else None,
                "at": at or clock.now_iso(),
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        if prepared.versions:
            ws.store.insert_rows(
                "batch_versions",
                ("batch_id", "version", "rows"),
                [(batch_id, version, rows) for version, rows in sorted(prepared.versions.items())],
            )
        faults.point("predict:after_batch")
        ws.record(
            "deployment",
            "predict",
            project.id,
            {
                "batch": batch_id,
                "rows": prepared.rows,
                "source": source,
                **{f"route_{k}": v for k, v in prepared.routes.items()},
                **(details or {}),
            },
        )
    return batch_id


def _move_from(prepared: Path) -> Callable[[Path], None]:
    def move(tmp: Path) -> None:
        os.replace(prepared, tmp)

    return move


def log_batch(
    ws: Workspace,
    project: Project,
    inputs: pd.DataFrame,
    scored: Scored,
    source: str,
    kind: str = "batch",
    at: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Keep a batch scored in one piece for monitoring: inputs and answers as Parquet
    artifacts (each row's route and error say which rows the fallback answered and why; a
    failed shadow's error is kept as shadow_error). `details` go into the audit event."""
    outputs = stored_outputs(scored)
    files = [scratch_file(ws, ".parquet"), scratch_file(ws, ".parquet")]
    try:
        _kept(inputs).to_parquet(files[0], index=False)
        _kept(outputs).to_parquet(files[1], index=False)
        routes = {str(k): int(v) for k, v in outputs["route"].value_counts().items()}
        prepared = Prepared(
            len(inputs), files[0], files[1], routes, [], batch_guard.Guarded(), version_rows(outputs)
        )
        return record_batch(ws, project, prepared, source, kind, at, details)
    finally:
        for path in files:
            path.unlink(missing_ok=True)


def predict_file(
    ws: Workspace,
    project: Project,
    path: Path,
    out: Path,
    model: str | int = "production",
    at: str | None = None,
    allow_fallback: bool = False,
    cluster: Any = None,
) -> dict[str, Any]:
    """Score a CSV or Parquet file into `out` (.csv or .parquet) chunk by chunk (bounded
    memory), on the Dask `cluster` (a cockpit.cluster.ClusterChoice) when given; returns a
    summary. A model that cannot answer refuses the file unless
    `allow_fallback` (cockpit.deployment.batch_guard). Bad input in any chunk: nothing is
    written (no `out`, no batch)."""
    from cockpit.data.chunks import open_table

    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise CockpitError(f"{out}: the output is a .csv or .parquet file")
    router = Router(ws, project, model)
    table = open_table(path)
    version = router.main_version()
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    broken = {b.version.id for b in batch_guard.broken_models(router)}
    classes = getattr(router.pipeline(version), "classes_", None) if version.id not in broken else None
    writer = _result_writer(ws, out, partial, ResultRows(project, version, classes))
    try:
        with _cluster(cluster) as client:
            prepared = score_chunks(
                ws, router, table, router.request_schema(), str(path), allow_fallback, writer, client
            )
        writer.close()
    except BaseException:
        with contextlib.suppress(Exception):
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    try:
        batch_id = record_batch(
            ws, project, prepared, Path(path).name, at=at, details=prepared.guarded.details()
        )
        os.replace(partial, out)
    finally:
        prepared.discard()
        partial.unlink(missing_ok=True)
    return {
        "id": batch_id,
        "rows": prepared.rows,
        "output": str(out),
        "warnings": prepared.warnings,
        "routes": prepared.routes,
        "fallback": prepared.guarded.notes,
    }


@contextlib.contextmanager
def _cluster(choice: Any) -> Iterator[Any]:
    """A Dask client on the chosen cluster (its workers' versions checked), or None."""
    if choice is None:
        yield None
        return
    from cockpit import cluster

    with cluster.connect(choice) as client:
        cluster.check_versions(client)
        yield client


@dataclass(frozen=True)
class ResultRows:
    """What turns a scored chunk into the rows of the scored file (sent to Dask workers)."""

    project: Project
    version: ModelVersion
    classes: Any

    def __call__(self, chunk: pd.DataFrame, scored: Scored) -> pd.DataFrame:
        return result_rows(self.project, self.version, chunk, scored, self.classes)


def _result_writer(ws: Workspace, out: Path, partial: Path, rows_of: ResultRows) -> Any:
    """The writer of the scored file: `partial` beside `out`, renamed to it at the end."""
    from cockpit.data.chunk_writers import CsvChunks, ParquetChunks

    csv = out.suffix.lower() == ".csv"
    try:
        handle = open_export(ws, partial, text=csv)  # owner-only: production inputs and scores
    except CockpitError as exc:  # named as the file the user gave, not the partial one beside it
        raise CockpitError(str(exc).replace(str(partial), str(out))) from None
    writer: Any = CsvChunks(handle) if csv else ParquetChunks(partial, handle)
    writer.rows_of = rows_of
    return writer


def result_rows(
    project: Project, version: ModelVersion, chunk: pd.DataFrame, scored: Scored, classes: Any
) -> pd.DataFrame:
    """The rows written to a scored file: the inputs (no target), the entity key when the
    model has no id column, and each row's answer, typed as the target."""
    import pandas as pd

    result = chunk.drop(columns=[project.target], errors="ignore").copy()
    if version.input_schema.get("entity") is None and "entity" not in result.columns:
        # no id column: the row key is what overrides and label files refer to
        result["entity"] = scored.frame["entity"].to_numpy()
    for column in ("prediction", "score", "model_version", "route"):
        result[column] = scored.frame[column].to_numpy()
    result["prediction"] = typed_predictions(result["prediction"], project.task, classes)
    result["model_version"] = pd.array(result["model_version"], dtype="Int64")  # NA: override
    return result


def list_batches(ws: Workspace, project: Project, limit: int = 100) -> list[dict]:
    return ws.store.rows(
        "SELECT * FROM batches WHERE project_id = ? ORDER BY at DESC, id DESC LIMIT ?", [project.id, limit]
    )


def load_batch(ws: Workspace, batch: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    inputs = pd.read_parquet(ws.artifacts.verified_path(batch["inputs_sha256"], ".parquet"))
    outputs = pd.read_parquet(ws.artifacts.verified_path(batch["outputs_sha256"], ".parquet"))
    return inputs, outputs
