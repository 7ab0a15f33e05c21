"""Fault injection for crash-safety tests.

Lifecycle actions call `point("name")` between the writes of a transaction. When
the environment variable COCKPIT_FAULT names that point, the process kills
itself with SIGKILL there, exactly as a crash or `kill -9` would.

Writers call `disk_full("name")` before they write; when COCKPIT_FAULT_DISK_FULL names that
point (a comma-separated list), it raises OSError(ENOSPC) there, as a full disk would. The
point "store" makes the store itself full: SQLite may not grow its file past its size at
open, so a write that needs a new page fails as SQLite's own "database or disk is full".
"""

import errno
import os
import signal

FAULT_ENV = "COCKPIT_FAULT"
DISK_FULL_ENV = "COCKPIT_FAULT_DISK_FULL"


def disk_full(name: str) -> None:
    if name in os.environ.get(DISK_FULL_ENV, "").split(","):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)


def limit_store(conn) -> None:
    if "store" in os.environ.get(DISK_FULL_ENV, "").split(","):
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {int(pages)}")


def point(name: str) -> None:
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
