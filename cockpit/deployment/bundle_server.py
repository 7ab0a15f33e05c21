"""`cockpit serve --bundle DIR`: one model version served from a bundle, without a workspace
(what the bundle's Dockerfile runs). The whole bundle is checked before the model is
unpickled (cockpit.deployment.bundle_check); requests are checked against the bundle's
schema like the workspace service (422 naming fields, bounded bodies, no stack traces);
each request is one JSON line in the request log file (with each answer's entity key and
training-domain warnings), written before the answer is sent; the log is the owner's
alone (0600) and a symlink at its path is refused. There is no routing here: canary,
shadow and fallback need the workspace's registry."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import stat
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from cockpit import __version__
from cockpit.deployment.bundle_check import read_bundle
from cockpit.deployment.domain import row_warnings
from cockpit.deployment.routing import answers
from cockpit.deployment.serving import BODY_TIMEOUT, MAX_BODY, json_app
from cockpit.deployment.serving_input import (
    BodyTimeout,
    Rejected,
    invalid,
    jsonable,
    openapi,
    parse_body,
    read_body,
    request_ids,
    to_frame,
)
from cockpit.deployment.serving_metrics import ServiceMetrics
from cockpit.deployment.serving_token import authorized, digest
from cockpit.entity import schema_keys
from cockpit.errors import CockpitError
from cockpit.projects import Project
from storage import clock

log = logging.getLogger("cockpit.serve")

TOKEN_ENV = "COCKPIT_SERVE_TOKEN"


LOG_MODE = 0o600  # requests hold production inputs and answers


def open_log(path: Path) -> int:
    """The request log opened for appending: created 0600, an existing one made 0600, and a
    symlink at `path` (or anything but a regular file) refused rather than followed."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, LOG_MODE)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink (EMLINK: BSD)
            raise CockpitError(
                f"request log {path} is a symbolic link: refusing to follow it; give --log a regular file"
            ) from None
        raise CockpitError(f"cannot write the request log {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CockpitError(f"request log {path} is not a regular file; give --log a regular file")
        if stat.S_IMODE(os.fstat(fd).st_mode) != LOG_MODE:
            os.fchmod(fd, LOG_MODE)
        os.set_blocking(fd, True)
    except OSError as exc:
        os.close(fd)
        raise CockpitError(
            f"request log {path} cannot be made private ({exc.strerror or exc}); "
            "give --log a file of your own"
        ) from None
    except CockpitError:
        os.close(fd)
        raise
    return fd


class BundleService:
    """The bundle is read and checked whole, and its request log opened, before it can serve."""

    def __init__(
        self,
        folder: Path,
        log_path: Path,
        token: str | None = None,
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        bundle = read_bundle(Path(folder))
        self.pipeline, self.config, self.warnings = bundle.pipeline, bundle.config, bundle.warnings
        self.schema = bundle.schema
        self.project = Project(0, self.config["project"], self.config["task"], self.config["target"], "", "")
        self.token_hash = digest(token) if token else None
        self.max_body, self.body_timeout = max_body, body_timeout
        self.log_path = Path(log_path)
        self.lock = threading.Lock()
        self.served = self.errors = self.aborted = 0
        self.metrics = ServiceMetrics(self.project.name)
        fd = open_log(self.log_path)
        self._log_fd = fd
        self._close_log = weakref.finalize(self, os.close, fd)

    def close(self) -> None:
        """Close the request log (every line is written when its request is answered)."""
        self._close_log()

    def _write_log(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, default=str) + "\n").encode("utf-8")
        with self.lock:
            view = memoryview(line)
            while view:
                view = view[os.write(self._log_fd, view) :]

    def score(self, items: list[Any], many: bool) -> tuple[int, dict[str, Any]]:
        refused = invalid(items, self.schema)
        if refused is not None:
            return refused
        frame = to_frame(items, self.schema, ())
        predictions, scores = answers(self.pipeline, frame, self.project, self.config["threshold"])
        keys = schema_keys(frame, self.schema, request_ids(items, self.schema))
        warned = row_warnings(self.schema, frame)
        found = [
            {
                "entity": str(keys.iloc[i]),
                "prediction": jsonable(predictions[i]),
                "score": jsonable(scores[i]),
                "model_version": self.config["version"],
                "route": "bundle",
                **({"warnings": warned[i]} if warned[i] else {}),
            }
            for i in range(len(frame))
        ]
        return 200, {"predictions": found} if many else found[0]

    async def predict(self, request):
        from starlette.requests import ClientDisconnect
        from starlette.responses import JSONResponse, Response

        started, request_id = time.perf_counter(), uuid.uuid4().hex
        status, body = 500, {"error": "internal error"}
        try:
            if self.token_hash and not authorized(self.token_hash, request.headers.get("authorization")):
                status, body = 401, {"error": "missing or wrong API token"}
                self.metrics.refused()
            else:
                items, many = parse_body(await read_body(request, self.max_body, self.body_timeout))
                status, body = await asyncio.to_thread(self.score, items, many)
        except BodyTimeout as late:  # the client's trouble, not the model's: counted, not logged
            self.aborted += 1
            self.metrics.aborted()
            return JSONResponse(late.body, late.status, headers={"connection": "close"})
        except ClientDisconnect:
            self.aborted += 1
            self.metrics.aborted()
            return Response(status_code=400)
        except Rejected as rejected:
            status, body = rejected.status, rejected.body
        except Exception:
            log.exception("request %s failed", request_id)
        self.served += 1
        self.errors += status != 200
        answers = body.get("predictions", [body]) if status == 200 else []
        if status != 401:
            scored = [{"route": "bundle", "model_version": self.config["version"]}] * len(answers)
            self.metrics.answered(status, time.perf_counter() - started, scored)
        self._write_log(
            {
                "request_id": request_id,
                "at": clock.now_iso(),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "model_version": self.config["version"],
                "error": body.get("error"),
                "answers": answers,
            }
        )
        return JSONResponse(body, status, headers={"x-request-id": request_id})

    async def health(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse(
            {
                "status": "ok",
                "project": self.project.name,
                "version": self.config["version"],
                "requests": self.served,
                "errors": self.errors,
                "aborted": self.aborted,
                "library_warnings": self.warnings,
                "token_required": self.token_hash is not None,
                "cockpit": __version__,
            }
        )

    async def openapi_doc(self, request):
        from starlette.responses import JSONResponse

        if self.token_hash and not authorized(self.token_hash, request.headers.get("authorization")):
            return JSONResponse({"error": "missing or wrong API token"}, 401)
        return JSONResponse(openapi(self.schema, self.project.name, __version__))

    async def metrics_text(self, request):
        """GET /metrics, guarded by the token like /predict."""
        from starlette.responses import JSONResponse, Response

        if self.token_hash and not authorized(self.token_hash, request.headers.get("authorization")):
            self.metrics.refused()
            return JSONResponse({"error": "missing or wrong API token"}, 401)
        text, content_type = self.metrics.scrape()
        return Response(text, 200, media_type=content_type)

    def app(self):
        return json_app(self.predict, self.health, self.openapi_doc, self.metrics_text)
