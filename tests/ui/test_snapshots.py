"""Snapshots of the key screens at 80x24 (update with --snapshot-update after a deliberate change)."""

from screens.app import CockpitApp


def test_overview_snapshot(two_projects, snap_compare) -> None:
    assert snap_compare(CockpitApp(two_projects, "churn"), terminal_size=(80, 24))


def test_help_snapshot(two_projects, snap_compare) -> None:
    assert snap_compare(CockpitApp(two_projects, "churn"), terminal_size=(80, 24), press=["question_mark"])
