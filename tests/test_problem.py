import json
from pathlib import Path

import pytest

from cockpit import problem
from cockpit.errors import CockpitError
from cockpit.projects import create_project

GOOD_TOML = """
statement = "Predict whether a customer will cancel within 30 days, so we can make an offer"
metric = "recall"
metric_target = 0.8
usage = "batch"
segments = ["plan"]
"""


@pytest.fixture
def churn(workspace):
    return create_project(workspace, "churn", "binary", "churned")


def test_versions_history_and_current(workspace, churn, tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(GOOD_TOML)
    first = problem.save_spec(workspace, churn, problem.load_spec_file(path))
    assert first.version == 1 and first.spec.target == "churned" and first.spec.task == "binary"
    assert problem.save_spec(workspace, churn, problem.load_spec_file(path)) is None  # unchanged

    changed = problem.ProblemSpec(**{**first.spec.as_dict(), "metric_target": 0.85})
    second = problem.save_spec(workspace, churn, changed, comment="raise the bar")
    assert second.version == 2 and second.comment == "raise the bar"
    assert problem.diff(first.spec, second.spec) == {"metric_target": (0.8, 0.85)}
    assert [v.version for v in problem.history(workspace, churn)] == [1, 2]
    assert problem.current_spec(workspace, churn).metric_goal() == "recall >= 0.85"
    events = workspace.store.rows("SELECT action, details FROM events WHERE stage = 'problem'")
    assert [json.loads(e["details"])["version"] for e in events] == [1, 2]


def test_current_spec_without_a_version_has_the_project_facts(workspace, churn) -> None:
    spec = problem.current_spec(workspace, churn)
    assert (spec.task, spec.target, spec.metric) == ("binary", "churned", "")


def test_other_task_needs_its_own_project(workspace, churn) -> None:
    with pytest.raises(CockpitError, match="needs its own project"):
        problem.save_spec(workspace, churn, problem.ProblemSpec(task="regression"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('metrc = "recall"', r"unknown field 'metrc' \(did you mean 'metric'\?\)"),
        ('metric_target = "high"', "field 'metric_target' must be a number"),
        ("segments = 3", "field 'segments' must be a list"),
        ('usage = "sometimes"', "field 'usage' must be one of batch, online"),
        ('metric = "rmse"\ntask = "binary"', "'rmse' does not fit a binary problem"),
        ('metric = "recall"\nmetric_target = 80', "fraction between 0 and 1"),
        ("statement = 5", "field 'statement' must be text"),
        ("this is = not toml", "not valid TOML"),
    ],
)
def test_bad_spec_files_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    with pytest.raises(CockpitError, match=message) as raised:
        problem.load_spec_file(path)
    assert str(path) in str(raised.value)


def test_json_specs_and_other_suffixes(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"metric": "f1", "segments": "plan, city"}))
    assert problem.load_spec_file(path).segments == ["plan", "city"]
    other = tmp_path / "spec.yaml"
    other.write_text("metric: f1")
    with pytest.raises(CockpitError, match=".toml or .json"):
        problem.load_spec_file(other)


def test_cli_set_show_history_diff(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "w"
    run_cli("init", str(folder))
    run_cli("project", "new", "churn", "--task", "binary", "--target", "churned", workspace=folder)
    spec = tmp_path / "spec.toml"
    spec.write_text(GOOD_TOML)

    assert run_cli("problem", "set", "--file", str(spec), workspace=folder).output.strip() == "1"
    second = json.loads(
        run_cli("problem", "set", "--set", "metric_target=0.9", "--json", workspace=folder).output
    )
    assert second["id"] == 2 and second["spec"]["metric_target"] == 0.9
    shown = json.loads(run_cli("problem", "show", "--json", workspace=folder).output)
    assert shown["version"] == 2 and shown["grade"]["score"] == second["score"]
    assert "metric_target" in run_cli("problem", "history", workspace=folder).output
    changes = json.loads(run_cli("problem", "diff", "1", "2", "--json", workspace=folder).output)
    assert changes == {"metric_target": {"old": 0.8, "new": 0.9}}

    bad = tmp_path / "bad.toml"
    bad.write_text('metric_target = "high"')
    result = run_cli("problem", "set", "--file", str(bad), workspace=folder)
    assert result.exit_code == 2 and "metric_target" in result.stderr
    unknown = run_cli("problem", "set", "--set", "colour=blue", workspace=folder)
    assert unknown.exit_code == 2 and "unknown field 'colour'" in unknown.stderr
    assert len(json.loads(run_cli("problem", "history", "--json", workspace=folder).output)) == 2


def test_overview_status_follows_the_spec(workspace, churn) -> None:
    from cockpit.lifecycle import Status
    from cockpit.stage_status import stage_states

    state = stage_states(workspace, churn.id)[0]
    assert state.status is Status.NOT_STARTED
    assert state.next_action.commands == ("cockpit problem set --file spec.toml",)
    problem.save_spec(workspace, churn, problem.ProblemSpec(statement="Use AI to reduce churn"))
    state = stage_states(workspace, churn.id)[0]
    assert state.status is Status.ATTENTION and "% ready" in state.detail


def test_demo_specs_are_launch_quality(tmp_path: Path) -> None:
    import sample_data
    from cockpit.problem.grader import grade

    for path in sorted((sample_data.SAMPLE_DIR / "specs").glob("*.toml")):
        assert grade(problem.load_spec_file(path)).score >= 90, path.name
