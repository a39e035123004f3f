"""A daily line chart drawn as inline SVG on the server: no JavaScript, nothing to vendor."""

from __future__ import annotations

import math
from datetime import date, timedelta
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Distinguishable on white and for common colour blindness (Okabe–Ito palette).
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 32, 16, 36
# Dashes tell overlapping lines apart, and do not rely on colour alone.
DASHES = ["", "6 4", "2 3", "10 3 2 3"]
GRID_LINES = 4


def _nice_max(value: float) -> float:
    """The smallest 1/2/5×10ⁿ grid step that fits `value` in four lines, times four."""
    if value <= 0:
        return GRID_LINES
    step = value / GRID_LINES
    magnitude = 10 ** math.floor(math.log10(step))
    for nice in (1, 2, 5, 10):
        if step <= nice * magnitude:
            return max(nice * magnitude, 1) * GRID_LINES
    return 10 * magnitude * GRID_LINES


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.1f}"


def line_chart(*, start: date, series: list[tuple[str, list[float]]], title: str,
               chart_id: str = "chart") -> SafeString:
    """An accessible SVG: one polyline per named series of daily values from `start`.

    `chart_id` names the title element (`<chart_id>-title`): one per chart of a page.
    """
    days = max((len(values) for _, values in series), default=0)
    if days == 0:
        return mark_safe("")
    top = _nice_max(max((max(values, default=0) for _, values in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / (days - 1) if days > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for step in range(GRID_LINES + 1):  # horizontal grid with value labels
        value = top * step / GRID_LINES
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="#e4e7ec"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#59636e">{_label(value)}</text>')
    label_every = max(1, days // 8)
    for i in range(0, days, label_every):  # day labels along the bottom
        day = start + timedelta(days=i)
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
                     f'font-size="11" fill="#59636e">{day:%b %d}</text>')
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        dash = DASHES[index % len(DASHES)]
        parts.append(f'<polyline class="series" data-name="{escape(name)}" fill="none" '
                     f'stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}" '
                     f'points="{points}">'
                     f'<title>{escape(name)}</title></polyline>')
        if days == 1:
            parts.append(f'<circle cx="{x(0):.1f}" cy="{y(values[0]):.1f}" r="4" '
                         f'fill="{colour}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg class="swatch" width="28" height="8" aria-hidden="true"><line x1="0" y1="4" '
        f'x2="28" y2="4" stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="3" '
        f'stroke-dasharray="{DASHES[i % len(DASHES)]}"/></svg>{escape(name)}</li>'
        for i, (name, _) in enumerate(series)
    )
    return mark_safe("".join(parts) + f'<ul class="chart-legend">{legend}</ul>')
