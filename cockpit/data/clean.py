"""Cleaning recipes: recorded steps that turn a version into a cleaner child version,
and replay on new data (the retrain stage replays them)."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.data.semantics import outlier_mask
from cockpit.errors import CockpitError

if TYPE_CHECKING:
    import pandas as pd

# op -> (required keys, optional keys)
OPS: dict[str, tuple[set[str], set[str]]] = {
    "standardise": ({"column", "mapping"}, set()),
    "parse_dates": ({"column"}, {"dayfirst"}),
    "drop_duplicates": (set(), set()),
    "dedupe_keys": ({"column"}, {"keep", "order_by"}),
    "drop_outliers": ({"column"}, {"threshold"}),
    "clip": ({"column"}, {"min", "max"}),
    "drop_rows": ({"column", "when"}, {"min", "max"}),
    "fill": ({"column", "strategy"}, {"value"}),
    "drop_columns": ({"columns"}, set()),
}
FILL_STRATEGIES = ("mean", "median", "mode", "value")
# The order suggested fixes run in: spellings before duplicates, so variants collapse first.
SUGGESTED_ORDER = ["standardise", "parse_dates", "drop_duplicates", "dedupe_keys", "drop_rows",
                   "drop_outliers", "clip", "fill", "drop_columns"]


@dataclass
class StepResult:
    step: dict
    rows_before: int
    rows_after: int
    cells_changed: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "rows_before": self.rows_before, "rows_after": self.rows_after,
                "cells_changed": self.cells_changed, "note": self.note}

    def summary(self) -> str:
        what = describe(self.step)
        dropped = self.rows_before - self.rows_after
        effect = [f"-{dropped} rows"] if dropped else []
        if self.cells_changed:
            effect.append(f"{self.cells_changed} cells changed")
        if self.note:
            effect.append(self.note)
        return f"{what}: {', '.join(effect) or 'no change'}"


def describe(step: dict) -> str:
    op, column = step["op"], step.get("column")
    if op == "standardise":
        return f"standardise {column} ({len(step['mapping'])} spellings)"
    if op == "fill":
        return f"fill {column} with {step['strategy']}"
    if op == "drop_rows":
        return f"drop rows where {column} is {step['when']}"
    if op == "drop_columns":
        return f"drop columns {', '.join(step['columns'])}"
    return f"{op.replace('_', ' ')} {column or ''}".strip()


def check_steps(steps: Any, source: str) -> list[dict]:
    if isinstance(steps, dict):
        steps = steps.get("steps")
    if not isinstance(steps, list) or not steps:
        raise CockpitError(f"{source}: a recipe is a non-empty list of steps ([[steps]] in TOML)")
    for number, step in enumerate(steps, start=1):
        where = f"{source}: step {number}"
        if not isinstance(step, dict) or "op" not in step:
            raise CockpitError(f"{where} has no 'op'")
        if step["op"] not in OPS:
            raise CockpitError(f"{where}: unknown op {step['op']!r}; one of {', '.join(OPS)}")
        required, optional = OPS[step["op"]]
        missing = required - step.keys()
        unknown = step.keys() - required - optional - {"op"}
        if missing:
            raise CockpitError(f"{where} ({step['op']}) needs {', '.join(sorted(missing))}")
        if unknown:
            raise CockpitError(f"{where} ({step['op']}): unknown field(s) {', '.join(sorted(unknown))}")
        if step["op"] == "fill" and step["strategy"] not in FILL_STRATEGIES:
            raise CockpitError(f"{where}: strategy must be one of {', '.join(FILL_STRATEGIES)}")
        if step["op"] == "fill" and step["strategy"] == "value" and "value" not in step:
            raise CockpitError(f"{where}: strategy 'value' needs a value")
        if step["op"] == "drop_rows" and step["when"] not in ("null", "outside"):
            raise CockpitError(f"{where}: when must be 'null' or 'outside'")
        if step["op"] == "standardise" and not isinstance(step["mapping"], dict):
            raise CockpitError(f"{where}: mapping must be a table of spelling = canonical")
    return steps


def load_recipe(path: Path) -> list[dict]:
    if not path.is_file():
        raise CockpitError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CockpitError(f"{path}: not a valid recipe file: {exc}") from None
    return check_steps(data, str(path))


def recipe_to_toml(steps: list[dict]) -> str:
    """A recipe as TOML a person can edit (the suggested recipe is printed this way)."""
    lines = ["# cockpit cleaning recipe: steps run in order (cockpit data clean --recipe FILE)"]
    for step in steps:
        lines += ["", "[[steps]]"]
        for key, value in step.items():
            if key == "mapping":
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        if "mapping" in step:
            lines.append("[steps.mapping]")
            lines += [f"{_toml_value(k)} = {_toml_value(v)}" for k, v in step["mapping"].items()]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def apply_recipe(frame: pd.DataFrame, steps: list[dict]) -> tuple[pd.DataFrame, list[StepResult]]:
    """Run the steps in order on a copy; a step naming a missing column is refused."""
    results = []
    for number, step in enumerate(steps, start=1):
        for column in [step.get("column"), step.get("order_by"), *step.get("columns", [])]:
            if column is not None and column not in frame.columns:
                raise CockpitError(f"recipe step {number} ({step['op']}): no column {column!r} "
                                   "in this data")
        before = frame
        frame, note = _STEPS[step["op"]](frame, step)
        results.append(StepResult(step, len(before), len(frame), _changed(before, frame, step),
                                  note))
    return frame.reset_index(drop=True), results


def _changed(before: pd.DataFrame, after: pd.DataFrame, step: dict) -> int:
    column = step.get("column")
    if column is None or len(before) != len(after) or column not in after.columns:
        return 0
    old, new = before[column].astype(str), after[column].astype(str)
    return int((old.to_numpy() != new.to_numpy()).sum())


def _standardise(frame, step):
    column = step["column"]
    mapping = {str(k): v for k, v in step["mapping"].items()}
    return frame.assign(**{column: frame[column].replace(mapping)}), ""


def _parse_dates(frame, step):
    import pandas as pd

    column = step["column"]
    parsed = pd.to_datetime(frame[column], format="mixed", dayfirst=bool(step.get("dayfirst")),
                            errors="coerce")
    failed = int((parsed.isna() & frame[column].notna()).sum())
    note = f"{failed} values could not be read as dates (now missing)" if failed else ""
    return frame.assign(**{column: parsed}), note


def _drop_duplicates(frame, step):
    return frame.drop_duplicates(keep="first"), ""


def _dedupe_keys(frame, step):
    column, keep = step["column"], step.get("keep", "last")
    ordered = frame.sort_values(step["order_by"], kind="stable") if step.get("order_by") else frame
    kept = ordered[~ordered.duplicated(subset=[column], keep=keep) | ordered[column].isna()]
    return kept.sort_index(), ""


def _drop_outliers(frame, step):
    mask = outlier_mask(frame[step["column"]], float(step.get("threshold", 7.0)))
    return frame[~mask], ""


def _clip(frame, step):
    column = step["column"]
    return frame.assign(**{column: frame[column].clip(step.get("min"), step.get("max"))}), ""


def _drop_rows(frame, step):
    values = frame[step["column"]]
    if step["when"] == "null":
        return frame[values.notna()], ""
    low, high = step.get("min"), step.get("max")
    outside = ((values < low) if low is not None else False) | (
        (values > high) if high is not None else False)
    return frame[~(values.notna() & outside)], ""


def _fill(frame, step):
    column, strategy = step["column"], step["strategy"]
    values = frame[column]
    if strategy == "value":
        fill = step["value"]
    elif strategy == "mode":
        fill = values.mode().iloc[0]
    elif values.dtype.kind not in "iuf":
        raise CockpitError(f"fill {column} with {strategy}: the column is not numeric; use mode")
    else:
        fill = float(values.median() if strategy == "median" else values.mean())
    note = f"value {fill!r}" if strategy != "value" else ""
    return frame.assign(**{column: values.fillna(fill)}), note


def _drop_columns(frame, step):
    return frame.drop(columns=step["columns"]), ""


_STEPS = {
    "standardise": _standardise, "parse_dates": _parse_dates, "drop_duplicates": _drop_duplicates,
    "dedupe_keys": _dedupe_keys, "drop_outliers": _drop_outliers, "clip": _clip,
    "drop_rows": _drop_rows, "fill": _fill, "drop_columns": _drop_columns,
}


def suggest_recipe(findings: list) -> list[dict]:
    """The fixes validation proposes, one per finding, in a safe order."""
    steps = [f.fix for f in findings if f.fix]
    unique = []
    for step in steps:
        if step not in unique:
            unique.append(step)
    return sorted(unique, key=lambda s: SUGGESTED_ORDER.index(s["op"]))


def clean_version(ws, project, steps: list[dict], version=None, name: str | None = None):
    """Apply a recipe to a version (default: the newest) and store the child version.

    Returns (child, step results). A recipe that changes nothing is refused.
    """
    from cockpit.data.versions import check_target, get_version, load_frame, save_frame

    parent = version or get_version(ws, project)
    steps = check_steps(steps, "recipe")
    frame, results = apply_recipe(load_frame(ws, parent), steps)
    check_target(frame, project, f"the cleaned data of {parent.label}")
    recorded = [r.as_dict() for r in results]
    child, created = save_frame(ws, project, frame, name or f"{parent.name}-clean",
                                source=f"clean of v{parent.id}", parent=parent, recipe=recorded)
    if not created:
        raise CockpitError(f"the recipe gives data identical to {child.label}; nothing new to store")
    return child, results
