"""The one worker path (screens/work.py) and how errors reach the user (screens/guard.py,
CockpitApp): a job acts on the project it was started for, on its own connection; results
and progress arrive as typed messages; failures arrive at one handler that notifies."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import pytest
from textual.message import Message
from textual.screen import ModalScreen

from cockpit.errors import CockpitError
from screens.app import CockpitApp
from screens.base import StageScreen
from screens.guard import guarded
from screens.work import Job, WorkFailed


@dataclass
class Echo(Message):
    """What a job saw of where it ran."""

    project: str
    thread: int
    own_connection: bool


@dataclass
class Step(Message):
    number: int


@dataclass
class Broken(Message):
    """A result its handler cannot show."""


class WorkScreen(StageScreen):
    BINDINGS = [("b", "boom", "Boom"), ("a", "ask", "Ask")]

    def __init__(self, workspace) -> None:
        super().__init__(workspace)
        self.echoes: list[Echo] = []
        self.steps: list[int] = []
        self.failures: list[WorkFailed] = []

    def refresh_data(self) -> None:
        pass

    def on_echo(self, echo: Echo) -> None:
        self.echoes.append(echo)

    def on_step(self, step: Step) -> None:
        self.steps.append(step.number)

    def work_failed(self, failed: WorkFailed) -> None:
        self.failures.append(failed)

    @guarded
    def on_broken(self, broken: Broken) -> None:
        raise LookupError("no such row")

    def action_boom(self) -> None:
        raise RuntimeError("boom")

    def action_ask(self) -> None:
        def answered(answer: str | None) -> None:
            raise KeyError(answer)

        self.app.push_screen(Answer(), answered)


class Answer(ModalScreen[str]):
    def on_mount(self) -> None:
        self.dismiss("yes")


def recording(app: CockpitApp) -> list[dict]:
    """Every notification the app shows: message, title and severity."""
    shown: list[dict] = []
    notify = app.notify

    def record(message, *args, **kwargs):
        shown.append(
            {"message": str(message), "title": kwargs.get("title"), "severity": kwargs.get("severity")}
        )
        return notify(message, *args, **kwargs)

    app.notify = record
    return shown


async def open_screen(app: CockpitApp, pilot) -> WorkScreen:
    screen = WorkScreen(app.workspace)
    await app.push_screen(screen)
    await pilot.pause()
    return screen


async def test_a_job_acts_on_the_project_it_was_started_for_on_its_own_connection(two_projects) -> None:
    release = threading.Event()

    def job(work: Job) -> Echo:
        for number in (1, 2, 3):
            work.post(Step(number))
        release.wait(10)
        return Echo(work.project.name, threading.get_ident(), work.workspace is not two_projects)

    app = CockpitApp(two_projects, "churn")
    async with app.run_test() as pilot:
        screen = await open_screen(app, pilot)
        screen.start_work("Echo", job)
        app.project = _other(app, "prices")
        await pilot.pause()
        release.set()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert app.project.name == "prices"
        assert [e.project for e in screen.echoes] == ["churn"]
        assert screen.echoes[0].own_connection and screen.echoes[0].thread != threading.get_ident()
        assert screen.steps == [1, 2, 3] and screen.failures == []


def _other(app: CockpitApp, name: str):
    from cockpit.projects import list_projects

    return next(p for p in list_projects(app.workspace) if p.name == name)


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (CockpitError("no split yet: make one first"), "no split yet: make one first"),
        (ValueError("could not convert 'x'"), "ValueError: could not convert 'x'"),
    ],
)
async def test_a_failed_job_reaches_the_one_handler_that_notifies(two_projects, error, shown) -> None:
    def job(work: Job) -> Echo:
        raise error

    app = CockpitApp(two_projects, "churn")
    notes = recording(app)
    async with app.run_test() as pilot:
        screen = await open_screen(app, pilot)
        screen.start_work("Echo", job)
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and screen.echoes == []
        assert [(f.task, f.error) for f in screen.failures] == [("Echo", error)]
    assert {"message": shown, "title": "Echo failed", "severity": "error"} in notes


async def test_work_started_again_replaces_the_earlier_one(two_projects) -> None:
    first_may_end = threading.Event()

    def slow(work: Job) -> Echo:
        first_may_end.wait(10)
        return Echo("first", 0, True)

    def fast(work: Job) -> Echo:
        return Echo("second", 0, True)

    app = CockpitApp(two_projects, "churn")
    async with app.run_test() as pilot:
        screen = await open_screen(app, pilot)
        first = screen.start_work("Echo", slow)
        screen.start_work("Echo", fast)
        await pilot.pause()
        first_may_end.set()
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert first is not None and first.is_cancelled
        assert [e.project for e in screen.echoes] == ["second"]


async def test_no_project_no_work(tmp_path) -> None:
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(tmp_path / "empty")
    ran: list[Job] = []
    app = CockpitApp(ws)
    notes = recording(app)
    async with app.run_test() as pilot:
        screen = await open_screen(app, pilot)
        assert screen.start_work("Echo", ran.append) is None
        await pilot.pause()
    ws.close()
    assert ran == [] and {"message": "Create a project first", "title": "", "severity": "warning"} in notes


async def test_an_unexpected_error_in_an_action_is_a_notification_and_a_logged_traceback(
    two_projects,
) -> None:
    app = CockpitApp(two_projects, "churn", strict=False)
    notes = recording(app)
    async with app.run_test() as pilot:
        await open_screen(app, pilot)
        await pilot.press("b")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, WorkScreen)
        await pilot.press("b")  # the screen still answers keys
        await pilot.pause()
    log = two_projects.dir / "logs" / "ui.log"
    assert [n["message"] for n in notes] == [f"RuntimeError: boom\n(details in {log})"] * 2
    assert {n["severity"] for n in notes} == {"error"}
    text = log.read_text()
    assert text.count("Traceback (most recent call last)") == 2 and "RuntimeError: boom" in text


async def test_an_unexpected_error_in_a_dialogs_answer_is_a_notification_when_not_strict(
    two_projects,
) -> None:
    app = CockpitApp(two_projects, "churn", strict=False)
    notes = recording(app)
    async with app.run_test() as pilot:
        await open_screen(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, WorkScreen)
    assert [n["message"].splitlines()[0] for n in notes] == ["KeyError: 'yes'"]


async def test_a_strict_app_stops_on_an_unexpected_error(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test() as pilot:
            await open_screen(app, pilot)
            await pilot.press("b")
            await pilot.pause()
    assert (two_projects.dir / "logs" / "ui.log").read_text() == ""


@pytest.fixture
def split_ws(tmp_path, frozen_clock):
    import numpy as np
    import pandas as pd

    from cockpit.data import datasets
    from cockpit.data.splits import make_split
    from cockpit.projects import create_project
    from cockpit.workspace import Workspace

    ws, _ = Workspace.init(tmp_path / "w")
    project = create_project(ws, "subs", "binary", "left")
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 300)
    frame = pd.DataFrame({"x": x, "left": (x + rng.normal(0, 1, 300) > 0.5).astype(int)})
    frame.to_csv(tmp_path / "subs.csv", index=False)
    datasets.import_dataset(ws, project, tmp_path / "subs.csv")
    make_split(ws, project, "stratified")
    yield ws
    ws.close()


async def test_a_sweep_started_by_keys_shows_progress_and_stops_by_key(split_ws) -> None:
    from textual.widgets import Input, Label, Select

    from screens.experiments import ExperimentsScreen

    app = CockpitApp(split_ws, "subs")
    notes = recording(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, ExperimentsScreen)
        await pilot.press("w")
        app.screen.query_one("#family", Select).value = "random_forest"
        app.screen.query_one("#trials", Input).value = "200"  # far more than a stop lets run
        app.screen.query_one("#jobs", Input).value = "1"
        await pilot.press("ctrl+s")
        for _ in range(600):  # the child starts, then reports a trial (the first, or later)
            if re.search(r"sweep [1-9]\d*/200", str(screen.query_one("#active-label", Label).render())):
                break
            await pilot.pause(0.1)
        assert screen.query_one("#active-bar").display
        await pilot.press("X")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert screen.sweep_handle is None and not screen.query_one("#active-bar").display
    sweep = split_ws.store.one("SELECT id, status, finished_trials FROM sweeps")
    assert sweep["status"] == "cancelled" and 1 <= sweep["finished_trials"] < 200
    ended = [n["message"] for n in notes if n["message"].startswith(f"Sweep {sweep['id']} ")]
    assert len(ended) == 1 and ended[0].startswith(
        f"Sweep {sweep['id']} cancelled (interrupted by the user): "
    )


async def test_an_unexpected_error_showing_a_result_is_a_notification_when_not_strict(two_projects) -> None:
    app = CockpitApp(two_projects, "churn", strict=False)
    notes = recording(app)
    async with app.run_test() as pilot:
        screen = await open_screen(app, pilot)
        screen.start_work("Broken", lambda work: Broken())
        await screen.workers.wait_for_complete()
        await pilot.pause()
        screen.start_work("Echo", lambda work: Echo(work.project.name, 0, True))  # the screen goes on
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and [e.project for e in screen.echoes] == ["churn"]
    log = two_projects.dir / "logs" / "ui.log"
    assert [n["message"] for n in notes] == [f"LookupError: no such row\n(details in {log})"]
    assert "LookupError: no such row" in log.read_text()


async def test_a_strict_app_stops_on_an_error_showing_a_result(two_projects) -> None:
    app = CockpitApp(two_projects, "churn")
    with pytest.raises(LookupError, match="no such row"):
        async with app.run_test() as pilot:
            screen = await open_screen(app, pilot)
            screen.start_work("Broken", lambda work: Broken())
            await screen.workers.wait_for_complete()
            await pilot.pause()


async def test_an_error_in_the_experiments_poll_is_a_notification_when_not_strict(
    two_projects, monkeypatch
) -> None:
    """The runs table's 2 s poll reads the store; a failure there is notified and the screen
    keeps polling (before, the poll's error stopped the screen responding)."""
    app = CockpitApp(two_projects, "churn", strict=False)
    notes = recording(app)
    async with app.run_test() as pilot:
        await pilot.press("4")
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "ExperimentsScreen"

        def locked() -> int:
            raise OSError("database is locked")

        monkeypatch.setattr(two_projects, "data_version", locked)
        screen._poll()
        await pilot.pause()
        monkeypatch.undo()
        screen._poll()  # the next tick reads again
        assert app.is_running and app.screen is screen
    assert [n["message"].split("\n")[0] for n in notes] == ["OSError: database is locked"]
