"""Issue 17, the workspace half: owner-only files, the one-line warning, `cockpit doctor`,
sharing with a group on purpose, and no secrets or home paths in the store."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit import doctor, problem
from cockpit.audit import recent_events
from cockpit.cli import serving as serving_cli
from cockpit.data import checks, datasets, recipes
from cockpit.data.splits import make_split
from cockpit.deployment import registry, rules
from cockpit.deployment.batch import predict_file
from cockpit.deployment.bundle import write_bundle
from cockpit.deployment.serving_token import digest, token_hash
from cockpit.evaluation.gate import gate
from cockpit.monitoring.labels import ingest_labels
from cockpit.projects import create_project
from cockpit.training import runs, spaces, sweeps
from cockpit.workspace import Workspace, secret_redactions
from storage import migrations
from tests.training_here import trained_here

SECRET = "tok-5e3c9a71f0d24b8e"
ME = pwd.getpwuid(os.getuid()).pw_name  # the OS account, whatever $USER says


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(dot_dir: Path) -> dict[str, int]:
    """Every folder and file under `.cockpit/` with its permission bits (setgid included)."""
    found = {".": stat.S_IMODE(dot_dir.stat().st_mode)}
    for path in dot_dir.rglob("*"):
        found[str(path.relative_to(dot_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def assert_modes(dot_dir: Path, folders: int = 0o700, files: int = 0o600) -> dict[str, int]:
    found = modes(dot_dir)
    wrong = {
        name: f"{mode:04o}"
        for name, mode in found.items()
        if mode != (folders if (dot_dir / name).is_dir() else files)
    }
    assert not wrong, wrong
    return found


def frame(n: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n).round(3)
    city = rng.choice(["Boston", "Denver", "boston"], n)
    label = ((x + (city == "Denver") + rng.normal(0, 0.5, n)) > 0.5).astype(int)
    data = pd.DataFrame({"member_id": [f"M{i}" for i in range(n)], "x": x, "city": city, "renewed": label})
    return pd.concat([data, data.iloc[:4]], ignore_index=True)  # duplicates to clean


def fill(ws: Workspace, folder: Path, trials: int = 0):
    """Data, a cleaned version, a split, a run in a child process (and a sweep)."""
    project = create_project(ws, "members", "binary", "renewed")
    csv = folder / "members.csv"
    frame().to_csv(csv, index=False)
    version, _ = datasets.import_dataset(ws, project, csv)
    report = checks.validate(ws, project, version)
    recipes.clean_version(ws, project, recipes.suggest_recipe(report.findings))
    make_split(ws, project, "stratified", seed=1)
    run = trained_here(ws, project, "logistic_regression", [])
    assert run.status == "finished", run.error
    if trials:
        sweeps.run_sweep(
            ws,
            project,
            "logistic_regression",
            spaces.random_trials("logistic_regression", trials, seed=7),
            "random",
            n_jobs=1,
        )
    return project, run


# -- 1. file modes ----------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o000])
def test_init_makes_everything_owner_only_whatever_the_umask(run_cli, tmp_path, mask) -> None:
    with umask(mask):
        assert run_cli("init", str(tmp_path / "p")).exit_code == 0
        dot_dir = tmp_path / "p" / ".cockpit"
        with Workspace(dot_dir) as ws, ws.reopen() as other:
            other.set_setting("x", "1")  # a write: the -wal and -shm files exist now
            found = assert_modes(dot_dir)
            assert {
                "cockpit.db",
                "cockpit.db-wal",
                "cockpit.db-shm",
                "artifacts",
                "logs",
                "logs/ui.log",
            } <= set(found)


def test_rollback_journal_is_owner_only_too(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_JOURNAL", "delete")
    with umask(0o022):
        ws, _ = Workspace.init(tmp_path)
        with ws, ws.store.transaction():
            ws.set_setting("x", "1")
            journal = ws.dir / "cockpit.db-journal"
            assert journal.exists() and stat.S_IMODE(journal.stat().st_mode) == 0o600
        assert ws.store.journal_mode == "delete"


def test_files_written_later_are_owner_only(tmp_path) -> None:
    with umask(0o022):
        ws, _ = Workspace.init(tmp_path / "p")
        with ws:
            fill(ws, tmp_path)
            with ws.reopen() as other:
                other.set_setting("x", "1")
                found = assert_modes(ws.dir)
    assert sum(name.endswith(".parquet") for name in found) >= 2
    assert any(name.endswith(".joblib") for name in found)


# -- 2. the warning ---------------------------------------------------------------


def open_up(dot_dir: Path) -> None:
    os.chmod(dot_dir, 0o755)
    os.chmod(dot_dir / "cockpit.db", 0o644)


def test_a_readable_workspace_warns_once_on_stderr(run_cli, tmp_path) -> None:
    folder = tmp_path / "p"
    run_cli("init", str(folder))
    open_up(folder / ".cockpit")
    first = run_cli("projects", workspace=folder)
    second = run_cli("projects", "--json", workspace=folder)
    assert first.exit_code == second.exit_code == 0
    lines = first.stderr.splitlines()
    assert len(lines) == 1 and str(folder / ".cockpit") in lines[0]
    assert "cockpit doctor --fix" in lines[0] and lines[0].startswith("cockpit: warning:")
    assert second.stderr == "" and json.loads(second.stdout) == []  # once per process


def test_the_warning_is_data_for_the_ui(tmp_path, capsys) -> None:
    ws, _ = Workspace.init(tmp_path)
    assert ws.permission_warning is None
    ws.close()
    open_up(tmp_path / ".cockpit")
    with Workspace(tmp_path / ".cockpit") as opened:
        assert "cockpit doctor --fix" in opened.permission_warning
        assert "all other users" in opened.permission_warning
    assert capsys.readouterr().err == ""  # the constructor never prints: Textual owns stderr


def test_no_warning_while_the_folder_keeps_others_out(tmp_path) -> None:
    ws, _ = Workspace.init(tmp_path)
    ws.close()
    os.chmod(tmp_path / ".cockpit" / "cockpit.db", 0o644)
    with Workspace(tmp_path / ".cockpit") as opened:
        assert opened.permission_warning is None
        report = doctor.diagnose(opened, opened.dir)
    assert not report.healthy and report.who_can_read() == ME


# -- 3. doctor --------------------------------------------------------------------


def test_doctor_reports_and_fixes(run_cli, tmp_path) -> None:
    folder = tmp_path / "p"
    run_cli("init", str(folder))
    with Workspace(folder / ".cockpit") as ws:
        ws.artifacts.put({"a": 1}, kind="test")
    healthy = run_cli("doctor", "--json", workspace=folder)
    assert healthy.exit_code == 0, healthy.output
    report = json.loads(healthy.stdout)
    assert report["healthy"] and report["problems"] == []
    assert report["permissions"]["sharing"] == "owner only"
    assert report["journal"]["mode"] == "WAL" and "local file system" in report["journal"]["reason"]
    assert report["schema"]["version"] == len(migrations.KNOWN_NAMES)
    assert report["schema"]["integrity"] == "ok" and report["schema"]["pending"] == []
    assert report["artifacts"]["recorded"] == report["artifacts"]["verified"] == 1

    open_up(folder / ".cockpit")
    sick = run_cli("doctor", workspace=folder)
    assert sick.exit_code == 1
    assert "cockpit.db: file can be read by" in sick.stdout and "doctor --fix" in sick.stdout
    assert "every other user" in sick.stdout

    fixed = run_cli("doctor", "--fix", "--json", workspace=folder)
    assert fixed.exit_code == 0, fixed.output
    assert ".cockpit/cockpit.db: 0644 -> 0600" in json.loads(fixed.stdout)["fixed"]
    assert_modes(folder / ".cockpit")


def test_doctor_finds_changed_and_missing_artifacts(run_cli, workspace) -> None:
    one = workspace.artifacts.put([1], kind="test")
    two = workspace.artifacts.put([2], kind="test")
    path = workspace.artifacts.path_for(one.sha256)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # same size, other content
    path.write_bytes(bytes(data))
    workspace.artifacts.path_for(two.sha256).unlink()
    result = run_cli("doctor", "--json", workspace=workspace.root)
    assert result.exit_code == 1
    artifacts = json.loads(result.stdout)["artifacts"]
    assert artifacts["changed"] == [path.name] and artifacts["missing"] == [two.sha256]
    text = run_cli("doctor", workspace=workspace.root).stdout
    assert "was changed after cockpit wrote it" in text and "file is missing" in text


def test_doctor_explains_the_rollback_journal(run_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COCKPIT_JOURNAL", "delete")
    run_cli("init", str(tmp_path))
    journal = json.loads(run_cli("doctor", "--json", workspace=tmp_path).stdout)["journal"]
    assert journal == {"mode": "rollback journal (delete)", "reason": "forced by COCKPIT_JOURNAL=delete"}


def test_doctor_still_checks_modes_when_the_store_is_unusable(run_cli, tmp_path) -> None:
    run_cli("init", str(tmp_path))
    (tmp_path / ".cockpit" / "cockpit.db").write_bytes(b"not a database" * 100)
    os.chmod(tmp_path / ".cockpit", 0o755)
    result = run_cli("doctor", "--fix", "--json", workspace=tmp_path)
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["fixed"] == [".cockpit: 0755 -> 0700"]
    assert report["problems"] and "not a usable cockpit store" in report["problems"][0]


def test_doctor_outside_a_workspace_is_bad_usage(run_cli, tmp_path) -> None:
    result = run_cli("doctor", workspace=tmp_path)
    assert result.exit_code == 2 and "cockpit init" in result.stderr


# -- 4. sharing with a group, on purpose --------------------------------------------


def my_group() -> str:
    return grp.getgrgid(os.getegid()).gr_name


def test_sharing_with_a_group_is_an_explicit_recorded_choice(run_cli, tmp_path) -> None:
    folder = tmp_path / "p"
    run_cli("init", str(folder))
    shared = run_cli("doctor", "--share-with-group", my_group(), "--json", workspace=folder)
    assert shared.exit_code == 0, shared.output
    report = json.loads(shared.stdout)
    assert report["permissions"]["sharing"] == f"group {my_group()}"
    dot_dir = folder / ".cockpit"
    assert_modes(dot_dir, folders=0o2770, files=0o660)
    with Workspace(dot_dir) as ws:
        assert ws.shared_group == my_group() and ws.permission_warning is None
        ref = ws.artifacts.put({"shared": True}, kind="test")  # new files follow the choice
        assert stat.S_IMODE(ws.artifacts.path_for(ref.sha256).stat().st_mode) == 0o660
        event = recent_events(ws.store, text="share")[0]
        assert (event.action, event.user, event.details) == ("share", "tester", {"group": my_group()})
    os.chmod(dot_dir, 0o2775)  # readable by others: still a problem, still a warning
    os.chmod(dot_dir / "cockpit.db", 0o664)
    with Workspace(dot_dir) as ws:
        assert "all other users" in ws.permission_warning
        assert ws.permission_warning.split(";")[0].endswith("can be read by all other users")
    back = run_cli("doctor", "--owner-only", workspace=folder)
    assert back.exit_code == 0, back.output
    assert_modes(dot_dir)
    with Workspace(dot_dir) as ws:
        assert ws.shared_group is None
        assert [e.action for e in recent_events(ws.store)][:2] == ["unshare", "share"]


def test_init_can_share_from_the_start(run_cli, tmp_path) -> None:
    with umask(0o077):
        made = run_cli("init", str(tmp_path), "--share-with-group", my_group())
        assert made.exit_code == 0 and "shared with group" in made.stdout
        with Workspace(tmp_path / ".cockpit") as ws, ws.reopen() as other:
            other.set_setting("x", "1")
            assert_modes(ws.dir, folders=0o2770, files=0o660)
            assert ws.permission_warning is None
    assert run_cli("doctor", workspace=tmp_path).exit_code == 0


def test_unknown_group_is_refused_before_anything_is_made(run_cli, tmp_path) -> None:
    result = run_cli("init", str(tmp_path / "p"), "--share-with-group", "no-such-group-x7")
    assert result.exit_code == 2 and "no group named" in result.stderr
    assert not (tmp_path / "p" / ".cockpit").exists()


def test_the_audit_log_records_each_user(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("COCKPIT_USER")
    ws, _ = Workspace.init(tmp_path, share_with_group=my_group())
    with ws:
        create_project(ws, "a", "binary", "y")
        monkeypatch.setenv("COCKPIT_USER", "teammate")
        create_project(ws, "b", "binary", "y")
        users = [(e.action, e.user, e.os_user, e.who) for e in reversed(recent_events(ws.store))]
    assert users == [
        ("init", ME, ME, ME),
        ("share", ME, ME, ME),
        ("create", ME, ME, ME),
        ("create", "teammate", ME, f"{ME} (as teammate)"),
    ]


def test_the_os_account_is_recorded_whatever_the_environment_claims(run_cli, tmp_path, monkeypatch) -> None:
    run_cli("init", str(tmp_path))
    for name in ("USER", "LOGNAME", "USERNAME"):  # what getpass.getuser() would believe
        monkeypatch.setenv(name, "mallory")
    monkeypatch.setenv("COCKPIT_USER", "bob")
    assert (
        run_cli("project", "new", "p", "--task", "binary", "--target", "y", workspace=tmp_path).exit_code == 0
    )
    monkeypatch.delenv("COCKPIT_USER")
    assert (
        run_cli("project", "new", "q", "--task", "binary", "--target", "y", workspace=tmp_path).exit_code == 0
    )

    events = json.loads(run_cli("log", "--json", workspace=tmp_path).stdout)
    assert [(e["action"], e["user"], e["os_user"], e["who"]) for e in events[:2]] == [
        ("create", ME, ME, ME),
        ("create", "bob", ME, f"{ME} (as bob)"),
    ]
    table = run_cli("log", workspace=tmp_path).stdout.splitlines()
    assert f"{ME} (as bob)" in table[2] and "(as" not in table[1]
    assert "mallory" not in run_cli("log", workspace=tmp_path).stdout
    # --grep finds events by the OS account too, not only by the claimed name
    found = json.loads(run_cli("log", "--json", "--grep", ME, workspace=tmp_path).stdout)
    assert len(found) == len(events) and "bob" in {e["user"] for e in found}


def test_events_from_before_the_os_account_was_kept_show_the_name_alone(workspace) -> None:
    workspace.record("data", "import")
    workspace.store.conn.execute("UPDATE events SET os_user = NULL")
    event = recent_events(workspace.store)[0]
    assert (event.user, event.os_user, event.who) == ("tester", None, "tester")


# -- 5. no secrets in the store ----------------------------------------------------


@pytest.fixture(scope="module")
def lived_in(tmp_path_factory):
    """A workspace inside $HOME, used like the demo, with a secret in the environment."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("COCKPIT_USER", "tester")
        patch.setenv("MY_API_TOKEN", SECRET)
        patch.setenv("AWS_SECRET_ACCESS_KEY", SECRET[::-1])
        env = dict(os.environ)
        ws, _ = Workspace.init(home / "project")
        with ws:
            project, run = fill(ws, home, trials=2)
            gate(ws, project, run)  # evaluates on the test split and records the verdict
            spec = problem.load_spec_file(
                Path(__file__).resolve().parents[1] / "sample_data" / "specs" / "churn.toml"
            )
            spec.target = project.target  # a spec names the project's own target (issue 22)
            problem.save_spec(ws, project, spec)
            registry.register(ws, project, run.id, override_reason="security test")
            runs.create_run(
                ws,
                project,
                runs.plan_run(ws, project, "logistic_regression", {}),
                status="failed",
                error=f"cannot read {home}/project/notes.txt",
            )
            ws.record("data", "import", project.id, {"error": f"{home}/secret.csv is missing"})
            direct_writes(ws, project, home)
            with umask(0o022):
                exports(ws, project, home)
    return home, env


@pytest.fixture
def lived_in_copy(lived_in, tmp_path):
    """A private copy of the lived-in project, for a test that writes to it."""
    home, env = lived_in
    shutil.copytree(home / "project", tmp_path / "home" / "project", symlinks=True)
    return tmp_path / "home", env


def direct_writes(ws: Workspace, project, home: Path) -> None:
    """The writes that go to the connection itself rather than Store.insert, each given a
    home path and the value of a secret-named environment variable."""
    registry.deploy(ws, project, 1, "blue-green", reason="security test", override="security test")
    rules.set_fallback(ws, project, f"constant {home}/fallback-{SECRET}")
    checks.set_column_range(ws, project, f"notes {SECRET[::-1]}", 0.0, 1.0)
    labels = home / "labels.csv"
    pd.DataFrame({"member_id": [f"{home}/M0", f"M1 {SECRET}"], "renewed": [1, 0]}).to_csv(labels, index=False)
    ingest_labels(ws, project, labels)
    ws.set_setting("export.folder", f"{home}/exports")


def exports(ws: Workspace, project, home: Path) -> None:
    """Bundles and scored files, owner-only and then for the group (under umask 022)."""
    write_bundle(ws, project, 1, home / "bundle")
    predict_file(ws, project, home / "members.csv", home / "scored.csv")
    predict_file(ws, project, home / "members.csv", home / "scored.parquet")
    (home / "old.csv").write_text("a file the user had\n")
    os.chmod(home / "old.csv", 0o644)
    predict_file(ws, project, home / "members.csv", home / "old.csv")
    ws.set_sharing(my_group())
    try:
        write_bundle(ws, project, 1, home / "shared" / "bundle")
        predict_file(ws, project, home / "members.csv", home / "shared.csv")
    finally:
        ws.set_sharing(None)


def text_cells(db: Path):
    conn = sqlite3.connect(db)
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}"'):
                    if isinstance(value, str):
                        yield table, column, value
    finally:
        conn.close()


def needles(home: Path, env: dict[str, str]) -> dict[str, str]:
    found = {
        "home": str(home),
        "real home": os.path.realpath(home),
        "tmp": str(home.parent),
        "token": SECRET,
        "reversed token": SECRET[::-1],
    }
    return found | {
        f"${name}": value for name, value in env.items() if len(value) >= 8 and name != "COCKPIT_USER"
    }


def test_no_home_paths_env_values_or_tokens_in_any_text_column(lived_in) -> None:
    home, env = lived_in
    found = [
        (table, column, label, value[:120])
        for table, column, value in text_cells(home / "project" / ".cockpit" / "cockpit.db")
        for label, needle in needles(home, env).items()
        if needle in value
    ]
    assert found == []


def test_no_home_paths_env_values_or_tokens_in_an_exported_bundle(lived_in) -> None:
    home, env = lived_in
    files = sorted((home / "bundle").iterdir())
    assert {"MODEL_CARD.md", "config.json", "manifest.json"} <= {f.name for f in files}
    found = [
        (path.name, label)
        for path in files
        for label, needle in needles(home, env).items()
        if needle.encode() in path.read_bytes()
    ]
    assert found == []


def test_paths_in_errors_are_recorded_relative_to_home(lived_in) -> None:
    home, _ = lived_in
    cells = [value for _, _, value in text_cells(home / "project" / ".cockpit" / "cockpit.db")]
    assert any("cannot read ./notes.txt" in value for value in cells)
    assert any("~/secret.csv is missing" in value for value in cells)
    runs_env = [
        json.loads(value)
        for table, column, value in text_cells(home / "project" / ".cockpit" / "cockpit.db")
        if (table, column) == ("runs", "library_versions")
    ]
    assert runs_env and all(
        set(v) <= {"python", "scikit-learn", "pandas", "numpy", "scipy", "joblib", "pyarrow"}
        for v in runs_env
    )


def test_direct_writes_to_the_connection_are_redacted_too(lived_in) -> None:
    home, _ = lived_in
    db = sqlite3.connect(home / "project" / ".cockpit" / "cockpit.db")
    try:
        fallback = json.loads(db.execute("SELECT rule FROM fallbacks").fetchone()[0])
        columns = {r[0] for r in db.execute("SELECT column FROM column_ranges")}
        entities = {r[0] for r in db.execute("SELECT entity FROM labels")}
        folder = db.execute("SELECT value FROM settings WHERE key = 'export.folder'").fetchone()
    finally:
        db.close()
    assert fallback["value"] == "~/fallback-$MY_API_TOKEN"
    assert columns == {"notes $AWS_SECRET_ACCESS_KEY"}
    assert entities == {"~/M0", "M1 $MY_API_TOKEN"}
    assert folder == ("~/exports",)


def test_only_variables_named_like_secrets_are_redacted() -> None:
    environ = {
        "GITHUB_TOKEN": "ghp_0123456789",
        "PGPASSWORD": "hunter2hunter2",
        "OPENAI_API_KEY": "sk-0123456789",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "MY_TOKEN": "short",
        "TOKENIZERS_PARALLELISM": "not-a-secret",
        "GIT_AUTHOR_NAME": "Jane Q. Public",
        "LANG": "en_US.UTF-8",
    }
    assert {placeholder for _, placeholder in secret_redactions(environ)} == {
        "$GITHUB_TOKEN",
        "$PGPASSWORD",
        "$OPENAI_API_KEY",
        "$AWS_SECRET_ACCESS_KEY",
    }


# -- 6. files written outside the workspace -----------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


BUNDLE_FILES = {
    "model.pkl",
    "schema.json",
    "config.json",
    "requirements.txt",
    "Dockerfile",
    "MODEL_CARD.md",
    "manifest.json",
}


def test_bundles_and_scored_files_are_owner_only_whatever_the_umask(lived_in) -> None:
    home, _ = lived_in
    bundle = home / "bundle"
    assert mode_of(bundle) == 0o700
    assert {f.name: mode_of(f) for f in bundle.iterdir()} == dict.fromkeys(BUNDLE_FILES, 0o600)
    for name in ("scored.csv", "scored.parquet", "old.csv"):  # old.csv was 0644 before
        assert mode_of(home / name) == 0o600, name
    assert (home / "old.csv").read_text().startswith("member_id,")


def test_a_workspace_shared_with_a_group_exports_for_that_group(lived_in) -> None:
    home, _ = lived_in
    gid = grp.getgrnam(my_group()).gr_gid
    bundle = home / "shared" / "bundle"
    assert mode_of(bundle) == 0o770 and bundle.stat().st_gid == gid
    assert {f.name: (mode_of(f), f.stat().st_gid) for f in bundle.iterdir()} == dict.fromkeys(
        BUNDLE_FILES, (0o660, gid)
    )
    assert mode_of(home / "shared.csv") == 0o660


# -- 7. the service token is shown only when asked for, at a terminal --------------------


class _NoServer:
    """Stands in for uvicorn: `cockpit serve` starts, prints its banner and stops at once."""

    def __init__(self, config) -> None:
        pass

    def run(self, sockets) -> None:
        pass


def store_text(home: Path) -> str:
    return "\n".join(value for _, _, value in text_cells(home / "project" / ".cockpit" / "cockpit.db"))


def test_serve_never_prints_a_token_into_a_pipe(lived_in_copy, run_cli, monkeypatch) -> None:
    home, _ = lived_in_copy
    folder = home / "project"
    monkeypatch.setattr(serving_cli, "_server", _NoServer)
    serve = ("serve", "--port", "0", "--require-token")
    with Workspace(folder / ".cockpit") as ws:
        ws.store.conn.execute("DELETE FROM settings WHERE key LIKE 'serve.token%'")
        ws.store.conn.commit()

    refused = run_cli(*serve, workspace=folder)  # CliRunner's stdout is not a terminal
    assert refused.exit_code == 2 and "serve token --rotate --to-file" in refused.stderr
    assert "ckp_" not in refused.output
    with Workspace(folder / ".cockpit") as ws:
        assert token_hash(ws) is None  # none made, so none lost

    monkeypatch.setattr(serving_cli, "_stdout_is_terminal", lambda: True)
    at_terminal = run_cli(*serve, workspace=folder)
    assert at_terminal.exit_code == 0, at_terminal.output
    shown = at_terminal.stdout.split("API token (shown once, keep it secret): ")[1].split()[0]
    with Workspace(folder / ".cockpit") as ws:
        assert token_hash(ws) == digest(shown)

    monkeypatch.setattr(serving_cli, "_stdout_is_terminal", lambda: False)
    piped = run_cli(*serve, workspace=folder)
    assert piped.exit_code == 0, piped.output
    assert "serving project 'members'" in piped.stdout and "stopped:" in piped.stdout
    assert "ckp_" not in piped.output and shown[4:20] not in piped.output
    status = json.loads(run_cli("serve", "token", "--json", workspace=folder).stdout)
    assert status["set"] and "token" not in status
    assert shown[4:20] not in store_text(home)


def test_a_rotated_token_can_go_to_a_private_file_only(workspace, run_cli, tmp_path) -> None:
    root = workspace.root
    target = tmp_path / "token"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    with umask(0o022):
        made = run_cli("serve", "token", "--rotate", "--to-file", str(target), workspace=root)
    assert made.exit_code == 0, made.output
    token = target.read_text().strip()
    assert token.startswith("ckp_") and mode_of(target) == 0o600
    assert token[4:20] not in made.output and str(target) in made.stdout
    assert token_hash(workspace) == digest(token)

    # a symlink is replaced, never followed: the token does not land where it points
    aimed = tmp_path / "elsewhere"
    link = tmp_path / "link"
    link.symlink_to(aimed)
    as_json = run_cli("serve", "token", "--rotate", "--to-file", str(link), "--json", workspace=root)
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert "token" not in report and report["file"] == str(link) and report["set"]
    assert not aimed.exists() and not link.is_symlink() and mode_of(link) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "proj", "token"]  # no scratch

    bad = run_cli("serve", "token", "--to-file", str(target), workspace=root)
    assert bad.exit_code == 2 and "--rotate" in bad.output
    events = [e.action for e in recent_events(workspace.store, text="token")]
    assert events[:2] == ["serve token rotated", "serve token created"]
    for _, _, value in text_cells(workspace.dir / "cockpit.db"):
        assert token not in value and token[4:20] not in value
