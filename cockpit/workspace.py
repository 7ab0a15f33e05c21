"""The Workspace: the single entry point the CLI, the app and the tests use.

A workspace is a `.cockpit/` folder (like `.git/`) holding `cockpit.db` and
`artifacts/`. It is found by walking up from the current directory, unless
`--workspace PATH` or COCKPIT_WORKSPACE names it (the project folder or its
`.cockpit/`).

It is owner-only (folders 0700, files 0600) unless the team opted in to sharing
it with a group (see cockpit/doctor.py); opening one that others can read sets
`permission_warning`, which the CLI prints once per process (the UI must not
print: Textual draws on the terminal).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from cockpit import audit, doctor
from cockpit.errors import CockpitError
from storage import ArtifactStore, Store
from storage.store import Redactor, create_private_file

WORKSPACE_DIRNAME = ".cockpit"
DB_NAME = "cockpit.db"
WORKSPACE_ENV = "COCKPIT_WORKSPACE"
PROJECT_ENV = "COCKPIT_PROJECT"
UI_LOG = Path("logs") / "ui.log"

_warning_printer: Callable[[str], None] | None = None
_warned: set[Path] = set()


def print_permission_warnings(printer: Callable[[str], None] | None) -> None:
    """Have `Workspace.open` hand each workspace's permission warning to `printer`, once
    per workspace per process (the CLI passes a stderr printer; nothing else should)."""
    global _warning_printer
    _warning_printer = printer


def announce_permission_warning(workspace: Workspace) -> None:
    """Hand the workspace's permission warning (if any) to the printer, once per process."""
    if workspace.permission_warning and _warning_printer and workspace.dir not in _warned:
        _warned.add(workspace.dir)
        _warning_printer(workspace.permission_warning)


def path_redactions(root: Path) -> list[tuple[str, str]]:
    """Absolute paths never recorded in the store: the workspace's folder, the home folder."""
    pairs = [(str(root), ".")]
    home = os.path.expanduser("~")
    if home != "~":
        pairs.append((home, "~"))
        real = os.path.realpath(home)
        if real != home:
            pairs.append((real, "~"))
    return pairs


# Whole words for the short ones: GIT_AUTHOR_NAME and TOKENIZERS_PARALLELISM are no secrets.
SECRET_NAME = re.compile(
    r"PASSW|PASSPHRASE|SECRET|CREDENTIAL|"
    r"(^|_)(TOKEN|AUTH|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)(_|$)",
    re.IGNORECASE,
)
MIN_SECRET_LEN = 8  # shorter values are too likely to be ordinary words or numbers


def secret_redactions(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Values of environment variables named like secrets (GITHUB_TOKEN, PGPASSWORD,
    AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY ...), replaced by `$NAME` wherever they would reach
    the store."""
    environ = os.environ if environ is None else environ
    return [
        (value, f"${name}")
        for name, value in sorted(environ.items())
        if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LEN
    ]


def locate(explicit: str | os.PathLike | None = None, start: Path | None = None) -> Path:
    """The `.cockpit/` folder to use, or a CockpitError saying how to make one."""
    explicit = explicit or os.environ.get(WORKSPACE_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        for candidate in (path, path / WORKSPACE_DIRNAME):
            if candidate.name == WORKSPACE_DIRNAME and (candidate / DB_NAME).is_file():
                return candidate.resolve()
        raise CockpitError(
            f"no cockpit workspace at {path} (no {WORKSPACE_DIRNAME}/{DB_NAME} there); "
            f"run `cockpit init {path}` to create one"
        )
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / WORKSPACE_DIRNAME / DB_NAME).is_file():
            return folder / WORKSPACE_DIRNAME
    raise CockpitError(
        f"no cockpit workspace in {here} or any folder above it; "
        "run `cockpit init` to create one here, or `cockpit demo` to try a demo"
    )


class Workspace:
    """An opened workspace: its store, its artifacts and its audit log."""

    def __init__(self, dot_dir: Path) -> None:
        self.dir = Path(dot_dir)
        self.root = self.dir.parent
        self.store = Store(self.dir / DB_NAME)
        self.store.redact = Redactor(path_redactions(self.root) + secret_redactions())
        self.shared_group: str | None = self.setting(doctor.SHARE_SETTING) or None
        file_mode, dir_mode = doctor.wanted_modes(self.shared_group)
        self.artifacts = ArtifactStore(self.dir / "artifacts", self.store, file_mode, dir_mode)
        self._prepare_log()
        self.permission_warning: str | None = doctor.quick_warning(self.dir, self.shared_group)

    def _prepare_log(self) -> None:
        """The UI's error log, made here with the workspace's modes before anything appends."""
        log = self.dir / UI_LOG
        try:
            if not log.parent.is_dir():
                log.parent.mkdir(mode=0o700, exist_ok=True)
                os.chmod(log.parent, self.artifacts.dir_mode)
            create_private_file(log, self.artifacts.file_mode)
        except OSError:
            pass  # a read-only workspace still opens

    @classmethod
    def open(cls, explicit: str | os.PathLike | None = None, start: Path | None = None) -> Workspace:
        workspace = cls(locate(explicit, start))
        announce_permission_warning(workspace)
        return workspace

    @classmethod
    def init(cls, folder: Path, share_with_group: str | None = None) -> tuple[Workspace, bool]:
        """Create `folder/.cockpit/`: owner-only, or shared with a group when the team opts in.
        Returns the workspace and whether it is new."""
        folder = Path(folder).expanduser().resolve()
        dot_dir = folder / WORKSPACE_DIRNAME
        if (dot_dir / DB_NAME).is_file():
            return cls(dot_dir), False
        if folder.exists() and not folder.is_dir():
            raise CockpitError(f"{folder} is a file, not a folder")
        gid = doctor.group_id(share_with_group) if share_with_group else None
        file_mode, dir_mode = doctor.wanted_modes(share_with_group)
        folder.mkdir(parents=True, exist_ok=True)
        for made in (dot_dir, dot_dir / "artifacts"):
            made.mkdir(mode=0o700, exist_ok=True)
            if gid is not None:
                os.chown(made, -1, gid)
            os.chmod(made, dir_mode)  # exactly, whatever the umask
        store = Store(dot_dir / DB_NAME, create=True, file_mode=file_mode)
        try:
            if share_with_group:  # before the Workspace opens: it reads the modes from it
                with store.transaction():
                    store.insert("settings", {"key": doctor.SHARE_SETTING, "value": share_with_group})
        finally:
            store.close()
        workspace = cls(dot_dir)
        with workspace.store.transaction():
            workspace.record("workspace", "init", details={"path": folder.name})
            if share_with_group:
                workspace.record("workspace", "share", details={"group": share_with_group})
        return workspace, True

    def reopen(self) -> Workspace:
        """A second connection to the same workspace, for another thread or process."""
        return Workspace(self.dir)

    def record(
        self, stage: str, action: str, project_id: int | None = None, details: dict | None = None
    ) -> int:
        return audit.record_event(self.store, stage, action, project_id, details)

    def events(self, project_id: int | None = None, limit: int = 50, text: str = "") -> list[audit.Event]:
        """The newest events first (audit.recent_events), for callers that hold no store."""
        return audit.recent_events(self.store, project_id, limit, text)

    def event_count(self, project_id: int | None = None) -> int:
        """How many events there are (of a project): `events` shows the newest of them."""
        if project_id is None:
            return self.store.scalar("SELECT count(*) FROM events")
        return self.store.scalar("SELECT count(*) FROM events WHERE project_id = ?", [project_id])

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A workspace preference (e.g. the project the cockpit last showed)."""
        value = self.store.scalar("SELECT value FROM settings WHERE key = ?", [key])
        return default if value is None else value

    def set_setting(self, key: str, value: str) -> None:
        with self.store.transaction():
            self.store.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, self.store.redact(value) if isinstance(value, str) else value],
            )

    def set_sharing(self, group: str | None) -> None:
        """Record the team's choice (a group, or None: owner-only); new files follow it.
        `cockpit.doctor.share_with_group` also records it in the audit log and applies it."""
        with self.store.transaction():
            if group:
                self.set_setting(doctor.SHARE_SETTING, group)
            else:
                self.store.conn.execute("DELETE FROM settings WHERE key = ?", [doctor.SHARE_SETTING])
        self.shared_group = group
        self.artifacts.file_mode, self.artifacts.dir_mode = doctor.wanted_modes(group)

    def data_version(self) -> int:
        """Changes whenever another connection commits to the workspace: a cheap "did anything
        change?" for screens that poll."""
        return self.store.data_version()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
