"""The report as one self-contained HTML file: tables, and inline SVG charts beside them.

No script, stylesheet, font or image is fetched from anywhere: a commissioner can email
the file or open it offline, and it makes no request when opened.
"""

from __future__ import annotations

from html import escape

from chatbot.outcomes import charts
from chatbot.outcomes.report import Report, Table

# Nothing may load from anywhere, even if a browser meets a stray URL in the file.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;margin:2rem auto;max-width:1100px;
padding:0 1rem;line-height:1.4}
h1{font-size:1.8rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2rem}
.meta{color:#505a5f}.about{color:#505a5f;margin-top:0}
.key{border-left:5px solid #1d70b8;padding:.5rem 1rem;background:#f3f2f1}
.pair{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
table{border-collapse:collapse;margin:.5rem 0;font-size:.95rem}
caption{text-align:left;font-weight:bold;padding:.3rem 0}
th,td{border-bottom:1px solid #b1b4b6;padding:.3rem .6rem;text-align:right}
th[scope=row],thead th:first-child{text-align:left}
tr.total th,tr.total td,td.total{font-weight:bold}
.chart text{font:13px Arial,Helvetica,sans-serif;fill:#0b0c0c}
.scroll{overflow-x:auto;max-width:100%}
"""


def _total_class(is_total: bool) -> str:
    return " class=total" if is_total else ""


def _table(table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in (table.row_header, *table.columns))
    body = []
    for i, (label, values) in enumerate(table.rows):
        is_total = table.total_row and i == len(table.rows) - 1
        cells = "".join(
            f"<td{_total_class(table.total_column and j == len(values) - 1)}>{escape(v.text)}</td>"
            for j, v in enumerate(values)
        )
        body.append(
            f'<tr{" class=total" if is_total else ""}><th scope="row">{escape(label)}</th>{cells}</tr>'
        )
    if not table.rows:
        body.append(f'<tr><td colspan="{len(table.columns) + 1}">None.</td></tr>')
    return (
        f'<div class="scroll"><table id="table-{table.key}"><caption>{escape(table.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _section(table: Table, chart: str = "") -> str:
    inner = f'<div class="pair">{chart}{_table(table)}</div>' if chart else _table(table)
    return (
        f'<section aria-labelledby="h-{table.key}"><h2 id="h-{table.key}">{escape(table.title)}</h2>'
        f'<p class="about">{escape(table.about)}</p>{inner}</section>'
    )


def to_html(report: Report) -> str:
    charts_for = {
        "referral_funnel": charts.funnel_chart,
        "referrals_over_time": charts.over_time_chart,
    }
    sections = [_section(t, charts_for[t.key](t) if t.key in charts_for else "") for t in report.tables]
    period = f"{report.date_from:%-d %B %Y} to {report.date_to:%-d %B %Y}"
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>Outcomes report: {escape(report.area_name)}, {escape(period)}</title>
<style>{STYLE}</style></head>
<body><main>
<h1>Outcomes report</h1>
<p class="meta">{escape(report.area_name)}, {escape(period)} (both days included).
Made on {report.generated_on:%-d %B %Y}.</p>
<div class="key"><p><strong>How to read the numbers.</strong> The report holds counts only: no names,
contact details, references or anything anyone wrote. A count from 1 to 4 is shown as <strong>&lt;5</strong>.
Where a small count could be worked out from a total or another figure, that figure is hidden
too and shown as <strong>[c]</strong>. Where a handful of people in all could still be picked out, a whole
set of tables is withheld and shown as <strong>[w]</strong>. A <strong>-</strong> is a figure not worked out
because one of its parts is hidden (or, for a median, fewer than 5 values). Hatched bars in the charts are
figures not shown.</p></div>
{"".join(sections)}
</main></body></html>
"""
