"""Inline SVG charts for the reports: no script, no external resource, readable at any size.

Every chart fits its axes to the data it shows (a value range of 95-97 is not drawn on 0-100),
never prints two labels over each other (labels that would collide are left to the table beside
the chart), and a long list is summarised by the caller (the N lowest and highest) instead of
drawing hundreds of bars.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from tasks.reporting.report_text import (
    ORG_PREDIKAT_COLORS,
    ORG_PREDIKAT_LABELS,
    format_int,
    format_number,
    format_pct,
    label,
    missing,
)

FONT = "Helvetica, Arial, sans-serif"
# Average glyph width of the chart font per pixel of font size (for label boxes and cuts).
_GLYPH = 0.58


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = 12,
          weight: str = "normal", fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}">{escape(content)}</text>')


def _fit(text: str, width_px: float, size: int) -> str:
    """`text` cut with an ellipsis to fit `width_px` at font `size`."""
    most = max(int(width_px / (size * _GLYPH)), 4)
    return text if len(text) <= most else text[: most - 1] + "…"


def _svg(width: float, height: float, body: Iterable[str], title: str) -> Markup:
    return Markup(
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
        f'style="max-width:{width:.0f}px" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}"><title>{escape(title)}</title>{"".join(body)}</svg>'
    )


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if high < low:
        low, high = high, low
    if high - low < 1e-9:
        pad = max(abs(high) * 0.05, 0.5)
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _tick_text(value: float, ticks: Sequence[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    decimals = 0 if abs(step - round(step)) < 1e-9 else (1 if abs(step * 10 - round(step * 10))
                                                          < 1e-9 else 2)
    return format_number(value, decimals)


def column_chart(items: Sequence[tuple[str, int, str]], title: str) -> Markup:
    """Vertical bars with their counts: (label, count, colour). Counts start at 0."""
    width, height, left, bottom, top = 720, 260, 20, 40, 24
    peak = max([count for _, count, _ in items] + [1])
    step = (width - left - 10) / max(len(items), 1)
    plot = height - bottom - top
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
            f'stroke="#888"/>']
    for i, (name, count, colour) in enumerate(items):
        bar = plot * count / peak
        x = left + i * step + step * 0.15
        y = height - bottom - bar
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{bar:.1f}" fill="{colour}"><title>{escape(name)}: '
                    f"{format_int(count)}</title></rect>")
        body.append(_text(x + step * 0.35, y - 5, format_int(count), anchor="middle",
                          weight="bold"))
        body.append(_text(x + step * 0.35, height - bottom + 16, _fit(name, step, 12),
                          anchor="middle"))
    return _svg(width, height, body, title)


@dataclass(frozen=True)
class Row:
    """One row of a list chart: its label, value and the value as shown."""

    name: str
    value: float | None
    text: str
    gap_before: bool = False  # draw a "…" separator above (between lowest and highest)


def bar_list_chart(rows: Sequence[Row], title: str, *, colour: str = "#3b82c4",
                   label_width: int = 300) -> Markup:
    """Horizontal bars from 0 for counts and amounts (where 0 is a meaningful baseline)."""
    bar_w, tail_w, row_h, top = 420, 80, 22, 24
    gaps = sum(r.gap_before for r in rows)
    width = label_width + bar_w + tail_w
    height = top + row_h * (len(rows) + gaps) + 8
    values = [r.value for r in rows if not missing(r.value)]
    ticks = nice_ticks(0, max(values + [1e-9]) or 1, 4)
    maximum = ticks[-1] or 1
    body = []
    for tick in ticks:
        x = label_width + bar_w * tick / maximum
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" '
                    f'stroke="#e6e6e6"/>')
        body.append(_text(x, top - 8, _tick_text(tick, ticks), anchor="middle", size=10,
                          fill="#555"))
    body.append(f'<line x1="{label_width}" y1="{top - 4}" x2="{label_width}" '
                f'y2="{height - 6}" stroke="#888"/>')
    y = top
    for row in rows:
        if row.gap_before:
            body.append(_text(label_width - 8, y + 14, "…", anchor="end", size=12,
                              fill="#777"))
            y += row_h
        length = 0.0 if missing(row.value) else bar_w * min(row.value / maximum, 1.0)
        body.append(_text(label_width - 8, y + 14, _fit(row.name, label_width - 12, 11),
                          anchor="end", size=11))
        body.append(f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" '
                    f'height="{row_h - 8}" fill="{colour}"><title>{escape(row.name)}: '
                    f"{escape(row.text)}</title></rect>")
        body.append(_text(label_width + length + 6, y + 14, row.text, size=11))
        y += row_h
    return _svg(width, height, body, title)


def dot_chart(rows: Sequence[Row], title: str, *, axis_label: str,
              colour: str = "#2e7d6b", label_width: int = 300) -> Markup:
    """A dot per row on an axis fitted to the values (not from 0): differences of a point or
    two between units stay visible, and a dot, unlike a bar, does not pretend to start at 0."""
    plot_w, tail_w, row_h, top, bottom = 420, 70, 22, 12, 38
    gaps = sum(r.gap_before for r in rows)
    width = label_width + plot_w + tail_w
    height = top + row_h * (len(rows) + gaps) + bottom
    values = [r.value for r in rows if not missing(r.value)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.05
    ticks = nice_ticks(low - pad, high + pad, 5)
    low, high = ticks[0], ticks[-1]

    def px(value: float) -> float:
        return label_width + plot_w * (value - low) / ((high - low) or 1)

    axis_y = height - bottom + 4
    body = []
    for tick in ticks:
        body.append(f'<line x1="{px(tick):.1f}" y1="{top}" x2="{px(tick):.1f}" y2="{axis_y}" '
                    f'stroke="#e6e6e6"/>')
        body.append(_text(px(tick), axis_y + 14, _tick_text(tick, ticks), anchor="middle",
                          size=10, fill="#555"))
    body.append(f'<line x1="{label_width}" y1="{axis_y}" x2="{label_width + plot_w}" '
                f'y2="{axis_y}" stroke="#888"/>')
    body.append(_text(label_width + plot_w / 2, height - 4, axis_label, anchor="middle",
                      size=11, fill="#444"))
    y = top
    for row in rows:
        if row.gap_before:
            body.append(f'<line x1="{label_width}" y1="{y + row_h / 2:.1f}" '
                        f'x2="{label_width + plot_w}" y2="{y + row_h / 2:.1f}" stroke="#bbb" '
                        f'stroke-dasharray="2,4"/>')
            body.append(_text(label_width - 8, y + 14, "…", anchor="end", fill="#777"))
            y += row_h
        body.append(_text(label_width - 8, y + 14, _fit(row.name, label_width - 12, 11),
                          anchor="end", size=11))
        if not missing(row.value):
            x = px(row.value)
            body.append(f'<line x1="{label_width}" y1="{y + 10}" x2="{x:.1f}" y2="{y + 10}" '
                        f'stroke="#cfd8d6"/>')
            body.append(f'<circle cx="{x:.1f}" cy="{y + 10}" r="5" fill="{colour}"><title>'
                        f"{escape(row.name)}: {escape(row.text)}</title></circle>")
        body.append(_text(label_width + plot_w + 6, y + 14, row.text, size=11))
        y += row_h
    return _svg(width, height, body, title)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    name: str
    org_predikat: str | None
    mark: str | None = None  # a short label (a number) drawn beside the point when it fits


def scatter_chart(points: Sequence[Point], title: str, *, x_label: str, y_label: str,
                  reference: tuple[float, float] | None = (100.0, 100.0)) -> Markup:
    """Every point drawn (translucent, so stacked points darken), axes fitted to the points and
    the reference lines, and marks placed only where they overlap no other mark."""
    width, height, left, bottom, top, right = 720, 440, 64, 52, 16, 20
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [p.x for p in points] + ([reference[0]] if reference else [])
    ys = [p.y for p in points] + ([reference[1]] if reference else [])
    # A little room around the points, so none sits on the frame.
    x_pad, y_pad = (max(xs) - min(xs)) * 0.03, (max(ys) - min(ys)) * 0.03
    x_ticks = nice_ticks(min(xs) - x_pad, max(xs) + x_pad, 6)
    y_ticks = nice_ticks(min(ys) - y_pad, max(ys) + y_pad, 6)

    def px(x: float) -> float:
        return left + plot_w * (x - x_ticks[0]) / ((x_ticks[-1] - x_ticks[0]) or 1)

    def py(y: float) -> float:
        return top + plot_h * (1 - (y - y_ticks[0]) / ((y_ticks[-1] - y_ticks[0]) or 1))

    body = []
    for tick in x_ticks:
        body.append(f'<line x1="{px(tick):.1f}" y1="{top}" x2="{px(tick):.1f}" '
                    f'y2="{top + plot_h}" stroke="#eee"/>')
        body.append(_text(px(tick), top + plot_h + 16, _tick_text(tick, x_ticks),
                          anchor="middle", size=11))
    for tick in y_ticks:
        body.append(f'<line x1="{left}" y1="{py(tick):.1f}" x2="{left + plot_w}" '
                    f'y2="{py(tick):.1f}" stroke="#eee"/>')
        body.append(_text(left - 6, py(tick) + 4, _tick_text(tick, y_ticks), anchor="end",
                          size=11))
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
                f'stroke="#888"/>')
    if reference:
        body.append(f'<line x1="{px(reference[0]):.1f}" y1="{top}" x2="{px(reference[0]):.1f}"'
                    f' y2="{top + plot_h}" stroke="#777" stroke-dasharray="5,4"/>')
        body.append(f'<line x1="{left}" y1="{py(reference[1]):.1f}" x2="{left + plot_w}" '
                    f'y2="{py(reference[1]):.1f}" stroke="#777" stroke-dasharray="5,4"/>')
    body.append(_text(left + plot_w / 2, height - 10, x_label, anchor="middle", weight="bold"))
    body.append(f'<text x="16" y="{top + plot_h / 2:.1f}" font-size="12" font-weight="bold" '
                f'text-anchor="middle" transform="rotate(-90 16 {top + plot_h / 2:.1f})">'
                f"{escape(y_label)}</text>")
    for p in points:
        colour = ORG_PREDIKAT_COLORS.get(p.org_predikat or "", "#777")
        tip = (f"{p.name}: {y_label} {format_number(p.y)}, {x_label.lower()} "
               f"{format_pct(p.x)}, predikat organisasi "
               f"{label(ORG_PREDIKAT_LABELS, p.org_predikat)}")
        body.append(f'<circle cx="{px(p.x):.1f}" cy="{py(p.y):.1f}" r="5" fill="{colour}" '
                    f'fill-opacity="0.6" stroke="#fff" stroke-width="0.8"><title>{escape(tip)}'
                    f"</title></circle>")
    # Marks: each tries a few places around its point and is drawn at the first that overlaps
    # no point's dot and no mark already drawn (boxes in pixels: x0, y0, x1, y1).
    taken = [(px(p.x) - 5, py(p.y) - 5, px(p.x) + 5, py(p.y) + 5) for p in points]
    for p in points:
        if not p.mark:
            continue
        cx, cy = px(p.x), py(p.y)
        w, h = len(p.mark) * 11 * _GLYPH + 2, 12
        for dx, dy in ((7, -7), (7, 5), (-7 - w, -7), (-7 - w, 5), (-w / 2, -19), (-w / 2, 8)):
            box = (cx + dx, cy + dy, cx + dx + w, cy + dy + h)
            inside = left <= box[0] and box[2] <= left + plot_w and top <= box[1] and \
                box[3] <= top + plot_h
            if inside and not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and
                                  t[1] < box[3] for t in taken if t != (cx - 5, cy - 5,
                                                                         cx + 5, cy + 5)):
                taken.append(box)
                body.append(_text(box[0] + 1, box[3] - 2, p.mark, size=11, weight="bold"))
                break
    return _svg(width, height, body, title)
