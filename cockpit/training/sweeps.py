"""Sweeps: grid or random search, each trial a run in one sweep group, in parallel with joblib.

The parent process loads the data once and records every trial, so the joblib
backend can be anything joblib knows (loky on this machine; a Dask or Ray
cluster registered with joblib), whose workers never touch the workspace.
New trials stop being started once `time_budget_s` is spent or, with
`stop_on_target`, once a trial meets the spec's target. Ctrl-C keeps the
finished trials and records the ones in flight as cancelled.
"""

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
from cockpit.errors import CockpitError
from cockpit.evaluation import metrics
from cockpit.projects import Project
from cockpit.training import runs
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


def _loky_worker_started(parent_pid: int) -> None:
    """loky's initializer: a worker of this machine's pool, so a parent already gone (killed
    while the worker was starting) ends it at once."""
    if os.getppid() != parent_pid:
        os._exit(1)
    die_with_parent(parent_pid)


def _trial(index: int, inputs, parent_pid: int | None = None) -> tuple[int, Any, str | None]:
    """One trial in a worker: (index, output or None, error or None). Never raises."""
    from cockpit.training.fit import fit_and_score
    from storage.artifacts import dump_bytes

    if parent_pid is not None:
        die_with_parent(parent_pid)

    try:
        output = fit_and_score(inputs)
    except Exception as exc:  # a failed trial is a failed run, not a failed sweep
        return index, None, f"{type(exc).__name__}: {exc}"
    output.pipeline = dump_bytes(output.pipeline)  # serialised where it was fitted
    return index, output, None


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
    trials: list[dict],
    kind: str,
    seed: int = 42,
    n_jobs: int = 2,
    backend: str = "loky",
    time_budget_s: float | None = None,
    stop_on_target: bool = False,
    progress: SweepProgress | None = None,
) -> SweepResult:
    from joblib import Parallel, delayed, parallel_config

    from cockpit.problem import current_spec
    from cockpit.training.child import pinned_inputs
    from cockpit.training.environment import capture

    if not trials:
        raise CockpitError("the sweep has no trials")
    _check_backend(backend, n_jobs)
    _take_interrupts()
    plans = [runs.plan_run(ws, project, family, trial, seed) for trial in trials]
    base = plans[0]
    inputs = pinned_inputs(
        ws, project, family, base.params, seed, base.split_id, base.feature_spec_version, base.metric
    )
    spec = current_spec(ws, project)
    target = spec.metric_target if metrics.metric_column(spec.metric) == base.metric else None
    environment = capture(ws.root)
    sweep_id = _create(
        ws, project, family, kind, trials, seed, n_jobs, backend, time_budget_s, stop_on_target
    )
    stop, started, finished = threading.Event(), set(), {}
    reason = ""
    began = time.monotonic()

    def tasks():
        for index, plan in enumerate(plans):
            if stop.is_set():
                return
            if time_budget_s is not None and time.monotonic() - began > time_budget_s:
                stop.set()
                return
            started.add(index)
            yield delayed(_trial)(index, replace(inputs, params=plan.params), os.getpid())

    status = "finished"
    results = None
    try:
        # loky's workers arm their watch as they start, before any trial reaches them
        armed = {"initializer": _loky_worker_started, "initargs": (os.getpid(),)} if backend == "loky" else {}
        with parallel_config(backend=backend, n_jobs=n_jobs, **armed):
            results = Parallel(return_as="generator_unordered", pre_dispatch="n_jobs")(tasks())
            for index, output, error in results:
                finished[index] = _record(ws, project, plans[index], sweep_id, output, error, environment)
                if progress:
                    progress(
                        len(finished),
                        len(plans),
                        f"trial {index + 1}: "
                        + (
                            f"{base.metric} {output.validation_metrics.get(base.metric, 0):.4f}"
                            if output
                            else f"failed ({error})"
                        ),
                    )
                if (
                    stop_on_target
                    and target is not None
                    and output is not None
                    and not stop.is_set()  # the first trial to meet it is the reason
                    and not metrics.better(
                        base.metric, target, output.validation_metrics.get(base.metric, target)
                    )
                ):
                    reason = f"target {spec.metric_goal()} met by trial {index + 1}"
                    stop.set()
    except KeyboardInterrupt:
        stop.set()
        _stop_workers(results)
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
        _close(ws, project, sweep_id, "failed", f"{type(exc).__name__}: {exc}", len(finished), base.metric)
        if isinstance(exc, ValueError) and "backend" in str(exc).lower():
            raise CockpitError(f"joblib backend {backend!r}: {exc}") from None
        raise
    if status == "finished" and len(finished) < len(plans):
        status = "stopped"
        reason = reason or f"time budget of {time_budget_s:g} s spent"
    best = _close(ws, project, sweep_id, status, reason, len(finished), base.metric)
    result = SweepResult(sweep_id, list(finished.values()), status, reason, best)
    if status == "cancelled":
        raise SweepInterrupted(result)
    return result


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


def _create(ws, project, family, kind, trials, seed, n_jobs, backend, budget, on_target) -> int:
    with ws.store.transaction():
        sweep_id = ws.store.insert(
            "sweeps",
            {
                "project_id": project.id,
                "family": family,
                "kind": kind,
                "space": trials,
                "trials": len(trials),
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
            {"sweep": sweep_id, "family": family, "kind": kind, "trials": len(trials)},
        )
    return sweep_id


def _record(ws, project, plan, sweep_id, output, error, environment, status=None) -> int:
    """One trial as one run (one INSERT, its artifact and its events) in one transaction."""
    with ws.store.transaction():
        sha256 = None
        if output is not None:
            sha256 = ws.artifacts.put_bytes(
                output.pipeline, kind="model", library_versions=environment[2]
            ).sha256
        run_id = runs.record_trial(
            ws,
            project,
            plan,
            sweep_id,
            "finished" if output is not None else status or "failed",
            environment,
            error=None if output is not None else error,
            output=output,
            artifact_sha256=sha256,
        )
        faults.point("sweep:after_run_created")
    return run_id


def _close(ws, project, sweep_id, status, reason, done, metric) -> int | None:
    direction = "ASC" if metric in metrics.LOWER_IS_BETTER else "DESC"
    best = ws.store.scalar(
        f"SELECT id FROM runs WHERE sweep_id = ? AND score IS NOT NULL ORDER BY score {direction} LIMIT 1",
        [sweep_id],
    )
    with ws.store.transaction():
        ws.store.update(
            "sweeps",
            {"id": sweep_id},
            {
                "status": status,
                "reason": reason,
                "finished_trials": done,
                "best_run_id": best,
                "finished_at": clock.now_iso(),
            },
        )
        ws.record(
            "experiments",
            f"sweep {status}",
            project.id,
            {"sweep": sweep_id, "trials": done, "best": best, "reason": reason},
        )
    return best


def list_sweeps(ws: Workspace, project: Project) -> list[dict]:
    return ws.store.rows("SELECT * FROM sweeps WHERE project_id = ? ORDER BY id DESC", [project.id])


class SweepHandle:
    """A random sweep running in a child process (`python -m cockpit.training.sweep_child`),
    as the UI starts it: joblib's process pool then never shares a process with the terminal
    UI. Progress and the result come back on a pipe of their own (one JSON object a line);
    the child's own output goes to a temporary file, kept for the error message. `stop` is
    Ctrl-C: the finished trials stay recorded."""

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
    ) -> None:
        request = {
            "family": family,
            "trials": trials,
            "n_jobs": n_jobs,
            "time_budget_s": time_budget_s,
            "stop_on_target": stop_on_target,
            "seed": seed,
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
        _close(ws, project, sweep_id, "interrupted", "its process had stopped", 0, "")
        return
    try:
        os.kill(row["owner_pid"], signal.SIGINT)
    except ProcessLookupError:
        _close(ws, project, sweep_id, "interrupted", "its process had stopped", 0, "")
