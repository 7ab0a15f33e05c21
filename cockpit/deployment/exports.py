"""Files cockpit writes outside `.cockpit/` (bundles, scored batches): they hold the model,
production inputs and statistics of the training data, so they get the workspace's policy
rather than the umask: owner-only (files 0600, folders 0700), or — when the workspace is
shared with a group — files 0660 and folders 0770 handed to that group."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cockpit.doctor import group_gid
from cockpit.errors import CockpitError

if TYPE_CHECKING:
    from cockpit.workspace import Workspace

OWNER_MODES = (0o600, 0o700)  # (files, folders)
SHARED_MODES = (0o660, 0o770)


def export_modes(shared_group: str | None) -> tuple[int, int]:
    return SHARED_MODES if shared_group else OWNER_MODES


def _apply(target: int | Path, mode: int, gid: int | None) -> None:
    """Exactly `mode` (whatever the umask) on a path or open fd, and the group when shared
    (chown first: it may clear mode bits). Not a member of the group: the file stays the
    owner's, still closed to others."""
    if gid is not None:
        with contextlib.suppress(OSError):
            os.chown(target, -1, gid)
    os.chmod(target, mode)


def make_folder(ws: Workspace, path: Path) -> Path:
    """`path` (its parents made as usual) with the export folder mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    _, dir_mode = export_modes(ws.shared_group)
    with contextlib.suppress(PermissionError):  # someone else's empty folder: files stay private
        _apply(path, dir_mode, group_gid(ws.shared_group))
    return path


def open_file(
    path: Path, mode: int, gid: int | None = None, *, text: bool = False, follow_symlinks: bool = True
) -> IO:
    """Open `path` for writing (created or truncated) with exactly `mode` before a byte is
    written. A file that cannot be made private (another user's) is refused."""
    flags = os.O_WRONLY | os.O_CREAT | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        raise CockpitError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        _apply(fd, mode, gid)
        os.ftruncate(fd, 0)  # only once it is ours and private
    except OSError as exc:
        os.close(fd)
        raise CockpitError(
            f"{path} cannot be made private ({exc.strerror or exc}); write to a new file of your own"
        ) from None
    if text:
        return os.fdopen(fd, "w", encoding="utf-8", newline="")
    return os.fdopen(fd, "wb")


def open_export(ws: Workspace, path: Path, *, text: bool = False) -> IO:
    """A file outside the workspace, opened with the workspace's export mode."""
    file_mode, _ = export_modes(ws.shared_group)
    return open_file(path, file_mode, group_gid(ws.shared_group), text=text)


def write_export(ws: Workspace, path: Path, content: bytes) -> None:
    with open_export(ws, path) as out:
        out.write(content)
