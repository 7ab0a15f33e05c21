"""What the monitoring plots put on their axes: windows at their place in time (2026-08 and
2026-11 are three months apart on the axis, not neighbours) with date labels that do not
collide, and a feature's reference bins named by their value ranges or categories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date


def window_start(name: str) -> date:
    """The first day of a window named by `service.window_of`: 2026-04, 2026-W14, 2026-04-02."""
    if "-W" in name:
        year, week = name.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    if len(name) == 7:
        return date.fromisoformat(f"{name}-01")
    return date.fromisoformat(name[:10])


def time_positions(names: Sequence[str]) -> list[float]:
    """Each window's place on a time axis: days from the first window's start."""
    if not names:
        return []
    first = window_start(names[0])
    return [float((window_start(n) - first).days) for n in names]


def time_ticks(names: Sequence[str], positions: Sequence[float], width: int) -> tuple[list[float], list[str]]:
    """The windows to label on an axis `width` characters wide, so that no two labels touch:
    the first and the last always, the others where they leave room."""
    if not names:
        return [], []
    span = (positions[-1] - positions[0]) or 1.0
    # days one label (and a gap of two) takes on the axis
    room = span * (max(len(n) for n in names) + 2) / max(1, width)
    kept = [0]
    for i in range(1, len(names)):
        if positions[i] - positions[kept[-1]] >= room:
            kept.append(i)
    last = len(names) - 1
    if kept[-1] != last:
        if len(kept) > 1 and positions[last] - positions[kept[-1]] < room:
            kept.pop()
        kept.append(last)
    return [positions[i] for i in kept], [names[i] for i in kept]


def bin_labels(
    shares: Sequence[float] | dict[str, float] | None, edges: Sequence[float] | None, most: int = 12
) -> tuple[list[str], list[int]]:
    """Names of a distribution's bins and which of its shares they are (at most `most`: for
    categories the largest shares, in their order): a number's bins by value range — the end
    bins also hold the values beyond the reference's range — categories by name."""
    if isinstance(shares, dict):
        categories = shares
        names = list(categories)
        largest = set(sorted(names, key=lambda name: -categories[name])[:most])
        order = [i for i, name in enumerate(names) if name in largest]
        return [names[i] for i in order], order
    shares = shares or []
    edges = edges or []
    if len(edges) != len(shares) + 1:  # stored before bins carried their edges
        return [f"bin {i + 1}" for i in range(len(shares))], list(range(len(shares)))
    if len(shares) == 1:
        return [f"{_number(edges[0])}–{_number(edges[1])}"], [0]
    labels = [f"<{_number(edges[1])}"]
    labels += [f"{_number(edges[i])}–{_number(edges[i + 1])}" for i in range(1, len(shares) - 1)]
    labels.append(f"≥{_number(edges[-2])}")
    return labels, list(range(len(shares)))


def _number(value: float) -> str:
    """Short and readable: 0.123, 45.7, 12,345."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


EIGHTHS = "▏▎▍▌▋▊▉"


def share_bars(
    labels: Sequence[str], order: Sequence[int], series: Sequence[tuple[str, Sequence[float]]], width: int
) -> list[str]:
    """Distributions over named bins as text: a header with the series' names, then one row
    per bin, its name and each series' horizontal bar and share side by side. Bars are
    scaled to the largest share shown and drawn in eighths of a cell, so each row reads on
    its own (no line runs from one bin to the next)."""
    name = min(14, max((len(label) for label in labels), default=1))
    column = max(10, (width - name) // max(1, len(series)))
    bar = column - 8  # " " + bar + " " + "100.0%"
    top = max((shares[i] for _, shares in series for i in order if i < len(shares)), default=0.0)
    lines = [" " * name + "".join(f" {title[: column - 1]:<{column - 1}}" for title, _ in series)]
    for label, i in zip(labels, order, strict=True):
        cells = []
        for _, shares in series:
            share = shares[i] if i < len(shares) else 0.0
            cells.append(f" {_bar(share, top, bar)} {share:>6.1%}")
        lines.append(f"{label[:name]:<{name}}" + "".join(cells))
    return lines


def _bar(share: float, top: float, width: int) -> str:
    eighths = round(share / top * width * 8) if top > 0 else 0
    full, rest = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[rest - 1] if rest else "")).ljust(width)
