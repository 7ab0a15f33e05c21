"""Errors become notifications, never a traceback on screen."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def notify_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a screen handler: an exception is shown as an error notification."""

    @functools.wraps(handler)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the user sees it, the app keeps running
            self.app.notify(
                f"{type(exc).__name__}: {exc}" if not str(exc).startswith(type(exc).__name__) else str(exc),
                title="Something went wrong",
                severity="error",
                timeout=10,
            )
            return None

    return wrapper
