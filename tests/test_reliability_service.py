"""The prediction service under fuzzed input and load (issue 18).

One real `cockpit serve` per test, each on its own copy of a small workspace: open on
loopback, or with the API token required. Hypothesis builds request bodies from the
service's own OpenAPI document (valid rows, wrong types, missing and extra fields, huge
numbers, NaN and inf as text, unicode, nested junk, bytes that are not JSON, oversized
bodies) and every answer keeps the contract: 200/400/401/413/422 only, a JSON body without
a stack trace, a 422 naming the field at fault. Then a bounded load from 8 threads, a clean
shutdown, and every request sent is in the request log: one row per scored row of a 200,
one row for any other answer. A test that leaves its server running has that log checked
after a clean shutdown when it ends (the `open_service` and `token_service` fixtures)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.deployment.serving import MAX_BODY
from cockpit.deployment.serving_input import MAX_ROWS
from cockpit.workspace import Workspace
from tests.serving_helpers import (
    Served,
    assert_every_request_logged,
    build_service_project,
    row,
    serve_folder,
    shutdown_and_read_log,
    stop_serve,
)

HUGE = "__huge_number__"  # replaced by a bare 1e400 in the JSON text (json.dumps cannot)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A workspace folder whose project has v1 in production, v2 as canary and shadow."""
    root = tmp_path_factory.mktemp("service")
    ws, _ = Workspace.init(root / "proj")
    try:
        build_service_project(ws, root)
    finally:
        ws.close()
    return root / "proj"


def _serve(built: Path, tmp_path: Path, require_token: bool):
    folder = tmp_path / "proj"
    shutil.copytree(built, folder)
    served = serve_folder(folder, tmp_path / "serve.out", require_token)
    try:
        yield served
        if served.process.poll() is None:  # the test did not stop it: every request it sent
            assert_every_request_logged(served, shutdown_and_read_log(served))  # is logged
    finally:
        stop_serve(served.process)


@pytest.fixture
def open_service(built, tmp_path):
    yield from _serve(built, tmp_path, require_token=False)


@pytest.fixture
def token_service(built, tmp_path):
    yield from _serve(built, tmp_path, require_token=True)


# -- bodies from the OpenAPI document ---------------------------------------------------

TEXT = st.text(max_size=12)  # any unicode but lone surrogates (wrong values, below)
SURROGATES = st.builds(lambda head, code: head + chr(code), st.text(max_size=4), st.integers(0xD800, 0xDFFF))
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**18), 10**18)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
NOT_NUMBERS = ["ten", "1,200", "\u20ac4", "", " ", "12abc", "0x10", "n/a", "--1", "1e", "\U0001f680"]
NOT_FINITE = ["NaN", "nan", "inf", "-inf", "Infinity", "-Infinity", "1e400", HUGE]


@dataclass
class Case:
    body: bytes
    statuses: set[int]
    fields: set[str] = field(default_factory=set)  # a 422 must name each of these
    rows: int = 1

    def __repr__(self) -> str:  # a failing example shows the start of the body, not 1 MB
        return f"Case({self.body[:300]!r} ({len(self.body)} bytes), {self.statuses}, {self.fields})"


def _number_text(value: str) -> bool:
    try:
        return abs(float(value)) < float("inf")
    except ValueError:
        return False


def _valid_value(name: str, spec: dict, entity: str):
    kind, types = spec.get("description"), spec.get("type", [])
    if kind == "numeric" or "number" in types:
        number = st.floats(-1e6, 1e6) | st.integers(-(10**6), 10**6) | st.sampled_from([1.7e308, -0.0])
        return number | number.map(str) | st.none()
    if kind == "date":
        return st.dates().map(lambda d: d.isoformat()) | TEXT | st.none()
    scalar = TEXT | st.integers(-(10**6), 10**6) | st.booleans()
    return scalar if name == entity else scalar | st.none()


def _wrong_value(name: str, spec: dict, entity: str):
    """A value the service must refuse for this field (a 422 naming it)."""
    containers = st.lists(JUNK, max_size=2) | st.dictionaries(TEXT, JUNK, max_size=2)
    kind = spec.get("description")
    if kind == "numeric":
        return (
            containers
            | st.booleans()
            | st.sampled_from(NOT_NUMBERS + NOT_FINITE)
            | TEXT.filter(lambda t: not _number_text(t))
            | st.integers(10**309, 10**400)
            | SURROGATES
        )
    if kind == "date":
        return containers | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.booleans()
    return (containers | st.none() if name == entity else containers) | SURROGATES


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, allow_nan=False).replace(f'"{HUGE}"', "1e400").encode()


@st.composite
def cases(draw, row_schema: dict, entity: str) -> Case:
    properties = row_schema["properties"]

    def valid_row() -> dict:
        made = {name: draw(_valid_value(name, spec, entity)) for name, spec in properties.items()}
        if draw(st.booleans()):  # extra fields are ignored
            made.update(draw(st.dictionaries(TEXT.filter(lambda k: k not in properties), JUNK, max_size=3)))
        return made

    kind = draw(
        st.sampled_from(
            [
                "valid",
                "valid",
                "rows",
                "missing",
                "wrong",
                "rows_wrong",
                "junk",
                "not_json",
                "too_big",
                "too_many",
            ]
        )
    )
    if kind == "valid":
        return Case(_dumps(valid_row()), {200})
    if kind == "rows":
        rows = [valid_row() for _ in range(draw(st.integers(1, 6)))]
        return Case(_dumps({"rows": rows}), {200}, rows=len(rows))
    if kind in ("missing", "wrong", "rows_wrong"):
        bad = valid_row()
        names = draw(st.lists(st.sampled_from(sorted(properties)), min_size=1, max_size=2, unique=True))
        for name in names:
            if kind == "missing":
                del bad[name]
            else:
                bad[name] = draw(_wrong_value(name, properties[name], entity))
        if kind == "rows_wrong":
            rows = [valid_row() for _ in range(draw(st.integers(0, 3)))]
            rows.insert(draw(st.integers(0, len(rows))), bad)
            return Case(_dumps({"rows": rows}), {422}, set(names))
        return Case(_dumps(bad), {422}, set(names))
    if kind == "junk":  # any JSON at all: never a 500
        return Case(_dumps(draw(JUNK | st.fixed_dictionaries({"rows": JUNK}))), {200, 422, 413})
    if kind == "not_json":
        raw = draw(
            st.sampled_from(
                [
                    b"",
                    b"{not json",
                    b"NaN",
                    b'{"x": NaN}',
                    b"[1, 2",
                    b'{"rows": [Infinity]}',
                    b"\xff\xfe\xfd",
                    b"\x00\x01",
                ]
            )
            | st.binary(max_size=60).map(lambda b: b"{" + b)
        )
        try:
            json.loads(raw, parse_constant=lambda c: 1 / 0)
        except (ValueError, ZeroDivisionError):
            return Case(raw, {400})
        return Case(raw, {422})  # random bytes that happen to be JSON (rare)
    if kind == "too_big":
        return Case(b"[" + b" " * (MAX_BODY + draw(st.integers(1, 50_000))) + b"]", {413})
    return Case(_dumps({"rows": [row(f"M{i}") for i in range(MAX_ROWS + draw(st.integers(1, 5)))]}), {413})


def _row_schema(served: Served) -> dict:
    spec = httpx.get(f"{served.base}/openapi.json", headers=served.headers(), timeout=30).json()
    schema = spec["components"]["schemas"]["Row"]
    assert set(schema["required"]) == set(schema["properties"]) and served.entity in schema["required"]
    return schema


def _check(served: Served, client, case: Case, headers: dict[str, str] | None = None) -> None:
    response, payload = served.post(client, case.body, headers)
    assert response.status_code in case.statuses, (response.status_code, payload, case.body[:300])
    if response.status_code == 422 and case.fields:
        named = {f["field"] for f in payload["fields"]}
        assert case.fields <= named, (case.fields, payload)
    if response.status_code == 200:
        assert len(served.sent[response.headers["x-request-id"]][1]) == case.rows


# -- the fuzz runs ----------------------------------------------------------------------


def test_fuzzed_bodies_keep_the_contract(open_service: Served) -> None:
    schema = _row_schema(open_service)
    with httpx.Client(base_url=open_service.base, timeout=60) as client:

        @FUZZ
        @given(data=st.data())
        def run(data) -> None:
            _check(open_service, client, data.draw(cases(schema, open_service.entity)))

        run()


def test_fuzzed_bodies_with_the_token_required(token_service: Served) -> None:
    assert httpx.get(f"{token_service.base}/openapi.json", timeout=30).status_code == 401
    schema = _row_schema(token_service)
    token = token_service.token
    wrong = [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": token},
        {"Authorization": f"Basic {token}"},
        {"Authorization": f"Bearer {token}x"},
        {"Authorization": f"Bearer {token[:-1]}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Token {token}"},
    ]
    with httpx.Client(base_url=token_service.base, timeout=60) as client:

        @FUZZ
        @given(data=st.data())
        def run(data) -> None:
            case = data.draw(cases(schema, token_service.entity))
            headers = data.draw(st.sampled_from([None, *wrong]))
            if headers is None:
                _check(token_service, client, case, token_service.headers())
                return
            response, payload = token_service.post(client, case.body, headers)
            assert response.status_code == 401 and "token" in payload["error"], payload
            assert response.headers["www-authenticate"] == "Bearer"

        run()


# Bodies that once got a 500 (an integer past float's range made math.isfinite raise,
# deep nesting made json.loads recurse too far, pyarrow refused lone surrogates).
EDGE_BODIES = {
    "an integer beyond float range": (_dumps(row("K1") | {"x": 10**400}), 422, "x"),
    "JSON nested 100,000 deep": (b'{"rows": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, None),
    "a lone surrogate in a text field": (_dumps(row("K3", plan="\ud800")), 422, "plan"),
    "a lone surrogate in the entity": (_dumps(row("\udfff")), 422, "user_id"),
}


@pytest.mark.parametrize("name", sorted(EDGE_BODIES))
def test_edge_bodies_are_refused_not_failed(open_service: Served, name: str) -> None:
    body, status, named = EDGE_BODIES[name]
    with httpx.Client(base_url=open_service.base, timeout=60) as client:
        response, payload = open_service.post(client, body)
    assert response.status_code == status, payload
    if named:
        assert named in {f["field"] for f in payload["fields"]}, payload


# -- load, shutdown and the log ---------------------------------------------------------


WORKERS, PER_WORKER = 8, 100


def _load_body(worker: int, i: int) -> tuple[bytes, int, int]:
    """(body, expected status, scored rows): single and multi-row bodies, some invalid."""
    entity = f"L{worker}-{i}"
    kind = i % 10
    if kind <= 5:
        return _dumps(row(entity, x=i / 50 - 1, plan=("basic", "pro", "team")[i % 3])), 200, 1
    if kind <= 7:
        n = 2 + (i * 7 + worker) % 24
        return _dumps({"rows": [row(f"{entity}-{j}", x=j / 10) for j in range(n)]}), 200, n
    if kind == 8:
        return _dumps({"user_id": entity, "x": "ten", "plan": "pro"}), 422, 0
    return b'{"user_id": "' + entity.encode() + b'", x}', 400, 0


def test_load_then_a_clean_shutdown_loses_no_request(open_service: Served) -> None:
    def worker(number: int) -> list[str]:
        ids = []
        with httpx.Client(base_url=open_service.base, timeout=120) as client:
            for i in range(PER_WORKER):
                body, status, rows = _load_body(number, i)
                response, payload = open_service.post(client, body)
                assert response.status_code == status, payload
                if status == 200:
                    assert len(payload.get("predictions", [payload])) == rows
                ids.append(response.headers["x-request-id"])
        return ids

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        ids = [i for part in pool.map(worker, range(WORKERS)) for i in part]
    elapsed = time.perf_counter() - started
    print(f"load: {len(ids)} requests in {elapsed:.1f} s ({len(ids) / elapsed:.0f}/s)")
    expected = [_load_body(w, i) for w in range(WORKERS) for i in range(PER_WORKER)]
    assert len(set(ids)) == len(expected) == WORKERS * PER_WORKER

    logged = shutdown_and_read_log(open_service)
    assert_every_request_logged(open_service, logged)
    mine = set(ids)
    assert sum(r in mine for r, _, _ in logged) == sum(rows or 1 for _, _, rows in expected)
    assert sum(r in mine and s == 200 for r, _, s in logged) == sum(rows for _, _, rows in expected)


def test_token_mode_logs_every_request_too(token_service: Served) -> None:
    with httpx.Client(base_url=token_service.base, timeout=60) as client:
        token_service.post(client, _dumps(row("T1")))
        token_service.post(client, _dumps(row("T2")), {"Authorization": "Bearer nope"})
        response, _ = token_service.post(
            client, _dumps({"rows": [row("T3"), row("T4")]}), token_service.headers()
        )
        assert response.status_code == 200
    logged = shutdown_and_read_log(token_service)
    assert_every_request_logged(token_service, logged)
    assert sum(s == 401 for _, _, s in logged) == 0  # refused: counted per minute, no rows
    with sqlite3.connect(token_service.folder / ".cockpit" / "cockpit.db") as db:
        refused = db.execute("SELECT sum(requests) FROM request_counts WHERE kind = 'refused'")
        assert refused.fetchone()[0] >= 2
    for request_id, entity, _ in logged:  # the token is never written to the log
        assert token_service.token not in f"{request_id}{entity}"
