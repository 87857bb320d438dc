"""The charts of ``facetrack report`` as inline SVG, drawn here (no JavaScript, no library):
grouped bars for up to ``MAX_BARS`` groups, lines past that, with axes, ticks, a legend (HTML,
so it wraps on a phone) and a tooltip per bar or point. Every text is HTML-escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: the people-in-view series; then one colour per target, in the order of audience.csv
OTS_COLOUR = "#4c5fd5"
PALETTE = ("#e4572e", "#129a8d", "#9b4dca", "#d99a00", "#2b7bd6", "#c2185b")
#: the SVG's own coordinates (it scales to its box): fonts stay readable from phone to laptop
WIDTH, HEIGHT = 420.0, 210.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 8.0, 10.0, 30.0
MAX_BARS = 30
MAX_LABELS = 6


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    values: Sequence[float]


def target_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def chart(title: str, labels: Sequence[str], series: Sequence[Series], unit: str,
          show_every_label: bool = False, integer: bool = False) -> str:
    """A ``<figure>``: the SVG (bars, or lines when there are many groups) and its legend.
    ``labels`` name the groups (x axis); ``unit`` follows each value in the tooltips;
    ``integer``: the values are counts (no tick between two whole numbers)."""
    top, step = _scale(max((v for s in series for v in s.values), default=0.0), integer)
    parts = [f'<svg viewBox="0 0 {WIDTH:g} {HEIGHT:g}" role="img" aria-label="{escape(title)}" '
             'preserveAspectRatio="xMidYMid meet">', f"<title>{escape(title)}</title>",
             _y_axis(top, step), _x_axis(labels, show_every_label)]
    if len(labels) <= MAX_BARS:
        parts.append(_bars(labels, series, top, unit))
    else:
        parts.append(_lines(labels, series, top, unit))
    parts.append("</svg>")
    return (f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{"".join(parts)}'
            f"{legend(series)}</figure>")


def legend(series: Sequence[Series]) -> str:
    items = "".join(f'<li><span class="swatch" style="background:{s.colour}"></span>'
                    f"{escape(s.label)}</li>" for s in series)
    return f'<ul class="legend">{items}</ul>'


def _scale(value: float, integer: bool) -> tuple[float, float]:
    """(top, step) of the y axis: ticks every step (1, 2 or 5 times a power of ten; at least
    1 for counts) from 0 up to top, the first at or above ``value``."""
    if not math.isfinite(value) or value <= 0:
        return 1.0, 1.0 if integer else 0.25
    raw = value / 4
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw * (1 - 1e-9))
    if integer:
        step = max(step, 1.0)
    return step * math.ceil(value / step - 1e-9), step


def _tick(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:.3g}"


def _y(value: float, top: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - plot * max(0.0, min(value, top)) / top


def _y_axis(top: float, step: float) -> str:
    out = []
    for k in range(round(top / step) + 1):
        value = k * step
        y = _y(value, top)
        out.append(f'<line class="grid" x1="{LEFT:g}" x2="{WIDTH - RIGHT:g}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/><text class="tick" x="{LEFT - 5:g}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{escape(_tick(value))}</text>')
    return "".join(out)


def _slot(n: int) -> float:
    return (WIDTH - LEFT - RIGHT) / max(n, 1)


def _x_axis(labels: Sequence[str], every: bool) -> str:
    n, slot = len(labels), _slot(len(labels))
    step = 1 if every else max(1, math.ceil(n / MAX_LABELS))
    base = HEIGHT - BOTTOM
    out = [f'<line class="axis" x1="{LEFT:g}" x2="{WIDTH - RIGHT:g}" y1="{base:g}" '
           f'y2="{base:g}"/>']
    for i in range(0, n, step):
        x = LEFT + (i + 0.5) * slot
        out.append(f'<text class="tick" x="{x:.1f}" y="{base + 16:g}" text-anchor="middle">'
                   f"{escape(labels[i])}</text>")
    return "".join(out)


def _bars(labels: Sequence[str], series: Sequence[Series], top: float, unit: str) -> str:
    slot = _slot(len(labels))
    width = slot * 0.8 / max(len(series), 1)
    out = []
    for i, label in enumerate(labels):
        for k, s in enumerate(series):
            value = s.values[i]
            x = LEFT + i * slot + slot * 0.1 + k * width
            y = _y(value, top)
            h = HEIGHT - BOTTOM - y
            out.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{h:.2f}" '
                       f'fill="{s.colour}"><title>{escape(label)}: {escape(s.label)} '
                       f"{escape(_tick(value))}{escape(unit)}</title></rect>")
    return "".join(out)


def _lines(labels: Sequence[str], series: Sequence[Series], top: float, unit: str) -> str:
    slot = _slot(len(labels))
    out = []
    for s in series:
        points = " ".join(f"{LEFT + (i + 0.5) * slot:.1f},{_y(v, top):.1f}"
                          for i, v in enumerate(s.values))
        out.append(f'<polyline fill="none" stroke="{s.colour}" stroke-width="2" '
                   f'stroke-linejoin="round" points="{points}"><title>{escape(s.label)} '
                   f"({escape(unit.strip() or 'count')})</title></polyline>")
    return "".join(out)
