"""Snapshots of the key screens at 80x24 (update with --snapshot-update after a deliberate change)."""

from screens.app import CockpitApp


def test_overview_snapshot(two_projects, snap_compare) -> None:
    assert snap_compare(CockpitApp(two_projects, "churn"), terminal_size=(80, 24))


def test_help_snapshot(two_projects, snap_compare) -> None:
    assert snap_compare(CockpitApp(two_projects, "churn"), terminal_size=(80, 24), press=["question_mark"])


def test_problem_grade_snapshot(two_projects, snap_compare) -> None:
    from cockpit import problem
    from cockpit.projects import get_project

    spec = problem.ProblemSpec(statement="Use AI to reduce churn", metric="recall", metric_target=0.8)
    problem.save_spec(two_projects, get_project(two_projects, "churn"), spec)
    app = CockpitApp(two_projects, "churn")
    assert snap_compare(app, terminal_size=(80, 24), press=["1", "g"])
