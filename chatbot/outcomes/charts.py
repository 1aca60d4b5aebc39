"""Inline SVG charts for the HTML report: drawn from published figures only.

A hidden figure is drawn as a hatched stub with its mark ("<5" or "[c]"), never to
scale, so a chart cannot give back what a table hides. No script, font or image from
anywhere: the SVG is plain markup inside the page.
"""

from __future__ import annotations

from html import escape

from chatbot.outcomes.report import Table
from chatbot.outcomes.suppression import Shown

BAR = "#1d70b8"
TOTAL_BAR = "#505a5f"
HATCH = """<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse"
 patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3f2f1"/>
 <line x1="0" y1="0" x2="0" y2="6" stroke="#b1b4b6" stroke-width="3"/></pattern></defs>"""


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{HATCH.format(id=chart_id + '-hidden')}{body}</svg>"
    )


def funnel_chart(table: Table) -> str:
    """Horizontal bars, one per stage, as wide as the referrals that reached it."""
    label_width, bar_width, row_height = 210, 420, 34
    values = [values[0] for _, values in table.rows]
    top = max((v.value for v in values if v.value is not None), default=0) or 1
    parts = []
    for i, ((label, _), shown) in enumerate(zip(table.rows, values, strict=True)):
        y = 10 + i * row_height
        parts.append(f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end">{escape(label)}</text>')
        parts.append(_bar(shown, label_width, y, bar_width * ((shown.value or 0) / top), 24, "funnel", BAR))
    height = 20 + len(values) * row_height
    return _svg(
        "funnel-chart",
        label_width + bar_width + 60,
        height,
        table.title,
        "Bars show how many referrals reached each stage; the table beside it has the same figures.",
        "".join(parts),
    )


def _bar(shown: Shown, x: float, y: float, width: float, height: float, chart: str, colour: str) -> str:
    if shown.value is None:  # hidden, or a sum with a hidden figure in it
        return (
            f'<rect x="{x}" y="{y}" width="14" height="{height}" fill="url(#{chart}-chart-hidden)" '
            f'stroke="#b1b4b6"><title>{escape(shown.text)}</title></rect>'
            f'<text x="{x + 20}" y="{y + height * 0.7:.0f}">{escape(shown.text)}</text>'
        )
    return (
        f'<rect x="{x}" y="{y}" width="{max(width, 1):.1f}" height="{height}" fill="{colour}">'
        f"<title>{escape(shown.text)}</title></rect>"
        f'<text x="{x + max(width, 1) + 6:.1f}" y="{y + height * 0.7:.0f}">{escape(shown.text)}</text>'
    )


def over_time_chart(table: Table) -> str:
    """Small multiples: one row of bars per service, one bar per week or month.

    Services share one scale, so their bars compare; "All services" has its own.
    """
    periods = table.columns[:-1]
    label_width, row_height, bar_gap = 320, 46, 4
    bar_width = max(8, min(40, 480 // max(len(periods), 1) - bar_gap))
    service_rows = table.rows[:-1]
    top = max((v.value for _, vs in service_rows for v in vs[:-1] if v.value is not None), default=0) or 1
    parts = []
    for i, (label, values) in enumerate(table.rows):
        is_total = i == len(table.rows) - 1
        y = 10 + i * row_height
        scale = (
            (max((v.value for v in values[:-1] if v.value is not None), default=0) or 1) if is_total else top
        )
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 26}" text-anchor="end">'
            f"{escape(label)}{' (own scale)' if is_total else ''}</text>"
        )
        for j, shown in enumerate(values[:-1]):
            x = label_width + j * (bar_width + bar_gap)
            parts.append(_column(shown, x, y, bar_width, 36, scale, TOTAL_BAR if is_total else BAR))
    axis_y = 10 + len(table.rows) * row_height
    for j, period in enumerate(periods):
        if len(periods) <= 14 or j % max(1, len(periods) // 8) == 0:
            x = label_width + j * (bar_width + bar_gap) + bar_width / 2
            parts.append(
                f'<text x="{x:.1f}" y="{axis_y + 12}" text-anchor="end" font-size="11" '
                f'transform="rotate(-40 {x:.1f} {axis_y + 12})">{escape(period)}</text>'
            )
    width = label_width + len(periods) * (bar_width + bar_gap) + 20
    return _svg(
        "over-time-chart",
        max(width, 400),
        axis_y + 70,
        table.title,
        "One row of bars per service, one bar per period; hatched bars are hidden small numbers. "
        "The table below has the same figures.",
        "".join(parts),
    )


def _column(shown: Shown, x: float, y: float, width: float, height: float, scale: float, colour: str) -> str:
    if shown.value is None:
        return (
            f'<rect x="{x}" y="{y + height - 8}" width="{width}" height="8" '
            f'fill="url(#over-time-chart-hidden)" stroke="#b1b4b6"><title>{escape(shown.text)}</title></rect>'
        )
    h = height * (shown.value or 0) / scale
    return (
        f'<rect x="{x}" y="{y + height - h:.1f}" width="{width}" height="{max(h, 0.5):.1f}" fill="{colour}">'
        f"<title>{escape(shown.text)}</title></rect>"
    )
