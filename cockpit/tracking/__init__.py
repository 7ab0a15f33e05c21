"""The Python tracking API: `cockpit.start_run` records a model trained in your own script
or notebook as a run, beside the catalogue's (see docs/tracking.md)."""

from cockpit.tracking.run import ActiveRun, start_run

__all__ = ["ActiveRun", "start_run"]
