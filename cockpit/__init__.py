"""cockpit: the lifecycle core and the CLI. Plain Python: never imports Textual."""

__version__ = "0.1.0"
