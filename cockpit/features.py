"""Stage 3: a feature spec per column, inferred from the profile, versioned, editable.

The spec compiles (cockpit/feature_pipeline.py) to one scikit-learn
ColumnTransformer saved inside the model's Pipeline, so serving data is
transformed exactly as training data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from cockpit.audit import current_user
from cockpit.data.semantics import YEARS
from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

ROLES = ("feature", "target", "id", "ignore", "time")
KINDS = ("numeric", "categorical", "date", "text")
SCALINGS = ("none", "standard", "minmax")
ENCODINGS = ("onehot", "ordinal")
DATE_PARTS = ("year", "month", "dayofweek", "is_weekend", "hour", "days_since")
MISSING = ("median", "mean", "most_frequent", "constant")
DEFAULT_TEXT_VOCABULARY = 200
# 1: one ColumnTransformer branch per column; 2: one branch per treatment (all columns
# imputed and scaled alike share one imputer and scaler), ~15x faster on one row; 3: date
# parts scaled like numeric columns (unscaled, lbfgs never converged on data with a date);
# 4: whole numbers in a date column read as years (before, as nanoseconds after 1970).
COMPILER_VERSION = 4
YEAR_PARTS = ("year", "days_since")  # the parts that differ between two years' 1 January


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    column: str
    role: str = "feature"
    kind: str = "numeric"
    scaling: str = "standard"
    encoding: str = "onehot"
    order: list[str] = field(default_factory=list)  # ordinal categories, low to high
    date_parts: list[str] = field(default_factory=lambda: ["month", "dayofweek"])
    max_features: int = DEFAULT_TEXT_VOCABULARY  # TF-IDF vocabulary cap
    missing: str = "median"
    note: str = ""  # why inference chose this

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.role != "feature":
            return self.role
        if self.kind == "numeric":
            return f"numeric · {self.scaling} · fill {self.missing}"
        if self.kind == "categorical":
            order = f" {'<'.join(self.order)}" if self.encoding == "ordinal" and self.order else ""
            return f"categorical · {self.encoding}{order}"
        if self.kind == "date":
            return f"date · {', '.join(self.date_parts)} · {self.scaling}"
        return f"text · tf-idf {self.max_features}"


FIELDS = {f for f in ColumnSpec.__dataclass_fields__}


def infer_spec(profile: list[dict], target: str) -> list[ColumnSpec]:
    """Defaults from a dataset profile: the target, one id, numbers scaled, categories one-hot."""
    specs, has_id = [], False
    for column in profile:
        name, kind = column["name"], column["type"]
        if name == target:
            specs.append(ColumnSpec(name, role="target", kind=_kind(kind)))
        elif kind == "id" and not has_id:
            has_id = True
            specs.append(ColumnSpec(name, role="id", kind="categorical"))
        elif kind == "id" or column["distinct"] <= 1:
            specs.append(ColumnSpec(name, role="ignore", kind=_kind(kind)))
        else:
            specs.append(_feature(column))
    return specs


HIGH_CARDINALITY = 50  # more distinct values than this, and more than half the rows


def _feature(column: dict) -> ColumnSpec:
    """A feature column's treatment from its profile: dates by how they vary, and text with
    many distinct values as text (TF-IDF) or, when each value is one or two words, as an
    id-like column that is ignored; never one-hot."""
    name, kind = column["name"], _kind(column["type"])
    missing = "median" if kind == "numeric" else "constant"
    if kind == "date" and column.get("date_parts"):
        parts = column["date_parts"]
        return ColumnSpec(
            name,
            kind="date",
            missing=missing,
            date_parts=parts,
            note=f"date parts that vary: {', '.join(parts)}",
        )
    distinct, present = column.get("distinct", 0), column.get("present")
    if kind == "categorical" and present and distinct > HIGH_CARDINALITY and distinct > 0.5 * present:
        share = f"{distinct} distinct values in {present} rows"
        if column.get("mean_words", 0) >= 2:
            return ColumnSpec(name, kind="text", missing=missing, note=f"{share}: text (TF-IDF), not one-hot")
        return ColumnSpec(
            name,
            role="ignore",
            kind="categorical",
            missing=missing,
            note=f"{share}: id-like, ignored (set role=feature to use it)",
        )
    return ColumnSpec(name, kind=kind, missing=missing)


def _kind(profiled: str) -> str:
    return {
        "numeric": "numeric",
        "binary": "categorical",
        "boolean": "categorical",
        "categorical": "categorical",
        "date": "date",
        "text": "text",
    }.get(profiled, "categorical")


@dataclass(frozen=True, slots=True)
class ColumnKinds:
    """The kinds a column's data can take, read from its profile, and what it holds."""

    column: str
    kinds: tuple[str, ...]
    holds: str  # for messages: "years 2007-2009", "whole numbers 2700 to 6300", "text"
    years: bool = False  # whole numbers within YEARS: a date column reads them as years


def kinds_for(profile: dict[str, Any]) -> ColumnKinds:
    """What a column can be, from its profile entry (cockpit/data/profile.py): numbers are
    numeric or categorical, and date too when they are years; text is categorical or text,
    and date too when it parses as dates."""
    name, profiled = profile["name"], profile.get("type")
    dtype = str(profile.get("dtype", "")).lower()
    if dtype.startswith("datetime"):
        return ColumnKinds(name, ("categorical", "date"), "dates")
    if dtype.startswith("bool") or profiled == "boolean":
        return ColumnKinds(name, ("numeric", "categorical"), "true/false values")
    if dtype.startswith(("int", "uint", "float")) or (not dtype and profiled == "numeric"):
        return _number_kinds(name, profile, dtype)
    if profiled == "date":
        return ColumnKinds(name, ("categorical", "date", "text"), "dates as text")
    return ColumnKinds(name, ("categorical", "text"), "text")


def _number_kinds(name: str, profile: dict[str, Any], dtype: str) -> ColumnKinds:
    low, high = profile.get("min"), profile.get("max")
    if low is None or high is None:
        return ColumnKinds(name, ("numeric", "categorical"), "no numbers (every value is missing)")
    # profiles made before "whole" was recorded: integer columns are whole, floats unknown
    whole = profile.get("whole", True if dtype.startswith(("int", "uint")) else None)
    if whole and YEARS[0] <= low and high <= YEARS[1]:
        return ColumnKinds(name, ("numeric", "categorical", "date"), f"years {low:.0f}-{high:.0f}", True)
    span = f"{low:g} to {high:g}"
    holds = f"numbers {span}" if whole is None else f"whole numbers {span}"
    if whole is False:
        holds = f"numbers with fractions, {span}"
    return ColumnKinds(name, ("numeric", "categorical"), holds)


NOT_YEARS = (
    f"a number is read as a date only when it is a whole year {YEARS[0]}-{YEARS[1]} (1 January of that year)"
)


def year_parts_problem(parts: list[str] | tuple[str, ...]) -> str | None:
    """Why date parts do not fit a column of years, or None."""
    fixed = [p for p in parts if p not in YEAR_PARTS]
    if not fixed:
        return None
    return (
        f"each is read as 1 January, so its date parts can be {' or '.join(YEAR_PARTS)} "
        f"({', '.join(fixed)} would tell the model nothing)"
    )


def kind_problem(spec: ColumnSpec, kinds: ColumnKinds | None) -> str | None:
    """Why a feature's kind (or its date parts) does not fit what its column holds, or None.
    Other roles are not compiled, so their kind does no harm."""
    if kinds is None or spec.role != "feature":
        return None
    if spec.kind not in kinds.kinds:
        if spec.kind == "date" and "numeric" in kinds.kinds:
            return (
                f"holds {kinds.holds}, not dates: {NOT_YEARS}; keep it numeric or categorical, "
                "or import its dates as text (e.g. 2025-01-31)"
            )
        said = f"holds {kinds.holds}: its kind can be {' or '.join(kinds.kinds)}, not {spec.kind}"
        if spec.kind == "date":  # text the profile did not read as dates (most values must)
            said += "; a parse_dates step of a cleaning recipe (cockpit data clean) reads its dates"
        return said
    if spec.kind == "date" and kinds.years:
        parts = year_parts_problem(spec.date_parts)
        return f"holds {kinds.holds}: {parts}" if parts else None
    return None


def with_kind(spec: ColumnSpec, kind: str, kinds: ColumnKinds | None) -> ColumnSpec:
    """The spec with another kind. A column of years made a date takes the part `year` when its
    date parts would not vary for years (the default month and dayofweek would not)."""
    if kind == "date" and kinds is not None and kinds.years and year_parts_problem(spec.date_parts):
        return replace(spec, kind=kind, date_parts=["year"])
    return replace(spec, kind=kind)


def column_kinds(ws: Workspace, project: Project) -> dict[str, ColumnKinds]:
    """Each column of the newest data version and the kinds it can take (by its profile)."""
    from cockpit.data.datasets import get_version, load_profile

    return {c["name"]: kinds_for(c) for c in load_profile(ws, get_version(ws, project))}


def spec_problems(ws: Workspace, project: Project, specs: list[ColumnSpec]) -> list[tuple[str, str]]:
    """(column, problem) for each feature whose kind does not fit the newest data: a spec
    saved before kinds were checked, or data that changed under it."""
    kinds = column_kinds(ws, project)
    problems = ((s.column, kind_problem(s, kinds.get(s.column))) for s in specs)
    return [(column, problem) for column, problem in problems if problem]


def check_spec(
    specs: list[ColumnSpec],
    columns: list[str],
    target: str,
    source: str,
    kinds: dict[str, ColumnKinds] | None = None,
) -> None:
    """Refuse a spec naming missing columns, unknown choices, a kind its column's data cannot
    take (with `kinds`: a price as a date), or no usable feature."""
    for spec in specs:
        where = f"{source}: column {spec.column!r}"
        if spec.column not in columns:
            hint = get_close_matches(spec.column, columns, n=1)
            raise CockpitError(
                f"{where} is not in the data" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
        for name, allowed in (
            ("role", ROLES),
            ("kind", KINDS),
            ("scaling", SCALINGS),
            ("encoding", ENCODINGS),
            ("missing", MISSING),
        ):
            if getattr(spec, name) not in allowed:
                raise CockpitError(
                    f"{where}: {name} must be one of {', '.join(allowed)}, got {getattr(spec, name)!r}"
                )
        if spec.kind == "date" and spec.role == "feature" and not spec.date_parts:
            raise CockpitError(
                f"{where}: a date feature needs at least one date part ({', '.join(DATE_PARTS)})"
            )
        bad_parts = set(spec.date_parts) - set(DATE_PARTS)
        if bad_parts:
            raise CockpitError(
                f"{where}: unknown date part(s) {', '.join(sorted(bad_parts))}; use {', '.join(DATE_PARTS)}"
            )
        if spec.kind == "numeric" and spec.missing == "constant":
            raise CockpitError(f"{where}: numeric missing values take median, mean or most_frequent")
        if not isinstance(spec.max_features, int) or spec.max_features < 1:
            raise CockpitError(f"{where}: max_features must be a whole number >= 1")
        problem = kind_problem(spec, (kinds or {}).get(spec.column))
        if problem:
            raise CockpitError(f"{where} {problem}")
    roles = {s.column: s.role for s in specs}
    if roles.get(target) != "target":
        raise CockpitError(f"{source}: the target {target!r} must have role 'target'")
    if sum(r == "id" for r in roles.values()) > 1:
        raise CockpitError(f"{source}: only one column can have role 'id' (the entity id)")
    if not any(s.role == "feature" for s in specs):
        raise CockpitError(f"{source}: no column has role 'feature'")


def specs_from_data(data: Any, source: str) -> list[ColumnSpec]:
    if isinstance(data, dict):
        data = data.get("columns", data)
        if isinstance(data, dict):
            data = [{"column": k, **v} for k, v in data.items()]
    if not isinstance(data, list):
        raise CockpitError(f"{source}: a feature spec is a list of columns ([[columns]] in TOML)")
    specs = []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict) or "column" not in item:
            raise CockpitError(f"{source}: entry {number} has no 'column'")
        unknown = set(item) - FIELDS
        if unknown:
            raise CockpitError(
                f"{source}: column {item['column']!r}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        try:
            specs.append(ColumnSpec(**item))
        except TypeError as exc:
            raise CockpitError(f"{source}: column {item['column']!r}: {exc}") from None
    return specs


def load_spec_file(path: Path) -> list[ColumnSpec]:
    from cockpit.files import read_structured

    return specs_from_data(read_structured(path, "feature spec"), str(path))


# -- versions ------------------------------------------------------------------


def current_spec(ws: Workspace, project: Project) -> tuple[int | None, list[ColumnSpec]]:
    """(version, specs): the saved spec, or (None, defaults inferred from the newest data)."""
    from cockpit.data.datasets import get_version, load_profile

    row = ws.store.one(
        "SELECT version, spec FROM feature_specs WHERE project_id = ? ORDER BY version DESC LIMIT 1",
        [project.id],
    )
    if row:
        return row["version"], [ColumnSpec(**c) for c in json.loads(row["spec"])]
    version = get_version(ws, project)
    return None, infer_spec(load_profile(ws, version), project.target)


def save_spec(
    ws: Workspace, project: Project, specs: list[ColumnSpec], comment: str = "", source: str = "feature spec"
) -> int | None:
    """Store a new version after checking it against the newest data (its columns, and the
    kinds each can take by its profile); None if unchanged. `source` names the spec in messages."""
    from cockpit.data.datasets import get_version, load_profile

    data = get_version(ws, project)
    kinds = {c["name"]: kinds_for(c) for c in load_profile(ws, data)}
    check_spec(specs, list(data.schema), project.target, source, kinds)
    current_version, current = current_spec(ws, project)
    if current_version is not None and current == specs:
        return None
    version = (current_version or 0) + 1
    with ws.store.transaction():
        ws.store.insert(
            "feature_specs",
            {
                "project_id": project.id,
                "version": version,
                "spec": [s.as_dict() for s in specs],
                "created_at": clock.now_iso(),
                "created_by": current_user(),
                "comment": comment,
            },
        )
        features = sum(s.role == "feature" for s in specs)
        ws.record("features", "set", project.id, {"version": version, "features": features})
    return version


def editable_spec(ws: Workspace, project: Project) -> list[ColumnSpec]:
    """The current spec plus entries for columns the newest data added since it was saved (so
    `features set --column NEW:role=id` can name a column of a later version). New columns
    come in ignored, with their inferred treatment and a note: naming one never makes the
    others model inputs unasked."""
    from cockpit.data.datasets import get_version, load_profile

    version, specs = current_spec(ws, project)
    if version is None:
        return specs
    known = {s.column for s in specs}
    newest = get_version(ws, project)
    added = [c for c in infer_spec(load_profile(ws, newest), project.target) if c.column not in known]
    return specs + [
        replace(
            c,
            role="ignore",
            kind="categorical" if c.role == "id" else c.kind,
            note=f"new in {newest.label}: ignored until its role is set",
        )
        for c in added
    ]


def ensure_spec(ws: Workspace, project: Project) -> tuple[int, list[ColumnSpec]]:
    """The spec a run pins: the saved one, or the inferred defaults saved as version 1."""
    version, specs = current_spec(ws, project)
    if version is None:
        saved = save_spec(ws, project, specs, comment="inferred from the data profile")
        assert saved is not None  # no spec was saved yet, so this one is new
        version = saved
    return version, specs


def spec_at(ws: Workspace, project: Project, version: int) -> list[ColumnSpec]:
    row = ws.store.one(
        "SELECT spec FROM feature_specs WHERE project_id = ? AND version = ?", [project.id, version]
    )
    if row is None:
        raise CockpitError(f"no feature spec version {version} in project {project.name!r}")
    return [ColumnSpec(**c) for c in json.loads(row["spec"])]


def entity_column(specs: list[ColumnSpec]) -> str | None:
    """The entity id: group splits, canary routing, overrides and label joins use it."""
    return next((s.column for s in specs if s.role == "id"), None)
