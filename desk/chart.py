"""The report's daily trend as a server-rendered SVG (no chart library, no CDN): breaches as
red bars on the left axis, compliance as a green line on the right axis (0-100 %)."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 46, 46, 16, 40


def trend_svg(days: list[dict[str, Any]]) -> SafeString:
    n = max(1, len(days))
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    most = max([d["breached"] for d in days] + [1])
    step = plot_w / n
    bar_w = max(1.0, step * 0.6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" class="desk-chart" role="img" id="trend-chart" '
        f'aria-label="Daily SLA breaches and compliance">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        f'stroke="#ddd"/>',
    ]
    for frac in (0.25, 0.5, 0.75, 1.0):  # grid + right axis (compliance %)
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#eee"/>')
        parts.append(f'<text x="{W - RIGHT + 4}" y="{y + 4:.1f}" font-size="11" '
                     f'fill="#2e7d32">{int(frac * 100)}%</text>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" fill="#c62828" '
                     f'text-anchor="end">{round(most * frac)}</text>')
    points = []
    for i, d in enumerate(days):
        x = LEFT + step * i + (step - bar_w) / 2
        h = plot_h * d["breached"] / most
        label = escape(f'{d["day"]}: {d["breached"]} breached, {d["met"]} met')
        parts.append(f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" '
                     f'width="{bar_w:.1f}" height="{h:.1f}" fill="#c62828" opacity="0.8">'
                     f'<title>{label}</title></rect>')
        if d["compliance"] is not None:
            cx = LEFT + step * i + step / 2
            cy = TOP + plot_h * (1 - d["compliance"])
            points.append(f"{cx:.1f},{cy:.1f}")
        if n <= 14 or i % max(1, n // 10) == 0:
            parts.append(f'<text x="{LEFT + step * i + step / 2:.1f}" y="{H - BOTTOM + 16}" '
                         f'font-size="10" text-anchor="middle" fill="#555">'
                         f'{escape(d["day"][5:])}</text>')
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#2e7d32" '
                     f'stroke-width="2"/>')
        parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" '
                  f'fill="#2e7d32"/>' for p in points]
    parts.append(f'<text x="{LEFT}" y="{H - 6}" font-size="11" fill="#c62828">\u25a0 breaches '
                 f'per day</text><text x="{LEFT + 150}" y="{H - 6}" font-size="11" '
                 f'fill="#2e7d32">\u2014 compliance</text></svg>')
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped labels only
