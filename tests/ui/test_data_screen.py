"""The data screen driven by keys: import, validate, build a recipe, clean."""

import pytest
from textual.widgets import DataTable, Input, TabbedContent

import sample_data
from cockpit.data import datasets
from cockpit.projects import create_project
from cockpit.workspace import Workspace
from screens.app import CockpitApp
from screens.data import DataScreen


@pytest.fixture
def churn_ws(tmp_path, frozen_clock):
    ws, _ = Workspace.init(tmp_path / "w")
    create_project(ws, "churn", "binary", "churned")
    yield ws
    ws.close()


async def _settle(app, pilot) -> None:
    await app.screen.workers.wait_for_complete()
    await pilot.pause()


async def test_import_validate_recipe_clean_by_keys(churn_ws) -> None:
    app = CockpitApp(churn_ws, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, DataScreen)
        assert "No data yet" in str(screen.query_one("#data-summary").render())

        await pilot.press("i")
        dialog_input = app.screen.query_one(Input)
        dialog_input.value = str(sample_data.churn_customers())
        await pilot.press("enter")
        await _settle(app, pilot)
        assert screen.version is not None and screen.version.rows == 2970

        await pilot.press("v")
        await _settle(app, pilot)
        assert screen.query_one(TabbedContent).active == "validation"
        findings = screen.query_one("#findings-table", DataTable)
        assert findings.row_count >= 10
        assert "spelled" in str(findings.get_row_at(1)[4]) or "dates" in str(findings.get_row_at(0)[4])

        await pilot.press("A")
        await pilot.press("right_square_bracket")
        await _settle(app, pilot)
        assert screen.query_one(TabbedContent).active == "recipe"
        recipe = screen.query_one("#recipe-table", DataTable)
        # 11 fixes: last_login_days' long tail (71% churners) is signal, not an outlier to drop
        assert recipe.row_count == 11
        preview = str(screen.query_one("#recipe-preview").render())
        assert "2,970 → 2,892 rows" in preview

        await pilot.press("x")  # drop the first step, then clean
        await _settle(app, pilot)
        assert recipe.row_count == 10
        await pilot.press("c")
        await _settle(app, pilot)
        project = app.project
        versions = datasets.list_versions(churn_ws, project)
        assert [v.parent_id for v in versions] == [None, versions[0].id]
        assert len(versions[1].recipe) == 10
        assert screen.version.id == versions[1].id
        assert recipe.row_count == 0


async def test_bad_import_is_a_notification(churn_ws, tmp_path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b;churned\n1;2;0\n")
    app = CockpitApp(churn_ws, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "i")
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.is_running and isinstance(app.screen, DataScreen)
        assert any("separated by ';'" in n.message for n in app._notifications)
        assert datasets.list_versions(churn_ws, app.project) == []


async def test_profile_tab_plots_the_highlighted_column(churn_ws) -> None:
    project = app_project = create_project(churn_ws, "houses", "regression", "price")
    datasets.import_dataset(churn_ws, project, sample_data.house_prices())
    app = CockpitApp(churn_ws, app_project.name)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "right_square_bracket")
        screen = app.screen
        table = screen.query_one("#profile-table", DataTable)
        assert app.focused is table
        await pilot.press("down")
        stats = str(screen.query_one("#profile-stats").render())
        assert "distinct" in stats and ".." in stats  # sqft: a numeric range
        assert screen.query_one("#profile-plot").display


async def test_split_by_keys_shows_the_summary(churn_ws) -> None:
    project = create_project(churn_ws, "learners", "binary", "needs_support")
    datasets.import_dataset(churn_ws, project, sample_data.learner_reference())
    app = CockpitApp(churn_ws, "learners")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "left_square_bracket")
        screen = app.screen
        assert screen.query_one(TabbedContent).active == "splits"
        assert "No split" in str(screen.query_one("#split-summary").render())
        await pilot.press("s")
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        summary = str(screen.query_one("#split-summary").render())
        assert "stratified, seed 42" in summary and "train 4,199" in summary
        assert "no single feature gives it away" in summary
        features = screen.query_one("#split-features", DataTable)
        assert "needs_support" not in [str(k.value) for k in features.rows]
        await pilot.press("down")
        assert screen.query_one("#split-plot").display


async def test_an_accepted_leak_finding_reads_as_accepted(churn_ws, tmp_path) -> None:
    import numpy as np
    import pandas as pd

    from cockpit.data import splits as splitting
    from cockpit.data.leakage import accept_finding

    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 200)
    frame = pd.DataFrame({"x": rng.normal(size=200), "churned_flag": label, "churned": label})
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    project = create_project(churn_ws, "leaky", "binary", "churned")
    datasets.import_dataset(churn_ws, project, path)
    split = splitting.make_split(churn_ws, project, seed=1)
    leak = next(f for f in split.leakage if f["severity"] == "error")
    accept_finding(churn_ws, project, split.id, split.leakage, leak["column"], "a known proxy")
    app = CockpitApp(churn_ws, "leaky")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "left_square_bracket")
        await _settle(app, pilot)
        summary = str(app.screen.query_one("#split-summary").render())
        assert "✓ accepted by tester" in summary and "LEAK" not in summary


def _drawn(table: DataTable, label: str) -> list[str]:
    """The cells of column `label` as the table draws them: cut to the column's width."""
    columns = table.ordered_columns
    index = next(i for i, c in enumerate(columns) if c.label.plain == label)
    width = columns[index].get_render_width(table) - 2 * table.cell_padding
    return [str(table.get_row_at(row)[index])[:width] for row in range(table.row_count)]


def _fits(table: DataTable) -> bool:
    """Every column is on screen: the table does not run off its right edge."""
    needed = sum(c.get_render_width(table) for c in table.ordered_columns)
    return needed <= table.scrollable_content_region.width


async def test_versions_with_long_alike_names_read_apart_at_80x24(churn_ws, tmp_path) -> None:
    import pandas as pd

    project = create_project(churn_ws, "learners", "binary", "needs_support")
    frame = pd.read_csv(sample_data.learner_reference())
    for month, rows in (("2026-06", 300), ("2026-07", 400)):
        path = tmp_path / f"reference+production-{month}.csv"
        frame.head(rows).to_csv(path, index=False)
        datasets.import_dataset(churn_ws, project, path)
    app = CockpitApp(churn_ws, "learners")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await _settle(app, pilot)
        table = app.screen.query_one("#versions-table", DataTable)
        assert _drawn(table, "Name") == ["reference+production-2026-06", "reference+production-2026-07"]
        assert _fits(table)
        await pilot.press("up")  # the line under the table names the highlighted version whole
        detail = str(app.screen.query_one("#version-detail").render())
        assert "v1 reference+production-2026-06 · 300 rows × 11 cols" in detail
        await pilot.press("enter")  # Enter still selects the version
        await _settle(app, pilot)
        assert app.screen.version.name == "reference+production-2026-06"


async def test_findings_and_recipe_effects_read_whole_at_80x24(churn_ws) -> None:
    from cockpit.data import recipes
    from screens.row_detail import RowDetail

    datasets.import_dataset(churn_ws, app_project(churn_ws), sample_data.churn_customers())
    app = CockpitApp(churn_ws, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "v")
        await _settle(app, pilot)
        screen = app.screen
        findings = screen.query_one("#findings-table", DataTable)
        # The findings fill while their tab is hidden and are fitted again when it shows (a
        # resize): on a loaded machine that can come a few frames (seconds, under xdist at
        # load 3) after the worker ends.
        for _ in range(300):
            if findings.row_count and _drawn(findings, "Column")[0] == "signup_date":
                break
            await pilot.pause(0.05)
        assert _fits(findings)
        assert _drawn(findings, "Column")[0] == "signup_date"
        await pilot.press("enter")  # the finding in full, with its examples and its fix
        dialog = app.screen
        assert isinstance(dialog, RowDetail)
        fields = dict(dialog.fields)
        assert fields["Finding"] == screen.report.findings[0].message
        assert fields["Fix"] == "parse dates signup_date"
        await pilot.press("escape", "A", "right_square_bracket")
        await _settle(app, pilot)
        recipe = screen.query_one("#recipe-table", DataTable)
        assert _fits(recipe)
        effects = _drawn(recipe, "Effect")
        assert effects[0] == "369 cells changed" and "…" not in "".join(effects)
        assert _drawn(recipe, "Step") == [recipes.describe(step) for step in screen.steps]


async def test_entering_a_split_number_puts_the_cursor_after_it(churn_ws) -> None:
    datasets.import_dataset(churn_ws, app_project(churn_ws), sample_data.churn_customers())
    app = CockpitApp(churn_ws, "churn")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2", "s", "tab")
        seed = app.focused
        assert isinstance(seed, Input) and seed.value == "42"
        assert seed.selection.is_empty and seed.cursor_position == 2


def app_project(ws: Workspace):
    from cockpit.projects import get_project

    return get_project(ws, "churn")
