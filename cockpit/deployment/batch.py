"""Batch scoring: input validated against the model's schema, routed, written, and logged
as a batch (inputs and outputs kept as Parquet artifacts) for monitoring."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.deployment import batch_guard
from cockpit.deployment.exports import open_export
from cockpit.deployment.routing import Router, Scored
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock, faults

if TYPE_CHECKING:
    import pandas as pd


def check_input(frame: pd.DataFrame, schema: dict[str, Any], source: str) -> list[str]:
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
    return summaries(schema, frame)


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
    """Keep a scored batch for monitoring: inputs and answers as Parquet artifacts (each
    row's route and error say which rows the fallback answered and why; a failed shadow's
    error is kept as shadow_error). `details` go into the audit event."""
    outputs = scored.frame.copy()
    if scored.shadow is not None:
        for column in ("prediction", "score", "model_version", "error"):
            if column in scored.shadow:
                outputs[f"shadow_{column}"] = scored.shadow[column].to_numpy()
    routes = outputs["route"].value_counts().to_dict()
    with tempfile.TemporaryDirectory() as scratch, ws.store.transaction():
        refs = []
        for name, frame in (("inputs", inputs), ("outputs", outputs)):
            path = Path(scratch) / f"{name}.parquet"
            frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}).to_parquet(
                path, index=False
            )
            refs.append(ws.artifacts.put_file(path, kind=f"batch-{name}", suffix=".parquet"))
        batch_id = ws.store.insert(
            "batches",
            {
                "project_id": project.id,
                "source": source,
                "kind": kind,
                "rows": len(inputs),
                "inputs_sha256": refs[0].sha256,
                "outputs_sha256": refs[1].sha256,
                "routes": json.dumps({str(k): int(v) for k, v in routes.items()}),
                "at": at or clock.now_iso(),
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("predict:after_batch")
        ws.record(
            "deployment",
            "predict",
            project.id,
            {
                "batch": batch_id,
                "rows": len(inputs),
                "source": source,
                **{f"route_{k}": int(v) for k, v in routes.items()},
                **(details or {}),
            },
        )
    return batch_id


def predict_file(
    ws: Workspace,
    project: Project,
    path: Path,
    out: Path,
    model: str | int = "production",
    at: str | None = None,
    allow_fallback: bool = False,
) -> dict[str, Any]:
    """Score a CSV or Parquet file into `out` (.csv or .parquet); returns a summary. A model
    that cannot answer refuses the file unless `allow_fallback` (cockpit.deployment.batch_guard)."""
    import pandas as pd

    from cockpit.data.reading import read_table

    if out.suffix.lower() not in (".csv", ".parquet"):
        raise CockpitError(f"{out}: the output is a .csv or .parquet file")
    router = Router(ws, project, model)
    frame = read_table(path)
    version = router.main_version()
    warnings = check_input(frame, router.request_schema(), str(path))
    scored, guarded = batch_guard.score(router, frame, str(path), allow_fallback)
    result = frame.drop(columns=[project.target], errors="ignore").copy()
    if version.input_schema.get("entity") is None and "entity" not in result.columns:
        # no id column: the row key is what overrides and label files refer to
        result["entity"] = scored.frame["entity"].to_numpy()
    for column in ("prediction", "score", "model_version", "route"):
        result[column] = scored.frame[column].to_numpy()
    loaded = version.id not in guarded.unloaded
    classes = getattr(router.pipeline(version), "classes_", None) if loaded else None
    result["prediction"] = typed_predictions(result["prediction"], project.task, classes)
    result["model_version"] = pd.array(result["model_version"], dtype="Int64")  # NA: override
    csv = out.suffix.lower() == ".csv"
    with open_export(ws, out, text=csv) as handle:  # owner-only: production inputs and scores
        if csv:
            result.to_csv(handle, index=False)
        else:
            mixed = [
                c
                for c in result.columns
                if result[c].dtype == object and pd.api.types.infer_dtype(result[c]).startswith("mixed")
            ]
            result.astype(dict.fromkeys(mixed, "string")).to_parquet(handle, index=False)
    batch_id = log_batch(ws, project, frame, scored, Path(path).name, at=at, details=guarded.details())
    routes = scored.frame["route"].value_counts().to_dict()
    return {
        "id": batch_id,
        "rows": len(frame),
        "output": str(out),
        "warnings": warnings,
        "routes": {str(k): int(v) for k, v in routes.items()},
        "fallback": guarded.notes,
    }


def list_batches(ws: Workspace, project: Project, limit: int = 100) -> list[dict]:
    return ws.store.rows(
        "SELECT * FROM batches WHERE project_id = ? ORDER BY at DESC, id DESC LIMIT ?", [project.id, limit]
    )


def load_batch(ws: Workspace, batch: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    inputs = pd.read_parquet(ws.artifacts.verified_path(batch["inputs_sha256"], ".parquet"))
    outputs = pd.read_parquet(ws.artifacts.verified_path(batch["outputs_sha256"], ".parquet"))
    return inputs, outputs
