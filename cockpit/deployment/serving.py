"""The online prediction service (`cockpit serve`): Starlette on uvicorn.

POST /predict scores one row or many through the Router (production, canary sticky by
entity key: the id column, the row's own `id` field, else its feature hash; shadow logged
only, overrides, fallback), following the registry without a restart (serving_scorer: one
scorer thread, requests waiting together scored together). The event loop only reads
bounded bodies, checks the token and answers; every answered request is queued for the
request log (serving_log), written in batches by its own thread; a request refused for the
token or aborted by its client is only counted (per minute), never an error. A row outside
the training domain is answered with its `warnings` (deployment/domain.py), which the log keeps. GET /health
stays open when a token is required; /openapi.json describes the API. No response ever
carries a stack trace: errors are logged on the server and answered as JSON.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit import __version__
from cockpit.deployment.serving_input import BodyTimeout, Rejected, openapi, parse_body, read_body
from cockpit.deployment.serving_log import RequestLog, service_stats
from cockpit.deployment.serving_metrics import ServiceMetrics
from cockpit.deployment.serving_scorer import Scorer, StampWatch
from cockpit.deployment.serving_token import authorized, token_hash
from cockpit.errors import CockpitError
from cockpit.projects import resolve_project
from cockpit.workspace import Workspace
from storage import clock
from storage.processes import process_started

log = logging.getLogger("cockpit.serve")

MAX_BODY = 1_000_000  # bytes
BODY_TIMEOUT = 30.0  # seconds for a request's whole body, once its headers are in


def rss_mb() -> float | None:
    """This process's resident memory, in MB."""
    try:
        with open("/proc/self/statm") as statm:
            return round(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError):
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Service:
    """One project's prediction service; `app()` is the ASGI application."""

    def __init__(
        self,
        dot_dir: Path,
        project_name: str,
        require_token: bool = False,
        address: str = "",
        max_body: int = MAX_BODY,
        flush_interval: float = 0.5,
        keep_days: int | None = None,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.dot_dir, self.project_name = Path(dot_dir), project_name
        self.require_token, self.address, self.max_body = require_token, address, max_body
        self.body_timeout = body_timeout
        self.metrics = ServiceMetrics(project_name)
        self.scorer = Scorer(self.dot_dir, project_name, on_load_failure=self.metrics.load_failed)
        self.flush_interval, self.keep_days = flush_interval, keep_days
        self.log = RequestLog(self.dot_dir, interval=flush_interval)
        self.served = self.errors = 0
        self.in_flight = 0  # /predict requests begun and not answered
        self.opened = self.closed = False

    def open(self) -> None:
        """Open the workspace, routing and the log (in the thread that runs the event loop)."""
        if self.opened:
            return
        self.control = Workspace(self.dot_dir)
        self.project = resolve_project(self.control, self.project_name)
        self.watch = StampWatch(self.control, self.project.id)  # for `inline`, on this thread
        self.started_at, self.started = clock.now_iso(), time.monotonic()
        try:
            self.scorer.start()
            if self.scorer.router is None:
                raise CockpitError(self.scorer.problem or "no production model")
        except BaseException:
            self.scorer.stop()
            self.control.close()
            raise
        if self.keep_days is not None:
            self.log.retention = (self.project, self.keep_days)
        self.log.start()
        self.opened = True
        self.control.record(
            "deployment",
            "serve start",
            self.project.id,
            {
                "address": self.address,
                "token_required": self.require_token,
                "keep_days": self.keep_days,
                # who serves: `delete project` trusts an unstopped start only while it runs
                "pid": os.getpid(),
                "pid_started": process_started(os.getpid()),
            },
        )

    def close(self) -> None:
        """Finish: every queued request is written to the log before this returns."""
        if not self.opened or self.closed:
            return
        self.closed = True
        self.scorer.stop()
        self.log.close()
        self.control.record(
            "deployment",
            "serve stop",
            self.project.id,
            {"requests": self.served, "errors": self.errors, "logged_rows": self.log.written},
        )
        self.control.close()

    def _authorized(self, request) -> bool:
        if not self.require_token:
            return True
        return authorized(token_hash(self.control), request.headers.get("authorization"))

    async def predict(self, request):
        from starlette.responses import JSONResponse, Response

        started, request_id, at = time.perf_counter(), uuid.uuid4().hex, clock.now_iso()
        from starlette.requests import ClientDisconnect

        headers = {"x-request-id": request_id}
        if not self._authorized(request):  # counted per minute, not logged row by row
            self.served += 1
            self.log.count(self.project.id, "refused")
            self.metrics.refused()
            headers["www-authenticate"] = "Bearer"
            refused = {"error": "missing or wrong API token (send Authorization: Bearer <token>)"}
            return JSONResponse(refused, 401, headers=headers)
        rows: list[dict[str, Any]] = []
        status, body = 500, {"error": "internal error"}
        self.in_flight += 1
        try:
            items, many = parse_body(await read_body(request, self.max_body, self.body_timeout))
            await asyncio.sleep(0)  # requests that arrived with this one begin (and are counted)
            # alone: scored here if cheap, no hop to the scorer thread; together: batched there
            answered = self.scorer.inline(items, many, self.watch) if self.in_flight == 1 else None
            if answered is not None:
                status, body, rows = answered
            else:
                status, body, rows = await asyncio.wrap_future(self.scorer.submit(items, many))
        except BodyTimeout as late:  # a client trickling its body: its own trouble, not ours
            self._aborted()
            return JSONResponse(late.body, late.status, headers={**headers, "connection": "close"})
        except Rejected as rejected:
            status, body = rejected.status, rejected.body
        except ClientDisconnect:  # the client left mid-body: nobody to answer, not our error
            self._aborted()
            return Response(status_code=400)
        except Exception:
            log.exception("request %s failed", request_id)
        except BaseException:  # cancelled (the client left, or a forced exit): counted
            self._aborted()
            raise
        finally:
            self.in_flight -= 1
        self._log(request_id, at, started, status, body, rows)
        return JSONResponse(body, status, headers=headers)

    def _aborted(self) -> None:
        self.log.count(self.project.id, "aborted")
        self.metrics.aborted()

    def _log(
        self,
        request_id: str,
        at: str,
        started: float,
        status: int,
        body: dict[str, Any],
        rows: list[dict[str, Any]],
    ) -> None:
        seconds = time.perf_counter() - started
        latency = round(seconds * 1000, 3)
        self.served += 1
        self.errors += status != 200
        base = {
            "project_id": self.project.id,
            "request_id": request_id,
            "at": at,
            "status": status,
            "latency_ms": latency,
            "error": body.get("error"),
        }
        self.log.put([{**base, **row} for row in rows] or [base])
        self.metrics.answered(status, seconds, rows)

    async def health(self, request):
        from starlette.responses import JSONResponse

        try:
            await asyncio.wait_for(asyncio.wrap_future(self.scorer.call(self.scorer.check)), 2.0)
        except Exception:
            log.warning("health: the routing could not be refreshed", exc_info=True)
        stats = service_stats(self.control, self.project, since=self.started_at)
        problems = self.scorer.problems()
        if self.log.failing:
            problems.append({"alias": "request log", "problem": f"cannot be written: {self.log.failing}"})
        status = "degraded" if problems else "ok"
        return JSONResponse(
            {
                "status": status if self.scorer.router is not None else "no production model",
                "project": self.project.name,
                "routing": self.scorer.routing,
                "problem": self.scorer.problem,
                "problems": problems,
                "requests": self.served,
                "errors": self.errors,
                "refused": self.log.counted["refused"],
                "aborted": self.log.counted["aborted"],
                "log": {**stats.as_dict(), **self.log.health()},
                "p95_ms": stats.p95_ms,
                "uptime_s": round(time.monotonic() - self.started, 1),
                "rss_mb": rss_mb(),
                "pid": os.getpid(),
                "token_required": self.require_token,
                "started_at": self.started_at,
                "version": __version__,
            }
        )

    async def openapi_doc(self, request):
        from starlette.responses import JSONResponse

        if not self._authorized(request):
            return self._refused()
        return JSONResponse(openapi(self.scorer.schema, self.project.name, __version__))

    async def metrics_text(self, request):
        """GET /metrics, guarded by the token like /predict."""
        from starlette.responses import Response

        if not self._authorized(request):
            return self._refused()
        text, content_type = self.metrics.scrape()
        return Response(text, 200, media_type=content_type)

    def _refused(self):
        from starlette.responses import JSONResponse

        self.log.count(self.project.id, "refused")
        self.metrics.refused()
        return JSONResponse(
            {"error": "missing or wrong API token"}, 401, headers={"www-authenticate": "Bearer"}
        )

    def app(self):
        @asynccontextmanager
        async def lifespan(app):
            self.open()
            try:
                yield
            finally:
                self.close()

        return json_app(self.predict, self.health, self.openapi_doc, self.metrics_text, lifespan)


def json_app(predict, health, openapi_doc, metrics, lifespan=None):
    """The Starlette app of a prediction service: its four routes, and every error answered
    as JSON (logged on the server, never a stack trace in the response)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def http_error(request, exc: Exception):
        assert isinstance(exc, HTTPException)  # the handler for HTTPException only
        return JSONResponse({"error": exc.detail}, exc.status_code)

    async def server_error(request, exc: Exception):
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error"}, 500)

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/openapi.json", openapi_doc, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client can hold of the server: a request's headers must arrive within
    `header_timeout` seconds of the connection (or of the previous answer), an idle
    keep-alive connection is closed after `keep_alive`, at most `max_connections` are open at
    once (more are answered 503), and a request line plus headers is at most `max_header_bytes`."""

    header_timeout: float = 10.0
    keep_alive: int = 5
    max_connections: int = 1000
    max_header_bytes: int = 16_384


def server_config(app, limits: Limits = Limits(), **options):
    """uvicorn's Config for a service app, with its limits (h11, with a header timeout)."""
    import uvicorn

    return uvicorn.Config(
        app,
        http=header_timeout_protocol(limits.header_timeout),
        timeout_keep_alive=limits.keep_alive,
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        log_level="warning",
        access_log=False,
        server_header=False,
        **options,
    )


def header_timeout_protocol(seconds: float):
    """uvicorn's h11 protocol, closing a connection whose request headers have not all
    arrived `seconds` after it opened or after its previous answer (uvicorn has no header
    timeout of its own: its keep-alive timer stops at the first byte, so a client sending one
    header byte at a time held the connection for as long as it liked)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self.header_timer = self.loop.call_later(seconds, self._headers_late)

        def _disarm(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def _headers_late(self) -> None:
            self.header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # the headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

    return HeaderTimeoutProtocol


def loopback_socket():
    """A TCP socket bound to a free loopback port. IPPROTO_TCP is named: asyncio sets
    TCP_NODELAY on the connections it accepts only when the socket's proto says TCP, and
    without it an answer written in two parts (headers, body) waits for the client's
    delayed ACK, ~40 ms per request."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def running_service(
    dot_dir: Path, project_name: str, timeout: float = 30.0, limits: Limits = Limits(), **options: Any
) -> Iterator[str]:
    """The real service on a free loopback port, in a background thread (the demo sends it
    traffic this way; `options` go to Service). Yields the base URL; on exit it stops
    cleanly, the log written."""
    import threading

    import uvicorn

    sock = loopback_socket()
    port = sock.getsockname()[1]
    service = Service(dot_dir, project_name, address=f"127.0.0.1:{port}", **options)
    server = uvicorn.Server(server_config(service.app(), limits, lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="cockpit-service"
    )
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise CockpitError("the prediction service did not start (see the log)")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        service.close()
        sock.close()
