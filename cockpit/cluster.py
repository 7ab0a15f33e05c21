"""A Dask cluster for cockpit's heavy work (docs/cluster.md): which one (`--scheduler ADDRESS`,
`--dask-local N`, or `COCKPIT_SCHEDULER`), connecting to it with one clear error, and checking
that its workers run the same cockpit, scikit-learn and Python as this process.

The process that connects stays the only writer of the workspace: workers get data and
functions, and send back results.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError

SCHEDULER_ENV = "COCKPIT_SCHEDULER"
CONNECT_TIMEOUT_S = 10.0
WORKERS_TIMEOUT_S = 30.0  # a scheduler with no worker yet: how long to wait for the first
CHECKED_PACKAGES = ("python", "cockpit", "scikit-learn")


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """A scheduler's address, or a LocalCluster of `local_workers` processes started here."""

    address: str | None = None
    local_workers: int | None = None

    @property
    def label(self) -> str:
        if self.local_workers:
            return f"dask local {self.local_workers}"
        return f"dask {self.address}"


def choose(
    scheduler: str | None, dask_local: int | None, environ: Mapping[str, str] | None = None
) -> ClusterChoice | None:
    """The cluster the options name; else `COCKPIT_SCHEDULER`; else None (run here)."""
    if scheduler and dask_local:
        raise CockpitError("give --scheduler ADDRESS or --dask-local N, not both")
    if dask_local:
        return ClusterChoice(local_workers=dask_local)
    address = scheduler or (os.environ if environ is None else environ).get(SCHEDULER_ENV, "").strip()
    return ClusterChoice(address=address) if address else None


def require_dask(what: str = "running on a Dask cluster") -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise CockpitError(
            f"{what} needs the dask extra, which is not installed: pip install 'cockpit[dask]'"
        ) from None


@contextmanager
def connect(choice: ClusterChoice) -> Iterator[Any]:
    """A distributed Client on the chosen cluster, closed (and a local cluster stopped) after.
    An unreachable scheduler is one CockpitError line."""
    require_dask()
    from distributed import Client, LocalCluster

    cluster = None
    if choice.local_workers:
        cluster = LocalCluster(
            n_workers=choice.local_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(choice.address, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CockpitError(
                f"cannot reach the Dask scheduler at {choice.address!r} ({reason}): is `dask scheduler` "
                "running there? (docs/cluster.md)"
            ) from None
    try:
        if not choice.local_workers:
            try:
                client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
            except TimeoutError:
                raise CockpitError(
                    f"the Dask scheduler at {choice.address!r} has no workers "
                    f"(none joined in {WORKERS_TIMEOUT_S:g} s): start some with `dask worker "
                    f"{choice.address}`"
                ) from None
        client.run(_editable_install_first())
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _editable_install_first():
    """A function for every worker (sent by value, as it is made inside a function): a Dask
    worker puts its own folder on sys.path, and that folder holds `storage/` (its spilled
    data). With cockpit installed in editable mode (`pip install -e`, found by a finder that
    Python asks after sys.path), `import storage` would find that folder instead of cockpit's
    store package; asking the editable install's finder first finds the package."""

    def first() -> None:
        import sys

        # setuptools' editable finder is a class of classmethods, put on sys.meta_path itself
        editable = [f for f in sys.meta_path if getattr(f, "__name__", "") == "_EditableFinder"]
        for finder in editable:
            sys.meta_path.remove(finder)
            sys.meta_path.insert(0, finder)
        shadowed = sys.modules.get("storage")
        if editable and shadowed is not None and getattr(shadowed, "__file__", None) is None:
            del sys.modules["storage"]

    return first


def local_versions() -> dict[str, str | None]:
    return _versions_probe()()


def _versions_probe():
    """A function that reports the versions where it runs. Made inside a function, so Dask
    sends it by value: it runs on a worker that has no cockpit at all (and says so)."""

    def versions() -> dict[str, str | None]:
        import platform
        from importlib import metadata

        found: dict[str, str | None] = {"python": platform.python_version()}
        for package in ("cockpit", "scikit-learn"):
            try:
                found[package] = metadata.version(package)
            except metadata.PackageNotFoundError:
                found[package] = None
        return found

    return versions


def version_differences(client: Any) -> list[dict[str, str]]:
    """One row per worker and package whose version differs from this process's."""
    here = local_versions()
    rows = []
    for worker, found in sorted(client.run(_versions_probe()).items()):
        for package in CHECKED_PACKAGES:
            if found.get(package) != here.get(package):
                rows.append(
                    {
                        "worker": worker,
                        "package": package,
                        "here": here.get(package) or "not installed",
                        "worker has": found.get(package) or "not installed",
                    }
                )
    return rows


def check_versions(client: Any) -> None:
    """Refuse a cluster whose workers run another cockpit, scikit-learn or Python: a model
    fitted there could differ from one fitted here, and its pickle may not load here."""
    rows = version_differences(client)
    if not rows:
        return
    columns = ["worker", "package", "here", "worker has"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
    raise CockpitError(
        "the Dask workers do not run the same versions as this process; install the same cockpit, "
        "scikit-learn and Python on every worker (docs/cluster.md):\n" + "\n".join(lines)
    )
