"""Train a user's model again: run their training command (a retrain, a reproduction) and
find the run it logged, or fit a clone of their fitted model on other rows.

The command runs in a fresh process, its own process group (Ctrl-C or a cancel kills all of it),
with the data version and split to train on in its environment; `cockpit.start_run` in the
user's code reads them, and records the token cockpit passes, so the run is found by that
token, never by guessing which new run it was. Its output is kept, never written to the
terminal (the cockpit's screen may be there); the last lines of stderr say why it failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError
from cockpit.projects import Project
from cockpit.training.runs import Run, get_run, load_pipeline
from cockpit.workspace import PROJECT_ENV, WORKSPACE_ENV, Workspace

DATA_ENV = "COCKPIT_DATA_VERSION"
SPLIT_ENV = "COCKPIT_SPLIT"
TOKEN_ENV = "COCKPIT_RERUN_ID"  # cockpit.start_run keeps it in the run's origin as "rerun"
TAIL_LINES = 5
COMMAND_HINT = "cockpit retrain --command 'python train.py ...'"

if TYPE_CHECKING:
    import pandas as pd

    from cockpit.training.external import RunData


@dataclass(frozen=True, slots=True)
class Command:
    """What to run: the argv, the folder it runs in, and how it is shown."""

    argv: list[str]
    cwd: Path
    shown: str
    script: Path | None = None  # the script file a recorded command runs (`python -m`: the module's)

    @property
    def script_file(self) -> Path:
        return self.script or Path(self.argv[1])


@dataclass(frozen=True, slots=True)
class Rerun:
    """How a command ran: its exit code, its stderr's last lines, and the run it logged (the
    newest with cockpit's token), if any."""

    command: Command
    returncode: int
    stderr_tail: list[str]
    run: Run | None

    def failure(self, version_id: int, split_id: int) -> str | None:
        """Why this did not give a finished run on data `version_id`, split `split_id`; None
        when it did."""
        if self.returncode != 0:
            tail = " | ".join(self.stderr_tail) or "no output on stderr"
            return f"it exited with code {self.returncode}: {tail}"
        if self.run is None:
            return (
                "it exited 0 but logged no run: its code must log the model with "
                "`with cockpit.start_run(...) as run: ... run.log_model(model)`"
            )
        if self.run.status != "finished" or not self.run.artifact_sha256:
            return f"{self.run.label} is {self.run.status} and saved no model (run.log_model)"
        if (self.run.version_id, self.run.split_id) != (version_id, split_id):
            return (
                f"{self.run.label} trained on data v{self.run.version_id} split {self.run.split_id}, "
                f"not v{version_id} split {split_id}: cockpit.start_run must be left to read "
                f"{DATA_ENV} and {SPLIT_ENV} (do not name a split in the script)"
            )
        return None


def user_model(ws: Workspace, run: Run) -> tuple[Any, list[str]]:
    """The user's fitted model inside the run's artifact and the columns its input step
    hands it (cockpit.training.external.with_inputs)."""
    from sklearn.pipeline import Pipeline

    from cockpit.training.external import INPUT_STEP

    saved = load_pipeline(ws, run)
    if not isinstance(saved, Pipeline) or len(saved.steps) != 2 or saved.steps[0][0] != INPUT_STEP:
        raise CockpitError(f"{run.label}'s model file is not a model behind its input step: {COMMAND_HINT}")
    return saved.steps[1][1], list(saved.steps[0][1].transformers[0][2])


def clone_model(ws: Workspace, run: Run) -> Any:
    """An unfitted `sklearn.base.clone()` of the run's model, or why it cannot be had."""
    from sklearn.base import clone

    model, _ = user_model(ws, run)
    try:
        return clone(model)
    except Exception as exc:  # noqa: BLE001 - any refusal of clone() is the answer here
        # scikit-learn's message starts with the model's whole repr: the reason follows it
        why = re.sub(r"^Cannot clone object .*?(, as |: )", "", " ".join(str(exc).split()), flags=re.S)
        raise CockpitError(
            f"{run.label} cannot be refitted: sklearn.base.clone() refuses its "
            f"{type(model).__name__} ({why.rstrip('.')}). Retrain it with your own training code: "
            f"{COMMAND_HINT}"
        ) from None


def fit_clone(ws: Workspace, run: Run, data: RunData) -> tuple[Any, pd.DataFrame]:
    """A clone of the run's model fitted on `data`'s training rows, and the columns it was
    fitted on (those of the run's input step, in their order)."""
    model = clone_model(ws, run)
    _, columns = user_model(ws, run)
    rows = data.train[columns]
    return model.fit(rows, data.train[data.target]), rows


def recorded_command(ws: Workspace, run: Run) -> Command:
    """`python SCRIPT ARGV...` (or `python -m MODULE ARGV...`) as a script run recorded it
    (same interpreter, same folder)."""
    origin = run.origin or {}
    script, python, cwd = origin.get("script"), origin.get("python"), origin.get("cwd")
    if run.kind != "script" or not script or not python or not cwd:
        raise CockpitError(f"{run.label} recorded no script to run again (source {run.kind})")
    argv = [str(a) for a in origin.get("argv") or []]
    script, folder = local_path(ws, script), local_path(ws, cwd)
    module = origin.get("module")
    if module:
        target = ["-m", str(module)]
        return Command(
            [str(local_path(ws, python)), *target, *argv],
            folder,
            shlex.join(["python", *target, *argv]),
            script,
        )
    return Command(
        [str(local_path(ws, python)), str(script), *argv], folder, shown_command(script, argv, folder), script
    )


def local_path(ws: Workspace, recorded: str) -> Path:
    """A path as the store keeps it back to a real one: the store writes the workspace's
    folder as `.` and the home folder as `~` (cockpit.workspace.path_redactions)."""
    if recorded == "." or recorded.startswith("./"):
        return ws.root / recorded[2:]
    return Path(recorded).expanduser()


def shown_command(script: Path, argv: list[str], cwd: Path) -> str:
    """`python train.py --fast`: the script relative to its folder when it is inside it."""
    shown = script.relative_to(cwd) if script.is_relative_to(cwd) else script
    return shlex.join(["python", str(shown), *argv])


def check_runnable(run: Run, command: Command, instead: str) -> None:
    """The recorded script, interpreter and folder still exist; else say what to do."""
    for what, path in (
        ("script", str(command.script_file)),
        ("Python interpreter", command.argv[0]),
        ("working folder", str(command.cwd)),
    ):
        if not Path(path).exists():
            raise CockpitError(
                f"{run.label} was trained by {command.shown}, but its {what} {path} is gone: {instead}"
            )


def given_command(text: str, cwd: Path) -> Command:
    """A command the user typed (`--command "python train.py --fast"`), run in `cwd`."""
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise CockpitError(f"--command {text!r} cannot be read: {exc}") from None
    if not argv:
        raise CockpitError("--command is empty: give the command that trains the model")
    return Command(argv, cwd, shlex.join(argv))


def run_command(ws: Workspace, project: Project, command: Command, version_id: int, split_id: int) -> Rerun:
    """Run `command` on data `version_id`/`split_id` and wait; Ctrl-C kills it and re-raises."""
    import signal

    token = uuid.uuid4().hex
    env = {
        **os.environ,
        WORKSPACE_ENV: str(ws.dir),
        PROJECT_ENV: project.name,
        DATA_ENV: str(version_id),
        SPLIT_ENV: str(split_id),
        TOKEN_ENV: token,
    }
    before = ws.store.scalar("SELECT coalesce(max(id), 0) FROM runs") or 0
    try:
        process = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise CockpitError(f"cannot run {command.shown} in {command.cwd}: {exc.strerror or exc}") from None
    try:
        _, stderr = process.communicate()
    except BaseException:  # Ctrl-C, a cancelled worker: the whole process group goes
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    tail = [line for line in stderr.strip().splitlines() if line.strip()][-TAIL_LINES:]
    return Rerun(command, process.returncode, tail, logged_run(ws, project, token, before))


def logged_run(ws: Workspace, project: Project, token: str, after_id: int) -> Run | None:
    """The newest run created after `after_id` whose origin carries `token`."""
    rows = ws.store.rows(
        "SELECT id, origin FROM runs WHERE project_id = ? AND id > ? AND origin IS NOT NULL ORDER BY id DESC",
        [project.id, after_id],
    )
    for row in rows:
        if json.loads(row["origin"]).get("rerun") == token:
            return get_run(ws, project, row["id"])
    return None


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)


def repository(folder: Path) -> Path:
    """The top of the git work tree holding `folder`, or why there is none."""
    found = _git(folder, "rev-parse", "--show-toplevel") if folder.is_dir() else None
    if found is None or found.returncode != 0:
        raise CockpitError(f"cannot reproduce: {folder} is no longer in a git repository")
    return Path(found.stdout.strip()).resolve()


@contextlib.contextmanager
def worktree(repo: Path, commit: str) -> Iterator[Path]:
    """A temporary `git worktree` of `repo` at `commit` (detached), removed afterwards
    whatever happens in between."""
    if _git(repo, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise CockpitError(f"cannot reproduce: commit {commit[:12]} is not in the repository at {repo}")
    folder = Path(tempfile.mkdtemp(prefix="cockpit-reproduce-"))
    tree = folder / "tree"
    try:
        added = _git(repo, "worktree", "add", "--detach", str(tree), commit)
        if added.returncode != 0:
            raise CockpitError(f"cannot reproduce: git worktree add failed: {added.stderr.strip()}")
        yield tree
    finally:
        _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(folder, ignore_errors=True)
        _git(repo, "worktree", "prune")


def moved_to(command: Command, repo: Path, tree: Path) -> Command:
    """A recorded command with its script (and its folder, when inside the repository)
    taken from `tree`, a copy of `repo` at another commit."""
    script = command.script_file.resolve()
    if not script.is_relative_to(repo):
        raise CockpitError(f"cannot reproduce: the script {script} is not inside its repository {repo}")
    cwd = command.cwd.resolve()
    cwd = tree / cwd.relative_to(repo) if cwd.is_relative_to(repo) else cwd
    moved = tree / script.relative_to(repo)
    if command.argv[1] == "-m":  # the module is found from the (moved) working folder
        return Command(list(command.argv), cwd, command.shown, moved)
    return Command([command.argv[0], str(moved), *command.argv[2:]], cwd, command.shown, moved)
