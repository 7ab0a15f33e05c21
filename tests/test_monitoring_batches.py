"""Production batches as a person manages them, on palmerpenguins through the real CLI:
bad dates refused, `monitor batches`, `monitor drop BATCH --reason` (audited, windows
recomputed), the same content ingested twice refused unless `--again`, hostile option values
refused with exit 2 and nothing written, and `monitor check`'s exit codes (0 quiet, 1 an
alert fires, 2 bad input, 3 a failure: never 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cockpit.workspace import Workspace
from tests.monitoring_helpers import build, check, counts, penguins, run, window

BIG = "99999999999999999999"  # beyond SQLite's integers


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    data = penguins()
    root = tmp_path_factory.mktemp("batches") / "ws"
    build(root, "multiclass", "species", data.iloc[:250])
    rest = data.iloc[250:].drop(columns=["species"])
    rest.to_csv(root / "may.csv", index=False)
    rest[data.iloc[250:]["species"] == "Gentoo"].to_csv(root / "june.csv", index=False)
    return root, rest


@pytest.fixture
def ws_root(built, tmp_path) -> Path:
    root, _ = built
    shutil.copytree(root, tmp_path / "ws")
    return tmp_path / "ws"


def refusal(result) -> str:
    """The one line that says what is wrong."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("when", ["not-a-date", "2026-13-45", "0001-01-01", "", "2026-05-01x"])
def test_ingest_refuses_a_bad_date_and_writes_nothing(ws_root, when) -> None:
    before = counts(ws_root)
    line = refusal(run(ws_root, "monitor", "ingest", str(ws_root / "may.csv"), "--at", when))
    assert "--at" in line and repr(when) in line
    assert counts(ws_root) == before


def test_a_batch_stored_with_an_unreadable_time_is_named_with_the_way_out(ws_root) -> None:
    """A workspace from before dates were checked holds a batch at 'not-a-date': check
    names it (exit 2, not a traceback with exit 1) and dropping it heals the workspace."""
    from cockpit.data.reading import read_table
    from cockpit.deployment.batch import log_batch
    from cockpit.deployment.routing import Router
    from cockpit.projects import resolve_project

    with Workspace(ws_root / ".cockpit") as ws:
        project = resolve_project(ws, None)
        frame = read_table(ws_root / "may.csv")
        log_batch(ws, project, frame, Router(ws, project).score(frame), "may.csv", "ingest", "not-a-date")
    line = refusal(run(ws_root, "monitor", "check"))
    assert line == (
        "cockpit: batch 1 (may.csv) has the time 'not-a-date', which is not a date: "
        "drop it with cockpit monitor drop 1 --reason TEXT, then ingest it again "
        "with --at"
    )
    assert run(ws_root, "monitor", "drop", "1", "--reason", "ingested without a date").exit_code == 0
    assert run(ws_root, "monitor", "ingest", str(ws_root / "may.csv"), "--at", "2026-05-03").exit_code == 0
    code, checked = check(ws_root)
    assert [w["window"] for w in checked["windows"]] == ["2026-05"] and code in (0, 1)


def test_batches_are_listed_and_a_drop_is_audited_and_recomputed(ws_root) -> None:
    for name, at in (("may", "2026-05-03"), ("june", "2026-06-03T08:30")):
        assert run(ws_root, "monitor", "ingest", str(ws_root / f"{name}.csv"), "--at", at).exit_code == 0
    listed = json.loads(run(ws_root, "monitor", "batches", "--json").stdout)
    assert [(b["id"], b["at"], b["kind"], b["source"], b["rows"]) for b in listed] == [
        (2, "2026-06-03T08:30:00", "ingest", "june.csv", 35),
        (1, "2026-05-03T00:00:00", "ingest", "may.csv", 94),
    ]
    assert listed[1]["routes"] == {"production": 94}
    table = run(ws_root, "monitor", "batches").stdout.splitlines()
    assert table[0].split() == ["ID", "AT", "KIND", "SOURCE", "ROWS", "ROUTES"]
    assert table[1].split()[:5] == ["2", "2026-06-03T08:30:00", "ingest", "june.csv", "35"]
    code, checked = check(ws_root)
    assert code == 1 and "2026-06" in {a["window"] for a in checked["firing"]}

    assert refusal(run(ws_root, "monitor", "drop", "2", "--reason", "  ")) == (
        "cockpit: dropping a batch takes a reason (--reason TEXT)"
    )
    dropped = run(ws_root, "monitor", "drop", "2", "--reason", "a test file, not production")
    assert dropped.exit_code == 0 and dropped.stdout.startswith("batch 2 dropped (35 rows from june.csv)")
    with Workspace(ws_root / ".cockpit") as ws:
        event = ws.store.one("SELECT details FROM events WHERE action = 'batch dropped'")
        assert ws.store.scalar("SELECT count(*) FROM monitor_windows") == 0
        assert ws.store.scalar("SELECT count(*) FROM batches") == 1
    details = json.loads(event["details"])
    assert (details["batch"], details["reason"], details["rows"]) == (2, "a test file, not production", 35)
    _, checked = check(ws_root)
    assert [w["window"] for w in checked["windows"]] == ["2026-05"]
    assert "2026-06" not in {a["window"] for a in checked["firing"]}
    before = counts(ws_root)
    assert refusal(run(ws_root, "monitor", "drop", "2", "--reason", "again")).startswith(
        "cockpit: no batch 2 in project 'p'"
    )
    assert counts(ws_root) == before


def test_the_same_content_twice_is_refused_unless_again(ws_root) -> None:
    may = ws_root / "may.csv"
    assert run(ws_root, "monitor", "ingest", str(may), "--at", "2026-05-03").stdout.strip() == "1"
    shutil.copy(may, ws_root / "may_copy.csv")
    before = counts(ws_root)
    for path in (may, ws_root / "may_copy.csv"):
        line = refusal(run(ws_root, "monitor", "ingest", str(path), "--at", "2026-05-04"))
        assert "the same content was ingested already as batch 1 (may.csv" in line
        assert "--again" in line
    assert counts(ws_root) == before
    again = run(ws_root, "monitor", "ingest", str(may), "--at", "2026-05-04", "--again")
    assert again.exit_code == 0 and again.stdout.strip() == "2"
    for batch_id in ("2", "1"):
        assert run(ws_root, "monitor", "drop", batch_id, "--reason", "re-sent").exit_code == 0
    # a dropped batch's id is never given again (m028); may.csv, once its batches are gone,
    # is no repeat, and june.csv none either
    assert run(ws_root, "monitor", "ingest", str(ws_root / "june.csv")).stdout.strip() == "3"
    assert run(ws_root, "monitor", "ingest", str(may)).stdout.strip() == "4"
    assert "as batch 4 (may.csv" in refusal(run(ws_root, "monitor", "ingest", str(may)))


HOSTILE = [
    ("monitor", "check", "--now", "garbage"),
    ("monitor", "check", "--now", "2026-02-30"),
    ("monitor", "rules", "--add", "max_psi > nan"),
    ("monitor", "rules", "--add", "max_psi > inf"),
    ("monitor", "rules", "--add", "max_psi < -inf"),
    ("monitor", "rules", "--add", "max_psi > 1e999"),
    ("monitor", "rules", "--add", "max_psi > 0.3x"),
    ("monitor", "rules", "--add", "no_such_metric > 1"),
    ("monitor", "rules", "--add", "max_psi => 1"),
    ("monitor", "rules", "--add", "max_psi >"),
    ("monitor", "rules", "--windows", "-5"),
    ("monitor", "rules", "--windows", "0"),
    ("monitor", "rules", "--windows", BIG),
    ("monitor", "rules", "--add", "max_psi > 0.3", "--windows", "367"),
    ("monitor", "rules", "--add", "max_psi > 0.3", "--severity", "loud"),
    ("monitor", "rules", "--add", "max_psi > 0.3", "--action", " "),
    ("monitor", "ack", "0", "--comment", "x"),
    ("monitor", "ack", BIG, "--comment", "x"),
    ("monitor", "ack", "7", "--comment", "x"),
    ("monitor", "drop", "-1", "--reason", "x"),
    ("monitor", "drop", BIG, "--reason", "x"),
    ("monitor", "drop", "1"),
    ("monitor", "batches", "--limit", "0"),
    ("monitor", "batches", "--limit", BIG),
    ("monitor", "ingest", "may.csv", "--at", "9999-99-99"),
    ("monitor", "ingest", "no_such_file.csv"),
    ("monitor", "labels", "no_such_file.csv"),
    ("monitor", "window", "year"),
]


@pytest.mark.parametrize("args", HOSTILE, ids=[" ".join(a[1:]) for a in HOSTILE])
def test_hostile_values_exit_2_with_one_line_and_write_nothing(ws_root, args) -> None:
    args = tuple(str(ws_root / a) if a.endswith(".csv") else a for a in args)
    before = counts(ws_root)
    refusal(run(ws_root, *args))
    assert counts(ws_root) == before


def test_check_exit_codes(ws_root) -> None:
    quiet = run(ws_root, "monitor", "check")
    assert quiet.exit_code == 0 and quiet.stdout.startswith("no production batches yet")
    assert run(ws_root, "monitor", "ingest", str(ws_root / "june.csv"), "--at", "2026-06-03").exit_code == 0
    code, checked = check(ws_root)
    assert code == 1 and window(checked, "2026-06")["prediction_psi"] > 1
    assert refusal(run(ws_root, "monitor", "check", "--now", "soon")).startswith("cockpit: ")
    with Workspace(ws_root / ".cockpit") as ws, ws.store.transaction():  # a damaged store
        ws.store.conn.execute("UPDATE monitor_references SET stats = '{\"features\": {'")
    failed = run(ws_root, "monitor", "check")
    assert failed.exit_code == 3
    assert failed.stderr.splitlines()[-1].startswith("cockpit: monitor check failed (JSONDecodeError: ")


def test_labels_with_a_time_that_is_not_a_date_are_refused_whole(ws_root) -> None:
    data = penguins().iloc[250:]
    labels = data.assign(labelled_at=["2026-05-20"] * 90 + ["", "2026-05-21T10:00+02:00", "soon", None])
    labels.to_csv(ws_root / "labels.csv", index=False)
    before = counts(ws_root)
    line = refusal(run(ws_root, "monitor", "labels", str(ws_root / "labels.csv")))
    assert line.endswith(
        "labels.csv: labelled_at 'soon' is not a date (use ISO 8601: 2026-05-01 or 2026-05-01T12:00)"
    )
    assert counts(ws_root) == before
    labels.iloc[:92].to_csv(ws_root / "labels.csv", index=False)
    assert run(ws_root, "monitor", "labels", str(ws_root / "labels.csv")).stdout.strip() == (
        "92 labels recorded"
    )
    with Workspace(ws_root / ".cockpit") as ws:
        times = [r["labelled_at"] for r in ws.store.rows("SELECT labelled_at FROM labels")]
    assert times.count("2026-05-20T00:00:00") == 90 and "2026-05-21T08:00:00" in times
