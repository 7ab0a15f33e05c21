"""Validation checks on a dataset version, each with a severity, the rows affected and,
where one exists, the cleaning step that fixes it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cockpit.data.datasets import DatasetVersion, load_frame, load_profile
from cockpit.data.semantics import (
    ID_NAME,
    MAX_BALANCE_SHIFT,
    class_share_shift,
    class_skew,
    date_formats,
    outlier_mask,
    spelling_groups,
)
from cockpit.projects import Project
from cockpit.workspace import Workspace
from storage import clock

if TYPE_CHECKING:
    import pandas as pd

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# A class is rare under a fifth of the share it would have were the classes even (binary: 10%),
# so ten even classes (10% each) are not rare and a 5% class among three is.
MINORITY_WARNING = 0.2
NULL_WARNING_PCT = 5.0
MIXED_MIN_SHARE = 0.5  # a text column is "mixed" when at least this share reads as numbers


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    severity: str
    column: str | None
    message: str
    rows: int = 0
    examples: list[Any] = field(default_factory=list)
    fix: dict | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Report:
    version_id: int
    findings: list[Finding]

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    @property
    def passed(self) -> bool:
        return self.count("error") == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version_id,
            "passed": self.passed,
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "infos": self.count("info"),
            "findings": [f.as_dict() for f in self.findings],
        }


def key_columns(frame: pd.DataFrame, profile: list[dict], target: str) -> list[str]:
    """Columns that identify an entity: named like an id, or nearly unique text."""
    keys = []
    for column in profile:
        name = column["name"]
        if name == target or column["type"] in ("date", "text"):
            continue
        nearly_unique = column["distinct"] >= 0.95 * (len(frame) - column["nulls"])
        if ID_NAME.search(name) or (
            column["type"] in ("id", "categorical")
            and nearly_unique
            and not column["dtype"].startswith(("float", "int"))
        ):
            keys.append(name)
    return keys


def run_checks(
    frame: pd.DataFrame,
    profile: list[dict],
    project: Project,
    previous: dict[str, str] | None = None,
    ranges: dict[str, tuple[float | None, float | None]] | None = None,
    by_recipe: bool = False,
) -> list[Finding]:
    findings: list[Finding] = []
    by_name = {p["name"]: p for p in profile}
    if previous is not None:
        findings += _schema(frame, previous, by_recipe)
    findings += _target(frame, project)
    findings += _nulls(frame, by_name, project.target)
    findings += _infinite(frame, project.target)
    findings += _ranges(frame, by_name, ranges or {})
    dates = [p["name"] for p in profile if p["type"] == "date"]
    findings += _duplicates(
        frame,
        key_columns(frame, profile, project.target),
        dates[0] if len(dates) == 1 else None,
        project.target if project.task != "regression" else None,
    )
    findings += _spellings(frame, by_name)
    findings += _dates(frame, by_name)
    findings += _mixed_types(frame, by_name)
    findings += _outliers(frame, by_name, project)
    findings += _constants(frame, by_name)
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], -f.rows))


def _schema(frame: pd.DataFrame, previous: dict[str, str], by_recipe: bool) -> list[Finding]:
    """Columns added, removed or retyped; deliberate when a recipe did it (info)."""
    now = {str(c): str(frame[c].dtype) for c in frame.columns}
    severity, since = (
        ("info", "by the cleaning recipe") if by_recipe else ("warning", "since the previous version")
    )
    out = [
        Finding("schema", severity, c, f"column {c!r} was removed {since}") for c in previous if c not in now
    ]
    out += [Finding("schema", "info", c, f"column {c!r} is new {since}") for c in now if c not in previous]
    out += [
        Finding("schema", severity, c, f"column {c!r} changed type {since}: {previous[c]} -> {now[c]}")
        for c in now
        if c in previous and previous[c] != now[c]
    ]
    return out


def _target(frame: pd.DataFrame, project: Project) -> list[Finding]:
    target = project.target
    if target not in frame.columns:
        return [Finding("target", "error", target, f"the target column {target!r} is missing")]
    values = frame[target]
    out = []
    if values.isna().any():
        n = int(values.isna().sum())
        out.append(
            Finding(
                "target",
                "error",
                target,
                f"{n} rows have no label in {target!r}",
                n,
                fix={"op": "drop_rows", "column": target, "when": "null"},
            )
        )
    present = values.dropna()
    if project.task == "regression":
        return out
    counts = present.value_counts()
    if len(counts) < 2:
        return [
            *out,
            Finding(
                "class_balance",
                "error",
                target,
                f"the target has a single class ({counts.index.tolist()[0]!r})",
            ),
        ]
    if project.task == "binary" and len(counts) > 2:
        shown = ", ".join(repr(v) for v in counts.index[:6].tolist())
        out.append(
            Finding(
                "class_balance",
                "error",
                target,
                f"a binary target has {len(counts)} values ({shown}); standardise "
                "the spellings (cockpit data clean) or make the project multiclass",
                int(counts.sum()),
            )
        )
    shares = counts / counts.sum()
    summary = ", ".join(f"{k}: {v:.1%}" for k, v in shares.items())
    minority = shares.min()
    severity = "warning" if minority < MINORITY_WARNING / len(counts) else "info"
    metrics = "recall / PR AUC" if project.task == "binary" else "balanced_accuracy or f1_macro"
    note = f" — the minority class is rare: use {metrics}, stratify" if severity == "warning" else ""
    out.append(
        Finding("class_balance", severity, target, f"class balance {summary}{note}", int(counts.min()))
    )
    return out


def _nulls(frame: pd.DataFrame, profile: dict[str, dict], target: str) -> list[Finding]:
    out = []
    for name, column in profile.items():
        if name == target or column["nulls"] == 0:
            continue
        severity = "warning" if column["null_pct"] >= NULL_WARNING_PCT else "info"
        out.append(
            Finding(
                "nulls",
                severity,
                name,
                f"{column['nulls']} missing values ({column['null_pct']:.1f}%)",
                column["nulls"],
                fix=_fill_step(name, column["type"]),
            )
        )
    return out


def _fill_step(name: str, kind: str) -> dict:
    """Numbers get the median; free text an empty string; everything else, binary and
    categorical columns included, its most common value (a text constant such as "missing"
    does not fit a 0/1 column read as numbers: that fill is refused)."""
    if kind == "numeric":
        return {"op": "fill", "column": name, "strategy": "median"}
    if kind == "text":
        return {"op": "fill", "column": name, "strategy": "value", "value": ""}
    return {"op": "fill", "column": name, "strategy": "mode"}


def _ranges(
    frame: pd.DataFrame, profile: dict[str, dict], ranges: dict[str, tuple[float | None, float | None]]
) -> list[Finding]:
    out = []
    for name, (low, high) in ranges.items():
        if name not in frame.columns or profile[name]["dtype"][:3] not in ("int", "flo", "Int", "Flo"):
            continue
        values = frame[name]
        outside = values.notna() & (
            ((values < low) if low is not None else False) | ((values > high) if high is not None else False)
        )
        if outside.any():
            out.append(
                Finding(
                    "range",
                    "error",
                    name,
                    f"{int(outside.sum())} values outside the set range [{low}, {high}]",
                    int(outside.sum()),
                    _examples(values[outside]),
                    {"op": "drop_rows", "column": name, "when": "outside", "min": low, "max": high},
                )
            )
    for name, column in profile.items():
        if name in ranges or column["type"] != "numeric" or column.get("min") is None:
            continue
        values = frame[name]
        negative = (values < 0) & (values > float("-inf"))  # -inf is the infinite check's
        share = negative.sum() / max(1, values.notna().sum())
        if 0 < share <= 0.02:
            out.append(
                Finding(
                    "range",
                    "warning",
                    name,
                    f"{int(negative.sum())} negative values in a column otherwise >= 0",
                    int(negative.sum()),
                    _examples(values[negative]),
                    {"op": "drop_rows", "column": name, "when": "outside", "min": 0},
                )
            )
    return out


def _duplicates(
    frame: pd.DataFrame, keys: list[str], date_column: str | None, labels: str | None = None
) -> list[Finding]:
    out = []
    exact = frame.duplicated(keep="first")
    if exact.any():
        copies, examples = int(exact.sum()), [int(i) for i in exact[exact].index[:5]]
        shift = (
            class_share_shift(frame[labels], frame.loc[~exact, labels]) if labels in frame.columns else 0.0
        )
        if shift > MAX_BALANCE_SHIFT:
            # Few distinct values per column make equal rows natural (an all-categorical
            # table); dropping them would reweight the classes, so it is not suggested.
            out.append(
                Finding(
                    "duplicates",
                    "info",
                    None,
                    f"{copies} rows repeat an earlier row; dropping them would move "
                    f"a class share by {100 * shift:.1f} points, so they look like "
                    "genuine repeated observations: kept",
                    copies,
                    examples,
                    None,
                )
            )
        else:
            out.append(
                Finding(
                    "duplicates",
                    "warning",
                    None,
                    f"{copies} rows are exact copies of an earlier row",
                    copies,
                    examples,
                    {"op": "drop_duplicates"},
                )
            )
    distinct = frame[~exact]
    for key in keys:
        repeated = distinct[key].notna() & distinct.duplicated(subset=[key], keep=False)
        if repeated.any():
            ids = distinct.loc[repeated, key]
            out.append(
                Finding(
                    "repeated_keys",
                    "warning",
                    key,
                    f"{ids.nunique()} {key} values appear on several rows that differ "
                    "(valid history, or conflicting records?)",
                    int(repeated.sum()),
                    _examples(ids.drop_duplicates()),
                    {
                        "op": "dedupe_keys",
                        "column": key,
                        "keep": "last",
                        **({"order_by": date_column} if date_column else {}),
                    },
                )
            )
    return out


def _spellings(frame: pd.DataFrame, profile: dict[str, dict]) -> list[Finding]:
    out = []
    for name, column in profile.items():
        if column["type"] not in ("categorical", "binary") or column["dtype"][:3] in ("int", "flo"):
            continue
        counts = {str(k): int(v) for k, v in frame[name].dropna().astype(str).value_counts().items()}
        for group in spelling_groups(counts):
            canonical = next(iter(group))
            variants = [v for v in group if v != canonical]
            rows = sum(group[v] for v in variants)
            shown = " / ".join(repr(v) for v in group)
            out.append(
                Finding(
                    "spelling",
                    "warning",
                    name,
                    f"{shown} look like one category, spelled {len(group)} ways",
                    rows,
                    list(group),
                    {"op": "standardise", "column": name, "mapping": {v: canonical for v in variants}},
                )
            )
    return out


def _dates(frame: pd.DataFrame, profile: dict[str, dict]) -> list[Finding]:
    out = []
    for name, column in profile.items():
        if column["type"] != "date" or frame[name].dtype.kind == "M":
            continue
        formats = date_formats(frame[name]) or {}
        if len(formats) > 1:
            main = next(iter(formats))
            rows = sum(n for f, n in formats.items() if f != main)
            shown = ", ".join(f"{f} ({n})" for f, n in formats.items())
            out.append(
                Finding(
                    "date_formats",
                    "warning",
                    name,
                    f"dates written {len(formats)} ways: {shown}",
                    rows,
                    list(formats),
                    {"op": "parse_dates", "column": name},
                )
            )
    return out


def _mixed_types(frame: pd.DataFrame, profile: dict[str, dict]) -> list[Finding]:
    """Text columns where at least half the values read as numbers: the rest ("n/a",
    "twelve", "1,200") keep the whole column text, so a model sees categories instead of an
    amount. Ids are left alone ("1001" beside "A17" is a fine id)."""
    import pandas as pd

    out = []
    for name, column in profile.items():
        values = frame[name]
        if values.dtype.kind in "biufcmM" or column["type"] in ("date", "id") or ID_NAME.search(name):
            continue
        present = values.dropna().astype(str)
        numbers = pd.to_numeric(present.str.strip(), errors="coerce").notna()
        share = numbers.mean() if len(present) else 0.0
        if not MIXED_MIN_SHARE <= share < 1:
            continue
        text = present[~numbers]
        shown = ", ".join(repr(v) for v in text.value_counts().index[:3])
        out.append(
            Finding(
                "mixed_types",
                "warning",
                name,
                f"column {name!r} mixes numbers and text: {int(numbers.sum())} of {len(present)} "
                f"values ({share:.1%}) are numbers, {len(text)} are text ({shown}); map the text "
                "to numbers (standardise) first, or convert the column (the text becomes missing)",
                len(text),
                text.value_counts().index[:5].tolist(),
                {"op": "to_numeric", "column": name},
            )
        )
    return out


def _infinite(frame: pd.DataFrame, target: str) -> list[Finding]:
    """+inf/-inf in a number column: no model trains on them (an error). The fix turns them
    into missing values and fills those with the median (in the target: drops the rows)."""
    import numpy as np

    out = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype.kind != "f":
            continue
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        positive, negative = int(np.isposinf(numbers).sum()), int(np.isneginf(numbers).sum())
        if not positive + negative:
            continue
        shown = ", ".join(f"{n} {sign}inf" for n, sign in ((positive, "+"), (negative, "-")) if n)
        if name == target:
            fix = {"op": "drop_rows", "column": name, "when": "infinite"}
            what = "drop those rows (drop_rows when infinite)"
        else:
            fix = {"op": "replace_inf", "column": name, "fill": "median"}
            what = "make them missing and fill with the median (replace_inf)"
        out.append(
            Finding(
                "infinite",
                "error",
                str(name),
                f"{positive + negative} infinite values in {name!r} ({shown}): no "
                f"model can train on them; {what}",
                positive + negative,
                _examples(values[np.isinf(numbers)]),
                fix,
            )
        )
    return out


def _outliers(frame: pd.DataFrame, profile: dict[str, dict], project: Project) -> list[Finding]:
    """Extreme values (robust z-score > 7). In a classification project, outliers that one
    class over-represents are signal, not error: reported, never suggested for dropping; nor
    are drops that together would move a class share by more than one point."""
    import numpy as np

    target = project.target
    labels = frame[target] if project.task != "regression" and target in frame.columns else None
    out: list[Finding] = []
    droppable: list[tuple[int, Any]] = []  # (index in out, the rows a drop would remove)
    for name, column in profile.items():
        if column["type"] != "numeric" or name not in frame.columns:
            continue
        numbers = frame[name].to_numpy(dtype="float64", na_value=np.nan)
        mask = outlier_mask(frame[name]).to_numpy() & np.isfinite(numbers)
        if not mask.any():
            continue
        n = int(mask.sum())
        where = "target" if name == target else "column"
        message = f"{n} extreme values in {where} {name!r} (robust z-score > 7)"
        examples = _examples(frame.loc[mask, name])
        skew = class_skew(labels, mask) if labels is not None and name != target else None
        if skew:
            out.append(
                Finding(
                    "outliers",
                    "info",
                    name,
                    f"{message}: {skew}; outliers concentrated in one class are signal, not error: keep them",
                    n,
                    examples,
                )
            )
            continue
        finding = Finding(
            "outliers", "warning", name, message, n, examples, {"op": "drop_outliers", "column": name}
        )
        out.append(finding)
        droppable.append((len(out) - 1, mask))
    if labels is not None:
        for index, total in _withdrawn_drops(labels, droppable).items():
            out[index] = replace(
                out[index],
                fix=None,
                message=out[index].message + f"; not suggested for dropping: with the other outlier "
                f"drops it would move the class balance by {total:.1%}",
            )
    return out


def _withdrawn_drops(labels: pd.Series, droppable: list[tuple[int, Any]]) -> dict[int, float]:
    """Suggested outlier drops (finding index, rows) to withdraw, most unbalanced first, until
    dropping the rest moves no class share by more than MAX_BALANCE_SHIFT: index -> the shift
    all the drops still suggested would have made when it was withdrawn."""
    import numpy as np

    def shift(masks: list) -> float:
        if not masks:
            return 0.0
        dropped = np.logical_or.reduce(masks)
        return class_share_shift(labels, labels[~dropped])

    withdrawn: dict[int, float] = {}
    ranked = sorted(droppable, key=lambda item: -shift([item[1]]))
    while ranked and shift([mask for _, mask in ranked]) > MAX_BALANCE_SHIFT:
        total = shift([mask for _, mask in ranked])
        index, _ = ranked.pop(0)
        withdrawn[index] = total
    return withdrawn


def _constants(frame: pd.DataFrame, profile: dict[str, dict]) -> list[Finding]:
    return [
        Finding(
            "constant",
            "info",
            name,
            f"column {name!r} holds a single value; it cannot help a model",
            len(frame),
        )
        for name, column in profile.items()
        if column["distinct"] == 1
    ]


def _examples(values: pd.Series, n: int = 5) -> list[Any]:
    """A few values for the report, as strict JSON allows (inf and NaN become text)."""
    import math

    out = []
    for value in values.head(n).tolist():
        value = value.item() if hasattr(value, "item") else value
        out.append(str(value) if isinstance(value, float) and not math.isfinite(value) else value)
    return out


# -- stored reports ------------------------------------------------------------


def column_ranges(ws: Workspace, project: Project) -> dict[str, tuple[float | None, float | None]]:
    rows = ws.store.rows("SELECT column, min, max FROM column_ranges WHERE project_id = ?", [project.id])
    return {r["column"]: (r["min"], r["max"]) for r in rows}


def set_column_range(
    ws: Workspace, project: Project, column: str, low: float | None, high: float | None
) -> None:
    with ws.store.transaction():
        ws.store.conn.execute(
            "INSERT INTO column_ranges (project_id, column, min, max) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (project_id, column) DO UPDATE SET min = excluded.min, max = excluded.max",
            [project.id, ws.store.redact(column), low, high],
        )
        ws.record("data", "set range", project.id, {"column": column, "min": low, "max": high})


def validate(ws: Workspace, project: Project, version: DatasetVersion) -> Report:
    """Run every check on a version and store the report (one transaction)."""
    frame = load_frame(ws, version)
    if version.parent_id is not None:
        previous_row = ws.store.one("SELECT schema FROM dataset_versions WHERE id = ?", [version.parent_id])
    else:
        previous_row = ws.store.one(
            "SELECT schema FROM dataset_versions WHERE project_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
            [project.id, version.id],
        )
    previous = json.loads(previous_row["schema"]) if previous_row else None
    findings = run_checks(
        frame,
        load_profile(ws, version),
        project,
        previous,
        column_ranges(ws, project),
        by_recipe=bool(version.recipe),  # a retrain's combined data has a parent, no recipe
    )
    report = Report(version.id, findings)
    with ws.store.transaction():
        ws.store.insert(
            "validations",
            {
                "version_id": version.id,
                "created_at": clock.now_iso(),
                "errors": report.count("error"),
                "warnings": report.count("warning"),
                "infos": report.count("info"),
                "findings": [f.as_dict() for f in findings],
            },
        )
        ws.record(
            "data",
            "validate",
            project.id,
            {"version": version.id, "errors": report.count("error"), "warnings": report.count("warning")},
        )
    return report


def latest_report(ws: Workspace, version: DatasetVersion) -> Report | None:
    row = ws.store.one(
        "SELECT findings FROM validations WHERE version_id = ? ORDER BY id DESC LIMIT 1", [version.id]
    )
    if row is None:
        return None
    return Report(version.id, [Finding(**f) for f in json.loads(row["findings"])])
