"""Which entries need a human to check them again."""

from __future__ import annotations

import datetime as dt

from .loader import Knowledge


def stale_entries(knowledge: Knowledge, older_than_days: int, today: dt.date) -> list[dict[str, str]]:
    """Services last verified more than N days ago, and answers past their review date."""
    cutoff = today - dt.timedelta(days=older_than_days)
    stale = []
    for s in knowledge.services:
        if s.last_verified < cutoff:
            age = (today - s.last_verified).days
            stale.append(
                {
                    "kind": "service",
                    "id": s.id,
                    "reason": f"last verified {s.last_verified.isoformat()} ({age} days ago)",
                }
            )
    for a in knowledge.answers:
        if a.review_by < today:
            stale.append(
                {"kind": "answer", "id": a.id, "reason": f"review was due {a.review_by.isoformat()}"}
            )
        elif a.last_reviewed < cutoff:
            stale.append(
                {"kind": "answer", "id": a.id, "reason": f"last reviewed {a.last_reviewed.isoformat()}"}
            )
    return stale
