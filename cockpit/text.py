"""Text fitted to a width: the one cut every table cell, title and evidence line uses, in
the core (which the CLI shows) and on the screens alike."""

from __future__ import annotations


def cut(text: str, width: int) -> str:
    """`text` whole when it fits in `width` cells, else its start and '…', `width` cells
    in all (just '…' when there is no room)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
