"""cockpit: the lifecycle core and the CLI. Plain Python: never imports Textual.

`cockpit.start_run` (cockpit/tracking) tracks a model trained in your own code. It is
imported on first use: `import cockpit`, the CLI's first import, stays cheap."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "start_run"]

if TYPE_CHECKING:
    from cockpit.tracking import start_run


def __getattr__(name: str) -> Any:
    if name == "start_run":
        from cockpit.tracking import start_run

        return start_run
    raise AttributeError(f"module 'cockpit' has no attribute {name!r}")
