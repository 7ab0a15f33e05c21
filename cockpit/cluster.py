"""A Dask cluster for cockpit's heavy work (docs/cluster.md): which one (`--scheduler ADDRESS`,
`--dask-local N`, or `COCKPIT_SCHEDULER`), connecting to it with one clear error, and checking
that its workers run the same cockpit, scikit-learn and Python as this process.

The process that connects stays the only writer of the workspace: workers get data and
functions, and send back results.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cockpit.errors import CockpitError

SCHEDULER_ENV = "COCKPIT_SCHEDULER"
CONNECT_TIMEOUT_S = 10.0
WORKERS_TIMEOUT_S = 30.0  # a scheduler with no worker yet: how long to wait for the first
CHECKED_PACKAGES = ("python", "cockpit", "scikit-learn")
log = logging.getLogger("cockpit.cluster")


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


@contextmanager
def checked_client(choice: ClusterChoice | None) -> Iterator[Any]:
    """A Client on the chosen cluster, its workers' versions checked (`check_versions`), or
    None when no cluster is chosen (the work runs in this process)."""
    if choice is None:
        yield None
        return
    with connect(choice) as client:
        check_versions(client)
        yield client


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


def version_differences(client: Any, workers: list[str] | None = None) -> list[dict[str, str]]:
    """One row per worker (of `workers`, default all) and package whose version differs from
    this process's."""
    return _differences(_ask_versions(client, workers))


def _ask_versions(client: Any, workers: list[str] | None) -> dict[str, dict[str, str | None]]:
    # a worker that leaves while asked is not in the answer: it is asked again if it comes back
    return client.run(_versions_probe(), workers=workers, on_error="ignore")


def _differences(found_by_worker: Mapping[str, Mapping[str, str | None]]) -> list[dict[str, str]]:
    here = local_versions()
    rows = []
    for worker, found in sorted(found_by_worker.items()):
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


def _table(rows: list[dict[str, str]]) -> str:
    columns = ["worker", "package", "here", "worker has"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


def check_versions(client: Any) -> None:
    """Refuse a cluster whose workers run another cockpit, scikit-learn or Python: a model
    fitted there could differ from one fitted here, and its pickle may not load here.
    Workers that join later are checked by `usable_workers` before they get work."""
    _checks[client] = WorkerCheck(client)


def usable_workers(client: Any) -> list[str]:
    """The workers that may get work now (call before each round of submissions): those
    found with this process's versions. A worker that joined since the last call is asked
    first; one with other versions is left out of all later work, with its table of
    differences logged as a warning (the work under way goes on without it, rather than
    failing). None left with the same versions: one CockpitError."""
    if client not in _checks:
        _checks[client] = WorkerCheck(client)
    return _checks[client].usable(client)


class WorkerCheck:
    """The workers of a client whose versions were asked, split into good and left out (the
    client is not kept: `_checks` holds these by a weak reference to it)."""

    def __init__(self, client: Any) -> None:
        self.good: set[str] = set()
        self.left_out: dict[str, list[dict[str, str]]] = {}
        rows = self._ask(client, set(client.nthreads()))
        if rows:
            raise CockpitError(
                "the Dask workers do not run the same versions as this process; install the same "
                "cockpit, scikit-learn and Python on every worker (docs/cluster.md):\n" + _table(rows)
            )

    def usable(self, client: Any) -> list[str]:
        # none usable (every worker died, its nanny starting another): wait for one to join
        deadline = time.monotonic() + WORKERS_TIMEOUT_S
        while True:
            present = set(client.nthreads())
            joined = present - self.good - set(self.left_out)
            if joined:
                rows = self._ask(client, joined)
                if rows:
                    log.warning(
                        "Dask workers that joined with other versions than this process's get no "
                        "work (docs/cluster.md):\n%s",
                        _table(rows),
                    )
            usable = sorted(self.good & present)
            if usable or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not usable:
            rows = [row for worker in sorted(self.left_out) for row in self.left_out[worker]]
            if not rows:
                raise CockpitError(
                    f"the Dask cluster has no worker left (none joined in {WORKERS_TIMEOUT_S:g} s): "
                    "start some with `dask worker SCHEDULER-ADDRESS`"
                )
            raise CockpitError(
                "no Dask worker with the same versions as this process is left on the cluster; "
                "install the same cockpit, scikit-learn and Python on every worker (docs/cluster.md):\n"
                + _table(rows)
            )
        return usable

    def _ask(self, client: Any, workers: set[str]) -> list[dict[str, str]]:
        # a worker that joined after `connect` did not get its import fix yet
        client.run(_editable_install_first(), workers=sorted(workers), on_error="ignore")
        found = _ask_versions(client, sorted(workers))
        rows = _differences(found)
        differing = {row["worker"] for row in rows}
        for worker in found:
            if worker in differing:
                self.left_out[worker] = [row for row in rows if row["worker"] == worker]
            else:
                self.good.add(worker)
        return rows


_checks: weakref.WeakKeyDictionary[Any, WorkerCheck] = weakref.WeakKeyDictionary()


RESENDS = 3  # times a task is sent again after the cluster lost the data it needs


class Shared:
    """A value every task of a piece of work needs (models, frames, a reference), scattered
    once to the usable workers, and scattered again when the cluster lost it: data given
    with `scatter` has no recipe, so when every worker that held it dies, the scheduler
    drops it and cancels each task that needs it ("lost dependencies")."""

    def __init__(self, client: Any, value: Any, broadcast: bool = True) -> None:
        self.client, self.value, self.broadcast = client, value, broadcast
        self.future: Any = None
        self.resent = 0
        self.send()

    def send(self) -> None:
        # hash=False: a content-hashed key can be one the scheduler is still forgetting, and
        # every task that names it is then cancelled "already forgotten" (dask/distributed#4612)
        [self.future] = self.client.scatter(
            [self.value], broadcast=self.broadcast, hash=False, workers=usable_workers(self.client)
        )

    def lost(self) -> bool:
        return self.future.status != "finished"

    def lost_by(self, future: Any) -> bool:
        """True when `future` was cancelled because this value was lost; sends it again then
        (once for all the tasks that needed it), at most RESENDS times."""
        if future.status != "cancelled" or not self.lost():
            return False
        if self.resent >= RESENDS:
            raise CockpitError(
                f"the Dask cluster lost this work's data {RESENDS + 1} times (its workers died): "
                "see the workers' logs"
            )
        self.resent += 1
        log.warning("the Dask cluster lost this work's data (a worker died): sending it again")
        self.send()
        return True


def submit(client: Any, function: Any, *args: Any) -> Any:
    """`function(*args)` on a worker whose versions were checked (never on one that joined
    later with other versions)."""
    workers = usable_workers(client)
    future = client.submit(function, *args, pure=False, workers=workers, allow_other_workers=False)
    _allowed[future] = frozenset(workers)
    return future


def stranded(client: Any, futures: Iterable[Any]) -> list[Any]:
    """The futures still waiting whose every allowed worker has left the cluster (died, its
    nanny starting another at a new address): the scheduler would keep them forever."""
    present = set(client.nthreads())
    return [f for f in futures if f.status == "pending" and f in _allowed and not _allowed[f] & present]


STRANDED_CHECK_S = 2.0  # how often a wait looks for stranded tasks
_allowed: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()


IN_FLIGHT_PER_WORKER = 2  # tasks sent ahead to each worker: their data held there, not here


def ordered_map(client: Any, function: Any, shared_value: Any, items: Iterable[tuple]) -> Iterator[Any]:
    """`function(shared_value, *item)` for each item on the cluster, handed back in the
    items' order, a few in flight per worker (the items are read as they are needed).
    `shared_value` is sent once; a task cancelled because the cluster lost it is sent again
    with it. A task that raises raises here."""
    from collections import deque

    shared = Shared(client, shared_value)
    pending: deque[list[Any]] = deque()  # [future, item]
    ahead = max(1, IN_FLIGHT_PER_WORKER * len(usable_workers(client)))

    def result(entry: list[Any]) -> Any:
        while True:
            try:
                return entry[0].result(timeout=STRANDED_CHECK_S)
            except TimeoutError:
                if entry[0].status == "error":  # the task itself raised it
                    raise
                for waiting in [entry, *pending]:
                    if stranded(client, [waiting[0]]):
                        waiting[0].cancel()
                        waiting[0] = submit(client, function, shared.future, *waiting[1])
            except Exception:
                if not shared.lost_by(entry[0]):
                    raise
                for waiting in [entry, *pending]:
                    if waiting[0].status == "cancelled":
                        waiting[0] = submit(client, function, shared.future, *waiting[1])

    try:
        for item in items:
            pending.append([submit(client, function, shared.future, *item), item])
            if len(pending) >= ahead:
                yield result(pending.popleft())
        while pending:
            yield result(pending.popleft())
    finally:
        for future, _item in pending:
            future.cancel()
