"""The service's scorer: routing and scoring confined to one thread with its own workspace
connection (SQLite connections are not shared across threads).

Before each batch it reads a cheap stamp of the registry (ledger, fallback, overrides) and
rebuilds the Router when it changed, so a deploy, promote or rollback made by another
process is followed without a restart. Requests waiting at the same moment are scored
together in one frame (micro-batching: a model costs about the same for one row as for a
hundred), then split back into their answers; answers never depend on what they were
batched with (canary buckets are per entity, and a batch that needs the fallback or fails
is scored again request by request). A row outside the training domain is answered with
its `warnings` (cockpit/deployment/domain.py), which the request log keeps.

A lone one-row request is scored on the caller's thread instead (`inline`, the event loop)
when the scorer is idle, the routing it would read is current and such a row costs little
(serving_fast's plan, under INLINE_CPU of CPU when last measured): crossing to the scorer
thread and back is two wake-ups, each a wait for a core on a loaded machine, where the
answer itself takes a fraction of a millisecond. A lock keeps the two threads from scoring
at once; the answers are the same either way.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from cockpit.deployment.domain import row_warnings
from cockpit.deployment.routing import MODEL_RANGE, Router, within_model_range
from cockpit.deployment.serving_fast import NumericRows
from cockpit.deployment.serving_input import MAX_ROWS, invalid, jsonable, request_ids, to_frame
from cockpit.entity import key_columns, row_key, schema_features
from cockpit.errors import CockpitError
from cockpit.evaluation.predictions import predict_frame
from cockpit.projects import resolve_project
from cockpit.training.fast_pipeline import numpy_twin
from cockpit.workspace import Workspace
from storage import clock

log = logging.getLogger("cockpit.serve")

SERVED_ALIASES = ("production", "canary", "shadow")
ANSWER = ("entity", "prediction", "score", "model_version", "route")
STAMP = (
    "SELECT (SELECT max(id) FROM ledger WHERE project_id = :p), "
    "(SELECT updated_at FROM fallbacks WHERE project_id = :p), "
    "(SELECT count(*) || ':' || coalesce(max(id), 0) FROM overrides WHERE project_id = :p "
    "AND removed_at IS NULL AND (expires_at IS NULL OR expires_at > :now)), "
    "(SELECT min(expires_at) FROM overrides WHERE project_id = :p "
    "AND removed_at IS NULL AND expires_at > :now)"
)
INLINE_CPU = 0.002  # seconds of CPU a one-row answer may take to be scored on the event loop
Result = tuple[int, dict[str, Any], list[dict[str, Any]]]  # status, body, log rows
_STOP = object()
FALLBACK_RECENT = 60.0  # seconds: /health is degraded this long after a fallback answer; the
# reason is logged at most once per this long


class StampWatch:
    """The registry's stamp as one connection reads it, queried again only when another
    connection has committed since (PRAGMA data_version) or an override's expiry has come:
    a few microseconds per request instead of a query."""

    def __init__(self, ws: Workspace, project_id: int) -> None:
        self.ws, self.project_id = ws, project_id
        self.stamp: tuple | None = None
        self.version: int | None = None
        self.until: str | None = None  # the next override expiry

    def current(self) -> tuple:
        version, now = self.ws.data_version(), clock.now_iso()
        if self.stamp is None or version != self.version or (self.until is not None and now >= self.until):
            row = self.ws.store.conn.execute(STAMP, {"p": self.project_id, "now": now}).fetchone()
            self.stamp, self.until, self.version = tuple(row[:3]), row[3], version
        return self.stamp


class Scorer:
    def __init__(self, dot_dir: Path, project_name: str, on_load_failure=None) -> None:
        self.dot_dir, self.project_name = Path(dot_dir), project_name
        self.on_load_failure = on_load_failure  # (alias, version): /metrics counts them
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="cockpit-scorer", daemon=True)
        self.router: Router | None = None
        self.problem: str | None = None
        self.schema: dict[str, Any] = {}
        self.routing: dict[str, Any] = {}
        self.stamp: tuple | None = None
        self.fast: NumericRows | None = None  # the numeric plan for this routing (serving_fast)
        self.row_cpu = math.inf  # CPU seconds the last one-row request took; inf: not measured
        self.lock = threading.Lock()  # held while scoring, by the scorer thread or `inline`
        self.extra: tuple[str, ...] = ()  # columns the fallback rule reads
        self.reloads = 0
        self.batches = 0
        self.last_error = ""
        self.fallback_at: float | None = None  # when the fallback rule last answered (monotonic)
        self.fallback_reason = ""
        self._fallback_logged = -FALLBACK_RECENT

    # -- the thread ---------------------------------------------------------

    def start(self) -> None:
        self.thread.start()
        self.call(self._open).result()

    def stop(self) -> None:
        """Finish the jobs already queued, close the connection, end the thread."""
        if self.thread.is_alive():
            self.jobs.put(_STOP)
            self.thread.join()

    def call(self, fn, *args) -> Future:
        future: Future = Future()
        self.jobs.put(("call", fn, args, future))
        return future

    def submit(self, items: list[Any], many: bool) -> Future:
        future: Future = Future()
        self.jobs.put(("rows", items, many, future))
        return future

    def _loop(self) -> None:
        held = None
        try:
            while True:
                job, held = (held if held is not None else self.jobs.get()), None
                if job is _STOP:
                    return
                if job[0] == "call":
                    with self.lock:
                        _settle(job[3], job[1], *job[2])
                    continue
                batch, rows = [job], len(job[1])
                while rows < MAX_ROWS:  # everything already waiting joins this batch
                    try:
                        waiting = self.jobs.get_nowait()
                    except queue.Empty:
                        break
                    if waiting is _STOP or waiting[0] != "rows":
                        held = waiting
                        break
                    batch.append(waiting)
                    rows += len(waiting[1])
                with self.lock:
                    self._run_batch(batch)
        finally:
            if hasattr(self, "ws"):
                self.ws.close()

    def _run_batch(self, batch: list[tuple]) -> None:
        batch = [job for job in batch if job[3].set_running_or_notify_cancel()]
        if not batch:
            return
        try:
            results: list[Result | Exception] = list(
                self.score_many([(items, many) for _, items, many, _ in batch])
            )
        except Exception as exc:
            if len(batch) == 1:
                batch[0][3].set_exception(exc)
                return
            results = []  # one request's trouble must not fail the others: one by one
            for _, items, many, _ in batch:
                try:
                    results.append(self.score_many([(items, many)])[0])
                except Exception as alone:
                    results.append(alone)
        for (_, _, _, future), result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    # -- routing ------------------------------------------------------------

    def _open(self) -> None:
        import sklearn

        # This thread's config only: inputs are checked before scoring, so skip sklearn's
        # repeated finiteness and parameter checks (about a fifth of a one-row prediction).
        sklearn.set_config(assume_finite=True, skip_parameter_validation=True)
        self.ws = Workspace(self.dot_dir)
        self.project = resolve_project(self.ws, self.project_name)
        self.watch = StampWatch(self.ws, self.project.id)
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the Router when the registry changed since the last look."""
        stamp = self.watch.current()
        if stamp != self.stamp:
            self._rebuild(stamp)

    def _rebuild(self, stamp: tuple) -> None:
        self.stamp, self.reloads = stamp, self.reloads + 1
        self.fast, self.row_cpu = None, math.inf
        try:
            router = Router(self.ws, self.project, prepare=numpy_twin)
        except CockpitError as exc:
            self.router, self.problem, self.routing = None, str(exc), {}
            return
        routing: dict[str, Any] = {}
        for alias in SERVED_ALIASES:
            if alias not in router.aliases:
                continue
            version = router.alias_version(alias)
            routing[alias] = {
                "version": version.version,
                "run": version.run_id,
                "percent": router.aliases[alias].percent,
            }
            try:  # load now, so the first request does not pay for it
                router.pipeline(version)
            except Exception as exc:
                routing[alias]["problem"] = f"{type(exc).__name__}: the model cannot be loaded"
                routing[alias]["file"] = self._shown(version.artifact_sha256)
                log.warning("%s (%s) cannot be loaded: %s", version.label, alias, exc)
                if self.on_load_failure is not None:
                    self.on_load_failure(alias, version.version)
        fallback = router.fallback
        self.extra = (fallback.column,) if fallback is not None and fallback.column is not None else ()
        self.router, self.problem = router, None
        self.schema = router.request_schema()
        self.fast = NumericRows.plan(router, self.schema, self.extra)
        self.routing = {
            **routing,
            "fallback": fallback.text if fallback else None,
            "overrides": len(router.overrides),
            "reloaded_at": clock.now_iso(),
            "reloads": self.reloads,
        }

    def _shown(self, sha256: str) -> str:
        """A model's file as /health names it: relative to the workspace folder."""
        path = self.ws.artifacts.path_for(sha256)
        try:
            return str(path.relative_to(self.dot_dir.parent))
        except ValueError:
            return path.name

    def problems(self) -> list[dict[str, Any]]:
        """What keeps the service from answering as routed: each served model that cannot be
        loaded (alias, version, file), and the fallback rule answering in the last minute."""
        found = [
            {
                "alias": alias,
                "version": entry["version"],
                "file": entry.get("file"),
                "problem": entry["problem"],
            }
            for alias in SERVED_ALIASES
            if (entry := self.routing.get(alias)) and "problem" in entry
        ]
        if self.fallback_at is not None and time.monotonic() - self.fallback_at < FALLBACK_RECENT:
            reason = f"answering with the fallback rule: {self.fallback_reason}"
            found.append({"alias": "fallback", "problem": reason})
        return found

    def _fallback(self, error: str) -> str:
        """The warning a fallback answer carries; the reason logged once a minute at most."""
        now = time.monotonic()
        self.fallback_at, self.fallback_reason = now, _fallback_text(error).split(": ", 1)[1]
        if now - self._fallback_logged >= FALLBACK_RECENT:
            self._fallback_logged = now
            log.error("answering with the fallback rule: %s", error)
        return _fallback_text(error)

    def check(self) -> None:
        """Refresh, and load again the models that could not be loaded (for /health)."""
        self.refresh()
        for alias in SERVED_ALIASES:
            entry = self.routing.get(alias)
            if self.router is None or not entry or "problem" not in entry:
                continue
            try:
                self.router.pipeline(self.router.alias_version(alias))
                del entry["problem"]
                entry.pop("file", None)
            except Exception:
                continue

    # -- scoring ------------------------------------------------------------

    def inline(self, items: list[Any], many: bool, watch: StampWatch) -> Result | None:
        """A lone one-row request's result computed on the caller's thread (`watch` reads
        the stamp on that thread's connection); None when it must go to the scorer thread:
        another request is queued or being scored, the routing changed (the thread
        rebuilds it), or such a row is not cheap."""
        if len(items) != 1 or self.fast is None or self.row_cpu > INLINE_CPU or not self.jobs.empty():
            return None
        if not self.lock.acquire(blocking=False):
            return None
        try:
            if not self.thread.is_alive() or watch.current() != self.stamp:
                return None
            import sklearn

            with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                return self._answer_all([(items, many)])[0]
        except _Elsewhere:  # the model failed on the row: the thread answers (or its fallback)
            return None
        finally:
            self.lock.release()

    def score_many(self, requests: list[tuple[list[Any], bool]]) -> list[Result]:
        """One result per request; the valid ones are scored together."""
        self.refresh()
        return self._answer_all(requests)

    def _answer_all(self, requests: list[tuple[list[Any], bool]]) -> list[Result]:
        self.batches += 1
        if self.router is None:
            return [(503, {"error": self.problem or "no production model"}, [])] * len(requests)
        results: list[Result | None] = [self._invalid(items) for items, _ in requests]
        valid = [i for i, result in enumerate(results) if result is None]
        if len(valid) > 1:
            joined = [row for i in valid for row in requests[i][0]]
            answered = self._score(joined)
            if answered is not None and not any(r["route"] == "fallback" for r in answered[1]):
                start = 0
                for i in valid:
                    end = start + len(requests[i][0])
                    results[i] = _result(answered[0][start:end], answered[1][start:end], requests[i][1])
                    start = end
                return cast("list[Result]", results)  # every valid slot was filled just above
        for i in valid:  # one by one: alone, or when the batch needed the fallback
            answered = self._score(requests[i][0])
            results[i] = (
                _result(*answered, requests[i][1])
                if answered is not None
                else (
                    503,
                    {"error": "the model cannot answer and no fallback rule is set"},
                    [{"error": self.last_error}],
                )
            )
        return cast("list[Result]", results)  # every valid slot was filled just above

    def _invalid(self, items: list[Any]) -> Result | None:
        refused = invalid(items, self.schema)
        return None if refused is None else (*refused, [])

    def _score(self, items: list[Any]) -> tuple[list[dict], list[dict]] | None:
        """(answers, log rows) for rows, or None when the model cannot answer."""
        assert self.router is not None  # score_many answers 503 without one
        given = request_ids(items, self.schema)
        shadow, fast = None, None
        if self.fast is not None:
            started = time.thread_time()
            fast = self.fast.score(items, given)
            if len(items) == 1:
                self.row_cpu = time.thread_time() - started
        if fast is not None:
            records, warned = fast
        elif threading.current_thread() is not self.thread:  # `inline`: only the plan's path
            raise _Elsewhere
        else:
            frame = to_frame(items, self.schema, self.extra)
            warned = row_warnings(self.schema, frame)
            production = self._production_only(frame, given)
            if production is None:
                try:
                    scored = self.router.score(frame, given)
                except CockpitError as exc:
                    log.warning("cannot answer: %s", exc)
                    self.last_error = str(exc)[:500]
                    return None
                shadow = scored.shadow.to_dict("records") if scored.shadow is not None else None
                production = scored.frame.to_dict("records")
            records = production
        answers, rows = [], []
        for index, record in enumerate(records):
            answer = {key: jsonable(record[key]) for key in ANSWER}
            row = {
                **answer,
                "error": record["error"] or None,
                "warnings": json.dumps(warned[index]) if warned[index] else None,
            }
            if warned[index]:
                answer["warnings"] = warned[index]
            if record["route"] == "fallback":  # never silent: the answer says so
                answer["warnings"] = [*answer.get("warnings", []), self._fallback(record["error"])]
            if shadow is not None:
                twin = shadow[index]
                row.update(
                    {f"shadow_{key}": jsonable(twin.get(key)) for key in ("prediction", "score", "error")},
                    shadow_version=jsonable(twin.get("model_version")),
                )
            answers.append(answer)
            rows.append(row)
        return answers, rows

    def _production_only(self, frame, given) -> list[dict[str, Any]] | None:
        """Router.score's records when production answers every row alone (no canary, no
        shadow), without its answer frame: the same keys, overrides and answers, computed
        from the float64 block when every column is numeric (no pandas column by column).
        None when routing needs more (a canary arm, a shadow, or production failing: the
        Router then answers, with its fallback)."""
        router = self.router
        assert router is not None
        if router.fixed is not None or "canary" in router.aliases or "shadow" in router.aliases:
            return None
        version = router.alias_version("production")
        try:
            keys, rows = self._keys_and_rows(frame, given)
            predictions = predict_frame(router.pipeline(version), rows, router.project, version.threshold)
        except Exception:
            return None
        if predictions.positive_scores is not None:  # as routing.answers
            scores = predictions.positive_scores
        elif predictions.proba is not None:
            scores = predictions.proba.max(axis=1)
        else:
            scores = np.asarray(predictions.y_pred, dtype=float)
        records = []
        for key, prediction, score in zip(keys, predictions.y_pred, scores, strict=True):
            override = router.overrides.get(key)
            records.append(
                {
                    "entity": key,
                    "prediction": prediction if override is None else override.prediction,
                    "score": score if override is None else None,
                    "model_version": version.version,
                    "route": "production" if override is None else "override",
                    "error": "",
                }
            )
        return records

    def _keys_and_rows(self, frame, given) -> tuple[list[str], Any]:
        """Each row's entity key and the rows as the model reads them (within_model_range),
        from the block when every column is a float: the same Python floats and clipping
        as Router.entities and routing.within_model_range, without a Series per column."""
        assert self.router is not None
        key_schema = self.router.key_schema()
        dtypes = frame.dtypes
        if key_schema.get("entity") or not all(d.kind == "f" for d in dtypes):
            return self.router.entities(frame, given).tolist(), within_model_range(frame)
        names = list(frame.columns)
        block = frame.to_numpy()
        wanted = key_columns(None, schema_features(key_schema))
        positions = [names.index(c) for c in wanted]  # a missing column: ValueError, the Router says why
        keys = [row_key(values) for values in block[:, positions].tolist()]
        if given is not None:
            keys = [key if own is None else own for key, own in zip(keys, given, strict=True)]
        if np.any(np.abs(block) > MODEL_RANGE):
            frame = pd.DataFrame(np.clip(block, -MODEL_RANGE, MODEL_RANGE), columns=frame.columns)
        return keys, frame


class _Elsewhere(Exception):
    """The row needs the general path, which only the scorer thread takes."""


def _fallback_text(error: str) -> str:
    """What a client is told: the model's version and the kind of trouble, no server paths."""
    label, _, rest = error.partition(": ")
    kind = rest.partition(":")[0] or "an error"
    return f"answered by the fallback rule: model {label} cannot answer ({kind})"


def _result(answers: list[dict], rows: list[dict], many: bool) -> Result:
    return 200, ({"predictions": answers} if many else answers[0]), rows


def _settle(future: Future, fn, *args) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args)
    except Exception as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)
