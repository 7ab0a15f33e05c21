"""Labels that arrive later, joined to production rows by the entity key (cockpit.entity).

The key is read from the labels file the way it was read from the production rows: the
production model's id column when it has one; without one, the row's feature values, so
a labels file for data with no id column repeats the feature columns beside the label.
Rows whose label is blank are skipped and counted, never stored as labels.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.deployment import registry
from cockpit.entity import schema_features
from cockpit.errors import CockpitError
from cockpit.monitoring.batches import integral_ids, parse_moment, version_keys
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    import pandas as pd


def label_text(values: pd.Series, task: str) -> pd.Series:
    """Labels as the text predictions are stored in: a class column read as floats because
    of blank cells (1.0, 0.0) goes back to its integers; strings are stripped."""
    if values.dtype.kind == "f" and task != "regression":
        return integral_ids(values).astype(str)
    if values.dtype.kind in "OSU" or str(values.dtype) == "string":
        return values.astype(str).str.strip()
    return values.astype(str)


def _times(frame: pd.DataFrame, path: Path) -> list[str]:
    """labelled_at per row (blank: now); a value that is not a date refuses the file."""
    now = clock.now_iso()
    if "labelled_at" not in frame.columns:
        return [now] * len(frame)
    import pandas as pd

    times = []
    for value in frame["labelled_at"]:
        if value is None or (not isinstance(value, str) and pd.isna(value)) or not str(value).strip():
            times.append(now)
            continue
        moment = parse_moment(str(value), f"{path}: labelled_at")
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        times.append(moment.isoformat(timespec="seconds"))
    return times


def _older_row_keys(ws: Workspace, project: Project, production, kept: pd.DataFrame):
    """Without an id column a row's key hashes the features of the model that scored it:
    batches scored by an earlier version with other feature columns are keyed by those.
    The labels are stored under each such key too (when the file has those columns), so a
    new production model does not leave the older batches without labels."""
    if production.input_schema.get("entity") is not None:
        return []
    seen = {_feature_set(production)}
    out = []
    for version in registry.list_versions(ws, project):
        features = _feature_set(version)
        if (
            version.input_schema.get("entity") is None
            and features not in seen
            and set(features) <= set(kept.columns)
        ):
            seen.add(features)
            out.append(version_keys(version, kept).tolist())
    return out


def _feature_set(version) -> tuple[str, ...]:
    return tuple(sorted(schema_features(version.input_schema)))


def ingest_labels(ws: Workspace, project: Project, path: Path) -> dict[str, Any]:
    """Record the labels of `path` (the target column, keyed by entity key, optional
    labelled_at). Returns rows recorded, rows skipped for a blank (or infinite) label or a
    blank id, and keys repeated in the file (the last one counts)."""
    import numpy as np

    from cockpit.data.reading import read_table

    path = Path(path)
    frame = read_table(path).reset_index(drop=True)
    if project.target not in frame.columns:
        raise CockpitError(f"{path}: no column {project.target!r} (the label)")
    production = registry.get_version(ws, project, "production")
    try:
        keys = version_keys(production, frame)
    except KeyError as exc:
        raise CockpitError(f"{path}: labels join production rows by the entity key; {exc.args[0]}") from None
    times = _times(frame, path)
    target = frame[project.target]
    has_label = target.notna().to_numpy(dtype=bool, copy=True)
    if target.dtype.kind == "f":  # inf is no label either
        has_label &= np.isfinite(target.to_numpy(dtype=float))
    if target.dtype.kind in "OSU" or str(target.dtype) == "string":
        has_label &= target.astype(str).str.strip().ne("").to_numpy(dtype=bool)
    has_key = keys.ne("").to_numpy(dtype=bool)
    keep = has_label & has_key
    kept = frame[keep]
    text = label_text(kept[project.target], project.task)
    kept_keys = keys[keep]
    kept_times = [t for t, k in zip(times, keep, strict=True) if k]
    rows = list(zip(kept_keys, text, kept_times, strict=True))
    for other in _older_row_keys(ws, project, production, kept):
        rows += [
            (k, lab, t) for k, lab, t, own in zip(other, text, kept_times, kept_keys, strict=True) if k != own
        ]
    source = path.name
    with ws.store.transaction():
        ws.store.conn.executemany(
            "INSERT INTO labels (project_id, entity, label, labelled_at, source) VALUES "
            "(?, ?, ?, ?, ?) ON CONFLICT (project_id, entity) DO UPDATE SET label = "
            "excluded.label, labelled_at = excluded.labelled_at, source = excluded.source",
            [(project.id, *map(ws.store.redact, (e, lab, t, source))) for e, lab, t in rows],
        )
        result = {
            "rows": int(keep.sum()),
            "skipped_no_label": int((~has_label).sum()),
            "skipped_no_entity": int((has_label & ~has_key).sum()),
            "repeated_keys": int(kept_keys.duplicated().sum()),
            "unseen_classes": _unseen_classes(ws, project, production, text),
        }
        ws.record("monitoring", "labels", project.id, {**result, "source": source})
    return result


def _unseen_classes(ws: Workspace, project: Project, production, labels: pd.Series) -> dict[str, int]:
    """Labels naming a class the production model never learned ("Emperor" among three
    penguin species), counted by class: recorded as given, but every one of them is a
    mistake the model could not avoid, so the metrics on labelled rows fall for a reason the
    user must hear of. {} for regression, or a model that names no classes."""
    if project.task == "regression" or labels.empty:
        return {}
    from cockpit.training.runs import get_run, load_pipeline

    classes = getattr(load_pipeline(ws, get_run(ws, project, production.run_id)), "classes_", None)
    if classes is None:
        return {}
    import pandas as pd

    known = set(label_text(pd.Series(list(classes)), project.task))
    unseen = labels[~labels.isin(known)].value_counts()
    return {str(name): int(count) for name, count in unseen.items()}
