"""One entry point for the three formats."""

from __future__ import annotations

from chatbot.outcomes.render_html import to_html
from chatbot.outcomes.render_text import to_csv, to_json
from chatbot.outcomes.report import Report

FORMATS = {"html": to_html, "csv": to_csv, "json": to_json}


def render(report: Report, fmt: str) -> str:
    return FORMATS[fmt](report)
