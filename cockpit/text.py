"""Text fitted to a width (the one cut every table cell, title and evidence line uses) and
counts said in words, in the core (which the CLI shows) and on the screens alike."""

from __future__ import annotations


def cut(text: str, width: int) -> str:
    """`text` whole when it fits in `width` cells, else its start and '…', `width` cells
    in all (just '…' when there is no room)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def counted(n: int, noun: str, plural: str = "") -> str:
    """'1 run', '2 runs', '11,764 rows': `plural` when adding an s is wrong."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def short_number(value: float) -> str:
    """A number for one line of text: from 1,000 up grouped and rounded to a whole number
    (41,650, where 4 significant digits read '4.165e+04'), else 4 significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
