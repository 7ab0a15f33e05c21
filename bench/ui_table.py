"""The runs table on a big store, timed headless with Textual's Pilot. Run by bench/run.py in
a fresh process (`python -m bench.ui_table --workspace PATH ...`), so the first open of the
experiments screen pays what it pays in a real session (imports included). Last stdout
line: JSON.

Why not `pilot.press` + `pilot.pause` around each key: both wait for idle with sleeps and
cannot show anything under ~60-80 ms (DESIGN.md stack facts). Instead each key is posted to
the headless driver as `Pilot.press` does, and three instants are recorded:
  t0       the key is posted;
  handled  cockpit's handler for it returned (wrapped: ExperimentsScreen.refresh_data /
           on_mount, RunsTable.move_to);
  painted  the first compositor frame after `handled` that rendered RunsTable data lines
           (App._display wrapped; headless, so only the terminal write is not timed).
A measurement is discarded and repeated when the screen's 2 s poll ran inside its window.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
import time
from pathlib import Path

from bench.timing import median

PROJECT = "bench"


class Probe:
    def __init__(self) -> None:
        self.armed = False
        self.t0 = 0.0
        self.handled: float | None = None
        self.handler_s = 0.0
        self.painted: float | None = None
        self.frame_start: float | None = None
        self.table_lines = 0
        self.polls = 0
        self.event = asyncio.Event()
        self.marks: dict[str, float] = {}
        self.poll_times: list[float] = []

    def arm(self) -> None:
        self.armed, self.handled, self.painted, self.frame_start = True, None, None, None
        self.handler_s, self.table_lines = 0.0, 0
        self.event.clear()
        self.t0 = time.perf_counter()


def install(app, probe: Probe) -> None:
    """Wrap the experiments screen factory so its classes are patched once imported."""
    from screens import stages

    stage = next(s for s in stages.BUILT_STAGES if s.key == "experiments")
    original = stage.factory

    def factory(workspace):
        began = time.perf_counter()
        screen = original(workspace)
        _patch_classes(probe)
        probe.marks.setdefault("factory_s", time.perf_counter() - began)
        return screen

    object.__setattr__(stage, "factory", factory)
    from textual.screen import Screen

    on_timer_update = Screen._on_timer_update

    def timed_update(self) -> None:
        if probe.armed and probe.handled is not None:
            probe.frame_start = time.perf_counter()
        on_timer_update(self)

    Screen._on_timer_update = timed_update
    display = app._display

    def timed_display(screen, update) -> None:
        display(screen, update)
        if probe.armed and probe.handled is not None and probe.table_lines:
            probe.painted = time.perf_counter()
            probe.armed = False
            probe.event.set()

    app._display = timed_display


_patched = False


def _patch_classes(probe: Probe) -> None:
    global _patched
    if _patched:
        return
    _patched = True
    from screens.experiments import ExperimentsScreen
    from screens.runs_table import RunsTable

    def handler(cls, name: str, mark: bool = True):
        inner = getattr(cls, name)

        @functools.wraps(inner)
        def wrapped(self, *args, **kwargs):
            began = time.perf_counter()
            try:
                return inner(self, *args, **kwargs)
            finally:
                ended = time.perf_counter()
                if probe.armed and mark:
                    probe.handler_s += ended - began
                    probe.handled = ended

        setattr(cls, name, wrapped)

    handler(ExperimentsScreen, "refresh_data")
    handler(ExperimentsScreen, "on_mount")
    handler(RunsTable, "move_to")

    poll = ExperimentsScreen._poll

    def counted_poll(self):
        probe.polls += 1
        began = time.perf_counter()
        poll(self)
        probe.poll_times.append(time.perf_counter() - began)

    ExperimentsScreen._poll = counted_poll

    render_line = RunsTable.render_line

    def counted_render_line(self, y):
        strip = render_line(self, y)
        if probe.armed and probe.handled is not None and y >= 1 and self.rows_total:
            probe.table_lines += 1
        return strip

    RunsTable.render_line = counted_render_line


async def timed_key(app, probe: Probe, key: str, settle, retry: bool = True, prepare=None) -> dict:
    """Post `key`, wait for the table's repaint. Retried (after `prepare()` again) when the
    screen's 2 s poll refreshed the table inside the window."""
    from textual import events

    for _attempt in range(5 if retry else 1):
        if prepare is not None:
            await prepare()
        await settle()
        polls = probe.polls
        probe.arm()
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)
        try:
            await asyncio.wait_for(probe.event.wait(), 10)
        except TimeoutError:
            raise RuntimeError(
                f"no table repaint after {key!r}: handled={probe.handled} "
                f"lines={probe.table_lines} focused={app.focused} "
                f"stack={app.screen_stack}"
            ) from None
        if probe.polls == polls:
            break
    assert probe.painted is not None and probe.handled is not None
    frame_start = probe.frame_start or probe.handled
    return {
        "total": probe.painted - probe.t0,
        "handler": probe.handler_s,
        "render": probe.painted - probe.handled,
        "wait": frame_start - probe.handled,
        "frame": probe.painted - frame_start,
    }


def summary(samples: list[dict]) -> dict:
    return {
        k: {"median": median([s[k] for s in samples]), "max": max(s[k] for s in samples), "n": len(samples)}
        for k in ("total", "handler", "wait", "frame")
    }


async def run(
    workspace_path: Path, size: tuple[int, int], repeats: int, project: str = PROJECT, open_only: bool = False
) -> dict:
    from cockpit.workspace import Workspace
    from screens.app import CockpitApp

    ws = Workspace.open(workspace_path)
    app = CockpitApp(ws, project)
    probe = Probe()
    install(app, probe)
    out: dict = {}
    async with app.run_test(size=size) as pilot:

        async def settle():
            await pilot.pause()
            await asyncio.sleep(0.02)

        loaded_before = {m for m in ("sklearn", "pandas", "scipy") if m in sys.modules}
        # open: key "4" -> screen built, mounted, table loaded -> first frame with rows
        opened = await timed_key(app, probe, "4", settle, retry=False)
        screen = app.screen
        from screens.experiments import ExperimentsScreen
        from screens.runs_table import RunsTable

        assert isinstance(screen, ExperimentsScreen), screen
        table = screen.query_one(RunsTable)
        out["rows_total"] = table.rows_total
        out["open"] = {
            "total": opened["total"],
            "factory": probe.marks.get("factory_s"),
            "on_mount": opened["handler"],
            "wait": opened["wait"],
            "frame": opened["frame"],
        }
        out["imported_on_open"] = sorted(
            {m for m in ("sklearn", "pandas", "scipy") if m in sys.modules} - loaded_before
        )
        # back to the overview and in again (the screen is kept: on_screen_resume)
        samples = []
        for _ in range(max(3, repeats // 2)):
            await timed_key_any(app, probe, "0", settle)
            samples.append(await timed_key(app, probe, "4", settle))
        out["reopen"] = summary(samples)
        if open_only:  # the first paint (and back to it) is all an import's bench reads
            return out

        by_sort: dict[str, list[dict]] = {}
        for _ in range(max(1, repeats // 3)):
            for _ in range(7):  # id -> score -> roc_auc -> recall -> precision -> f1 -> duration
                sample = await timed_key(app, probe, "o", settle)
                by_sort.setdefault(screen.sort, []).append(sample)
        out["sort_by"] = {k: summary(v) for k, v in by_sort.items()}
        out["sort"] = summary([s for k, v in by_sort.items() for s in v])
        out["sort_indexed"] = summary(
            [s for k, v in by_sort.items() for s in v if k not in ("score", "duration")]
        )
        while screen.sort != "roc_auc":
            await pilot.press("o")
        samples = []
        for _ in range(repeats):
            samples.append(await timed_key(app, probe, "pagedown", settle))
        out["page_down"] = summary(samples)
        samples = []
        for i in range(repeats):
            samples.append(await timed_key(app, probe, "ctrl+end" if i % 2 == 0 else "ctrl+home", settle))
        out["jump_end_home"] = summary(samples)

        from textual.widgets import Input

        field = screen.query_one("#runs-filter", Input)
        for name, text in (
            ("filter_family", "family=random_forest"),
            ("filter_recall_sorted_by_auc", "recall>0.8"),
        ):

            async def typed(text=text):
                await pilot.press("slash")
                assert app.focused is field, app.focused
                field.value = ""
                await pilot.press(*text)
                assert field.value == text, field.value

            samples = []
            for _ in range(repeats):
                samples.append(await timed_key(app, probe, "enter", settle, prepare=typed))
                await pilot.press("slash")
                field.value = ""
                await pilot.press("enter")
            out[name] = summary(samples)
        out["poll_refresh"] = {
            "median": median(probe.poll_times) if probe.poll_times else None,
            "n": len(probe.poll_times),
        }
        await pilot.press("slash")
        field.value = ""
        await pilot.press("enter")
        out.update(await _without_a_metric(app, pilot, probe, screen, ws, settle, repeats))
    ws.close()
    return out


async def _without_a_metric(
    app, pilot, probe: Probe, screen, ws, settle, repeats: int, every: int = 50
) -> dict:
    """Sorted by recall while 1 run in `every` has none (a failed run has no metrics): those
    are listed last, read apart from the partial recall index. The store is put back after."""
    conn = ws.store.conn
    saved = conn.execute("SELECT m_recall, id FROM runs WHERE id % ? = 0", [every]).fetchall()
    with ws.store.transaction():
        conn.execute("UPDATE runs SET m_recall = NULL WHERE id % ? = 0", [every])
    out: dict = {"missing_every": every}
    try:
        sorts, jumps = [], []
        for _ in range(repeats):

            async def to_roc_auc():  # the next `o` sorts by recall
                while screen.sort != "roc_auc":
                    await pilot.press("o")

            sorts.append(await timed_key(app, probe, "o", settle, prepare=to_roc_auc))
            assert screen.sort == "recall", screen.sort
            jumps.append(await timed_key(app, probe, "ctrl+end", settle))
            await pilot.press("ctrl+home")
        out["sort_recall_missing"] = summary(sorts)
        out["jump_end_missing"] = summary(jumps)
    finally:
        with ws.store.transaction():
            conn.executemany("UPDATE runs SET m_recall = ? WHERE id = ?", saved)
    return out


async def timed_key_any(app, probe: Probe, key: str, settle) -> None:
    """Press a key that does not repaint the table (leaving the screen)."""
    await settle()
    await app._press_keys([key])
    await settle()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_table")
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--open-only", action="store_true", help="time the first paint and the reopen only")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    result = asyncio.run(run(args.workspace, (width, height), args.repeats, args.project, args.open_only))
    result["size"] = args.size
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
