"""The Workspace: the single entry point the CLI, the app and the tests use.

A workspace is a `.cockpit/` folder (like `.git/`) holding `cockpit.db` and
`artifacts/`. It is found by walking up from the current directory, unless
`--workspace PATH` or COCKPIT_WORKSPACE names it (the project folder or its
`.cockpit/`).
"""

from __future__ import annotations

import os
from pathlib import Path

from cockpit import audit
from cockpit.errors import CockpitError
from storage import ArtifactStore, Store

WORKSPACE_DIRNAME = ".cockpit"
DB_NAME = "cockpit.db"
WORKSPACE_ENV = "COCKPIT_WORKSPACE"
PROJECT_ENV = "COCKPIT_PROJECT"


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
        self.artifacts = ArtifactStore(self.dir / "artifacts", self.store)

    @classmethod
    def open(cls, explicit: str | os.PathLike | None = None, start: Path | None = None) -> Workspace:
        return cls(locate(explicit, start))

    @classmethod
    def init(cls, folder: Path) -> tuple[Workspace, bool]:
        """Create `folder/.cockpit/` (owner-only). Returns the workspace and whether it is new."""
        folder = Path(folder).expanduser().resolve()
        dot_dir = folder / WORKSPACE_DIRNAME
        if (dot_dir / DB_NAME).is_file():
            return cls(dot_dir), False
        if folder.exists() and not folder.is_dir():
            raise CockpitError(f"{folder} is a file, not a folder")
        folder.mkdir(parents=True, exist_ok=True)
        dot_dir.mkdir(mode=0o700, exist_ok=True)
        (dot_dir / "artifacts").mkdir(mode=0o700, exist_ok=True)
        Store(dot_dir / DB_NAME, create=True).close()
        workspace = cls(dot_dir)
        with workspace.store.transaction():
            workspace.record("workspace", "init", details={"path": folder.name})
        return workspace, True

    def reopen(self) -> Workspace:
        """A second connection to the same workspace, for another thread or process."""
        return Workspace(self.dir)

    def record(self, stage: str, action: str, project_id: int | None = None,
               details: dict | None = None) -> int:
        return audit.record_event(self.store, stage, action, project_id, details)

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A workspace preference (e.g. the project the cockpit last showed)."""
        value = self.store.scalar("SELECT value FROM settings WHERE key = ?", [key])
        return default if value is None else value

    def set_setting(self, key: str, value: str) -> None:
        with self.store.transaction():
            self.store.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
