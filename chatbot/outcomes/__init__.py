"""Outcomes for commissioners: events recorded as they happen, and aggregate reports.

models.py (the events table), record.py (what the actions call), report.py (the figures
for a period and area), suppression.py (small numbers hidden), render_*.py (csv, json, html).
"""
