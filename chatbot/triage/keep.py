"""What a person can keep: the services, how to contact them, the reference, the date, help now.

The same content three ways: the widget's printable page (built in the browser from the
`keep` part of the recommendations payload), Telegram's /summary and "summary" typed in any
channel (one text message). Nothing of what the person said is in it: a printed page left on
a reception desk shows services and help lines, not a health condition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from chatbot.safety.routes import Routes

from .recommend import Match

TITLE = "Health and work support: your details"
HELP_NOW = "If you need help now"


def keep_payload(
    matches: Sequence[Match], routes: Routes, nation: str | None, today: dt.date, reference: str | None = None
) -> dict:
    """The `keep` part of the recommendations payload (docs/web-widget.md)."""
    return {
        "title": TITLE,
        "date": today.isoformat(),
        "services": [{"name": m.name, "how_to_contact": m.next_step.strip()} for m in matches],
        "reference": reference,
        "help_now": list(routes.help_now(nation)),
    }


def keep_text(payload: dict) -> str:
    """The same as one plain text message: no blank lines, as Rasa's channels would split it
    into several messages there."""
    date = dt.date.fromisoformat(payload["date"])
    lines = [f"{payload['title']} ({date:%-d %B %Y})"]
    for number, service in enumerate(payload["services"], start=1):
        lines += [f"{number}. {service['name']}", service["how_to_contact"]]
    if payload.get("reference"):
        lines.append(f"Your referral reference: {payload['reference']}")
    lines.append(f"{HELP_NOW}:")
    lines += [f"- {line}" for line in payload["help_now"]]
    return "\n".join(lines)
