"""Plots as inline SVG for the HTML reports: a line plot (curves, figures over time) and a
bar chart (segments, features). plotext draws for terminals only; these few shapes are all
a report needs, and an SVG in the page needs no script and no network."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from cockpit.text import cut

WIDTH, HEIGHT = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 48
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#57606a")


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its points, drawn joined unless `points_only` (a scatter), or `dashed`
    (a reference: chance, perfect calibration)."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    points_only: bool = False
    dashed: bool = False


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values covering low..high: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    rough = (high - low) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    first = math.ceil(low / step - 1e-9) * step
    count = int(math.floor((high - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(count)]


def short_number(value: float) -> str:
    """A short axis label: 0.25, 12, 48k, 1.2M."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.3g}M"
    if size >= 1e4:
        return f"{value / 1e3:.3g}k"
    if value != 0 and size < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


class _Frame:
    """The plot area and its scales from data to pixels."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = _widened(*x_range)
        self.y0, self.y1 = _widened(*y_range)

    def x(self, value: float) -> float:
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - (value - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)


def _widened(low: float, high: float) -> tuple[float, float]:
    if high > low:
        return low, high
    return low - (abs(low) or 1.0) * 0.5, high + (abs(high) or 1.0) * 0.5


def _line(x1: float, y1: float, x2: float, y2: float, css: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{css}"/>'


def _text(x: float, y: float, content: str, anchor: str = "middle", css: str = "") -> str:
    """An SVG text of `content` (escaped here)."""
    style = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{style}>{escape(content)}</text>'


def _hline(frame: _Frame, value: float, name: str) -> list[str]:
    y = frame.y(value)
    return [
        _line(LEFT, y, WIDTH - RIGHT, y, "mark"),
        _text(WIDTH - RIGHT - 4, y - 4, name, "end", "mark-text"),
    ]


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _open(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(WIDTH / 2, 18, title, css="plot-title"),
    ]


def _axes(frame: _Frame, y_ticks: list[float], x_label: str, y_label: str) -> list[str]:
    bottom = HEIGHT - BOTTOM
    parts = [_line(LEFT, bottom, WIDTH - RIGHT, bottom, "axis"), _line(LEFT, TOP, LEFT, bottom, "axis")]
    for tick in y_ticks:
        y = frame.y(tick)
        parts += [_line(LEFT, y, WIDTH - RIGHT, y, "grid"), _text(LEFT - 6, y + 4, short_number(tick), "end")]
    if x_label:
        parts.append(_text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - 8, x_label))
    if y_label:
        middle = (TOP + bottom) / 2
        parts.append(
            f'<text x="14" y="{middle}" text-anchor="middle" transform="rotate(-90 14 {middle})">'
            f"{escape(y_label)}</text>"
        )
    return parts


def line_plot(
    title: str,
    series: Sequence[Series],
    x_label: str = "",
    y_label: str = "",
    x_ticks: tuple[Sequence[float], Sequence[str]] | None = None,
    hlines: Sequence[tuple[float, str]] = (),
    vlines: Sequence[tuple[float, str]] = (),
) -> str:
    """Lines (or points) on shared axes; `x_ticks` names positions (dates) instead of numbers;
    `hlines`/`vlines` mark a value (a target, a threshold) with its name. Empty without data."""
    xs = _finite([x for s in series for x in s.xs] + [v for v, _ in vlines])
    ys = _finite([y for s in series for y in s.ys] + [v for v, _ in hlines])
    if not xs or not ys:
        return ""
    y_ticks = nice_ticks(min(ys), max(ys))
    frame = _Frame((min(xs), max(xs)), (min([*ys, *y_ticks]), max([*ys, *y_ticks])))
    parts = [*_open(title), *_axes(frame, y_ticks, x_label, y_label)]
    tick_at, tick_names = x_ticks or (nice_ticks(min(xs), max(xs)), [])
    bottom = HEIGHT - BOTTOM
    for i, at in enumerate(tick_at):
        x = frame.x(at)
        name = tick_names[i] if tick_names else short_number(at)
        parts += [_line(x, bottom, x, bottom + 4, "axis"), _text(x, bottom + 16, name)]
    for value, name in hlines:
        parts += _hline(frame, value, name)
    for value, name in vlines:
        x = frame.x(value)
        parts += [_line(x, TOP, x, bottom, "mark"), _text(x + 4, TOP + 10, name, "start", "mark-text")]
    for i, s in enumerate(series):
        parts += _series(frame, s, COLOURS[i % len(COLOURS)])
        parts.append(_legend_entry(i, s.label, COLOURS[i % len(COLOURS)]))
    return "\n".join([*parts, "</svg>"])


def _series(frame: _Frame, s: Series, colour: str) -> list[str]:
    points = [
        (frame.x(x), frame.y(y))
        for x, y in zip(s.xs, s.ys, strict=True)
        if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)
    ]
    parts = []
    if not s.points_only and len(points) > 1:
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    if s.points_only or len(points) <= 40:
        radius = 2.5 if s.points_only else 3
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}"/>' for x, y in points]
    return parts


def _legend_entry(index: int, label: str, colour: str) -> str:
    x, y = LEFT + 10 + 130 * (index % 3), TOP + 6 + 14 * (index // 3)
    return (
        f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>'
        f'<text x="{x + 14}" y="{y + 9}" class="legend">{escape(label)}</text>'
    )


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    y_label: str = "",
    flagged: Sequence[bool] = (),
    hlines: Sequence[tuple[float, str]] = (),
) -> str:
    """One bar per label (a missing value leaves its place empty); flagged bars in red.
    Empty without data."""
    shown = _finite(values)
    if not shown:
        return ""
    limits = [*shown, 0.0, *(v for v, _ in hlines)]
    y_ticks = nice_ticks(min(limits), max(limits))
    frame = _Frame((0.0, float(len(labels))), (min([*limits, *y_ticks]), max([*limits, *y_ticks])))
    parts = [*_open(title), *_axes(frame, y_ticks, "", y_label)]
    slot = (WIDTH - LEFT - RIGHT) / len(labels)
    every = max(1, math.ceil(len(labels) * 60 / (WIDTH - LEFT - RIGHT)))  # a label takes ~60 px
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is not None and math.isfinite(value):
            top, base = sorted((frame.y(value), frame.y(0.0)))
            colour = COLOURS[1] if i < len(flagged) and flagged[i] else COLOURS[0]
            box = f'x="{frame.x(i) + slot * 0.15:.1f}" y="{top:.1f}" width="{slot * 0.7:.1f}"'
            parts.append(
                f'<rect {box} height="{max(base - top, 0.5):.1f}" fill="{colour}">'
                f"<title>{escape(label)}: {value:.4g}</title></rect>"
            )
        if i % every == 0:
            short = cut(label, 10)
            parts.append(_text(frame.x(i) + slot / 2, HEIGHT - BOTTOM + 16, short))
    for value, name in hlines:
        parts += _hline(frame, value, name)
    return "\n".join([*parts, "</svg>"])
