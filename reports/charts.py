"""Charts drawn on the server as inline SVG (no script, no outside host): scale to the page width, so they read on a phone.

Each function returns safe markup; the page prints the same numbers as a table under every chart.
"""
from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

W, H = 640, 220
COLOR = "#2563eb"


def _svg(body: str, *, height: int, label: str) -> str:
    return mark_safe(f'<svg class="chart" viewBox="0 0 {W} {height}" width="100%" role="img" aria-label="{escape(label)}" '
                     f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def columns(values: list[int], labels: list[str], *, label: str, every: int = 1) -> str:
    """Vertical bars (sales by day)."""
    top = max(values or [0]) or 1
    n = max(len(values), 1)
    bw = (W - 40) / n
    parts = [f'<line x1="30" y1="{H - 20}" x2="{W}" y2="{H - 20}" stroke="#999"/>',
             f'<text x="0" y="12" font-size="11" fill="#555">{top}</text>' if top > 1 else ""]
    for i, v in enumerate(values):
        h = (H - 40) * v / top
        x = 32 + i * bw
        parts.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                                 f"{x:.1f}", f"{H - 20 - h:.1f}", f"{max(bw - 1, 1):.1f}", f"{h:.1f}", COLOR, labels[i], v))
        if i % every == 0:
            parts.append(format_html('<text x="{}" y="{}" font-size="10" fill="#555">{}</text>', f"{x:.1f}", H - 6, labels[i]))
    return _svg("".join(str(p) for p in parts), height=H, label=label)


def bars(rows: list[tuple[str, int]], *, label: str) -> str:
    """Horizontal ranked bars (regions, products, value bands)."""
    top = max([v for _l, v in rows] or [0]) or 1
    rh = 22
    height = max(len(rows), 1) * rh + 4
    parts = []
    for i, (name, v) in enumerate(rows):
        w = (W - 260) * v / top
        y = i * rh + 2
        parts.append(format_html('<text x="0" y="{}" font-size="12" fill="#333">{}</text>', y + 14, str(name)[:28]))
        parts.append(format_html('<rect x="190" y="{}" width="{}" height="{}" fill="{}"></rect>', y + 2, f"{w:.1f}", rh - 6, COLOR))
        parts.append(format_html('<text x="{}" y="{}" font-size="11" fill="#333">{}</text>', f"{196 + w:.1f}", y + 14, v))
    return _svg("".join(str(p) for p in parts), height=height, label=label)


def heat(grid: list[list[int]], day_labels: list[str], *, label: str) -> str:
    """Weekday x hour grid, darker = more orders."""
    top = max(max(r) for r in grid) or 1
    cw, ch = (W - 50) / 24, 24
    parts = []
    for d, row in enumerate(grid):
        parts.append(format_html('<text x="0" y="{}" font-size="11" fill="#333">{}</text>', d * ch + 16, day_labels[d]))
        for h, v in enumerate(row):
            opacity = 0.06 + 0.94 * v / top if v else 0.03
            parts.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="{}"><title>{} {}:00 {}</title></rect>',
                                     f"{50 + h * cw:.1f}", d * ch, f"{cw - 1:.1f}", ch - 2, COLOR, f"{opacity:.2f}",
                                     day_labels[d], h, v))
    for h in range(0, 24, 3):
        parts.append(format_html('<text x="{}" y="{}" font-size="10" fill="#555">{}</text>', f"{50 + h * cw:.1f}", 7 * ch + 12, h))
    return _svg("".join(str(p) for p in parts), height=7 * ch + 16, label=label)
