"""`cockpit doctor`: who can read a workspace, its journal, schema and artifacts, and the fixes.

A workspace holds raw training data and models, often on a server many people
reach over SSH, so `.cockpit/` is owner-only: folders 0700, files 0600. A team
that shares one opts in (`cockpit doctor --share-with-group GROUP`): then
folders are 2770 (setgid, so new files join the group) and files 0660, owned by
that group. Other users never get in. Plain Python: no Textual, no pandas.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.errors import CockpitError

if TYPE_CHECKING:
    from cockpit.workspace import Workspace
    from storage.artifacts import IntegrityReport

SHARE_SETTING = "share_with_group"
OWNER_MODES = (0o600, 0o700)  # (files, folders)
SHARED_MODES = (0o660, 0o2770)
GROUP_BITS, OTHER_BITS = 0o070, 0o007


def wanted_modes(shared_group: str | None) -> tuple[int, int]:
    """(file mode, folder mode) for a workspace, shared with a group or not."""
    return SHARED_MODES if shared_group else OWNER_MODES


def guess_shared_group(dot_dir: Path) -> str | None:
    """The group a workspace is shared with, judged from its folder (when its store, which
    records the choice, cannot be read): setgid and group rwx mean shared."""
    try:
        info = os.stat(dot_dir)
    except OSError:
        return None
    if info.st_mode & (stat.S_ISGID | GROUP_BITS) == stat.S_ISGID | GROUP_BITS:
        return _name(grp.getgrgid, info.st_gid)
    return None


def group_id(name: str) -> int:
    """The id of group `name`, which the current user must belong to (to hand files to it)."""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise CockpitError(f"no group named {name!r} on this machine") from None
    if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
        raise CockpitError(
            f"you are not a member of group {name!r}, so files cannot be "
            "handed to it; ask an administrator to add you"
        )
    return gid


def _name(lookup, number: int) -> str:
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def _too_open(mode: int, shared_group: str | None) -> int:
    """The group/other permission bits that the workspace's policy does not allow."""
    allowed = GROUP_BITS if shared_group else 0
    return mode & (GROUP_BITS | OTHER_BITS) & ~allowed


def _who(bits: int, group: str) -> str:
    names = []
    if bits & GROUP_BITS:
        names.append(f"group {group!r}")
    if bits & OTHER_BITS:
        names.append("all other users")
    return " and ".join(names)


# -- the one-line warning on open -------------------------------------------------


def quick_warning(dot_dir: Path, shared_group: str | None) -> str | None:
    """One line when group/others can read the workspace (beyond an opt-in), else None.

    Cheap enough for every open: the folder itself and its top-level entries only.
    Others read a file inside only if they can also enter the folder.
    """
    try:
        folder = os.stat(dot_dir)
        entries = [os.lstat(entry.path) for entry in os.scandir(dot_dir)]
    except OSError:
        return None
    enter = _too_open(stat.S_IMODE(folder.st_mode), shared_group) & 0o011  # x: may enter
    readable = 0
    for entry in entries:
        mode = stat.S_IMODE(entry.st_mode)
        bits = 0o011 if stat.S_ISDIR(entry.st_mode) else 0o044
        readable |= _too_open(mode, shared_group) & bits
    exposed = (GROUP_BITS if enter & 0o010 and readable & 0o050 else 0) | (
        OTHER_BITS if enter & 0o001 and readable & 0o005 else 0
    )
    if not exposed:
        return None
    who = _who(exposed, _name(grp.getgrgid, folder.st_gid))
    return (
        f"{dot_dir} can be read by {who}; run `cockpit doctor --fix` to make it "
        "owner-only (or `cockpit doctor --share-with-group GROUP` to share it on purpose)"
    )


# -- the full scan ----------------------------------------------------------------


@dataclass
class Entry:
    """One folder or file under `.cockpit/`, its mode and what is wrong with it."""

    path: str
    kind: str
    mode: int
    owner: str
    group: str
    wanted: int
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "mode": f"{self.mode:04o}",
            "owner": self.owner,
            "group": self.group,
            "wanted": f"{self.wanted:04o}",
            "problem": self.problem,
        }


def scan(dot_dir: Path, shared_group: str | None) -> list[Entry]:
    """Every folder and file under `.cockpit/` (symlinks are reported, never followed)."""
    file_mode, dir_mode = wanted_modes(shared_group)
    wanted_gid = group_gid(shared_group)
    entries = []
    paths = [dot_dir]
    for folder, dirs, files in os.walk(dot_dir):
        dirs.sort()
        paths += [Path(folder) / name for name in sorted(dirs) + sorted(files)]
    for path in paths:
        try:
            info = os.lstat(path)
        except FileNotFoundError:  # e.g. a -wal file checkpointed away meanwhile
            continue
        rel = str(Path(dot_dir.name) / path.relative_to(dot_dir))
        mode = stat.S_IMODE(info.st_mode)
        is_dir = stat.S_ISDIR(info.st_mode)
        entry = Entry(
            rel,
            "folder" if is_dir else "file",
            mode,
            _name(pwd.getpwuid, info.st_uid),
            _name(grp.getgrgid, info.st_gid),
            dir_mode if is_dir else file_mode,
        )
        needed = (0o070 if is_dir else 0o060) if shared_group else 0
        extra = _too_open(mode, shared_group)
        if stat.S_ISLNK(info.st_mode):
            entry.kind, entry.problem = "symlink", "a symlink: cockpit never writes one here"
        elif extra:
            entry.problem = (
                f"{entry.kind} can be {'entered' if is_dir else 'read'} by {_who(extra, entry.group)}"
            )
        elif shared_group and (mode & needed != needed or (is_dir and not mode & stat.S_ISGID)):
            entry.problem = f"group {shared_group!r} cannot use it (wanted {entry.wanted:04o})"
        elif wanted_gid is not None and info.st_gid != wanted_gid:
            entry.problem = f"belongs to group {entry.group!r}, not {shared_group!r}"
        entries.append(entry)
    return entries


def group_gid(shared_group: str | None) -> int | None:
    """The id of the workspace's sharing group, or None (not shared, or no such group)."""
    if not shared_group:
        return None
    try:
        return grp.getgrnam(shared_group).gr_gid
    except KeyError:
        return None


def fix(dot_dir: Path, shared_group: str | None) -> list[str]:
    """Set every entry's mode (and group, when shared) to the policy; what was changed.

    A file owned by another user cannot be changed by this one: it stays a problem.
    """
    changed = []
    gid = group_gid(shared_group)
    uid = os.geteuid()
    for entry in scan(dot_dir, shared_group):
        path = dot_dir.parent / entry.path
        if entry.kind == "symlink" or (entry.mode == entry.wanted and entry.problem is None):
            continue
        info = os.lstat(path)
        if uid != 0 and info.st_uid != uid:
            continue
        try:
            if gid is not None and info.st_gid != gid:
                os.chown(path, -1, gid)
            os.chmod(path, entry.wanted)  # after chown, which may clear setgid
        except OSError:
            continue
        changed.append(f"{entry.path}: {entry.mode:04o} -> {entry.wanted:04o}")
    return changed


# -- the report -------------------------------------------------------------------


@dataclass
class Report:
    dot_dir: Path
    shared_group: str | None
    entries: list[Entry]
    journal: dict[str, str] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)
    artifacts: IntegrityReport | None = None
    store_error: str | None = None
    fixed: list[str] = field(default_factory=list)
    stale_temporary: list[dict[str, Any]] = field(default_factory=list)
    other_sklearn: list[dict[str, Any]] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [f"{e.path}: {e.problem}" for e in self.entries if e.problem]
        if self.store_error:
            found.append(self.store_error)
        if self.schema and self.schema.get("integrity") != "ok":
            found.append(f"database integrity check: {self.schema.get('integrity')}")
        if self.schema and self.schema.get("pending"):
            found.append(f"schema steps not applied: {', '.join(self.schema['pending'])}")
        if self.artifacts:
            found += [
                f"artifact {sha[:12]} is recorded but its file is missing" for sha in self.artifacts.missing
            ]
            found += [
                f"artifact file {name} was changed after cockpit wrote it" for name in self.artifacts.changed
            ]
        return found + edge_problems(self)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def who_can_read(self) -> str:
        """Who can read the workspace's files, given the folder's own mode."""
        top = self.entries[0] if self.entries else None
        if top is None:
            return "nobody (no workspace folder)"
        owners = sorted({e.owner for e in self.entries})
        readers = [", ".join(owners)]
        enter = top.mode & 0o011
        files = 0
        for e in self.entries[1:]:
            files |= e.mode & (0o011 if e.kind == "folder" else 0o044)
        if enter & 0o010 and files & 0o050:
            members = _members(top.group)
            readers.append(f"group {top.group!r}" + (f" ({', '.join(members)})" if members else ""))
        if enter & 0o001 and files & 0o005:
            readers.append("every other user on this machine")
        return " and ".join(readers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.dot_dir),
            "healthy": self.healthy,
            "problems": self.problems,
            "fixed": self.fixed,
            "permissions": {
                "sharing": f"group {self.shared_group}" if self.shared_group else "owner only",
                "who_can_read": self.who_can_read(),
                "entries": [e.as_dict() for e in self.entries],
            },
            "journal": self.journal,
            "schema": self.schema,
            "artifacts": self.artifacts.as_dict() if self.artifacts else None,
            "stale_temporary": self.stale_temporary,
            "other_sklearn": self.other_sklearn,
        }


def _members(group: str) -> list[str]:
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


def diagnose(
    ws: Workspace | None,
    dot_dir: Path,
    shared_group: str | None = None,
    store_error: str | None = None,
    param_defaults: ParamDefaults | None = None,
) -> Report:
    """The whole health report; `ws` is None when the store could not be opened."""
    if ws is not None:
        shared_group = ws.shared_group
    report = Report(dot_dir, shared_group, scan(dot_dir, shared_group), store_error=store_error)
    if ws is None:
        return report
    from storage import migrations

    store = ws.store
    report.journal = {
        "mode": "WAL" if store.journal_mode == "wal" else f"rollback journal ({store.journal_mode})",
        "reason": store.journal_reason,
    }
    applied = store.applied_migrations()
    report.schema = {
        "version": len(applied),
        "latest": applied[-1] if applied else None,
        "known": len(migrations.KNOWN_NAMES),
        "pending": [n for n in migrations.KNOWN_NAMES if n not in applied],
        "integrity": store.scalar("PRAGMA quick_check"),
    }
    report.artifacts = ws.artifacts.verify_all()
    report.stale_temporary = stale_temporary(ws)
    report.other_sklearn = other_sklearn_models(ws, param_defaults)
    return report


def share_with_group(ws: Workspace, group: str | None) -> list[str]:
    """Opt in to sharing with `group` (None: back to owner-only), recorded, then applied."""
    if group:
        group_id(group)
    previous = ws.shared_group
    with ws.store.transaction():
        ws.set_sharing(group)
        if previous != group:
            ws.record("workspace", "share" if group else "unshare", details={"group": group or previous})
    return fix(ws.dir, group)


# -- leftovers and models of another scikit-learn (issue 27) ------------------------


def stale_temporary(ws: Workspace) -> list[dict[str, Any]]:
    """Temporary artifact files left by writers that were killed (older than a minute, their
    process gone): name and size."""
    found = []
    for path in ws.artifacts.stale_temporary():
        try:
            found.append({"name": path.name, "size": path.stat().st_size})
        except FileNotFoundError:
            continue
    return found


def remove_stale_temporary(ws: Workspace) -> list[str]:
    """`doctor --fix`: remove them; one line for each one removed."""
    return [
        f"removed stale temporary file {name} ({size / 1e6:.1f} MB)"
        for name, size in ws.artifacts.remove_stale_temporary()
    ]


ParamDefaults = Callable[[str, str, int], dict[str, Any]]  # (family, task, seed) -> params


def other_sklearn_models(ws: Workspace, defaults: ParamDefaults | None = None) -> list[dict[str, Any]]:
    """Artifacts pickled by another scikit-learn than the installed one, with the runs and
    model versions that use them and the command that trains each run again (without the
    params `defaults` says a run gets anyway)."""
    from storage.artifacts import installed_sklearn

    found = []
    for row in ws.artifacts.other_sklearn():
        runs = ws.store.rows(
            "SELECT r.id, r.family, r.params, r.seed, r.split_id, p.name AS project, p.task FROM runs r "
            "JOIN projects p ON p.id = r.project_id WHERE r.artifact_sha256 = ? ORDER BY r.id",
            [row["sha256"]],
        )
        versions = ws.store.rows(
            "SELECT version, status FROM model_versions WHERE artifact_sha256 = ? ORDER BY version",
            [row["sha256"]],
        )
        found.append(
            {
                **row,
                "installed": installed_sklearn(),
                "runs": [r["id"] for r in runs],
                "model_versions": [f"v{v['version']} ({v['status']})" for v in versions],
                "retrain": [_train_command(r, defaults) for r in runs],
            }
        )
    return found


def _train_command(run: dict[str, Any], defaults: ParamDefaults | None) -> str:
    import json
    import shlex

    params = json.loads(run["params"] or "{}")
    given = defaults(run["family"], run["task"], run["seed"]) if defaults else {}
    params = {name: value for name, value in params.items() if given.get(name, ...) != value}
    words = ["cockpit", "train", "--project", run["project"], "--model", run["family"]]
    for name, value in sorted(params.items()):
        words += ["--param", f"{name}={json.dumps(value) if not isinstance(value, str) else value}"]
    words += ["--seed", str(run["seed"])]
    if run["split_id"]:
        words += ["--split", str(run["split_id"])]
    return shlex.join(words)


def edge_problems(report: Report) -> list[str]:
    """The stale temporary files and the models of another scikit-learn, as problems."""
    found = []
    if report.stale_temporary:
        size = sum(item["size"] for item in report.stale_temporary) / 1e6
        found.append(
            f"{len(report.stale_temporary)} stale temporary file(s) ({size:.1f} MB) left in "
            "artifacts/ by writers that were stopped; `cockpit doctor --fix` removes them"
        )
    for model in report.other_sklearn:
        used = ", ".join([f"run {i}" for i in model["runs"]] + model["model_versions"]) or "no run"
        found.append(
            f"artifact {model['sha256'][:12]} ({model['kind']}, {used}) was written by scikit-learn "
            f"{model['version']}, this is {model['installed']}: retrain it"
            + (f" ({'; '.join(model['retrain'])})" if model["retrain"] else "")
        )
    return found
