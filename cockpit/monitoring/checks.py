"""Monitoring windows: production batches and service requests grouped by day, week or
month, compared with the production model's training data (features) and validation
answers (predictions), labels joined by entity key (cockpit.entity) once they arrive. A
window under MIN_DRIFT_ROWS rows gets a note instead of drift figures."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from cockpit.cluster import ClusterChoice, checked_client
from cockpit.deployment import batch, registry
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.monitoring import predictions
from cockpit.monitoring.drift import CategoricalCounts
from cockpit.monitoring.predictions import MIN_DRIFT_ROWS
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_RULES = [
    # metric, op, threshold, windows in a row, severity, action
    ("max_psi", ">", 0.2, 1, "warning", "investigate the drifted features; retrain if it persists"),
    ("prediction_psi", ">", 0.2, 1, "warning", "investigate: the model's answers shifted"),
    ("missing_rate", ">", 0.2, 1, "warning", "investigate the data pipeline"),
    ("error_rate", ">", 0.05, 1, "warning", "investigate the service's errors; roll back if new"),
]
MODEL_ROUTES = ("production", "canary", "fixed")  # rows a model answered (not an override
# or the fallback rule)


REFERENCE_FORMAT = 2  # 2: prediction drift of classes by class frequency


def empty_window(window: str, size: str) -> dict[str, Any]:
    """A window's figures before anything is counted into it."""
    return {
        "window": window,
        "size": size,
        "rows": 0,
        "features": {},
        "max_psi": None,
        "missing_rate": None,
        "prediction_psi": None,
        "routes": {},
        "labelled": 0,
        "notes": [],
    }


def reference_stats(ws: Workspace, project: Project, version: registry.ModelVersion) -> dict:
    """Per-feature reference distributions of a model version, computed once and stored."""
    from cockpit.data.splits import get_split, split_frames
    from cockpit.evaluation.predictions import run_predictions
    from cockpit.monitoring import drift
    from cockpit.training.runs import get_run

    row = ws.store.one("SELECT stats FROM monitor_references WHERE version_id = ?", [version.id])
    if row and json.loads(row["stats"]).get("format") == REFERENCE_FORMAT:
        return json.loads(row["stats"])
    run = get_run(ws, project, version.run_id)
    train = split_frames(ws, project, get_split(ws, project, run.split_id))["train"]
    features = {}
    for column, spec in version.input_schema["columns"].items():
        if spec["role"] != "feature" or column not in train.columns:
            continue
        if spec["kind"] == "numeric":
            features[column] = drift.numeric_reference(train[column])
        elif spec["kind"] == "categorical":
            features[column] = drift.categorical_reference(train[column])
    validation = run_predictions(ws, project, run, "validation", version.threshold)
    stats = {
        "features": features,
        "format": REFERENCE_FORMAT,
        "prediction": predictions.prediction_reference(project.task, validation),
    }
    with ws.store.transaction():
        # a reference stored by an older cockpit (classes drifted as numbers) is replaced
        ws.store.conn.execute("DELETE FROM monitor_references WHERE version_id = ?", [version.id])
        ws.store.insert(
            "monitor_references", {"version_id": version.id, "stats": stats, "created_at": clock.now_iso()}
        )
    return stats


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature's drift in a window: PSI on the reference bins and the missing share,
    with the tests as context (KS p-value for numbers; Jensen-Shannon and chi-square for
    categories), and the shares per bin or category the plots draw."""

    psi: float | None = None
    missing: float | None = None
    ks_p: float | None = None
    js: float | None = None
    chi2_p: float | None = None
    mean: float | None = None
    shares: list[float] | dict[str, float] | None = None
    edges: list[float] | None = None  # a number's reference bins: shares[i] is edges[i]..edges[i+1]
    reference: list[float] | dict[str, float] | None = None  # the training shares the PSI compares with
    new_categories: list[str] = field(default_factory=list)
    too_few_rows: bool = False

    @property
    def p_value(self) -> float | None:
        return self.ks_p if self.ks_p is not None else self.chi2_p

    @classmethod
    def from_dict(cls, found: dict[str, Any]) -> FeatureDrift:
        return cls(**{k: v for k, v in found.items() if k in _FEATURE_FIELDS})


@dataclass(frozen=True, slots=True)
class GroupScore:
    """The metric on one group's labelled rows (a model version, a segment's group)."""

    rows: int
    value: float | None


@dataclass(frozen=True, slots=True)
class Window:
    """One monitoring window: volume and drift of its scored batches, performance once
    labels arrive, the service's health from its request log. A figure the window has no
    data for is None; `measured` names the figures it has (a window with no request has no
    service figures, which is not the same as figures of 0)."""

    window: str
    size: str
    rows: int
    features: dict[str, FeatureDrift]
    max_psi: float | None
    missing_rate: float | None
    prediction_psi: float | None
    routes: dict[str, int]
    labelled: int
    notes: list[str]
    measured: tuple[str, ...]
    fallback_excluded: int = 0  # labelled rows the fallback rule answered: left out of performance
    batches: int = 0  # scored batches in the window (0: service requests only)
    newest: str | None = None
    prediction_shares: list[float] | None = None
    prediction_reference: list[float] | None = None
    prediction_edges: list[float] | None = None  # a number's reference bins, as FeatureDrift.edges
    prediction_js: float | None = None
    prediction_chi2_p: float | None = None
    prediction_classes: list[str] | None = None
    false_positive_rate: float | None = None
    metric: str | None = None
    metric_value: float | None = None
    by_version: dict[str, GroupScore] = field(default_factory=dict)
    by_segment: dict[str, dict[str, GroupScore]] = field(default_factory=dict)
    requests: int | None = None
    requests_per_min: float | None = None
    p50_latency_ms: float | None = None
    p95_latency_ms: float | None = None
    error_rate: float | None = None
    fallback_rate: float | None = None
    warned_rows: int | None = None
    warned_rate: float | None = None
    refused_requests: int | None = None
    aborted_requests: int | None = None
    freshness_days: float | None = None

    @classmethod
    def from_stats(cls, stats: dict[str, Any]) -> Window:
        """A window from its stored figures (those an older cockpit stored and this one no
        longer knows are left out)."""
        known = {k: v for k, v in stats.items() if k in _WINDOW_FIGURES}
        typed = {
            **known,
            "features": {name: FeatureDrift.from_dict(f) for name, f in known["features"].items()},
            "by_version": _group_scores(known.get("by_version", {})),
            "by_segment": {c: _group_scores(g) for c, g in known.get("by_segment", {}).items()},
        }
        return cls(**typed, measured=tuple(known))

    def value(self, figure: str) -> Any:
        """A figure by its name (an alert rule's metric); None when the window has none."""
        return getattr(self, figure) if figure in _WINDOW_FIGURES else None

    def drifted(self, threshold: float) -> list[str]:
        """The features whose PSI is above `threshold`, by name."""
        return sorted(name for name, found in self.features.items() if (found.psi or 0) > threshold)

    def with_freshness(self, days: float | None) -> Window:
        measured = self.measured if "freshness_days" in self.measured else (*self.measured, "freshness_days")
        return replace(self, freshness_days=days, measured=measured)

    def as_dict(self) -> dict[str, Any]:
        """The figures the window has, as `monitor check --json` prints them (the features'
        own figures left out)."""
        shown: dict[str, Any] = {k: getattr(self, k) for k in self.measured if k != "features"}
        if "by_version" in shown:
            shown["by_version"] = _plain_scores(self.by_version)
        if "by_segment" in shown:
            shown["by_segment"] = {c: _plain_scores(g) for c, g in self.by_segment.items()}
        return shown


def _group_scores(groups: dict[str, dict[str, Any]]) -> dict[str, GroupScore]:
    return {key: GroupScore(found["rows"], found["value"]) for key, found in groups.items()}


def _plain_scores(groups: dict[str, GroupScore]) -> dict[str, dict[str, Any]]:
    return {key: {"rows": found.rows, "value": found.value} for key, found in groups.items()}


_FEATURE_FIELDS = frozenset(f.name for f in fields(FeatureDrift))
_WINDOW_FIGURES = frozenset(f.name for f in fields(Window)) - {"measured"}


def compute_windows(ws: Workspace, project: Project, cluster: ClusterChoice | None = None) -> list[Window]:
    """One window per day, week or month (the project's setting) of scored batches and
    service requests: volume, missing values, drift, prediction drift, service health, and
    performance (overall, per model version and per segment) where labels have arrived.
    Stored, so history is cheap to show. With `cluster` the batches' chunks are counted on
    its workers (docs/cluster.md); this process reads them, merges the counts and writes."""
    with checked_client(cluster) as client:
        return _compute_windows(ws, project, client)


def _compute_windows(ws: Workspace, project: Project, client: Any) -> list[Window]:
    import pandas as pd

    from cockpit.monitoring.service import service_windows, window_size
    from cockpit.problem import current_spec

    production = registry.get_version(ws, project, "production")
    reference = reference_stats(ws, project, production)
    spec = current_spec(ws, project)
    metric = metrics.primary_metric(project.task, spec.metric)
    labels = pd.DataFrame(
        ws.store.rows("SELECT entity, label FROM labels WHERE project_id = ?", [project.id]),
        columns=["entity", "label"],
    )
    size = window_size(ws, project)
    by_window: dict[str, list[dict]] = {}
    for found in batch.list_batches(ws, project, 10_000):
        by_window.setdefault(_window_of_batch(found, size), []).append(found)
    served = service_windows(ws, project, size)
    answered = (
        predictions.served_predictions(ws, project, size)
        if reference["prediction"]["kind"] == "categorical"
        else {}
    )
    counted = _counted_windows(ws, production, by_window, reference, labels, spec.segments, client)
    windows = []
    for window in sorted(set(by_window) | set(served)):
        stats = empty_window(window, size)
        if window in by_window:
            counts, pieces = next(counted)
            stats.update(
                _batch_stats(project, by_window[window], counts, pieces, labels, metric, spec.segments)
            )
        if window in served:
            service = served[window]
            stats.update(service.figures(), newest=max(stats.get("newest", service.newest), service.newest))
            if stats["prediction_psi"] is None:
                stats.update(predictions.served_drift(stats, reference, service.scores, answered.get(window)))
        windows.append(stats)
    with ws.store.transaction():
        ws.store.conn.execute("DELETE FROM monitor_windows WHERE project_id = ?", [project.id])
        ws.store.conn.executemany(
            "INSERT INTO monitor_windows (project_id, window, rows, stats, computed_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    project.id,
                    w["window"],
                    w["rows"],
                    ws.store.redact(json.dumps(w, default=_plain)),
                    clock.now_iso(),
                )
                for w in windows
            ],
        )
    return [Window.from_stats(w) for w in windows]


def _window_of_batch(found: dict, size: str) -> str:
    """The window a batch falls in; a batch whose time cannot be read (recorded before
    times were checked) is named with the way out, never a traceback."""
    from cockpit.monitoring.batches import parse_moment
    from cockpit.monitoring.service import window_of

    try:
        parse_moment(found["at"] or "", "time")
    except CockpitError:
        raise CockpitError(
            f"batch {found['id']} ({found['source']}) has the time "
            f"{found['at']!r}, which is not a date: drop it with cockpit monitor "
            f"drop {found['id']} --reason TEXT, then ingest it again with --at"
        ) from None
    return window_of(found["at"], size)


def _counted_windows(
    ws: Workspace,
    production: registry.ModelVersion,
    by_window: dict[str, list[dict]],
    reference: dict,
    labels,
    segments: Sequence[str],
    client: Any,
) -> Iterator[tuple[WindowCounts, list[pd.DataFrame]]]:
    """For each window with batches, in order: its batches read chunk by chunk and reduced
    to counts (drift from counts per reference bin or category, cockpit.monitoring.drift;
    volume, missing shares and routes as sums), and of each chunk only its labelled rows,
    kept for the performance figures. With a Dask `client` each chunk is counted on a
    worker and the counts are merged here, in the chunks' order (the same sums)."""
    known = None if labels.empty else labels["entity"]
    if client is None:
        for window in sorted(by_window):
            counts, pieces = WindowCounts(reference, segments), []
            for stored in by_window[window]:
                for inputs, outputs in _batch_chunks(ws, stored):
                    counts.add(inputs, outputs)
                    pieces.append(_labelled(production, segments, known, inputs, outputs))
            yield counts, [piece for piece in pieces if piece is not None]
        return
    from cockpit.cluster import ordered_map

    chunks = (
        (window, inputs, outputs)
        for window in sorted(by_window)
        for stored in by_window[window]
        for inputs, outputs in _batch_chunks(ws, stored)
    )
    results = ordered_map(client, _count_chunk, (reference, segments, production, known), chunks)
    current = next(results, None)
    for window in sorted(by_window):
        counts, pieces = WindowCounts(reference, segments), []
        while current is not None and current[0] == window:
            counts.merge(current[1])
            pieces.append(current[2])
            current = next(results, None)
        yield counts, [piece for piece in pieces if piece is not None]


def _count_chunk(context: tuple, window: str, inputs, outputs) -> tuple[str, dict, Any]:
    """On a Dask worker: one chunk of a window's batches as counts and labelled rows."""
    reference, segments, production, known = context
    counts = WindowCounts(reference, segments)
    counts.add(inputs, outputs)
    return window, counts.state(), _labelled(production, segments, known, inputs, outputs)


def _labelled(production: registry.ModelVersion, segments: Sequence[str], known, inputs, outputs):
    """The chunk's answers whose entity has a label (`known`, None: no label at all), with
    their entity key and segment columns; None without labels."""
    if known is None:
        return None
    outputs = outputs.assign(entity=_entities(production, inputs, outputs))
    present = [c for c in segments if c in inputs.columns]
    outputs = outputs.assign(**{f"segment:{c}": inputs[c].to_numpy() for c in present})
    return outputs[outputs["entity"].isin(known)]


def _batch_stats(
    project: Project,
    found: list[dict],
    window: WindowCounts,
    pieces: list[pd.DataFrame],
    labels,
    metric: str,
    segments: list[str],
) -> dict[str, Any]:
    """A window's figures from the counts and labelled rows of its batches."""
    import pandas as pd

    window.finish()
    rows = window.rows
    features = {
        column: counter.result() for column, counter in window.features.items() if column in window.seen
    }
    notes = []
    if rows < MIN_DRIFT_ROWS:
        features = {column: _too_few(found) for column, found in features.items()}
        notes.append(f"feature drift: too few rows ({rows} < {MIN_DRIFT_ROWS})")
    prediction = window.answers.result()
    stats: dict[str, Any] = {
        "rows": rows,
        "batches": len(found),
        "newest": max(b["at"] for b in found),
        "features": features,
        "max_psi": (
            max((f["psi"] or 0 for f in features.values()), default=0.0) if rows >= MIN_DRIFT_ROWS else None
        ),
        "missing_rate": window.missing_rate(),
        "notes": notes + prediction.pop("notes"),
        **prediction,
        "routes": dict(sorted(window.routes.items(), key=lambda item: -item[1])),
    }
    present = [c for c in segments if c in window.segments_seen]
    labelled = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=["entity", "route"])
    for column in present:  # a batch without the column: its rows are missing there
        if f"segment:{column}" not in labelled.columns:
            labelled[f"segment:{column}"] = None
    stats.update(_performance(project, labelled, labels, metric, present))
    if stats.get("fallback_excluded"):
        stats["notes"].append(
            f"performance: {stats['fallback_excluded']} labelled rows answered by the fallback "
            "rule left out (not the model's answers)"
        )
    return stats


class WindowCounts:
    """A window's batches reduced chunk by chunk to counts: per feature, counts on its
    reference bins or categories (missing values too); the model's answers on the
    prediction reference; rows per route."""

    def __init__(self, reference: dict, segments: Sequence[str]) -> None:
        from cockpit.monitoring import drift

        self.features = {
            column: (drift.NumericCounts if ref["kind"] == "numeric" else drift.CategoricalCounts)(ref)
            for column, ref in reference["features"].items()
        }
        self.answers = predictions.PredictionCounts(reference)
        self.segments = segments
        self.seen: set[str] = set()
        self.segments_seen: set[str] = set()
        self.routes: dict[str, int] = {}
        self.rows = 0

    def add(self, inputs, outputs) -> None:
        self.rows += len(inputs)
        for column, counter in self.features.items():
            if column in inputs.columns:
                counter.add(inputs[column])
                self.seen.add(column)
        self.segments_seen.update(c for c in self.segments if c in inputs.columns)
        answered = outputs[outputs["route"].isin(MODEL_ROUTES)]
        self.answers.add(answered["score"], answered["prediction"])
        for route, rows in outputs["route"].value_counts().items():
            self.routes[str(route)] = self.routes.get(str(route), 0) + int(rows)

    def state(self) -> dict[str, Any]:
        """The counts alone (no reference): what a Dask worker sends back for `merge`."""
        return {
            "rows": self.rows,
            "features": {column: self.features[column].state() for column in self.seen},
            "answers": (self.answers.answers, self.answers.counts.state()),
            "segments_seen": self.segments_seen,
            "routes": self.routes,
        }

    def merge(self, state: dict[str, Any]) -> None:
        """Add another window's `state`, as if its chunks had been `add`ed here next."""
        self.rows += state["rows"]
        for column, counted in state["features"].items():
            self.features[column].merge(counted)
            self.seen.add(column)
        self.segments_seen.update(state["segments_seen"])
        answers, counted = state["answers"]
        self.answers.answers += answers
        self.answers.counts.merge(counted)
        for route, rows in state["routes"].items():
            self.routes[route] = self.routes.get(route, 0) + rows

    def finish(self) -> None:
        """A feature some batch of the window lacks is missing in that batch's rows (as
        when the batches are concatenated)."""
        import numpy as np
        import pandas as pd

        for column in self.seen:
            counter = self.features[column]
            if counter.rows < self.rows:
                counter.add(pd.Series(np.full(self.rows - counter.rows, np.nan)))

    def missing_rate(self) -> float:
        """The largest share of missing values among the features the batches have."""
        shares = [
            (counter.missing if isinstance(counter, CategoricalCounts) else counter.rows - counter.present)
            / max(1, counter.rows)
            for column, counter in self.features.items()
            if column in self.seen
        ]
        return float(max(shares)) if shares else 0.0


def _batch_chunks(ws: Workspace, stored: dict) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(inputs, outputs) of a stored batch, chunk by chunk (its artifacts checked first)."""
    from cockpit.data.chunks import open_table

    inputs = open_table(ws.artifacts.verified_path(stored["inputs_sha256"], ".parquet"))
    outputs = open_table(ws.artifacts.verified_path(stored["outputs_sha256"], ".parquet"), size=inputs.size)
    yield from zip(inputs, outputs, strict=True)


def _entities(production: registry.ModelVersion, inputs, outputs):
    """Each row's entity key (cockpit.entity). Batches are stored keyed; one logged before
    rows without an id column were keyed (they carry their position) is keyed again from
    its inputs, so its labels still join. Inputs without the key columns keep what the
    batch stored."""
    from cockpit.entity import ROW_KEY_PREFIX
    from cockpit.monitoring.batches import version_keys

    stored = outputs["entity"].astype(str)
    if production.input_schema.get("entity") or stored.str.startswith(ROW_KEY_PREFIX).all():
        return stored.to_numpy()
    try:
        return version_keys(production, inputs).to_numpy()
    except KeyError:
        return stored.to_numpy()


def _too_few(found: dict[str, Any]) -> dict[str, Any]:
    """A column's drift figures blanked (kept: its missing share) when there are too few
    rows for the tests to mean anything."""
    return {"psi": None, "missing": found.get("missing"), "too_few_rows": True}


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def _measure(project: Project, rows, classes: list) -> dict[str, float]:
    """Every metric of the task on labelled rows (scikit-learn's warnings about classes
    absent from a small window stay quiet: the row counts are shown beside the figure)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _measure_all(project, rows, classes)


def _measure_all(project: Project, rows, classes: list) -> dict[str, float]:
    """Binary answers carry the positive class's score, so ranking metrics (ROC AUC, PR AUC)
    are measured too when every row has one."""
    import numpy as np

    if project.task == "regression":
        return metrics.score(
            "regression", rows["label"].astype(float).to_numpy(), rows["prediction"].astype(float).to_numpy()
        )
    proba = None
    scores = rows["score"].to_numpy(dtype=float)
    if project.task == "binary" and len(classes) == 2 and not np.isnan(scores).any():
        positive = classes.index(metrics.positive_label(classes))
        proba = np.empty((len(rows), 2))
        proba[:, positive], proba[:, 1 - positive] = scores, 1 - scores
    return metrics.score(
        project.task, rows["label"].to_numpy(), rows["prediction"].astype(str).to_numpy(), proba, classes
    )


def _score_groups(
    project: Project, joined, metric: str, classes: list, column: str
) -> dict[str, dict[str, Any]]:
    """The metric per group of `column` on labelled rows: {group: {rows, value}}."""
    return {
        str(key): {"rows": int(len(group)), "value": _measure(project, group, classes).get(metric)}
        for key, group in joined.groupby(column, dropna=True)
    }


def _performance(
    project: Project, outputs, labels, metric: str, segments: Sequence[str] = ()
) -> dict[str, Any]:
    import numpy as np

    from cockpit.evaluation.segments import groups_of

    if labels.empty:
        return {"labelled": 0}
    joined = outputs.merge(labels, on="entity", how="inner")
    # an override is a person's answer and a fallback row the rule's: neither is the model's
    fallback = int((joined["route"] == "fallback").sum())
    joined = joined[~joined["route"].isin(("override", "fallback"))]
    excluded: dict[str, Any] = {"fallback_excluded": fallback} if fallback else {}
    if joined.empty:
        return {"labelled": 0, **excluded}
    out: dict[str, Any] = {"labelled": int(len(joined)), **excluded}
    if project.task != "regression":
        joined = joined.assign(**same_class_text(joined["label"], joined["prediction"]))
    y_true = joined["label"].to_numpy()
    y_pred = joined["prediction"].astype(str).to_numpy()
    classes = sorted(set(y_true) | set(y_pred))
    scored = _measure(project, joined, classes)
    if project.task == "binary":  # classes of a multiclass task have no positive one
        positive = metrics.positive_label(classes)
        negatives = y_true != positive
        if negatives.any():
            out["false_positive_rate"] = float(np.mean(y_pred[negatives] == positive))
    out["metric"] = metric
    out["metric_value"] = scored.get(metric)
    out["by_version"] = _score_groups(project, joined, metric, classes, "model_version")
    out["by_segment"] = {
        column: _score_groups(
            project, joined.assign(group=groups_of(joined[f"segment:{column}"])), metric, classes, "group"
        )
        for column in segments
    }
    return out


_TRUTH = {"true": "True", "1": "True", "1.0": "True", "false": "False", "0": "False", "0.0": "False"}


def same_class_text(labels, predictions) -> dict[str, Any]:
    """Labels and answers as one spelling per class: a True/False target may come back as
    '1'/'0' from a stored answer and 'True'/'False' from a labels file, and an integer
    class read as a float (a blank cell) as '1.0'."""
    import pandas as pd

    texts = pd.concat([labels, predictions]).astype(str).str.strip()
    lowered = set(texts.str.lower())
    if lowered <= _TRUTH.keys() and lowered & {"true", "false"}:

        def canon(values):
            return values.astype(str).str.strip().str.lower().map(_TRUTH)
    else:

        def canon(values):
            return values.astype(str).str.strip().str.replace(r"^(-?\d+)\.0$", r"\1", regex=True)

    return {"label": canon(labels), "prediction": canon(predictions)}
