"""Errors the core raises for bad usage or bad input (the CLI exits 2 on them)."""


class CockpitError(Exception):
    """Bad usage or bad input: one clear message, nothing written."""

    exit_code = 2
