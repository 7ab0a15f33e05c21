"""Deployment says what it does (issue 23; tour items 7, 14, 15, 9): P on a version whose gate
did not pass says so and the reason typed is the override, kept in the ledger; c offers no
version that is the canary already, and says when none can be; b with nothing to roll back
to is a plain warning; Retrain's versions say which aliases each holds ("-" for none, never
"active") and its figures are whole at 60x20."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Label

from cockpit.deployment import registry
from cockpit.projects import get_project
from screens.app import CockpitApp
from screens.confirm import ConfirmReason
from screens.dialogs_input import PromptDialog
from tests.ui.test_later_screens import live  # noqa: F401  (v1, v2 registered, never gated; v2 production)


def _lines(app) -> list[str]:
    assert isinstance(app.screen, ConfirmReason)
    return [str(label.render()) for label in app.screen.query(Label)]


def _notes(app) -> list[tuple[str, str, str]]:
    return [(n.title, n.severity, n.message) for n in app._notifications]


def _v2_as_canary(ws):
    """v1 in production again and the never-gated v2 its canary at 20%."""
    project = get_project(ws, "svc")
    registry.rollback(ws, project, "back to v1")
    registry.deploy(ws, project, 2, "canary", 20, "try it")
    return project


async def test_P_says_the_gate_did_not_pass_and_the_reason_is_the_override(live) -> None:  # noqa: F811
    project = _v2_as_canary(live)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "P")
        await pilot.pause()
        lines = _lines(app)
        assert lines[0].startswith("v2 was never gated; review says it is NOT READY. Promote the canary v2")
        assert lines[0].endswith("The reason you type overrides the gate.")
        assert "gate: never run → overridden, the reason in the ledger" in lines
        app.screen.query_one(Input).value = "mentors asked for the forest"
        await pilot.press("enter")
        await pilot.pause()
    production = registry.ledger(live, project)[1]  # the newest: the canary it left
    assert (production.alias, production.version) == ("production", 2)
    assert (
        production.reason
        == f"override by {production.user}: mentors asked for the forest (v2 was never gated)"
    )


async def test_c_offers_no_version_that_is_the_canary_already(live) -> None:  # noqa: F811
    _v2_as_canary(live)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        app.screen.query_one("#versions-table", DataTable).move_cursor(row=1)  # v2, the canary
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, PromptDialog)  # v1 is production, v2 the canary
        assert _notes(app)[-1] == (
            "",
            "warning",
            "No version can become the canary: v2 is the canary, v1 is production; register another first",
        )


async def test_b_with_nothing_to_roll_back_to_is_a_plain_warning(live) -> None:  # noqa: F811
    from cockpit.retraining.cycle import retire

    project = get_project(live, "svc")
    retire(live, project, 1, "the forest replaced it for good")  # v2 replaced v1, retired now
    app = CockpitApp(live, "svc")
    label = registry.get_version(live, project, 1).label
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "b")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmReason)
        assert _notes(app)[-1] == (
            "Rollback",
            "warning",
            f"Nothing to roll back to: the version production replaced, {label}, is retired",
        )


async def test_retrain_versions_say_their_aliases_and_its_figures_are_whole_at_60x20(
    live,  # noqa: F811
    tmp_path,
) -> None:
    from cockpit.monitoring.labels import ingest_labels
    from cockpit.retraining import cycle
    from tests.ui.test_later_screens import frame

    project = get_project(live, "svc")
    for month, shift in ((1, 0.0), (2, 2.0)):
        frame(200, month, shift)[["user_id", "left"]].to_csv(tmp_path / f"l{month}.csv", index=False)
        ingest_labels(live, project, tmp_path / f"l{month}.csv")
    cycle.retrain(live, project)
    app = CockpitApp(live, "svc")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        table = app.screen.query_one("#duel-table")
        shown = [table.get_row_at(i) for i in range(table.row_count)]
        assert len(shown) == len(table.full) > 5
        for cells, (full, _) in zip(shown, table.full, strict=True):
            assert list(cells[1:]) == full[1:]  # champion, challenger, Δ: never cut
            decimals = (1, 2) if full[0].startswith("ms per") else (1, 4)  # times to 2 places
            assert full[3] == "" or len(full[3].split(".")[-1]) in decimals  # rounded, not cut
        versions = app.screen.query_one("#versions", DataTable)
        held = {versions.get_row_at(i)[0]: versions.get_row_at(i)[2] for i in range(versions.row_count)}
        by_id = registry.alias_labels(live, project)
        for v in registry.list_versions(live, project):
            assert held[f"v{v.version}"] == (", ".join(by_id.get(v.id, [])) or "-")
        assert "active" not in held.values()
