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


def test_data_validation_snapshot(tmp_path, frozen_clock, snap_compare) -> None:
    import sample_data
    from cockpit.data import checks, datasets
    from cockpit.projects import create_project
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "churn", "binary", "churned")
    version, _ = datasets.import_dataset(ws, project, sample_data.churn_customers())
    checks.validate(ws, project, version)
    app = CockpitApp(ws, "churn")
    assert snap_compare(
        app, terminal_size=(80, 24), press=["2", "right_square_bracket", "right_square_bracket"]
    )
