"""Stage 2b: train / validation / test splits, stored as row assignments.

Strategies: random, stratified (by the target; by target quantiles for a
regression), group (an entity id never crosses splits) and time (train on the
past, test on the future). The seed and every row's assignment are recorded, so
a split is reproduced exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from cockpit.audit import current_user
from cockpit.data.datasets import DatasetVersion, get_version, load_frame
from cockpit.data.findings import Finding, finding_id
from cockpit.data.leakage import acceptances, check_leakage, standing_leaks, with_acceptances
from cockpit.data.semantics import parse_times
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock, faults

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

STRATEGIES = ("random", "stratified", "group", "time")
PARTS = ("train", "validation", "test")
UNLABELLED, TRAIN, VALIDATION, TEST = -1, 0, 1, 2  # a row without a label is in no part
DISTRIBUTION_BINS = 10
MIN_ROWS = 30  # fewer labelled rows cannot be trained and checked on
MIN_PART_ROWS = 5  # rows each of validation and test needs at the least
MIN_STRATUM = 3  # rows a class needs to be in every part


@dataclass(frozen=True, slots=True)
class Split:
    id: int
    project_id: int
    version_id: int
    strategy: str
    seed: int
    val_fraction: float
    test_fraction: float
    group_column: str | None
    time_column: str | None
    assignment_sha256: str
    sizes: dict[str, int]
    balance: dict[str, dict[str, float]]
    distributions: dict[str, Any]
    leakage: list[dict]
    leaks: int
    created_at: str
    created_by: str

    def as_dict(self, with_distributions: bool = False) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if not with_distributions:
            data.pop("distributions")
        return data

    @property
    def label(self) -> str:
        return f"split {self.id} ({self.strategy}, seed {self.seed})"

    @property
    def findings(self) -> list[Finding]:
        """The leakage findings, typed, each marked with its acceptance."""
        return [Finding.of(entry) for entry in self.leakage]

    def distribution(self, column: str) -> Distribution | None:
        """How a feature spreads over the parts, if the split recorded it."""
        found = self.distributions.get(column)
        return Distribution.of(found) if found else None


@dataclass(frozen=True, slots=True)
class Distribution:
    """A feature per part: numeric ones as counts per quantile bin between `edges`,
    categorical ones as the share of rows holding each of the top `categories`."""

    kind: str  # numeric or categorical
    parts: dict[str, list[float]]  # part -> one value per bin or category
    edges: list[float]
    categories: list[str]

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Distribution:
        return cls(entry["kind"], entry["parts"], entry.get("edges", []), entry.get("categories", []))


JSON_FIELDS = ("sizes", "balance", "distributions", "leakage")


def _from_row(row: dict, accepted: dict[str, dict] | None = None) -> Split:
    """A stored split; its findings marked with the project's acceptances, if given."""

    split = Split(**{**row, **{k: json.loads(row[k] or "null") for k in JSON_FIELDS}})
    if accepted is None:
        return split
    return replace(split, leakage=with_acceptances(split.leakage or [], accepted))


def list_splits(ws: Workspace, project: Project) -> list[Split]:

    accepted = acceptances(ws, project)
    return [
        _from_row(r, accepted)
        for r in ws.store.rows("SELECT * FROM splits WHERE project_id = ? ORDER BY id", [project.id])
    ]


def get_split(ws: Workspace, project: Project, split_id: int | None = None) -> Split:
    """A split by id, or the project's newest."""

    if split_id is None:
        row = ws.store.one("SELECT * FROM splits WHERE project_id = ? ORDER BY id DESC LIMIT 1", [project.id])
        if row is None:
            raise CockpitError(
                f"project {project.name!r} has no split yet; make one with `cockpit data split`"
            )
    else:
        row = ws.store.one("SELECT * FROM splits WHERE id = ? AND project_id = ?", [split_id, project.id])
        if row is None:
            raise CockpitError(f"no split {split_id} in project {project.name!r}")
    return _from_row(row, acceptances(ws, project))


def load_assignment(ws: Workspace, split: Split) -> np.ndarray:
    """Each row's part: 0 train, 1 validation, 2 test, -1 none (no label); sha256 checked."""
    return ws.artifacts.load(split.assignment_sha256)


def split_frames(ws: Workspace, project: Project, split: Split) -> dict[str, pd.DataFrame]:
    """The split's version cut into its three parts."""
    frame = load_frame(ws, get_version(ws, project, split.version_id))
    assignment = load_assignment(ws, split)
    return {part: frame[assignment == code].reset_index(drop=True) for code, part in enumerate(PARTS)}


# -- making a split ------------------------------------------------------------


def assign(
    frame: pd.DataFrame,
    project: Project,
    strategy: str,
    seed: int,
    val: float,
    test: float,
    group: str | None = None,
    time: str | None = None,
) -> np.ndarray:
    """The part of every row, by the given strategy; a row without a label is in none (-1)."""
    import numpy as np

    if strategy not in STRATEGIES:
        raise CockpitError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if not (0 < val < 1 and 0 < test < 1 and val + test < 0.9):
        raise CockpitError(
            f"validation and test fractions ({val}, {test}) must be between 0 and "
            "1 and leave at least 10% for training"
        )
    labelled = has_label(frame[project.target])
    _enough_rows(int(labelled.sum()), len(frame), val, test)
    rows = frame[labelled].reset_index(drop=True)
    if strategy == "group":
        parts = _by_group(rows, _column(rows, group, "--group"), seed, val, test)
    elif strategy == "time":
        parts = _by_time(rows, _column(rows, time, "--time"), val, test)
    else:
        stratify = _strata(rows, project) if strategy == "stratified" else None
        parts = _shuffled(np.arange(len(rows)), stratify, seed, val, test)
    assignment = np.full(len(frame), UNLABELLED, dtype=np.int8)
    assignment[labelled] = parts
    return assignment


def has_label(target: pd.Series) -> np.ndarray:
    """Rows with a usable label: present, and finite when the labels are numbers."""
    import numpy as np

    present = target.notna().to_numpy()
    if target.dtype.kind == "f":
        return present & np.isfinite(target.to_numpy(dtype="float64", na_value=np.nan))
    return present


def _enough_rows(labelled: int, total: int, val: float, test: float) -> None:
    """Refuse a table too small to train on and still test on (say how many rows it takes)."""
    import math

    needed = max(MIN_ROWS, math.ceil(MIN_PART_ROWS / min(val, test) - 1e-9))
    if labelled < needed:
        unlabelled = f" ({total - labelled} more have no label)" if total > labelled else ""
        raise CockpitError(
            f"too few rows to split: {labelled} labelled rows{unlabelled}; a split needs at least "
            f"{needed} with --val {val:g} --test {test:g} (at least {MIN_PART_ROWS} rows each in "
            f"validation and test, {MIN_ROWS} in all): add data"
        )


def _column(frame: pd.DataFrame, name: str | None, option: str) -> str:
    if not name:
        raise CockpitError(f"this strategy needs a column: pass {option} COLUMN")
    if name not in frame.columns:
        raise CockpitError(f"{option} {name!r}: no such column in this data")
    return name


def _strata(frame: pd.DataFrame, project: Project):
    import pandas as pd

    target = frame[project.target]
    if project.task == "regression":
        return pd.qcut(target.rank(method="first"), q=10, labels=False).to_numpy()
    if target.dtype.kind not in "biuf":
        target = target.astype(str)  # one type to sort, whatever mix a text column holds
    labels = target.to_numpy()
    counts = target.value_counts()
    if counts.min() < MIN_STRATUM:
        rare = ", ".join(f"'{k}' ({v} rows)" for k, v in counts[counts < MIN_STRATUM].items())
        raise CockpitError(
            f"cannot stratify: class {rare} has fewer than {MIN_STRATUM} rows, too "
            "few to put one in every part; add rows of it, or use --strategy "
            "random"
        )
    return labels


def _shuffled(index, stratify, seed: int, val: float, test: float):
    import numpy as np
    from sklearn.model_selection import train_test_split

    try:
        rest, test_idx = train_test_split(index, test_size=test, random_state=seed, stratify=stratify)
        rest_strata = stratify[rest] if stratify is not None else None
        train_idx, val_idx = train_test_split(
            rest, test_size=val / (1 - test), random_state=seed, stratify=rest_strata
        )
    except ValueError as exc:  # scikit-learn: a part too small to hold every class
        raise CockpitError(
            f"cannot stratify {len(index)} rows into these parts ({exc}); use "
            "larger --val/--test, more rows, or --strategy random"
        ) from None
    assignment = np.zeros(len(index), dtype=np.int8)
    assignment[val_idx], assignment[test_idx] = VALIDATION, TEST
    if stratify is not None:
        _every_class_everywhere(assignment, stratify, seed)
    return assignment


def _every_class_everywhere(assignment, strata, seed: int) -> None:
    """A rare class (3+ rows) that rounding left out of validation or test gets one of its
    training rows moved there, so every part can be scored on every class."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for label in np.unique(strata):
        rows = np.flatnonzero(strata == label)
        for part in (VALIDATION, TEST):
            train_rows = rows[assignment[rows] == TRAIN]
            if not (assignment[rows] == part).any() and len(train_rows) > 1:
                assignment[rng.choice(train_rows)] = part


def _by_group(frame: pd.DataFrame, column: str, seed: int, val: float, test: float):
    import numpy as np
    from sklearn.model_selection import GroupShuffleSplit

    groups = frame[column].astype(str).fillna("<missing>").to_numpy()
    if len(set(groups)) < 3:
        raise CockpitError(f"--group {column!r} has fewer than 3 distinct values")
    index = np.arange(len(frame))
    first = GroupShuffleSplit(n_splits=1, test_size=test, random_state=seed)
    rest, test_idx = next(first.split(index, groups=groups))
    second = GroupShuffleSplit(n_splits=1, test_size=val / (1 - test), random_state=seed)
    train_pos, val_pos = next(second.split(rest, groups=groups[rest]))
    assignment = np.zeros(len(frame), dtype=np.int8)
    assignment[rest[val_pos]], assignment[test_idx] = VALIDATION, TEST
    return assignment


def _by_time(frame: pd.DataFrame, column: str, val: float, test: float):
    """Cut at timestamps, so rows sharing a time never straddle two parts."""
    import numpy as np

    times = parse_times(frame[column])
    if times.isna().mean() > 0.01:
        raise CockpitError(
            f"--time {column!r}: {int(times.isna().sum())} values are not dates; "
            "clean them first (cockpit data clean)"
        )
    filled = times.fillna(times.min())
    distinct = filled.drop_duplicates().sort_values().tolist()
    if len(distinct) < 3:
        values = frame[column].dropna() if frame[column].dtype.kind in "iuf" else times.dropna()
        raise CockpitError(
            f"--time {column!r} has {len(distinct)} distinct times ({values.min()} to {values.max()}); "
            "a time split needs 3: use --strategy stratified or random"
        )
    # A cut that would leave validation or test empty (many rows share the last times: three
    # years, a third each) moves to the distinct time before it.
    val_end = min(max(filled.quantile(1 - test), distinct[1]), distinct[-2])
    train_end = min(filled.quantile(1 - val - test), max(t for t in distinct if t < val_end))
    assignment = np.full(len(frame), TEST, dtype=np.int8)
    assignment[(filled <= val_end).to_numpy()] = VALIDATION
    assignment[(filled <= train_end).to_numpy()] = TRAIN
    return assignment


def summarise(frame: pd.DataFrame, assignment: np.ndarray, project: Project) -> tuple[dict, dict, dict]:
    """Sizes, target balance per part, and each column's distribution per part."""
    import numpy as np

    parts = {part: frame[assignment == code] for code, part in enumerate(PARTS)}
    sizes = {part: len(rows) for part, rows in parts.items()}
    if (assignment == UNLABELLED).any():
        sizes["unlabelled"] = int((assignment == UNLABELLED).sum())
    target = project.target
    if project.task == "regression":
        balance = {
            part: {"mean": float(rows[target].mean()), "std": float(rows[target].std())}
            for part, rows in parts.items()
        }
    else:
        balance = {
            part: {
                str(k): round(float(v), 4)
                for k, v in rows[target].value_counts(normalize=True).sort_index().items()
            }
            for part, rows in parts.items()
        }
    distributions: dict[str, Any] = {}
    for column in frame.columns:
        values = frame[column]
        if column == target:
            continue
        if values.dtype.kind in "iuf" and values.nunique() > 2:
            finite = values[np.isfinite(values)]
            edges = np.quantile(finite, np.linspace(0, 1, DISTRIBUTION_BINS + 1)).tolist()
            distributions[str(column)] = {
                "kind": "numeric",
                "edges": edges,
                "parts": {
                    part: np.histogram(rows[column].dropna(), bins=np.unique(edges))[0].tolist()
                    for part, rows in parts.items()
                },
            }
        elif values.nunique() <= 30:
            top = values.astype(str).value_counts().head(8).index.tolist()
            distributions[str(column)] = {
                "kind": "categorical",
                "categories": top,
                "parts": {
                    part: [round(float((rows[column].astype(str) == c).mean()), 4) for c in top]
                    for part, rows in parts.items()
                },
            }
    return sizes, balance, distributions


def make_split(
    ws: Workspace,
    project: Project,
    strategy: str = "stratified",
    seed: int = 42,
    val: float = 0.15,
    test: float = 0.15,
    group: str | None = None,
    time: str | None = None,
    version: DatasetVersion | None = None,
) -> Split:
    """Split a version (default: the newest), check it for leaks, store it. One transaction."""

    version = version or get_version(ws, project)
    frame = load_frame(ws, version)
    if strategy == "stratified" and project.task == "regression" and len(frame) < 30:
        strategy = "random"
    assignment = assign(frame, project, strategy, seed, val, test, group, time)
    sizes, balance, distributions = summarise(frame, assignment, project)
    findings = _unlabelled(assignment, project) + check_leakage(
        frame, assignment, project, strategy, group, time
    )
    leaks = standing_leaks(findings, acceptances(ws, project))
    with ws.store.transaction():
        ref = ws.artifacts.put(assignment, kind="split")
        split_id = ws.store.insert(
            "splits",
            {
                "project_id": project.id,
                "version_id": version.id,
                "strategy": strategy,
                "seed": seed,
                "val_fraction": val,
                "test_fraction": test,
                "group_column": group,
                "time_column": time,
                "assignment_sha256": ref.sha256,
                "sizes": sizes,
                "balance": balance,
                "distributions": distributions,
                "leakage": findings,
                "leaks": leaks,
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        faults.point("data.split:after_insert")
        ws.record(
            "data",
            "split",
            project.id,
            {"split": split_id, "version": version.id, "strategy": strategy, "seed": seed, "leaks": leaks},
        )
    return get_split(ws, project, split_id)


def _unlabelled(assignment: np.ndarray, project: Project) -> list[dict]:
    missing = int((assignment == UNLABELLED).sum())
    if not missing:
        return []
    finding = {
        "check": "unlabelled",
        "severity": "warning",
        "column": project.target,
        "message": f"{missing} rows have no {project.target!r} (missing or infinite): "
        "left out of every part (not trained or tested on)",
        "value": missing,
    }
    return [{**finding, "id": finding_id(finding)}]
