"""A child process's report channel: a pipe whose write end the parent passes by number, one
JSON object a line. The child's stdout and stderr stay free for library output and warnings,
so the parent never scrapes them for its answer."""

from __future__ import annotations

import json
import os
from typing import IO, Any


class Channel:
    """The child's end of the pipe. If the parent is gone, the work goes on unreported."""

    def __init__(self, fd: int) -> None:
        os.set_inheritable(fd, False)  # joblib's workers must not hold the pipe open
        self.stream: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8", buffering=1)

    def send(self, **message: Any) -> None:
        if self.stream is None:
            return
        try:
            self.stream.write(json.dumps(message) + "\n")
        except (BrokenPipeError, OSError):
            self.stream = None

    def progress(self, done: int, total: int, message: str) -> None:
        self.send(progress=[done, total, message])
