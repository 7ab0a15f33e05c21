"""`cockpit serve --bundle DIR`: one model version served from a bundle, without a workspace
(what the bundle's Dockerfile runs). Every bundle file is checked against the manifest's
sha256 before the model is unpickled; requests are checked against the bundle's schema like
the workspace service (422 naming fields, bounded bodies, no stack traces); each request is
one JSON line in the request log file (with each answer's entity key and training-domain
warnings), written before the answer is sent. There is no
routing here: canary, shadow and fallback need the workspace's registry."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from cockpit import __version__
from cockpit.deployment.bundle import load_bundle
from cockpit.deployment.domain import row_warnings
from cockpit.deployment.routing import answers
from cockpit.deployment.serving import MAX_BODY, json_app
from cockpit.deployment.serving_input import (
    Rejected,
    invalid,
    jsonable,
    openapi,
    parse_body,
    read_body,
    request_ids,
    to_frame,
)
from cockpit.deployment.serving_token import authorized, digest
from cockpit.entity import schema_keys
from cockpit.projects import Project
from storage import clock

log = logging.getLogger("cockpit.serve")

TOKEN_ENV = "COCKPIT_SERVE_TOKEN"


class BundleService:
    def __init__(
        self, folder: Path, log_path: Path, token: str | None = None, max_body: int = MAX_BODY
    ) -> None:
        self.pipeline, self.config, self.warnings = load_bundle(Path(folder))
        self.schema = json.loads((Path(folder) / "schema.json").read_text())
        self.project = Project(0, self.config["project"], self.config["task"], self.config["target"], "", "")
        self.token_hash = digest(token) if token else None
        self.max_body = max_body
        self.log_path = Path(log_path)
        self.lock = threading.Lock()
        self.served = self.errors = 0

    def _write_log(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, default=str) + "\n"
        with self.lock, open(self.log_path, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()

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
        from starlette.responses import JSONResponse

        started, request_id = time.perf_counter(), uuid.uuid4().hex
        status, body = 500, {"error": "internal error"}
        try:
            if self.token_hash and not authorized(self.token_hash, request.headers.get("authorization")):
                status, body = 401, {"error": "missing or wrong API token"}
            else:
                items, many = parse_body(await read_body(request, self.max_body))
                status, body = await asyncio.to_thread(self.score, items, many)
        except Rejected as rejected:
            status, body = rejected.status, rejected.body
        except Exception:
            log.exception("request %s failed", request_id)
        self.served += 1
        self.errors += status != 200
        answers = body.get("predictions", [body]) if status == 200 else []
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

    def app(self):
        return json_app(self.predict, self.health, self.openapi_doc)
