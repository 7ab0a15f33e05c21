"""Cleaning recipes: recorded steps that turn a version into a cleaner child version,
and replay on new data (the retrain stage replays them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.data.semantics import MAX_BALANCE_SHIFT, class_share_shift, outlier_mask
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
    "to_numeric": ({"column"}, set()),
    "replace_inf": ({"column"}, {"fill"}),
    "drop_columns": ({"columns"}, set()),
}
FILL_STRATEGIES = ("mean", "median", "mode", "value")
INF_FILLS = ("median", "mean")
DROP_WHEN = ("null", "outside", "infinite")
# The order suggested fixes run in: spellings before duplicates, so variants collapse first;
# infinite values become missing before rows are dropped and gaps filled.
SUGGESTED_ORDER = [
    "standardise",
    "parse_dates",
    "to_numeric",
    "replace_inf",
    "drop_duplicates",
    "dedupe_keys",
    "drop_rows",
    "drop_outliers",
    "clip",
    "fill",
    "drop_columns",
]


@dataclass(frozen=True, slots=True)
class StepResult:
    step: dict
    rows_before: int
    rows_after: int
    cells_changed: int
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "cells_changed": self.cells_changed,
            "note": self.note,
        }

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
        if step["strategy"] == "value":  # the value itself: "with value" said nothing
            value = step.get("value")
            return f"fill {column} with {'an empty text' if value == '' else repr(value)}"
        return f"fill {column} with {step['strategy']}"
    if op == "drop_rows":
        return f"drop rows where {column} is {step['when']}"
    if op == "replace_inf":
        then = f", filled with the {step['fill']}" if step.get("fill") else ""
        return f"replace infinite values in {column} with missing{then}"
    if op == "drop_columns":
        return f"drop columns {', '.join(step['columns'])}"
    return f"{op.replace('_', ' ')} {column or ''}".strip()


def check_steps(steps: Any, source: str) -> list[dict]:
    """The steps of a recipe, each checked for its op, its fields and their types."""
    if isinstance(steps, dict):
        steps = steps.get("steps")
    if not isinstance(steps, list) or not steps:
        raise CockpitError(f"{source}: a recipe is a non-empty list of steps ([[steps]] in TOML)")
    for number, step in enumerate(steps, start=1):
        where = f"{source}: step {number}"
        if not isinstance(step, dict) or "op" not in step:
            raise CockpitError(f"{where} has no 'op'")
        if not isinstance(step["op"], str) or step["op"] not in OPS:
            raise CockpitError(f"{where}: unknown op {step['op']!r}; one of {', '.join(OPS)}")
        required, optional = OPS[step["op"]]
        missing = required - step.keys()
        unknown = step.keys() - required - optional - {"op"}
        if missing:
            raise CockpitError(f"{where} ({step['op']}) needs {', '.join(sorted(missing))}")
        if unknown:
            raise CockpitError(
                f"{where} ({step['op']}): unknown field(s) {', '.join(sorted(map(str, unknown)))}"
            )
        _check_values(step, where)
    return steps


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool)) or _is_number(value)


def _check_values(step: dict, where: str) -> None:
    """Each field holds what its op needs, so applying the step fails only on the data."""
    op = step["op"]
    where = f"{where} ({op})"
    for key in ("column", "order_by"):
        if key in step and (not isinstance(step[key], str) or not step[key]):
            raise CockpitError(f"{where}: {key} must be a column name, got {step[key]!r}")
    columns = step.get("columns", ["-"])
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns):
        raise CockpitError(f"{where}: columns must be a non-empty list of column names")
    for key in ("min", "max", "threshold"):
        if step.get(key) is not None and not _is_number(step[key]):
            raise CockpitError(f"{where}: {key} must be a number, got {step[key]!r}")
    if step.get("min") is not None and step.get("max") is not None and step["min"] > step["max"]:
        raise CockpitError(f"{where}: min {step['min']!r} is above max {step['max']!r}")
    if "threshold" in step and not (step["threshold"] is None or step["threshold"] > 0):
        raise CockpitError(f"{where}: threshold must be above 0")
    if "keep" in step and step["keep"] not in ("first", "last"):
        raise CockpitError(f"{where}: keep must be 'first' or 'last'")
    if "dayfirst" in step and not isinstance(step["dayfirst"], bool):
        raise CockpitError(f"{where}: dayfirst must be true or false")
    if op == "fill":
        if step["strategy"] not in FILL_STRATEGIES:
            raise CockpitError(f"{where}: strategy must be one of {', '.join(FILL_STRATEGIES)}")
        if step["strategy"] == "value" and "value" not in step:
            raise CockpitError(f"{where}: strategy 'value' needs a value")
        if "value" in step and not _is_scalar(step["value"]):
            raise CockpitError(f"{where}: value must be text or a number, got {step['value']!r}")
    if op == "replace_inf" and step.get("fill") is not None and step["fill"] not in INF_FILLS:
        raise CockpitError(f"{where}: fill must be one of {', '.join(INF_FILLS)}")
    if op == "drop_rows":
        if step["when"] not in DROP_WHEN:
            raise CockpitError(f"{where}: when must be one of {', '.join(DROP_WHEN)}")
        if step["when"] == "outside" and step.get("min") is None and step.get("max") is None:
            raise CockpitError(f"{where}: when 'outside' needs a min or a max")
    if op == "standardise" and (
        not isinstance(step["mapping"], dict)
        or not all(isinstance(k, str) and _is_scalar(v) for k, v in step["mapping"].items())
    ):
        raise CockpitError(f"{where}: mapping must be a table of spelling = canonical")


def load_recipe(path: Path) -> list[dict]:
    from cockpit.files import read_structured

    return check_steps(read_structured(path, "recipe file"), str(path))


def recipe_to_toml(steps: list[dict]) -> str:
    """A recipe as TOML a person can edit (the suggested recipe is printed this way)."""
    lines = ["# cockpit cleaning recipe: steps run in order (cockpit data clean --recipe FILE)"]
    for step in steps:
        lines += ["", "[[steps]]"]
        for key, value in step.items():
            if key == "mapping" or value is None:  # TOML has no null: a missing key is None
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
    # A JSON string is a TOML basic string, except that TOML also wants DEL escaped.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def apply_recipe(
    frame: pd.DataFrame, steps: list[dict], labels: str | None = None
) -> tuple[pd.DataFrame, list[StepResult]]:
    """Run the steps in order on a copy; a step naming a missing column is refused. With
    `labels` (a class column), a step that drops rows says how it moved the class balance
    when a class share moves by more than a point: a drop never changes it silently."""
    results = []
    for number, step in enumerate(steps, start=1):
        for column in [step.get("column"), step.get("order_by"), *step.get("columns", [])]:
            if column is not None and column not in frame.columns:
                raise CockpitError(f"recipe step {number} ({step['op']}): no column {column!r} in this data")
        if _needs_numbers(step) and frame[step["column"]].dtype.kind not in "iuf":
            raise CockpitError(
                f"recipe step {number} ({step['op']}): column {step['column']!r} "
                f"is not numeric ({frame[step['column']].dtype})"
            )
        before = frame
        frame, note = _STEPS[step["op"]](frame, step)
        if labels in frame.columns and len(frame) < len(before):
            note = "; ".join(filter(None, [note, _balance_note(before[labels], frame[labels])]))
        results.append(StepResult(step, len(before), len(frame), _changed(before, frame, step), note))
    return frame.reset_index(drop=True), results


def replay(frame: pd.DataFrame, steps: list[dict], cleaned: pd.DataFrame) -> pd.DataFrame:
    """The steps run on new rows (a retrain's), each fill by a statistic filling with the value
    it has on `cleaned`, the version the recipe made: new rows alone may have no mode (two rows
    without a sex) or another median. Filling with a column's median, mean or mode leaves it
    that column's median, mean or mode, so `cleaned` gives the value the cleaning used."""
    return apply_recipe(frame, [fixed for step in steps for fixed in _as_learned(step, cleaned)])[0]


def _as_learned(step: dict, cleaned: pd.DataFrame) -> list[dict]:
    import numpy as np

    column = step.get("column")
    if step["op"] == "fill" and step["strategy"] in ("mean", "median", "mode"):
        strategy = step["strategy"]
    elif step["op"] == "replace_inf" and step.get("fill"):
        strategy = step["fill"]
    else:
        return [step]
    values = cleaned.get(column)
    if values is None or (strategy != "mode" and values.dtype.kind not in "iuf"):
        return [step]  # dropped by a later step, or not numbers: the step says why as it runs
    if strategy == "mode":
        modes = values.mode()
        fill = modes.iloc[0] if not modes.empty else None
    else:
        fill = values.median() if strategy == "median" else values.mean()
    if fill is None or fill != fill:
        raise CockpitError(f"{describe(step)}: the cleaned data has no {strategy} of {column} to fill with")
    fill = fill.item() if isinstance(fill, np.generic) else fill
    learned = {"op": "fill", "column": column, "strategy": "learned", "value": fill}
    return [{"op": "replace_inf", "column": column}, learned] if step["op"] == "replace_inf" else [learned]


def _balance_note(before: pd.Series, after: pd.Series) -> str:
    if class_share_shift(before, after) <= MAX_BALANCE_SHIFT:
        return ""
    old = before.dropna().astype(str).value_counts(normalize=True)
    new = after.dropna().astype(str).value_counts(normalize=True)
    moved = ", ".join(f"{label} {old[label]:.1%} -> {new.get(label, 0.0):.1%}" for label in old.index)
    return f"class balance moved: {moved}"


def _needs_numbers(step: dict) -> bool:
    return step["op"] in ("drop_outliers", "clip", "replace_inf") or (
        step["op"] == "drop_rows" and step["when"] in ("outside", "infinite")
    )


def _changed(before: pd.DataFrame, after: pd.DataFrame, step: dict) -> int:
    column = step.get("column")
    if column is None or len(before) != len(after) or column not in after.columns:
        return 0
    old, new = before[column].astype(str), after[column].astype(str)
    return int((old.to_numpy() != new.to_numpy()).sum())


def _standardise(frame, step):
    import pandas as pd

    column = step["column"]
    values = frame[column]
    if not (isinstance(values.dtype, pd.StringDtype) or values.dtype == object):
        raise CockpitError(f"standardise {column}: the column holds {values.dtype}, not text spellings")
    # Canonical spellings are text, so the column keeps one type (Parquet stores no mix).
    mapping = {str(k): str(v) for k, v in step["mapping"].items()}
    return frame.assign(**{column: frame[column].replace(mapping)}), ""


def _parse_dates(frame, step):
    import pandas as pd

    column = step["column"]
    parsed = pd.to_datetime(
        frame[column], format="mixed", dayfirst=bool(step.get("dayfirst")), errors="coerce"
    )
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
    threshold = step.get("threshold")
    mask = outlier_mask(frame[step["column"]], 7.0 if threshold is None else float(threshold))
    return frame[~mask], ""


def _clip(frame, step):
    column = step["column"]
    return frame.assign(**{column: frame[column].clip(step.get("min"), step.get("max"))}), ""


def _drop_rows(frame, step):
    import numpy as np

    values = frame[step["column"]]
    if step["when"] == "null":
        return frame[values.notna()], ""
    if step["when"] == "infinite":
        return frame[~np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))], ""
    low, high = step.get("min"), step.get("max")
    outside = ((values < low) if low is not None else False) | (
        (values > high) if high is not None else False
    )
    return frame[~(values.notna() & outside)], ""


def _fill(frame, step):
    import numpy as np

    column, strategy = step["column"], step["strategy"]
    values = frame[column]
    if strategy == "value":
        fill = _fill_value(column, values, step["value"])
    elif strategy == "learned":  # a statistic of the cleaned version, as is (replay)
        fill = step["value"]
    elif strategy == "mode":
        modes = values.mode()
        if modes.empty:
            raise CockpitError(f"fill {column} with mode: the column has no values")
        fill = modes.iloc[0]
    elif values.dtype.kind not in "iuf":
        raise CockpitError(f"fill {column} with {strategy}: the column is not numeric; use mode")
    else:
        fill = float(values.median() if strategy == "median" else values.mean())
    shown = fill.item() if isinstance(fill, np.generic) else fill  # 1.0, not np.float64(1.0)
    note = f"value {shown!r}" if strategy != "value" else ""
    return frame.assign(**{column: values.fillna(fill)}), note


def _fill_value(column: str, values, fill):
    """`fill` as a value of the column's type: a number for numbers, text for text, a
    timestamp for dates; CockpitError when it is not one (a mixed column cannot be stored)."""
    import pandas as pd

    if values.dtype.kind in "iuf":
        if not _is_number(fill):
            raise CockpitError(
                f"fill {column} with {fill!r}: the column holds numbers; give a number, or use median or mode"
            )
        return fill
    if values.dtype.kind == "M":
        try:
            stamp = pd.Timestamp(fill) if isinstance(fill, str) else None
        except ValueError:
            stamp = None
        if stamp is None or stamp is pd.NaT or (stamp.tz is None) != (values.dt.tz is None):
            raise CockpitError(
                f"fill {column} with {fill!r}: the column holds dates; give a "
                "date like the others, or use mode"
            )
        return stamp
    if isinstance(values.dtype, pd.StringDtype) and not isinstance(fill, str):
        return str(fill)  # a text column takes the value as text (`value = 0` -> "0")
    return fill


def _replace_inf(frame, step):
    """+inf and -inf become missing; with `fill`, the column's gaps are then filled with the
    median or mean of its finite values."""
    import numpy as np

    column = step["column"]
    numbers = frame[column].to_numpy(dtype="float64", na_value=np.nan)
    infinite = np.isinf(numbers)
    values = frame[column].mask(infinite)
    note = f"{int(infinite.sum())} infinite values made missing" if infinite.any() else ""
    if step.get("fill") and values.notna().any():
        fill = float(values.median() if step["fill"] == "median" else values.mean())
        values = values.fillna(fill)
        note += f"{'; ' if note else ''}gaps filled with {fill!r}"
    return frame.assign(**{column: values}), note


def _drop_columns(frame, step):
    return frame.drop(columns=step["columns"]), ""


def _to_numeric(frame, step):
    """Text that reads as a number becomes that number, other text becomes missing; a column
    of numbers already is left as it is (so the step replays on cleaner data)."""
    import pandas as pd

    column = step["column"]
    values = frame[column]
    if values.dtype.kind in "iuf":
        return frame, ""
    if not (isinstance(values.dtype, pd.StringDtype) or values.dtype == object):
        raise CockpitError(f"to_numeric {column}: the column holds {values.dtype}, not text")
    text = values.astype("str")
    numbers = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
    failed = int((numbers.isna() & values.notna()).sum())
    note = f"{failed} values were not numbers (now missing)" if failed else ""
    return frame.assign(**{column: numbers}), note


_STEPS = {
    "standardise": _standardise,
    "parse_dates": _parse_dates,
    "drop_duplicates": _drop_duplicates,
    "dedupe_keys": _dedupe_keys,
    "drop_outliers": _drop_outliers,
    "clip": _clip,
    "drop_rows": _drop_rows,
    "fill": _fill,
    "drop_columns": _drop_columns,
    "to_numeric": _to_numeric,
    "replace_inf": _replace_inf,
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
    """Apply a recipe to a version (default: the newest) and store the child version, then
    validate it: the cleaned data is what gets split and trained on, and a recipe can bring
    problems of its own (dropped rows, a changed schema), so the step checks what it made.

    Returns (child, step results). A recipe that changes nothing is refused.
    """
    from cockpit.data.checks import validate
    from cockpit.data.datasets import check_target, get_version, load_frame, save_frame

    parent = version or get_version(ws, project)
    steps = check_steps(steps, "recipe")
    labels = project.target if project.task != "regression" else None
    frame, results = apply_recipe(load_frame(ws, parent), steps, labels)
    check_target(frame, project, f"the cleaned data of {parent.label}")
    recorded = [r.as_dict() for r in results]
    child, created = save_frame(
        ws,
        project,
        frame,
        name or f"{parent.name}-clean",
        source=f"clean of v{parent.id}",
        parent=parent,
        recipe=recorded,
    )
    if not created:
        raise CockpitError(f"the recipe gives data identical to {child.label}; nothing new to store")
    validate(ws, project, child)
    return child, results
