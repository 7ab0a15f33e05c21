"""Errors become notifications, never a traceback on screen.

One wording for every failure the UI shows: a CockpitError (bad input, a refused action) is
its own text; anything else is unexpected and shows its type too. When the app is not strict
(how `cockpit` runs), the traceback of an unexpected error goes to .cockpit/logs/ui.log."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from cockpit.errors import CockpitError
from cockpit.workspace import UI_LOG


def error_text(error: BaseException) -> str:
    """What the user reads: a CockpitError's message, otherwise the type and the message."""
    text = str(error)
    if isinstance(error, CockpitError) or text.startswith(type(error).__name__):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def log_traceback(app: App, error: BaseException) -> Path | None:
    """Append the error's traceback to the workspace's ui.log; its path, or None when the
    app has no workspace or the log cannot be written."""
    workspace = getattr(app, "workspace", None)
    if workspace is None:
        return None
    log = workspace.dir / UI_LOG
    try:
        log.parent.mkdir(mode=0o700, exist_ok=True)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("".join(traceback.format_exception(error)) + "\n")
    except OSError:
        return None
    return log


def report_error(app: App, error: BaseException, title: str | None = None) -> None:
    """Notify an error; an unexpected one is also logged unless the app is strict. With no
    title, a CockpitError (a refusal that says what to do) is a warning titled "Not done";
    anything else is an error titled "Something went wrong"."""
    text, timeout = error_text(error), 10
    refused = isinstance(error, CockpitError)
    if not refused and not getattr(app, "strict", True):
        log = log_traceback(app, error)
        if log is not None:
            text, timeout = f"{text}\n(details in {log})", 15
    if title is None:
        title = "Not done" if refused else "Something went wrong"
    severity: SeverityLevel = "warning" if refused and title == "Not done" else "error"
    app.notify(text, title=title, severity=severity, timeout=timeout)


def notify_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a screen handler: an exception is shown as an error notification."""

    @functools.wraps(handler)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the user sees it, the app keeps running
            report_error(self.app, exc)
            return None

    return wrapper


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a message handler: in a running cockpit (not strict) an unexpected error is
    reported and the screen goes on; a strict app (tests) stops on it, as Textual does."""

    @functools.wraps(handler)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as exc:
            if getattr(self.app, "strict", True):
                raise
            report_error(self.app, exc)
            return None

    return wrapper
