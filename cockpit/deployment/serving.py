"""The online prediction service (`cockpit serve`): Starlette on uvicorn.

POST /predict scores one row or many through the Router (production, canary sticky by
entity key: the id column, the row's own `id` field, else its feature hash; shadow logged
only, overrides, fallback), following the registry without a restart (serving_scorer: one
scorer thread, requests waiting together scored together). The event loop only reads
bounded bodies, checks the token and answers; every request is queued for the request log
(serving_log), written in batches by its own thread. A row outside the training domain is
answered with its `warnings` (deployment/domain.py), which the log keeps. GET /health
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
from pathlib import Path
from typing import Any

from cockpit import __version__
from cockpit.deployment.serving_input import Rejected, openapi, parse_body, read_body
from cockpit.deployment.serving_log import RequestLog, service_stats
from cockpit.deployment.serving_scorer import Scorer
from cockpit.deployment.serving_token import authorized, token_hash
from cockpit.errors import CockpitError
from cockpit.projects import resolve_project
from cockpit.workspace import Workspace
from storage import clock

log = logging.getLogger("cockpit.serve")

MAX_BODY = 1_000_000  # bytes


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
    ) -> None:
        self.dot_dir, self.project_name = Path(dot_dir), project_name
        self.require_token, self.address, self.max_body = require_token, address, max_body
        self.scorer = Scorer(self.dot_dir, project_name)
        self.log = RequestLog(self.dot_dir, interval=flush_interval)
        self.served = self.errors = 0
        self.opened = self.closed = False

    def open(self) -> None:
        """Open the workspace, routing and the log (in the thread that runs the event loop)."""
        if self.opened:
            return
        self.control = Workspace(self.dot_dir)
        self.project = resolve_project(self.control, self.project_name)
        self.started_at, self.started = clock.now_iso(), time.monotonic()
        try:
            self.scorer.start()
            if self.scorer.router is None:
                raise CockpitError(self.scorer.problem or "no production model")
        except BaseException:
            self.scorer.stop()
            self.control.close()
            raise
        self.log.start()
        self.opened = True
        self.control.record(
            "deployment",
            "serve start",
            self.project.id,
            {"address": self.address, "token_required": self.require_token},
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
        from starlette.responses import JSONResponse

        started, request_id, at = time.perf_counter(), uuid.uuid4().hex, clock.now_iso()
        status, body, rows = 500, {"error": "internal error"}, []
        try:
            if not self._authorized(request):
                status, body = (
                    401,
                    {"error": "missing or wrong API token (send Authorization: Bearer <token>)"},
                )
            else:
                items, many = parse_body(await read_body(request, self.max_body))
                status, body, rows = await asyncio.wrap_future(self.scorer.submit(items, many))
        except Rejected as rejected:
            status, body = rejected.status, rejected.body
        except Exception:
            log.exception("request %s failed", request_id)
        except BaseException:  # cancelled (the client left, or a forced exit): still logged
            self._log(request_id, at, started, 499, {"error": "cancelled"}, [])
            raise
        self._log(request_id, at, started, status, body, rows)
        headers = {"x-request-id": request_id}
        if status == 401:
            headers["www-authenticate"] = "Bearer"
        return JSONResponse(body, status, headers=headers)

    def _log(
        self,
        request_id: str,
        at: str,
        started: float,
        status: int,
        body: dict[str, Any],
        rows: list[dict[str, Any]],
    ) -> None:
        latency = round((time.perf_counter() - started) * 1000, 3)
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

    async def health(self, request):
        from starlette.responses import JSONResponse

        try:
            await asyncio.wait_for(asyncio.wrap_future(self.scorer.call(self.scorer.check)), 2.0)
        except Exception:
            log.warning("health: the routing could not be refreshed", exc_info=True)
        stats = service_stats(self.control, self.project, since=self.started_at)
        return JSONResponse(
            {
                "status": "ok" if self.scorer.router is not None else "no production model",
                "project": self.project.name,
                "routing": self.scorer.routing,
                "problem": self.scorer.problem,
                "requests": self.served,
                "errors": self.errors,
                "log": {**stats.as_dict(), "written": self.log.written, "pending": self.log.pending},
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
            return JSONResponse(
                {"error": "missing or wrong API token"}, 401, headers={"www-authenticate": "Bearer"}
            )
        return JSONResponse(openapi(self.scorer.schema, self.project.name, __version__))

    def app(self):
        @asynccontextmanager
        async def lifespan(app):
            self.open()
            try:
                yield
            finally:
                self.close()

        return json_app(self.predict, self.health, self.openapi_doc, lifespan)


def json_app(predict, health, openapi_doc, lifespan=None):
    """The Starlette app of a prediction service: its three routes, and every error answered
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
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )


@contextmanager
def running_service(dot_dir: Path, project_name: str, timeout: float = 30.0) -> Iterator[str]:
    """The real service on a free loopback port, in a background thread (the demo sends it
    traffic this way). Yields the base URL; on exit it stops cleanly, the log written."""
    import socket
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    service = Service(dot_dir, project_name, address=f"127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(
            service.app(), log_level="warning", access_log=False, lifespan="on", server_header=False
        )
    )
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
