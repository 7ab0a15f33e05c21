"""Property-based tests (hypothesis) for what parses user input: the CSV reader, problem
specs and their grade, and cleaning recipes.

Whatever a user gives, the only exception that may escape is CockpitError (one clear line
at the CLI), never a traceback; and what is accepted means what it says. Every test is
derandomized with a small example budget, so the suite stays fast and repeatable.
"""

from __future__ import annotations

import io
import json
import math
import tomllib
import warnings
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.data.reading import _looks_like_value, read_table
from cockpit.data.recipes import OPS, apply_recipe, check_steps, load_recipe, recipe_to_toml
from cockpit.errors import CockpitError
from cockpit.problem import (
    FIELD_TYPES,
    METRICS,
    MISTAKES,
    USAGES,
    ProblemSpec,
    load_spec_file,
    spec_from_mapping,
)
from cockpit.problem.grader import CHECKS, grade


def fast(examples: int):
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# Any JSON/TOML-like value, nested a little.
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(
        [
            10**400,
            -(10**30),
            "1e400",
            "nan",
            "-1",
            " 0.5 ",
            "",
            "batch",
            "binary",
            "recall",
            "mae",
            "false_positive",
            "a,b,,c",
        ]
    )
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


# -- the CSV reader -------------------------------------------------------------------

CSV_CHARS = list("ab1.,;\"'\r\n\t |#é\\\ufeff\x00\x0b\x85\u2028-e")


@fast(150)
@given(
    data=st.binary(max_size=300) | st.text(alphabet=st.sampled_from(CSV_CHARS), max_size=150).map(str.encode),
    delimiter=st.sampled_from([",", ";", "\t", "|", " ", "é", "", "ab", '"', "\n", "\x00"]),
    encoding=st.sampled_from(
        ["utf-8", "latin-1", "utf-16", "ascii", "rot13", "base64", "no-such", "utf\x00"]
    ),
    suffix=st.sampled_from([".csv", ".txt", ".parquet"]),
)
def test_any_bytes_are_read_or_refused_with_a_cockpit_error(
    tmp_path: Path, data: bytes, delimiter: str, encoding: str, suffix: str
) -> None:
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a second line on the terminal
        try:
            frame = read_table(path, delimiter, encoding)
        except CockpitError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc).strip()
            return
    assert len(frame) > 0 and len(frame.columns) > 0
    assert all(isinstance(name, str) and name for name in frame.columns)
    assert len(set(frame.columns)) == len(frame.columns)


# Column names a person might write: quotes, SQL, unicode; not value-like, no edge spaces,
# and none of the other delimiters the reader sniffs for in a one-column header.
NAMES = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters=";|\t"
    ),
    min_size=1,
    max_size=10,
).filter(lambda s: s == s.strip() and not s.startswith("\ufeff") and not _looks_like_value(s))
NA_WORDS = {
    "",
    "NA",
    "N/A",
    "NULL",
    "NaN",
    "nan",
    "null",
    "None",
    "none",
    "n/a",
    "<NA>",
    "#N/A",
    "#NA",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "-1.#IND",
    "-1.#QNAN",
    "#N/A N/A",
    "True",
    "False",
    "TRUE",
    "FALSE",
    "true",
    "false",
}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


WORDS = st.text(alphabet=st.sampled_from(list("abcXYZ é,;\"'\n\t|#")), min_size=1, max_size=8).filter(
    lambda s: s.strip() not in NA_WORDS and not _is_number(s)
)


@st.composite
def frames(draw) -> pd.DataFrame:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    rows = draw(st.integers(1, 6))
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(["int", "float", "text"]))
        if kind == "int":
            values = st.integers(-(10**12), 10**12)
        elif kind == "float":
            values = st.floats(allow_nan=False, allow_infinity=False)
        else:
            values = WORDS
        columns[name] = draw(st.lists(values, min_size=rows, max_size=rows))
    return pd.DataFrame(columns)


@fast(60)
@given(
    frame=frames(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_what_a_csv_writer_writes_reads_back_the_same(
    tmp_path: Path, frame: pd.DataFrame, delimiter: str, line_end: str
) -> None:
    if line_end == "\r":  # pandas' writer then leaves a field holding "\n" unquoted
        frame = frame.apply(lambda c: c if c.dtype.kind in "iuf" else c.str.replace("\n", " "))
    path = tmp_path / "round.csv"
    path.write_bytes(frame.to_csv(index=False, sep=delimiter, lineterminator=line_end).encode())
    back = read_table(path, delimiter)
    assert list(back.columns) == list(frame.columns)
    assert len(back) == len(frame)
    for name in frame.columns:
        for wrote, read in zip(frame[name].tolist(), back[name].tolist(), strict=True):
            if isinstance(wrote, float):
                assert math.isclose(wrote, read, rel_tol=1e-12) or wrote == read, name
            else:
                assert wrote == read, (name, wrote, read)


def test_a_column_that_turns_to_text_late_is_read_as_one_type(tmp_path: Path) -> None:
    """Read chunk by chunk, a column numeric for 300,000 rows and text after came back as
    Python ints mixed with strings (with a DtypeWarning), which Parquet cannot store."""
    rows = 300_000
    path = tmp_path / "late.csv"
    path.write_text("code,y\n" + "".join(f"{i},{i % 2}\n" for i in range(rows)) + "X12,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_table(path)
    assert len({type(v) for v in frame["code"].head(3).tolist() + [frame["code"].iloc[-1]]}) == 1
    frame.to_parquet(io.BytesIO(), index=False)


@pytest.mark.parametrize(
    ("delimiter", "problem"),
    [("", "one character"), ("ab", "one character"), ('"', "one character"), ("\n", "one character")],
)
def test_a_bad_delimiter_is_refused(tmp_path: Path, delimiter: str, problem: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CockpitError, match=problem):
        read_table(path, delimiter)


def test_old_mac_line_ends_and_utf16_are_read(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b\r1,x\r2,y\r")
    assert read_table(path).to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}
    wide = tmp_path / "wide.csv"
    wide.write_bytes("a,city\n1,Z\u00fcrich\n".encode("utf-16"))
    with pytest.raises(CockpitError, match="UTF-16 text.*--encoding utf-16"):
        read_table(wide)
    assert read_table(wide, encoding="utf-16")["city"].tolist() == ["Z\u00fcrich"]


# -- problem specs and the grader ----------------------------------------------------

FIELD_NAMES = st.sampled_from(sorted(FIELD_TYPES))


@fast(200)
@given(
    data=st.dictionaries(FIELD_NAMES | st.text(max_size=10) | st.integers() | st.none(), VALUES, max_size=8)
    | VALUES
)
def test_any_mapping_gives_a_spec_or_a_cockpit_error(data) -> None:
    try:
        spec = spec_from_mapping(data, "spec.toml")
    except CockpitError as exc:
        assert str(exc).startswith("spec.toml: ")
        return
    assert isinstance(spec, ProblemSpec)
    for name in ("latency_budget_ms", "metric_target", "cost_ratio"):
        value = getattr(spec, name)
        assert value is None or (isinstance(value, float) and math.isfinite(value) and value >= 0)
    assert 0 <= grade(spec).score <= 100


@fast(40)
@given(
    text=st.sampled_from(
        [
            '{"metric_target": ' + "1" * 5000 + "}",
            "[" * 100_000,
            '{"metric_target": 1e999}',
            "metric_target = " + "9" * 5000,
            '{"statement": "\\ud800"}',
            "\x00",
            "{}",
            "[]",
            '"text"',
        ]
    ),
    suffix=st.sampled_from([".json", ".toml"]),
)
def test_any_spec_file_gives_a_spec_or_a_cockpit_error(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    try:
        load_spec_file(path)
    except CockpitError as exc:
        assert str(path) in str(exc)


SHORT_TEXT = st.text(alphabet=st.sampled_from(list("abc 12.'-\u00e9")), max_size=12)
PROSE = st.sampled_from(
    [
        "",
        "AI",
        "use AI to reduce churn",
        "predict whether a customer cancels within 30 days",
        "support agents",
        "who calls the customer next week",
        "the team lead can override it",
        "within 30 days",
        "next quarter",
        "always",
        "labelled from cancellations by billing",
    ]
)
NUMBER = st.none() | st.floats(allow_nan=True, allow_infinity=True)
ALL_METRICS = sorted({m for ms in METRICS.values() for m in ms})


@st.composite
def specs(draw, task=None) -> ProblemSpec:
    """Any ProblemSpec, as a form or code could build it (choices or free text)."""

    def choice(options):
        return draw(st.sampled_from(["", *options]) | SHORT_TEXT)

    return ProblemSpec(
        statement=draw(PROSE | SHORT_TEXT),
        task=task if task is not None else choice(METRICS),
        target=draw(SHORT_TEXT),
        labels=draw(PROSE),
        audience=draw(PROSE),
        decision=draw(PROSE),
        usage=choice(USAGES),
        latency_budget_ms=draw(NUMBER),
        time_window=draw(PROSE | SHORT_TEXT),
        metric=choice(ALL_METRICS),
        metric_target=draw(NUMBER),
        costlier_mistake=choice(MISTAKES),
        cost_ratio=draw(NUMBER),
        baseline=draw(PROSE),
        constraints=draw(PROSE),
        segments=draw(st.lists(SHORT_TEXT, max_size=3)),
        risks=draw(PROSE),
        human_path=draw(PROSE),
    )


@fast(150)
@given(spec=specs())
def test_any_spec_grades_between_0_and_100(spec: ProblemSpec) -> None:
    result = grade(spec)
    assert isinstance(result.score, int) and 0 <= result.score <= 100
    assert [f.field for f in result.findings] == [name for name, *_ in CHECKS]
    assert all(f.status in ("ok", "missing", "vague", "n/a") for f in result.findings)
    assert json.dumps(result.as_dict())
    spec.metric_goal()


FILLERS = {
    "statement": PROSE,
    "target": SHORT_TEXT,
    "labels": PROSE,
    "audience": PROSE,
    "decision": PROSE,
    "usage": st.sampled_from(USAGES),
    "time_window": PROSE,
    "metric": st.sampled_from(ALL_METRICS),
    "metric_target": st.floats(0, 1),
    "costlier_mistake": st.sampled_from(MISTAKES),
    "baseline": PROSE,
    "constraints": PROSE,
    "segments": st.lists(SHORT_TEXT.filter(bool), min_size=1, max_size=2),
    "risks": PROSE,
    "human_path": PROSE,
    "latency_budget_ms": st.floats(0, 1000),
    "cost_ratio": st.floats(0, 100),
}


@fast(150)
@given(data=st.data(), task=st.sampled_from(["", *METRICS]))
def test_answering_a_missing_field_never_lowers_the_score(data, task: str) -> None:
    """For a given task (the project fixes it), answering what was missing only helps."""
    spec = data.draw(specs(task=task))
    empty = [
        f.name for f in fields(ProblemSpec) if f.name in FILLERS and getattr(spec, f.name) in ("", None, [])
    ]
    if not empty:
        return
    name = data.draw(st.sampled_from(empty))
    filled = replace(spec, **{name: data.draw(FILLERS[name])})
    assert grade(filled).score >= grade(spec).score, (name, getattr(filled, name))


# -- cleaning recipes -----------------------------------------------------------------

STEP_KEYS = st.sampled_from(sorted({"op"} | {k for req, opt in OPS.values() for k in req | opt}))


@fast(200)
@given(
    steps=st.lists(
        st.dictionaries(STEP_KEYS | st.text(max_size=3), VALUES, max_size=5)
        | st.builds(
            lambda op, rest: {**rest, "op": op},
            st.sampled_from(sorted(OPS)),
            st.dictionaries(STEP_KEYS, VALUES, max_size=4),
        ),
        max_size=3,
    )
    | VALUES
    | st.fixed_dictionaries({"steps": VALUES})
)
def test_any_recipe_is_accepted_or_refused_with_a_cockpit_error(steps) -> None:
    try:
        checked = check_steps(steps, "recipe.toml")
    except CockpitError as exc:
        assert str(exc).startswith("recipe.toml")
        return
    assert checked and all(step["op"] in OPS for step in checked)


FRAME = pd.DataFrame(
    {
        "n": [1, 2, 2, 40, 5, 6, 7, 8, 9, 10, 11, 2],
        "f": [1.5, np.nan, 2.5, 3.0, 1000.0, 2.0, 2.1, 2.2, np.nan, 2.4, 2.5, 1.5],
        "s": pd.array(["a", "A", None, "b", "b", "a", "c", "a", "b", "x", "y", "a"], dtype="str"),
        "d": pd.array(
            ["2024-01-02", "01/03/2024", None, "3 Mar 2024", "bad", *["2024-01-02"] * 7], dtype="str"
        ),
        "b": [True, False] * 6,
        "t": pd.to_datetime(["2024-01-01"] * 6 + [None] * 6),
    }
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-100, 100)
    | st.floats()
    | st.text(max_size=3)
    | st.sampled_from(
        [
            "a",
            "A",
            "b",
            "1",
            "first",
            "last",
            "null",
            "outside",
            "mean",
            "median",
            "mode",
            "value",
            "2024-01-05",
        ]
    )
)
COLUMN = st.sampled_from([*FRAME.columns, "nope"])


def _step(op: str):
    required, optional = OPS[op]

    def field(key):
        if key in ("column", "order_by"):
            return COLUMN
        if key == "columns":
            return st.lists(COLUMN, min_size=1, max_size=2, unique=True)
        if key == "mapping":
            return st.dictionaries(st.sampled_from(["a", "A", "b", "1", "x"]), SCALARS, max_size=3)
        return SCALARS

    return st.fixed_dictionaries(
        {k: field(k) for k in required}, optional={k: field(k) for k in optional}
    ).map(lambda d: {"op": op, **d})


@fast(150)
@given(steps=st.lists(st.sampled_from(sorted(OPS)).flatmap(_step), min_size=1, max_size=3))
def test_an_accepted_recipe_applies_or_fails_with_a_cockpit_error(steps) -> None:
    """Steps check_steps accepts run on real data into a frame Parquet can store, or stop
    with a CockpitError naming the problem; and as TOML they read back the same."""
    try:
        checked = check_steps(steps, "recipe")
    except CockpitError:
        return
    as_toml = check_steps(tomllib.loads(recipe_to_toml(checked)), "recipe")
    assert as_toml == [{k: v for k, v in step.items() if v is not None} for step in checked]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            cleaned, results = apply_recipe(FRAME, checked)
        except CockpitError:
            return
    assert len(results) == len(checked) and len(cleaned) <= len(FRAME)
    cleaned.to_parquet(io.BytesIO(), index=False)


def test_a_suggested_range_with_one_end_survives_toml(tmp_path: Path) -> None:
    """A range fix with no lower bound was written as `min = "None"`, then failed to apply."""
    steps = [{"op": "drop_rows", "column": "n", "when": "outside", "min": None, "max": 30}]
    path = tmp_path / "r.toml"
    path.write_text(recipe_to_toml(steps))
    loaded = load_recipe(path)
    assert loaded == [{"op": "drop_rows", "column": "n", "when": "outside", "max": 30}]
    cleaned, _ = apply_recipe(FRAME, loaded)
    assert cleaned["n"].max() <= 30


def test_a_text_fill_into_a_numeric_column_is_refused_not_stored_mixed() -> None:
    with pytest.raises(CockpitError, match="holds numbers"):
        apply_recipe(FRAME, [{"op": "fill", "column": "f", "strategy": "value", "value": "missing"}])


def test_a_recipe_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_bytes(b"\xff\xfe[[steps]]")
    with pytest.raises(CockpitError, match="not UTF-8"):
        load_recipe(path)
