"""The report as CSV (one published figure a line) and as JSON."""

from __future__ import annotations

import csv
import io
import json

from chatbot.outcomes.report import Report, Table
from chatbot.outcomes.suppression import Shown


def _json_value(shown: Shown) -> int | float | str:
    """A number where one is published; otherwise the text ("<5", "[c]", a date, "-")."""
    return shown.text if shown.value is None else shown.value


def _table_json(table: Table) -> dict:
    return {
        "key": table.key,
        "title": table.title,
        "about": table.about,
        "row_header": table.row_header,
        "columns": list(table.columns),
        "rows": [
            {"label": label, "values": [_json_value(v) for v in values]} for label, values in table.rows
        ],
        "last_row_is_total": table.total_row,
        "last_column_is_total": table.total_column,
    }


def to_json(report: Report) -> str:
    return json.dumps(
        {
            "from": report.date_from.isoformat(),
            "to": report.date_to.isoformat(),
            "area": report.area_id,
            "area_name": report.area_name,
            "generated_on": report.generated_on.isoformat(),
            "suppression": {
                "<5": "a count from 1 to 4",
                "[c]": "hidden so that a '<5' cannot be worked out",
                "[w]": "withheld with its linked tables: too few people in all",
                "-": "not worked out: a part is hidden, or a median of fewer than 5",
            },
            "tables": [_table_json(t) for t in report.tables],
        },
        indent=2,
        ensure_ascii=False,
    )


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "row", "column", "value", "from", "to", "area"])
    area = report.area_id or "all"
    for table in report.tables:
        for label, values in table.rows:
            for column, shown in zip(table.columns, values, strict=True):
                writer.writerow(
                    [table.key, label, column, shown.text, report.date_from, report.date_to, area]
                )
    return out.getvalue()
