"""Charts drawn on the server as inline SVG: no script, no CDN, readable with the network unplugged.

    {{ bars(points, unit="人", target=2) }}     # in a template; `points` is [(label, value), ...]

A bar chart is what the screens need (counts by month, by village): every bar carries its value
as text and a `<title>` for hover, so the figure reads the same printed in black and white. An
optional `target` draws a dashed line (a coverage rule's minimum) and colours bars below it.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR, LOW, AXIS = "#2b6cb0", "#c05621", "#718096"


def bars(points: Sequence[tuple[str, float]], *, unit: str = "", target: float | None = None,
         width: int = 640, height: int = 200, title: str = "") -> Markup:
    """A vertical bar chart of `points` as an `<svg>` element, sized to fit a 1366×768 screen."""
    if not points:
        return Markup('<p class="hint">暂无数据</p>')
    top = max(max(v for _, v in points), target or 0, 1)
    left, bottom, pad = 8, 34, 16
    step = (width - left) / len(points)
    bar_w = max(4.0, min(48.0, step * 0.7))
    scale = (height - bottom - pad) / top
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="{AXIS}"/>']
    every = max(1, len(points) // 16)  # at most ~16 labels under the axis; every bar keeps its value on hover
    for i, (label, value) in enumerate(points):
        x = left + i * step + (step - bar_w) / 2
        h = value * scale
        y = height - bottom - h
        colour = LOW if target is not None and value < target else BAR
        text = f"{label}:{value:g}{unit}"
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                   f'<title>{escape(text)}</title></rect>')
        if len(points) <= 24:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="11" text-anchor="middle">'
                       f'{value:g}</text>')
        if i % every == 0:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" font-size="11" '
                       f'text-anchor="middle">{escape(label[-7:])}</text>')
    if target is not None:
        y = height - bottom - target * scale
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="{LOW}" stroke-dasharray="5,4"/>'
                   f'<text x="{width - 4}" y="{y - 4:.1f}" font-size="11" text-anchor="end" fill="{LOW}">'
                   f'要求 {target:g}{escape(unit)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
