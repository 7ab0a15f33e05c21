"""How a retrain trains its challenger, chosen before anything is written.

- a catalogue or estimator run: its recipe (family, params, seed) trains again (runs.train);
- a script run: its recorded command runs again (`python SCRIPT ARGV...` in its folder, same
  interpreter), the new data version in COCKPIT_DATA_VERSION; the run the script logs is the
  challenger (cockpit.training.rerun);
- a notebook or file run, a script run with --refit, or a clone an earlier retrain refitted:
  a `sklearn.base.clone()` of the user's model is fitted on the new split's training rows in
  a child process (cockpit.retraining.refit) and recorded as an external run of the same
  source;
- `--command "..."`: that command runs instead, whatever the champion was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.retraining.refit import RefitHandle
from cockpit.training import rerun, runs
from cockpit.training.rerun import COMMAND_HINT, clone_model
from cockpit.training.runs import Run
from cockpit.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Trained:
    """The challenger's run (None if none was made), what was done in words, and why it
    failed (None: a finished run with a model on the new data)."""

    run_id: int | None
    did: str
    error: str | None = None

    def step(self) -> str:
        return f"{self.did}: {self.error}" if self.error else self.did


class Trainer(Protocol):
    def train(self, ws: Workspace, project: Project, version_id: int, split_id: int) -> Trained: ...


@dataclass(frozen=True, slots=True)
class Recipe:
    """Train the champion's family with its params and seed (catalogue and estimator runs)."""

    champion: Run

    def train(self, ws: Workspace, project: Project, version_id: int, split_id: int) -> Trained:
        c = self.champion
        run = runs.train(ws, project, c.family, c.params, c.seed, split_id=split_id)
        if run.status != "finished":
            return Trained(run.id, "training failed", run.error or run.status)
        return Trained(run.id, f"{run.label} trained with the production config")


@dataclass(frozen=True, slots=True)
class Refit:
    """Fit a clone of the champion's model on the new split, in a child process."""

    champion: Run

    def train(self, ws: Workspace, project: Project, version_id: int, split_id: int) -> Trained:
        from cockpit.training import external

        c = self.champion
        did = f"refit a clone of run {c.id}'s {c.model_name} on data v{version_id}"
        data = external.run_data(ws, project, split_id)
        origin = {**(c.origin or {}), "retrained_from": c.id, "refit": True}
        run_id = external.start(ws, project, c.kind, origin, c.params, c.seed, data)
        handle = RefitHandle(ws, project, run_id, c.id)
        try:
            status = handle.wait()
        except KeyboardInterrupt:
            handle.cancel()
            raise
        run = runs.get_run(ws, project, run_id)
        if status != "finished":
            return Trained(run_id, did, f"{run.label} {status}: {run.error}")
        return Trained(run_id, f"{did}: {run.label}")


@dataclass(frozen=True, slots=True)
class Script:
    """Run the user's command on the new data; the run it logs is the challenger."""

    champion: Run
    command: rerun.Command

    def train(self, ws: Workspace, project: Project, version_id: int, split_id: int) -> Trained:
        done = rerun.run_command(ws, project, self.command, version_id, split_id)
        did = f"ran {self.command.shown} with {rerun.DATA_ENV}={version_id}"
        run = done.run
        if run is not None:  # its lineage, beside what the script recorded of itself
            origin = {k: v for k, v in (run.origin or {}).items() if k != "rerun"}
            origin["retrained_from"] = self.champion.id
            ws.store.update("runs", {"id": run.id}, {"origin": origin})
            did += f" (it logged {run.label})"
        return Trained(run.id if run else None, did, done.failure(version_id, split_id))


def choose(ws: Workspace, project: Project, champion: Run, command: str | None, refit: bool) -> Trainer:
    """How to train the challenger; a way that cannot work is refused here, by name, before
    the retrain writes anything."""
    if command is not None and refit:
        raise CockpitError("--command and --refit are two ways to train the challenger: give one")
    if champion.version_id is None or champion.split_id is None:
        raise CockpitError(
            f"{champion.label} has no data version: score it on one first "
            f"(cockpit evaluate {champion.id} --data VERSION --split SPLIT), then retrain"
        )
    if command is not None:
        return Script(champion, rerun.given_command(command, Path.cwd()))
    if not champion.external:
        if refit:
            raise CockpitError(
                f"{champion.label} is a {champion.kind} run: retrain trains its recipe again; "
                "--refit is for models trained outside cockpit"
            )
        return Recipe(champion)
    origin = champion.origin or {}
    if champion.kind == "script" and not refit and not origin.get("refit"):
        recorded = rerun.recorded_command(ws, champion)
        rerun.check_runnable(
            champion, recorded, f"give the command that trains it ({COMMAND_HINT}) or refit a clone (--refit)"
        )
        return Script(champion, recorded)
    clone_model(ws, champion)  # refused now if it cannot be cloned, not in the child
    return Refit(champion)
