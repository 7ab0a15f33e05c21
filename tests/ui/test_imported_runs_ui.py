"""Runs imported from MLflow in the Experiments screen, by keys (issue 25): the metric columns
and sorts follow what the runs logged, `source=` filters them, the run detail and the diff
name the MLflow run, and the sweep plot groups an MLflow parent run's trials (else the
experiment's runs). The store is written by MLflow's own client; the values are the runs'."""

from __future__ import annotations

import json
import shutil

import pytest

from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.experiments import ExperimentsScreen
from screens.run_dialogs import RunDetail
from screens.run_views import CompareView, SweepPlot
from screens.runs_table import RunsTable

pytest.importorskip("mlflow")

MLFLOW_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
TRIALS = [(0.1, "rbf", 0.81), (0.3, "rbf", 0.84), (1.0, "linear", 0.88), (3.0, "linear", 0.86)]


def _write_store(uri: str) -> dict[str, str]:
    """A tuning run with four trials (MLflow's nested runs), a baseline outside it that logged
    other metrics, and a failed run: the MLflow run ids by name."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("churn")
    ids: dict[str, str] = {}
    parent = client.create_run(experiment, start_time=1_000, run_name="tune").info.run_id
    ids["tune"] = parent
    for i, (c, kernel, auc) in enumerate(TRIALS):
        run = client.create_run(
            experiment, start_time=2_000 + i, tags={"mlflow.parentRunId": parent}, run_name=f"trial-{i}"
        ).info.run_id
        client.log_batch(
            run,
            metrics=[Metric("val_roc_auc", auc - 0.02 * (2 - s), 3_000 + s, s) for s in range(3)]
            + [Metric("val_accuracy", auc - 0.05, 3_100, 0), Metric("lift", 1.5 + i, 3_100, 0)],
            params=[Param("C", str(c)), Param("kernel", kernel)],
            tags=[RunTag("team", "growth")],
        )
        client.set_terminated(run, end_time=4_000 + i)
        ids[f"trial-{i}"] = run
    client.set_terminated(parent, end_time=5_000)
    baseline = client.create_run(experiment, start_time=6_000, run_name="baseline").info.run_id
    client.log_batch(
        baseline,
        metrics=[Metric("roc_auc", 0.75, 6_100, 0), Metric("f1", 0.61, 6_100, 0)],
        params=[Param("alpha", "0.5")],
    )
    client.set_terminated(baseline, end_time=6_500)
    ids["baseline"] = baseline
    failed = client.create_run(experiment, start_time=7_000, run_name="oom").info.run_id
    client.log_batch(failed, params=[Param("C", "9")])
    client.set_terminated(failed, "FAILED", end_time=7_500)
    ids["oom"] = failed
    return ids


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A workspace holding the store's runs, imported once (each test reads a copy)."""
    from cockpit.importing.mlflow_import import Options, import_store
    from cockpit.importing.mlflow_store import resolve_uri

    folder = tmp_path_factory.mktemp("imported")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in MLFLOW_ENV.items():
            patch.setenv(key, value)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        ids = _write_store(f"sqlite:///{folder / 'mlflow.db'}")
        ws, _ = Workspace.init(folder / "ws")
        result = import_store(ws, resolve_uri(str(folder / "mlflow.db")), Options(task="binary", target="y"))
        ws.close()
    assert result.ok and result.experiments[0].new == 7, result.as_dict()
    return folder / "ws", ids


@pytest.fixture
def ws(imported, tmp_path):
    template, ids = imported
    shutil.copytree(template, tmp_path / "ws")
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace, ids
    workspace.close()


def _by_mlflow(workspace: Workspace) -> dict[str, int]:
    rows = workspace.store.rows("SELECT external_id, run_id FROM imported_runs")
    return {r["external_id"]: r["run_id"] for r in rows}


async def _open(pilot, app) -> tuple[ExperimentsScreen, RunsTable]:
    await pilot.press("4")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ExperimentsScreen)
    return screen, screen.query_one(RunsTable)


async def _to_run(pilot, table: RunsTable, run_id: int) -> None:
    await pilot.press("home")
    for _ in range(table.rows_total):
        if table.current is not None and table.current.id == run_id:
            return
        await pilot.press("down")
    raise AssertionError(f"run {run_id} not in the table")


async def test_sorts_follow_the_metrics_the_imported_runs_logged(ws) -> None:
    workspace, ids = ws
    app = CockpitApp(workspace, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(pilot, app)
        assert table.rows_total == 7
        sorts = []
        for _ in range(6):
            await pilot.press("o")
            sorts.append(screen.sort)
        # roc_auc (the primary metric), f1 (the baseline's), accuracy (val_accuracy): recall
        # and precision, which no run logged, are not offered
        assert sorts == ["score", "roc_auc", "f1", "accuracy", "duration", "id"]
        for _ in range(4):
            await pilot.press("o")
        assert screen.sort == "accuracy"
        titles = [c.title for c in table.columns]
        assert any(t.startswith("acc") and t.endswith("↓") for t in titles), titles
        best = table.row_at(0)
        assert best.id == _by_mlflow(workspace)[ids["trial-2"]]
        assert best.metrics["accuracy"] == pytest.approx(0.83)
        summary = str(screen.query_one("#runs-summary").render())
        assert "★ best val. roc_auc 0.8800" in summary  # trial 2's last point, its final value
        assert "else as logged" in summary  # cockpit does not know the threshold MLflow's code used


async def test_source_filter_by_keys(ws) -> None:
    workspace, _ = ws
    app = CockpitApp(workspace, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await _open(pilot, app)
        for text, shown in (
            ("source=mlflow", 7),
            ("source=catalog", 0),
            ("source!=catalog status=failed", 1),
        ):
            await pilot.press("slash", *text, "enter")
            await pilot.pause()
            assert (screen.filter_text, table.rows_total) == (text, shown)
            field = screen.query_one("#runs-filter")
            field.value = ""
        await pilot.press("slash", *"source=mlfow", "enter")
        await pilot.pause()
        assert screen.filter_text == "" and table.rows_total == 7  # refused, said, not applied


async def test_run_detail_names_the_mlflow_run_and_its_facts(ws) -> None:
    workspace, ids = ws
    run_id = _by_mlflow(workspace)[ids["trial-1"]]
    app = CockpitApp(workspace, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await _open(pilot, app)
        await _to_run(pilot, table, run_id)
        await pilot.press("enter")
        assert isinstance(app.screen, RunDetail)
        head = str(app.screen.query_one("#run-head").render())
        record = str(app.screen.query_one("#run-record").render())
        assert f"imported from MLflow: run {ids['trial-1']}" in head
        assert f"parent run {ids['tune']}" in head and "run name trial-1" in head
        assert "tags team=growth" in head
        assert "{" not in head  # no raw dict of MLflow's tags or metrics
        # MLflow's keys cockpit knows under cockpit's names, the others as MLflow named them
        assert "roc_auc 0.8400" in record and "accuracy 0.7900" in record and "lift 2.5000" in record
        steps = str(app.screen.query_one("#steps-latest").render())
        assert "roc_auc 0.8400 (step 2)" in steps


async def test_diff_of_imported_runs_shows_their_mlflow_ids_and_own_metrics(ws) -> None:
    workspace, ids = ws
    by_mlflow = _by_mlflow(workspace)
    app = CockpitApp(workspace, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await _open(pilot, app)
        await _to_run(pilot, table, by_mlflow[ids["trial-0"]])
        await pilot.press("space")
        await _to_run(pilot, table, by_mlflow[ids["trial-3"]])
        await pilot.press("space", "d")
        view = app.screen
        assert isinstance(view, CompareView)
        rows = {r.field: r.values for r in view.comparison.rows}
        assert view.comparison.runs == [by_mlflow[ids["trial-0"]], by_mlflow[ids["trial-3"]]]
        assert rows["mlflow run"] == [ids["trial-0"], ids["trial-3"]]
        assert rows["val lift"] == [1.5, 4.5] and rows["param kernel"] == ["rbf", "linear"]


async def test_sweep_plot_of_an_mlflow_parent_runs_trials_and_of_an_experiment(ws) -> None:
    workspace, ids = ws
    by_mlflow = _by_mlflow(workspace)
    app = CockpitApp(workspace, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await _open(pilot, app)
        await _to_run(pilot, table, by_mlflow[ids["trial-1"]])
        await pilot.press("g")
        plot = app.screen
        assert isinstance(plot, SweepPlot)
        assert plot.label == f"MLflow parent run {ids['tune'][:8]}"
        assert sorted((p["C"], s) for p, s in plot.points) == [(c, a) for c, _, a in TRIALS]
        assert plot.params == ["C", "kernel"]
        assert str(plot.query_one("#plot-note").render()) == "4 runs"
        await pilot.press("escape")
        await _to_run(pilot, table, by_mlflow[ids["baseline"]])
        await pilot.press("g")
        plot = app.screen
        assert isinstance(plot, SweepPlot) and plot.label == "MLflow experiment churn"
        assert len(plot.points) == 5  # the four trials and the baseline; the failed run has no score
        assert plot.params == ["C", "kernel"]  # alpha: the baseline's alone, one value
        assert "1 without C, not shown" in str(plot.query_one("#plot-note").render())


def test_runs_json_and_compare_carry_the_mlflow_run_id(ws) -> None:
    from click.testing import CliRunner

    from cockpit.cli import cli

    workspace, ids = ws
    by_mlflow = _by_mlflow(workspace)
    runner = CliRunner()
    args = ["--workspace", str(workspace.root), "--project", "churn"]
    listed = runner.invoke(cli, [*args, "runs", "--json", "--filter", "source=mlflow status=failed"])
    assert listed.exit_code == 0, listed.output
    assert [(r["id"], r["mlflow_run_id"]) for r in json.loads(listed.output)] == [
        (by_mlflow[ids["oom"]], ids["oom"])
    ]
    first, second = by_mlflow[ids["trial-0"]], by_mlflow[ids["baseline"]]
    shown = runner.invoke(cli, [*args, "compare", str(first), str(second)])
    assert shown.exit_code == 0, shown.output
    assert ids["trial-0"] in shown.output and ids["baseline"] in shown.output


async def test_evaluation_says_an_imported_run_without_a_model_has_nothing_to_evaluate(ws) -> None:
    workspace, ids = ws
    app = CockpitApp(workspace, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        await app.screen.workers.wait_for_complete()
        await pilot.pause()
        best = _by_mlflow(workspace)[ids["trial-2"]]
        assert app.screen.run_id == best
        texts = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert f"run {best} (mlflow) · no model: cockpit holds no model of this run" in texts
        assert "v evaluates it" not in texts
        await pilot.press("r")
        await pilot.pause()
        assert {c.status for c in app.screen.choices} == {"no model"}
