"""Record outcome events from the actions: one call per countable moment, never a failure.

Every label is checked against a closed list or an id pattern before it is stored, so
whatever a client sends, free text cannot reach the table. A database error is logged
as a warning naming only the error's class, and swallowed: a tally must never break a
conversation.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable

from chatbot.db import session_scope
from chatbot.outcomes import models as m
from chatbot.sources import channel_name

logger = logging.getLogger(__name__)

# Knowledge ids (services, areas) and share-link source ids: letters, digits, '-' and '_'.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ROLES = ("self", "patient", "helper")


def _id(value: object) -> str | None:
    return value if isinstance(value, str) and _ID.match(value) else None


def _role(value: object) -> str:
    return value if value in _ROLES else m.ROLE_NOT_SAID


def _clean(row: dict) -> dict:
    """Only known labels, each checked: a client's free text never reaches the table."""
    if row.get("kind") not in m.KINDS:
        raise ValueError("unknown outcome event kind")
    clean = {"kind": row["kind"]}
    if "channel" in row:
        clean["channel"] = channel_name(row["channel"])
    if "role" in row:
        clean["role"] = _role(row["role"])
    for label in ("source_id", "area_id", "service_id"):
        if label in row:
            clean[label] = _id(row[label])
    return clean


def record_events(rows: Iterable[dict], today: dt.date | None = None, engine=None) -> bool:  # noqa: ANN001
    """Store events (dicts of kind and labels) in one transaction. False if it failed."""
    rows = list(rows)
    if not rows:
        return True
    try:
        if engine is None:
            from chatbot.referrals.runtime import referral_engine

            engine = referral_engine()
        with session_scope(engine) as session:
            for row in rows:
                session.add(m.OutcomeEventRow(occurred_on=today or dt.date.today(), **_clean(row)))
    except Exception as error:  # noqa: BLE001 - a tally must never break a conversation
        logger.warning("could not record an outcome event: %s", type(error).__name__)
        return False
    return True


def record_event(kind: str, **labels: str | None) -> bool:
    """One event; labels are the model's columns (channel, source_id, role, area_id, service_id)."""
    return record_events([{"kind": kind, **labels}])


def conversation_started(channel: str, source_id: str | None, source_area_id: str | None = None) -> bool:
    return record_events(
        [
            {
                "kind": m.CONVERSATION_STARTED,
                "channel": channel,
                "source_id": source_id,
                "area_id": source_area_id,
            }
        ]
    )


def triage_completed(role: object, area_id: object) -> bool:
    """Once per conversation (or fresh start): who the help was for, and where."""
    return record_events([{"kind": m.TRIAGE_COMPLETED, "role": role, "area_id": area_id}])


def services_recommended(service_ids: Iterable[str], area_id: object) -> bool:
    return record_events(
        {"kind": m.SERVICE_RECOMMENDED, "service_id": sid, "area_id": area_id} for sid in service_ids
    )


def crisis_interrupted(area_id: object) -> bool:
    return record_events([{"kind": m.CRISIS_INTERRUPTED, "area_id": area_id}])
