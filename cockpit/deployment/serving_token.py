"""The prediction service's API token: generated in the workspace, shown once, stored only as
its sha256 hash, rotatable, compared in constant time. The token itself is never written to
the store, the audit log or the request log."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from typing import Any

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


def authorized(stored_hash: str | None, header: str | None) -> bool:
    """Whether an `Authorization: Bearer <token>` header carries the token whose hash is
    stored. The hashes are compared with hmac.compare_digest (constant time)."""
    scheme, _, presented = (header or "").partition(" ")
    presented_hash = digest(presented.strip())
    expected = stored_hash or "0" * 64  # compare anyway: no early exit on a missing token
    matches = hmac.compare_digest(presented_hash, expected)
    return matches and stored_hash is not None and scheme.lower() == "bearer"
