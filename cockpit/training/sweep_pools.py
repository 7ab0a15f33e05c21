"""A sweep's trials on the worker side, and the pools that run them when the sweep sends them
one by one (on a Dask cluster, or for Optuna's search on this machine): a small interface
over a Dask Client and over loky's or a thread's executor. The sweep process submits a trial
when a slot frees, so it can stop sending, ask Optuna for the next trial, or cancel what is
in flight."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from dataclasses import replace
from typing import Any, Protocol

Outcome = tuple[int, Any, str | None]  # (trial index, TrainOutput with pickled pipeline or None, error)

WATCH_PARENT_S = 0.5
_watched: set[int] = set()  # the sweep processes this worker process already watches


def die_with_parent(parent_pid: int) -> None:
    """In a worker process of the sweep's own machine (loky, multiprocessing), a thread that
    ends the worker once the sweep process is gone: killed with `kill -9`, it cannot stop its
    pool, whose idle workers and resource trackers would otherwise live on for minutes. Only
    a direct child arms it: a thread (threading backend) or a remote worker (Dask, Ray) never
    does."""
    if parent_pid in _watched or os.getpid() == parent_pid or os.getppid() != parent_pid:
        return
    _watched.add(parent_pid)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCH_PARENT_S)
        os._exit(1)

    threading.Thread(target=watch, name="cockpit-parent-watch", daemon=True).start()


def loky_worker_started(parent_pid: int) -> None:
    """loky's initializer: a worker of this machine's pool, so a parent already gone (killed
    while the worker was starting) ends it at once."""
    if os.getppid() != parent_pid:
        os._exit(1)
    die_with_parent(parent_pid)


def run_trial(
    index: int, inputs, parent_pid: int | None = None, stop_check=None
) -> tuple[int, Any, str | None]:
    """One trial in a worker: (index, output or None, error or None). Never raises.
    `stop_check` (Optuna's pruner) may end a staged fit early."""
    from cockpit.training.fit import fit_and_score
    from storage.artifacts import dump_bytes

    if parent_pid is not None:
        die_with_parent(parent_pid)

    try:
        output = fit_and_score(inputs, should_stop=stop_check)
    except Exception as exc:  # a failed trial is a failed run, not a failed sweep
        return index, None, f"{type(exc).__name__}: {exc}"
    output.pipeline = dump_bytes(output.pipeline)  # serialised where it was fitted
    return index, output, None


class TrialPool(Protocol):
    slots: int

    def submit(self, index: int, inputs: Any, stop_check: Any) -> Any: ...

    def wait_first(self, futures: list[Any]) -> list[Any]: ...

    def outcome(self, future: Any, index: int) -> Outcome: ...

    def cancel(self, futures: list[Any]) -> None: ...


def _remote_trial(index: int, inputs: Any, frames: Any, stop_check: Any) -> Outcome:
    """One trial on a Dask worker: the frames arrive as the scattered data, shared by every
    trial on the worker (pandas copies on write: a fit cannot change them)."""
    train, validation = frames
    return run_trial(index, replace(inputs, train=train, validation=validation), None, stop_check)


class DaskPool:
    """Trials on a Dask cluster; the training and validation frames sent once (and again if
    the workers holding them die: cockpit.cluster.Shared), each trial to a worker whose
    versions were checked, late joiners too (cockpit.cluster.usable_workers)."""

    def __init__(self, client: Any, inputs: Any, slots: int | None) -> None:
        from cockpit.cluster import Shared

        self.client = client
        self.slots = slots or max(1, sum(client.nthreads().values()))
        # to one worker: the others fetch the frames from it (or from each other) as trials need them
        self.frames = Shared(client, (inputs.train, inputs.validation), broadcast=False)
        self.template = replace(inputs, train=None, validation=None)
        self.sent: dict[Any, tuple[Any, tuple]] = {}  # the future handed out -> (the live one, its args)

    def submit(self, index: int, inputs: Any, stop_check: Any) -> Any:
        args = (index, replace(self.template, params=inputs.params), stop_check)
        future = self._send(args)
        self.sent[future] = (future, args)
        return future

    def _send(self, args: tuple) -> Any:
        from cockpit.cluster import submit

        index, light, stop_check = args
        return submit(self.client, _remote_trial, index, light, self.frames.future, stop_check)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        """The futures done, after sending again each trial cancelled because the cluster
        lost the frames (a worker died), so it is not a failed trial."""
        from distributed import wait

        from cockpit.cluster import STRANDED_CHECK_S, stranded

        while True:
            live = {self.sent[future][0]: future for future in futures}
            try:
                done = list(wait(list(live), timeout=STRANDED_CHECK_S, return_when="FIRST_COMPLETED").done)
            except TimeoutError:  # none back yet: any whose workers all left goes again
                for future in stranded(self.client, live):
                    future.cancel()
                    self._again(live[future])
                continue
            except Exception:  # cancelled on the cluster (a worker lost): see below
                done = [future for future in live if future.done()]
                if not done:
                    raise
            if not any(self.frames.lost_by(future) for future in done):
                return [live[future] for future in done]
            for future, handed in live.items():  # the frames went again: so does every trial lost with them
                if future.status == "cancelled":
                    self._again(handed)

    def _again(self, handed: Any) -> None:
        args = self.sent[handed][1]
        self.sent[handed] = (self._send(args), args)

    def outcome(self, future: Any, index: int) -> Outcome:
        live, _args = self.sent.pop(future, (future, None))
        try:
            return live.result()
        except Exception as exc:  # the worker died or the task could not run: a failed trial
            return index, None, f"{type(exc).__name__} on the Dask cluster: {exc}"

    def cancel(self, futures: list[Any]) -> None:
        live = [self.sent.pop(future, (future, None))[0] for future in futures]
        if live:
            self.client.cancel(live, force=True)


class ExecutorPool:
    """Trials in loky's worker processes (each dies with the sweep process) or in threads."""

    def __init__(self, backend: str, slots: int) -> None:
        self.slots = slots
        self.backend = backend
        self.executor: concurrent.futures.Executor
        if backend == "loky":
            # A pool of its own, not loky's reusable one: joblib's Parallel reuses that singleton
            # too and then expects what only joblib sets on it (`_temp_folder_manager`), so a
            # joblib sweep after this one in the same process (the UI, a test worker) crashed
            from joblib.externals.loky import ProcessPoolExecutor

            self.executor = ProcessPoolExecutor(
                max_workers=slots, initializer=loky_worker_started, initargs=(os.getpid(),)
            )
        else:
            self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=slots)

    def submit(self, index: int, inputs: Any, stop_check: Any) -> Any:
        return self.executor.submit(run_trial, index, inputs, os.getpid(), stop_check)

    def wait_first(self, futures: list[Any]) -> list[Any]:
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        return list(done)

    def outcome(self, future: Any, index: int) -> Outcome:
        try:
            return future.result()
        except Exception as exc:  # a worker process died (killed, out of memory)
            return index, None, f"{type(exc).__name__}: {exc}"

    def cancel(self, futures: list[Any]) -> None:
        for future in futures:
            future.cancel()
        if self.backend == "loky":
            self.executor.shutdown(wait=False, kill_workers=True)  # type: ignore[call-arg]
        else:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
