"""The inside view of `cockpit` start-up: the CLI entry point run headless at 80x24, timed
in phases, exiting at the first frame of the overview. Run as
`python -m bench.startup_probe WORKSPACE` with BENCH_SPAWNED_AT=<time.time() at spawn>.
Last stdout line: JSON, seconds from the spawn; the `cpu_*` marks are the process's CPU time
(user + system, all threads) at the same points, which a loaded machine inflates far less
than the wall-clock figures."""

from __future__ import annotations

import time

SPAWNED_AT = None
T_MAIN = time.time()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

HEAVY = ("pandas", "numpy", "sklearn", "scipy", "sqlite_utils", "pyarrow", "joblib", "plotext")


def main() -> int:
    spawned = float(os.environ.get("BENCH_SPAWNED_AT", T_MAIN))
    marks = {"interpreter": T_MAIN - spawned, "cpu_interpreter": time.process_time()}
    workspace = sys.argv[1]
    began, cpu = time.time(), time.process_time()
    from cockpit.cli import cli

    marks["import_cockpit_cli"] = time.time() - began
    marks["cpu_import_cockpit_cli"] = time.process_time() - cpu
    began, cpu = time.time(), time.process_time()
    import screens.app as app_module  # what CliContext.open_ui imports

    marks["import_screens_app"] = time.time() - began
    marks["cpu_import_screens_app"] = time.process_time() - cpu

    from textual.app import App

    first: dict = {}

    def run_headless(self, *args, **kwargs):
        marks["until_app_run"] = time.time() - spawned
        marks["cpu_until_app_run"] = time.process_time()
        return App.run(self, headless=True, size=(80, 24))

    display = App._display

    def timed_display(self, screen, renderable):
        display(self, screen, renderable)
        if renderable is not None and "at" not in first and type(screen).__name__ == "OverviewScreen":
            first["at"] = time.time()
            first["cpu"] = time.process_time()
            first["heavy"] = sorted(m for m in HEAVY if m in sys.modules)
            self.exit()

    app_module.CockpitApp.run = run_headless
    App._display = timed_display
    try:
        cli.main(["--workspace", workspace], prog_name="cockpit", standalone_mode=False)
    finally:
        pass
    marks["first_frame"] = first["at"] - spawned
    marks["app_run_to_first_frame"] = first["at"] - spawned - marks["until_app_run"]
    marks["cpu_to_first_frame"] = first["cpu"]
    marks["cpu_app_run_to_first_frame"] = first["cpu"] - marks["cpu_until_app_run"]
    marks["heavy_modules"] = first["heavy"]
    print(json.dumps(marks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
