"""Sweeps: grid, random or Optuna search, each trial a run in one sweep group, in parallel.

The parent process loads the data once and records every trial; the workers never touch
the workspace. A list of trials runs on a joblib backend (loky on this machine, or one
registered with joblib); on a Dask cluster (`cluster`: docs/cluster.md) and for Optuna's
search (ask/tell here, so each trial is chosen from the ones back), trials are sent one by
one to a pool (sweep_pools). New trials stop being started once `time_budget_s` is spent or,
with `stop_on_target`, once a trial meets the spec's target. Ctrl-C keeps the finished
trials and records the ones in flight as cancelled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cockpit.audit import current_user
from cockpit.cluster import ClusterChoice
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.projects import Project
from cockpit.training import runs
from cockpit.training.search import OptunaSearch
from cockpit.training.sweep_pools import loky_worker_started, run_trial
from cockpit.workspace import Workspace
from storage import clock, faults
from storage.processes import process_started, same_process

SweepProgress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class SweepResult:
    sweep_id: int
    run_ids: list[int]
    status: str
    reason: str
    best_run_id: int | None


def _check_backend(backend: str, n_jobs: int) -> None:
    """An unknown or uninstalled joblib backend is bad usage: refused before the sweep is
    recorded."""
    from joblib import parallel_config

    try:
        with parallel_config(backend=backend, n_jobs=n_jobs):
            pass
    except (ValueError, ImportError) as exc:
        raise CockpitError(f"--backend {backend!r}: {exc}") from None


def _take_interrupts() -> None:
    """A sweep is stopped by SIGINT (`cancel --sweep`, the UI's stop key). A process started
    under nohup or as a shell's background job ignores SIGINT, and would never stop: take it."""
    import threading

    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_sweep(
    ws: Workspace,
    project: Project,
    family: str,
    trials: list[dict] | OptunaSearch,
    kind: str,
    seed: int = 42,
    n_jobs: int | None = 2,
    backend: str = "loky",
    time_budget_s: float | None = None,
    stop_on_target: bool = False,
    progress: SweepProgress | None = None,
    cluster: ClusterChoice | None = None,
) -> SweepResult:
    """Run the trials (a list, or Optuna's search choosing each) and record each as a run.
    With `cluster` they run on Dask (connected, and its workers' versions checked, before
    anything is written); else on the joblib `backend` with `n_jobs` in parallel."""
    from contextlib import ExitStack

    from cockpit.cluster import check_versions, connect

    search = trials if isinstance(trials, OptunaSearch) else None
    if not search and not trials:
        raise CockpitError("the sweep has no trials")
    if cluster is None:
        _check_backend(backend, n_jobs or 2)
        if search and backend not in ("loky", "threading"):
            raise CockpitError(f"--search optuna runs on loky, threading or a Dask cluster, not {backend!r}")
    _take_interrupts()
    with ExitStack() as stack:
        client = None
        if cluster is not None:
            client = stack.enter_context(connect(cluster))
            check_versions(client)
        return _run(
            ws,
            project,
            family,
            trials,
            kind,
            seed,
            n_jobs,
            backend,
            time_budget_s,
            stop_on_target,
            progress,
            client,
            cluster,
        )
    raise AssertionError("unreachable")  # the with block returns or raises


def _run(
    ws,
    project,
    family,
    trials,
    kind,
    seed,
    n_jobs,
    backend,
    time_budget_s,
    stop_on_target,
    progress,
    client,
    cluster,
) -> SweepResult:
    from cockpit.problem import current_spec
    from cockpit.training.child import pinned_inputs
    from cockpit.training.environment import capture
    from cockpit.training.sweep_pools import DaskPool, ExecutorPool

    search = trials if isinstance(trials, OptunaSearch) else None
    total = search.total if search else len(trials)
    plans: dict[int, runs.RunPlan] = {}
    if search:
        plans[0] = runs.plan_run(ws, project, family, search.ask(0), seed)
    else:  # every trial checked before anything is written
        plans = {i: runs.plan_run(ws, project, family, trial, seed) for i, trial in enumerate(trials)}
    base = plans[0]
    inputs = pinned_inputs(
        ws, project, family, base.params, seed, base.split_id, base.feature_spec_version, base.metric
    )
    spec = current_spec(ws, project)
    target = spec.metric_target if metrics.metric_column(spec.metric) == base.metric else None
    environment = capture(ws.root)
    pool: Any = None
    if client is not None:
        pool = DaskPool(client, inputs, n_jobs)
    elif search:
        pool = ExecutorPool(backend, n_jobs or 2)
    sweep_id = _create(
        ws,
        project,
        family,
        kind,
        search.record() if search else trials,
        total,
        seed,
        pool.slots if pool else (n_jobs or 2),
        cluster.label if cluster else backend,
        time_budget_s,
        stop_on_target,
    )
    stop, started, finished = threading.Event(), set[int](), dict[int, int]()
    reason = ""
    began = time.monotonic()

    def over_budget() -> bool:
        return time_budget_s is not None and time.monotonic() - began > time_budget_s

    def take(outcomes: list[tuple[int, Any, str | None]]) -> None:
        """Trials came back (all those back at that moment): record them in one transaction,
        then for each tell the search, report, and check the target."""
        nonlocal reason
        outcomes = sorted(outcomes, key=lambda outcome: outcome[0])
        told: list[tuple[int, Any, str | None, Any]] = []
        recorded: list[tuple[runs.RunPlan, Any, str | None, str | None]] = []
        for index, output, error in outcomes:
            stopped_at = (output.curve or {}).get("stopped_at") if output is not None else None
            plan = plans[index]
            if stopped_at is not None:
                score = output.curve["validation"][-1]
                error = (
                    f"pruned by optuna at {output.curve['param']} {stopped_at} ({plan.metric} {score:.4f})"
                )
                recorded.append((plan, None, error, "cancelled"))
            else:
                recorded.append((plan, output, error, None))
            told.append((index, output, error, stopped_at))
        run_ids = _record_all(ws, project, sweep_id, environment, recorded)
        # all of the burst is finished before any report: a Ctrl-C in `progress` must not
        # record its later trials again as cancelled
        done_before = len(finished)
        finished.update({index: run_id for (index, *_), run_id in zip(told, run_ids, strict=True)})
        for number, (index, output, error, stopped_at) in enumerate(told, start=1):
            plan = plans[index]
            if search:
                search.tell(index, output, stopped_at is not None, plan.metric)
            if progress:
                if stopped_at is not None:
                    said = error
                elif output:
                    said = f"{plan.metric} {output.validation_metrics.get(plan.metric, 0):.4f}"
                else:
                    said = f"failed ({error})"
                progress(done_before + number, total, f"trial {index + 1}: {said}")
            if (
                stop_on_target
                and target is not None
                and output is not None
                and stopped_at is None
                and not stop.is_set()  # the first trial to meet it is the reason
                and not metrics.better(
                    plan.metric, target, output.validation_metrics.get(plan.metric, target)
                )
            ):
                reason = f"target {spec.metric_goal()} met by trial {index + 1}"
                stop.set()

    status = "finished"
    results = None
    in_flight: dict[Any, int] = {}
    try:
        if pool is None:
            parallel, results = _joblib_trials(
                plans, inputs, backend, n_jobs or 2, stop, started, over_budget
            )
            for burst in _bursts(parallel, results):
                take(burst)
        else:
            _pool_trials(
                pool,
                search,
                plans,
                ws,
                project,
                family,
                seed,
                inputs,
                total,
                stop,
                started,
                over_budget,
                in_flight,
                take,
            )
    except KeyboardInterrupt:
        stop.set()
        _stop_workers(results)
        if pool is not None:
            pool.cancel(list(in_flight))
        status, reason = "cancelled", "interrupted by the user"
        for index in sorted(started - set(finished)):
            finished[index] = _record(
                ws,
                project,
                plans[index],
                sweep_id,
                None,
                "cancelled with its sweep",
                environment,
                "cancelled",
            )
    except Exception as exc:
        _stop_workers(results)
        if pool is not None:
            pool.cancel(list(in_flight))
        runs.close_sweep(ws, project, sweep_id, "failed", f"{type(exc).__name__}: {exc}")
        if isinstance(exc, ValueError) and "backend" in str(exc).lower():
            raise CockpitError(f"joblib backend {backend!r}: {exc}") from None
        raise
    finally:
        if isinstance(pool, ExecutorPool):
            pool.close()
    if status == "finished" and len(finished) < total:
        status = "stopped"
        reason = reason or f"time budget of {time_budget_s:g} s spent"
    best = runs.close_sweep(ws, project, sweep_id, status, reason)
    result = SweepResult(sweep_id, list(finished.values()), status, reason, best)
    if status == "cancelled":
        raise SweepInterrupted(result)
    return result


def _joblib_trials(plans, inputs, backend, n_jobs, stop, started, over_budget):
    """The trials of a list on a joblib backend, as they finish (a generator joblib feeds
    itself from: a new trial starts when one ends, until `stop` is set or time is spent)."""
    from joblib import Parallel, delayed, parallel_config

    def tasks():
        for index, plan in plans.items():
            if stop.is_set():
                return
            if over_budget():
                stop.set()
                return
            started.add(index)
            yield delayed(run_trial)(index, replace(inputs, params=plan.params), os.getpid())

    # loky's workers arm their watch as they start, before any trial reaches them
    armed = {"initializer": loky_worker_started, "initargs": (os.getpid(),)} if backend == "loky" else {}
    with parallel_config(backend=backend, n_jobs=n_jobs, **armed):
        parallel = Parallel(return_as="generator_unordered", pre_dispatch="n_jobs")
        return parallel, parallel(tasks())


def _bursts(parallel, results):
    """joblib's results, each with those that finished meanwhile (while the last ones were
    recorded): trials that finish together are recorded in one transaction. joblib hands its
    results over one at a time but counts them as they finish (`n_completed_tasks`), so the
    ones already back are taken without waiting, and in this thread: a Ctrl-C still reaches
    joblib's generator, which stops its workers."""
    taken = 0
    for outcome in results:
        burst = [outcome]
        taken += 1
        while parallel.n_completed_tasks > taken:
            burst.append(next(results))
            taken += 1
        yield burst


def _pool_trials(
    pool, search, plans, ws, project, family, seed, inputs, total, stop, started, over_budget, in_flight, take
) -> None:
    """Send trials to the pool, at most `pool.slots` at once, the next one (asked of the
    search, when there is one) as one comes back; `take` each as it comes back."""
    index = 0
    while True:
        while not stop.is_set() and len(in_flight) < pool.slots and index < total:
            if over_budget():
                stop.set()
                break
            if index not in plans:
                plans[index] = runs.plan_run(ws, project, family, search.ask(index), seed)
            started.add(index)
            stop_check = search.stop_check() if search else None
            in_flight[pool.submit(index, replace(inputs, params=plans[index].params), stop_check)] = index
            index += 1
        if not in_flight:
            return
        # every trial back by now, recorded together (one transaction: bursts cost one commit)
        take([pool.outcome(future, in_flight.pop(future)) for future in pool.wait_first(list(in_flight))])


def _stop_workers(results: Any) -> None:
    """Stop the trials of a sweep that ends early, now. Left to the garbage collector, the
    unfinished joblib generator stops joblib's shared worker pool whenever it is collected:
    maybe in the middle of a later sweep in the same process, which then fails."""
    if results is not None:
        results.close()


class SweepInterrupted(KeyboardInterrupt):
    def __init__(self, result: SweepResult) -> None:
        super().__init__()
        self.result = result


def _create(ws, project, family, kind, space, total, seed, n_jobs, backend, budget, on_target) -> int:
    with ws.store.transaction():
        sweep_id = ws.store.insert(
            "sweeps",
            {
                "project_id": project.id,
                "family": family,
                "kind": kind,
                "space": space,
                "trials": total,
                "n_jobs": n_jobs,
                "backend": backend,
                "seed": seed,
                "time_budget_s": budget,
                "stop_on_target": int(on_target),
                "status": "running",
                "owner_pid": os.getpid(),
                "owner_started": process_started(os.getpid()),
                "created_at": clock.now_iso(),
                "created_by": current_user(),
            },
        )
        ws.record(
            "experiments",
            "sweep started",
            project.id,
            {"sweep": sweep_id, "family": family, "kind": kind, "trials": total},
        )
    return sweep_id


def _record(ws, project, plan, sweep_id, output, error, environment, status=None) -> int:
    """One trial as one run (one INSERT, its artifact and its events) in one transaction."""
    return _record_all(ws, project, sweep_id, environment, [(plan, output, error, status)])[0]


def _record_all(ws, project, sweep_id, environment, trials) -> list[int]:
    """Trials that came back together, each (plan, output, error, status), as runs in one
    transaction: each trial's artifact, row and events, and a crash leaves none of them."""
    with ws.store.transaction():
        recorded = []
        for plan, output, error, status in trials:
            sha256 = None
            if output is not None:
                sha256 = ws.artifacts.put_bytes(
                    output.pipeline, kind="model", library_versions=environment[2]
                ).sha256
            recorded.append(
                runs.Trial(
                    plan,
                    "finished" if output is not None else status or "failed",
                    error=None if output is not None else error,
                    output=output,
                    artifact_sha256=sha256,
                )
            )
        run_ids = runs.record_trials(ws, project, sweep_id, environment, recorded)
        faults.point("sweep:after_run_created")
    return run_ids


def best_so_far(scores: list[float], metric: str) -> list[float]:
    """The optimisation history: after each trial, the best score of the trials so far."""
    pick = min if metric in metrics.LOWER_IS_BETTER else max
    best: list[float] = []
    for score in scores:
        best.append(score if not best else pick(best[-1], score))
    return best


def list_sweeps(ws: Workspace, project: Project) -> list[dict]:
    return ws.store.rows("SELECT * FROM sweeps WHERE project_id = ? ORDER BY id DESC", [project.id])


class SweepHandle:
    """A random sweep running in a child process (`python -m cockpit.training.sweep_child`),
    as the UI starts it: joblib's process pool then never shares a process with the terminal
    UI; with `scheduler` (or COCKPIT_SCHEDULER) its trials run on that Dask cluster. Progress
    and the result come back on a pipe of their own (one JSON object a line); the child's own
    output goes to a temporary file, kept for the error message. `stop` is Ctrl-C: the
    finished trials stay recorded."""

    def __init__(
        self,
        ws: Workspace,
        project: Project,
        family: str,
        trials: int,
        n_jobs: int = 2,
        time_budget_s: float | None = None,
        stop_on_target: bool = False,
        seed: int = 42,
        scheduler: str | None = None,
    ) -> None:
        request = {
            "family": family,
            "trials": trials,
            "n_jobs": n_jobs,
            "time_budget_s": time_budget_s,
            "stop_on_target": stop_on_target,
            "seed": seed,
            "scheduler": scheduler,  # None: COCKPIT_SCHEDULER if set, else this machine
        }
        read_fd, write_fd = os.pipe()
        self.output = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by wait
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cockpit.training.sweep_child",
                    str(ws.dir),
                    str(project.id),
                    str(write_fd),
                    json.dumps(request),
                ],
                stdin=subprocess.DEVNULL,
                stdout=self.output,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            self.output.close()
            raise
        finally:
            os.close(write_fd)  # the child holds the only write end: its exit ends the channel
        self.channel = os.fdopen(read_fd, encoding="utf-8")

    def wait(self, progress: SweepProgress | None = None) -> SweepResult:
        """Block until the sweep ends; its result (status "cancelled" after `stop`). A sweep
        that could not run raises CockpitError with the child's reason."""
        outcome: dict[str, Any] = {}
        with self.output, self.channel:
            for line in self.channel:
                message = json.loads(line)
                if "progress" in message:
                    if progress:
                        progress(*message["progress"])
                else:
                    outcome = message
            code = self.process.wait()
            if "result" in outcome:
                return SweepResult(**outcome["result"])
            if "error" in outcome:
                raise CockpitError(outcome["error"])
            self.output.seek(0)
            last = [line.strip() for line in self.output if line.strip()][-1:]
        raise CockpitError(" ".join([f"the sweep process ended without a result (exit code {code})", *last]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)


def stop_sweep(ws: Workspace, project: Project, sweep_id: int) -> None:
    """Ctrl-C for a sweep running in another process: finished trials stay recorded."""
    row = ws.store.one(
        "SELECT status, owner_pid, owner_started FROM sweeps WHERE id = ? AND project_id = ?",
        [sweep_id, project.id],
    )
    if row is None:
        raise CockpitError(f"no sweep {sweep_id} in project {project.name!r}")
    if row["status"] != "running":
        raise CockpitError(f"sweep {sweep_id} is {row['status']}, not running")
    if not same_process(row["owner_pid"], row["owner_started"]):
        runs.close_sweep(ws, project, sweep_id, "interrupted", "its process had stopped")
        return
    try:
        os.kill(row["owner_pid"], signal.SIGINT)
    except ProcessLookupError:
        runs.close_sweep(ws, project, sweep_id, "interrupted", "its process had stopped")
