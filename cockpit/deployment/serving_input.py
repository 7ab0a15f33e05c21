"""What the prediction service accepts: one row as a JSON object or many as {"rows": [...]},
checked against the production model's input schema field by field (a 422 names every
offending field), then turned into the frame the Router scores; and its OpenAPI schema.

A model without an id column takes the row's own key from a top-level field `id` (when no
model column is named so): text of 1-200 characters or an integer. The answer's `entity` is
that key, else the hash of the row's feature values (cockpit.entity)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from cockpit.entity import REQUEST_ID_FIELD

if TYPE_CHECKING:
    import pandas as pd

MAX_ROWS = 1000
MAX_ID_CHARS = 200
ID_PROBLEM = f"must be text of 1-{MAX_ID_CHARS} characters or an integer (the row's own entity key)"


class Rejected(Exception):
    """A request the service answers with a 4xx status and a JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", ""))
        self.status, self.body = status, body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(body: bytes) -> tuple[list[Any], bool]:
    """The rows of a request body and whether it held many ({"rows": [...]})."""
    try:
        payload = json.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(400, {"error": f"the body is not valid JSON: {exc}"[:200]}) from None
    except RecursionError:
        raise Rejected(400, {"error": "the body is not valid JSON: nested too deeply"}) from None
    if isinstance(payload, dict) and isinstance(payload.get("rows"), list):
        rows, many = payload["rows"], True
    elif isinstance(payload, dict):
        rows, many = [payload], False
    else:
        raise Rejected(422, {"error": 'send one row as a JSON object or many as {"rows": [...]}'})
    if not rows:
        raise Rejected(422, {"error": "no rows to score"})
    if len(rows) > MAX_ROWS:
        raise Rejected(413, {"error": f"at most {MAX_ROWS} rows per request ({len(rows)} sent)"})
    return rows, many


def _problem(value: Any, spec: dict[str, Any]) -> str | None:
    """What is wrong with one value for a column of the schema, or None."""
    if value is None:
        return "must not be null (it is the entity id)" if spec.get("role") == "id" else None
    if isinstance(value, (dict, list)):
        return "must be a single value, not an object or a list"
    if isinstance(value, str) and not _is_unicode(value):
        return "must be valid Unicode text (it holds a lone surrogate)"
    kind = spec.get("kind")
    if kind == "numeric":
        if isinstance(value, bool):
            return "must be a number"
        if isinstance(value, (int, float)):
            try:
                return None if math.isfinite(value) else "must be a finite number"
            except OverflowError:  # an int beyond float's range
                return "must be a finite number"
        try:
            return None if math.isfinite(float(str(value))) else "must be a finite number"
        except ValueError:
            return "must be a number"
    if kind == "date" and not isinstance(value, str):
        if _of_numbers(spec) and isinstance(value, (int, float)):
            return _year_problem(value)  # a date column of years (trained on numbers)
        return "must be a date as text (e.g. 2025-01-31)"
    return None


def _of_numbers(spec: dict[str, Any]) -> bool:
    """Trained on numbers (its dtype): a date column of years, which takes a year as a number."""
    return str(spec.get("dtype", ""))[:3].lower() in ("int", "uin", "flo")


def _year_problem(value: float) -> str | None:
    from cockpit.data.semantics import YEARS

    if value % 1 == 0 and YEARS[0] <= value <= YEARS[1]:
        return None
    return f"must be a whole year {YEARS[0]}-{YEARS[1]}, or a date as text"


class BodyTimeout(Rejected):
    """The body did not arrive within its time (a client trickling it: answered 408)."""


async def read_body(request, max_body: int, timeout: float | None = None) -> bytes:
    """The request's body, refused with a 413 as soon as it is over `max_body` bytes (by its
    declared length, or while it streams in), and with a 408 when it has not all arrived
    `timeout` seconds after its headers (uvicorn's h11 has no body timeout: a client sending
    a byte now and then would hold its connection and its request for ever)."""
    import asyncio

    too_big = Rejected(413, {"error": f"the body is larger than {max_body} bytes"})
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise too_big
    chunks, size = [], 0

    async def receive() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                raise too_big
            chunks.append(chunk)

    try:
        async with asyncio.timeout(timeout):
            await receive()
    except TimeoutError:
        raise BodyTimeout(408, {"error": f"the body did not arrive within {timeout:g} seconds"}) from None
    return b"".join(chunks)


def invalid(items: list[Any], schema: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """A 422 answer naming every offending field, or None when the rows are fine."""
    problems = check_rows(items, schema)
    if not problems:
        return None
    message = "invalid input: " + (_said(problems) or problems[0]["problem"])
    return 422, {"error": message, "fields": problems}


def _said(problems: list[dict[str, Any]]) -> str:
    """Every offending field once with its problem ('year: missing'), and in how many rows
    when more than one ('year: missing in 3 rows'); `fields` has each row."""
    rows: dict[tuple[str, str], int] = {}
    for p in problems:
        if p["field"]:
            key = (p["field"], p["problem"])
            rows[key] = rows.get(key, 0) + 1
    said = "; ".join(
        f"{field}: {problem}" + (f" in {n} rows" if n > 1 else "") for (field, problem), n in rows.items()
    )
    return said + (f" (checking stops after {PROBLEM_CAP} problems)" if len(problems) >= PROBLEM_CAP else "")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def takes_request_id(schema: dict[str, Any]) -> bool:
    """Whether rows may carry their own entity key: no id column, no column named `id`."""
    return not schema.get("entity") and REQUEST_ID_FIELD not in schema.get("columns", {})


def _id_problem(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if -(2**63) <= value < 2**63 else ID_PROBLEM
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and _is_unicode(value):
        return None
    return ID_PROBLEM


def request_ids(rows: list[dict[str, Any]], schema: dict[str, Any]) -> list[str | None] | None:
    """Each row's own entity key (None where it gives none); None when no row gives one or
    the model has an id column (checked rows only: see check_rows)."""
    if not takes_request_id(schema):
        return None
    ids = [None if row.get(REQUEST_ID_FIELD) is None else str(row[REQUEST_ID_FIELD]) for row in rows]
    return ids if any(key is not None for key in ids) else None


PROBLEM_CAP = 50  # a request of many bad rows is refused without checking them all


def check_rows(rows: list[Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every offending field: {"row", "field", "problem"} (empty when all rows are fine)."""
    columns = schema.get("columns", {})
    own_id = takes_request_id(schema)
    problems: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append({"row": index, "field": None, "problem": "a row must be a JSON object"})
            continue
        if own_id and _id_problem(row.get(REQUEST_ID_FIELD)):
            problems.append({"row": index, "field": REQUEST_ID_FIELD, "problem": ID_PROBLEM})
        for column, spec in columns.items():
            if column not in row:
                problems.append({"row": index, "field": column, "problem": "missing"})
                continue
            problem = _problem(row[column], spec)
            if problem:
                problems.append({"row": index, "field": column, "problem": problem})
        if len(problems) >= PROBLEM_CAP:
            break
    return problems


def to_frame(rows: list[dict[str, Any]], schema: dict[str, Any], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows as the model's input frame: its columns (plus `extra`), typed as in training
    (checked rows: see check_rows). The numeric columns are built as one float64 block
    straight from the rows (tens of microseconds for one row of thirty columns, where a
    pandas array per column took a millisecond); only other columns go through pandas."""
    import numpy as np
    import pandas as pd

    columns = schema.get("columns", {})
    wanted = [*columns, *(c for c in extra if c not in columns)]
    numeric = [c for c in wanted if columns.get(c, {}).get("kind") == "numeric"]
    block = np.array([[as_float(row.get(c)) for c in numeric] for row in rows], dtype="float64")
    block = block.reshape(len(rows), len(numeric))
    index = pd.RangeIndex(len(rows))
    if len(numeric) == len(wanted):
        return pd.DataFrame(block, columns=wanted, index=index)
    data: dict[str, Any] = dict(zip(numeric, block.T, strict=True))
    for column in wanted:
        if column in data:
            continue
        values = [row.get(column) for row in rows]
        if columns.get(column, {}).get("dtype") in ("str", "object", "string"):  # null stays missing
            data[column] = pd.array([None if _null(v) else str(v) for v in values], dtype="str")
        else:
            data[column] = pd.Series(values, dtype=None if values else object)
    return pd.DataFrame(data, columns=wanted, index=index)


def as_float(value: Any) -> float:
    """A checked numeric field as a float (missing, or anything else: NaN)."""
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def jsonable(value: Any) -> Any:
    """A numpy/pandas scalar as plain JSON (NaN and NA become null)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    try:
        if value != value:  # NaN, NA
            return None
    except (TypeError, ValueError):
        return None
    return value


ENTITY_TEXT = (
    "Each answer's `entity` is the row's entity key: the model's id column, else "
    f"the row's own `{REQUEST_ID_FIELD}` field (when the model has no column of that "
    "name), else `row:` + 16 hex digits hashed from the row's feature values. Canary "
    "routing (sticky), overrides and the request log use it. Labels join scored batches "
    "by the id column or the feature hash, not by a request's own id."
)
WARNINGS_TEXT = (
    "`warnings`, present only when the row is outside the training domain, lists "
    "what is off, one short text per column: a category not seen in training, a "
    "number beyond the training range by more than its width, a missing value in "
    "a column that never had one. The row is still answered."
)


def openapi(schema: dict[str, Any] | None, project: str, version: str) -> dict[str, Any]:
    """The service's OpenAPI document; the row's properties come from the production schema."""
    kinds = {"numeric": {"type": ["number", "string", "null"]}, "date": {"type": ["string", "null"]}}
    columns = (schema or {}).get("columns", {})
    entity = (schema or {}).get("entity")
    row: dict[str, Any] = {
        "type": "object",
        "required": list(columns),
        "properties": {
            c: {**kinds.get(s.get("kind"), {}), "description": s.get("kind", "")} for c, s in columns.items()
        },
    }
    for column, spec in columns.items():
        if spec.get("kind") == "date" and _of_numbers(spec):  # years: a number or text
            row["properties"][column]["type"] = ["integer", "string", "null"]
    if entity in row["properties"]:  # every answer is keyed by it: never null
        row["properties"][entity]["not"] = {"type": "null"}
    if takes_request_id(schema or {}):
        row["properties"][REQUEST_ID_FIELD] = {
            "type": ["string", "integer", "null"],
            "maxLength": MAX_ID_CHARS,
            "minLength": 1,
            "description": "optional: the row's own entity key (not a feature); without it the "
            "key is a hash of the row's feature values",
        }
    answer = {
        "type": "object",
        "required": ["entity", "prediction", "score", "model_version", "route"],
        "properties": {
            "entity": {"type": "string", "description": ENTITY_TEXT},
            "prediction": {},
            "score": {"type": ["number", "null"]},
            "model_version": {"type": ["integer", "null"]},
            "route": {"type": "string", "enum": ["production", "canary", "override", "fallback"]},
            "warnings": {"type": "array", "items": {"type": "string"}, "description": WARNINGS_TEXT},
        },
    }
    error = {"type": "object", "properties": {"error": {"type": "string"}, "fields": {"type": "array"}}}
    responses = {
        str(code): {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in (
            (400, "the body is not JSON"),
            (401, "missing or wrong API token"),
            (413, "the body or the number of rows is too large"),
            (422, "a field is missing or has the wrong type (named in `fields`)"),
            (503, "no production model, or the model cannot answer and no fallback is set"),
        )
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"cockpit prediction service: {project}", "version": version},
        "components": {
            "schemas": {"Row": row, "Answer": answer, "Error": error},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/predict": {
                "post": {
                    "summary": 'Score one row (a JSON object) or many ({"rows": [...]})',
                    "description": f"{ENTITY_TEXT} {WARNINGS_TEXT}",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Row"},
                                        {
                                            "type": "object",
                                            "properties": {
                                                "rows": {
                                                    "type": "array",
                                                    "maxItems": MAX_ROWS,
                                                    "items": {"$ref": "#/components/schemas/Row"},
                                                }
                                            },
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": 'one answer, or {"predictions": [...]}',
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}
                            },
                        },
                        **responses,
                    },
                }
            },
            "/health": {
                "get": {
                    "summary": "Routing in use, requests, errors, p95 latency, "
                    "uptime and memory (open without a token)",
                    "responses": {"200": {"description": "the service's health"}},
                }
            },
        },
    }
