"""Fault injection for crash-safety tests.

Lifecycle actions call `point("name")` between the writes of a transaction. When
the environment variable COCKPIT_FAULT names that point, the process kills
itself with SIGKILL there, exactly as a crash or `kill -9` would.
"""

import os
import signal

FAULT_ENV = "COCKPIT_FAULT"


def point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
