"""What machine and software a benchmark run measured (printed with every run)."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

LIBRARIES = (
    "textual",
    "rich",
    "click",
    "pandas",
    "numpy",
    "scikit-learn",
    "sqlite-utils",
    "joblib",
    "pyarrow",
)


def describe() -> dict:
    info = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        info["cockpit_commit"] = out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    for name in ("cockpit", *LIBRARIES):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[name] = metadata.version(name)
    info["loadavg_start"] = os.getloadavg()
    return info
