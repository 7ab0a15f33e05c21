"""The prediction service's API token: generated in the workspace, shown once, stored only as
its sha256 hash, rotatable, compared in constant time. The token itself is never written to
the store, the audit log or the request log; it is shown only on request (`cockpit serve
token --rotate`, or `cockpit serve` on a terminal) or written to a file the user names, 0600."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError
from cockpit.workspace import Workspace
from storage import clock

TOKEN_SETTING = "serve.token_sha256"
CREATED_SETTING = "serve.token_created_at"
PREFIX = "ckp_"  # makes a leaked token easy to spot for secret scanners


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def token_hash(ws: Workspace) -> str | None:
    return ws.setting(TOKEN_SETTING)


def token_info(ws: Workspace) -> dict[str, Any]:
    return {"set": token_hash(ws) is not None, "created_at": ws.setting(CREATED_SETTING)}


def rotate_token(ws: Workspace) -> str:
    """A new token (the previous one stops working at once); returns it: show it once."""
    token = PREFIX + secrets.token_urlsafe(32)
    had = token_hash(ws) is not None
    with ws.store.transaction():
        ws.set_setting(TOKEN_SETTING, digest(token))
        ws.set_setting(CREATED_SETTING, clock.now_iso())
        ws.record("deployment", "serve token rotated" if had else "serve token created")
    return token


def rotate_token_to_file(ws: Workspace, path: Path) -> None:
    """Rotate, writing the new token only to `path`, 0600 whatever the workspace's sharing (it
    is one person's secret). A scratch file beside it is made first and renamed over it, so a
    folder that cannot be written leaves the current token (and any old file) as they were."""
    from cockpit.deployment.exports import open_file

    path = Path(path)
    if path.is_dir():
        raise CockpitError(f"{path} is a folder; name the token's file")
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open_file(scratch, 0o600, text=True, follow_symlinks=False) as out:
            out.write(rotate_token(ws) + "\n")
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def authorized(stored_hash: str | None, header: str | None) -> bool:
    """Whether an `Authorization: Bearer <token>` header carries the token whose hash is
    stored. The hashes are compared with hmac.compare_digest (constant time)."""
    scheme, _, presented = (header or "").partition(" ")
    presented_hash = digest(presented.strip())
    expected = stored_hash or "0" * 64  # compare anyway: no early exit on a missing token
    matches = hmac.compare_digest(presented_hash, expected)
    return matches and stored_hash is not None and scheme.lower() == "bearer"
