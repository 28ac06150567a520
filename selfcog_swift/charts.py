"""Inline SVG charts for report.html: labelled axes, units, ticks; no plotting library, no files."""

from __future__ import annotations

import html
from typing import Optional, Sequence

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 150, 16, 44
TICKS = 5


def _ticks(low: float, high: float, count: int = TICKS) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _frame(y_low: float, y_high: float, x_label: str, y_label: str, title: str) -> tuple[list[str], callable]:
    plot_h = HEIGHT - TOP - BOTTOM
    sy = lambda y: TOP + (y_high - y) / ((y_high - y_low) or 1) * plot_h  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="11">',
             f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>',
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#333"/>',
             f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">{html.escape(x_label)}</text>',
             f'<text transform="translate(14,{TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
             f'{html.escape(y_label)}</text>']
    for tick in _ticks(y_low, y_high):
        y = sy(tick)
        parts.append(f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    return parts, sy


def _legend(names: Sequence[str]) -> list[str]:
    return [f'<rect x="{WIDTH - RIGHT + 12}" y="{TOP + 16 * i}" width="10" height="10" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{WIDTH - RIGHT + 26}" y="{TOP + 9 + 16 * i}">{html.escape(name)}</text>'
            for i, name in enumerate(names)]


def line_chart(series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str, title: str,
               mark: Optional[float] = None, mark_label: str = "chosen", y_range: Optional[tuple] = None) -> str:
    """Lines (with points) over a shared x axis; `mark` draws a labelled vertical line (the chosen step)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return f"<p>{html.escape(title)}: nothing was logged.</p>"
    xs = [p[0] for p in points] + ([mark] if mark is not None else [])
    x0, x1 = min(xs), max(xs)
    y0, y1 = y_range or (min(0.0, min(p[1] for p in points)), max(p[1] for p in points) * 1.05 or 1.0)
    parts, sy = _frame(y0, y1, x_label, y_label, title)
    plot_w = WIDTH - LEFT - RIGHT
    sx = lambda x: LEFT + (x - x0) / ((x1 - x0) or 1) * plot_w  # noqa: E731
    for tick in _ticks(x0, x1):
        parts.append(f'<text x="{sx(tick):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{_fmt(round(tick))}</text>')
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in values]
    if mark is not None:
        parts.append(f'<line x1="{sx(mark):.1f}" y1="{TOP}" x2="{sx(mark):.1f}" y2="{HEIGHT - BOTTOM}" '
                     f'stroke="#000" stroke-dasharray="4 3"/><text x="{sx(mark) + 4:.1f}" y="{TOP + 10}">'
                     f'{html.escape(mark_label)}</text>')
    return "\n".join(parts + _legend(list(series)) + ["</svg>"])


def bar_chart(groups: list[tuple[str, list[tuple[str, Optional[float], Optional[tuple]]]]], y_label: str,
              title: str, y_max: float = 1.0) -> str:
    """Grouped bars: groups of (bar name, value, (low, high) interval or None); whiskers show intervals."""
    names = list(dict.fromkeys(name for _, bars in groups for name, _, _ in bars))
    if not groups:
        return f"<p>{html.escape(title)}: nothing to show.</p>"
    parts, sy = _frame(0.0, y_max, "", y_label, title)
    slot = (WIDTH - LEFT - RIGHT) / len(groups)
    bar_w = slot * 0.8 / max(len(names), 1)
    for g, (label, bars) in enumerate(groups):
        left = LEFT + g * slot + slot * 0.1
        centre = LEFT + (g + 0.5) * slot
        lines = "".join(f'<tspan x="{centre:.1f}" dy="{0 if i == 0 else 12}">{html.escape(word)}</tspan>'
                        for i, word in enumerate(label.split(" ", 1)))
        parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">{lines}</text>')
        for name, value, interval in bars:
            if value is None:
                continue
            i = names.index(name)
            x = left + i * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{sy(value):.1f}" width="{bar_w - 2:.1f}" '
                         f'height="{sy(0) - sy(value):.1f}" fill="{COLOURS[i % len(COLOURS)]}">'
                         f'<title>{html.escape(name)} {value:.2f}</title></rect>')
            parts.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{sy(value) - 3:.1f}" text-anchor="middle" '
                         f'font-size="9">{value:.2f}</text>')
            if interval:
                cx = x + bar_w / 2 - 1
                parts.append(f'<line x1="{cx:.1f}" y1="{sy(interval[0]):.1f}" x2="{cx:.1f}" '
                             f'y2="{sy(interval[1]):.1f}" stroke="#000"/>')
    return "\n".join(parts + _legend(names) + ["</svg>"])
