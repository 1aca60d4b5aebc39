"""The outcome-events table: one row per countable moment of a conversation.

What a row may hold is deliberately coarse. No sender id, no text, no time of day
(a day beside a channel and a source could pick one person out of a server log), and
nothing that links two rows of the same conversation: a row is a tally mark with a
label, never a record about someone. Referral, consent and status figures are not
here: the report reads them from the referral tables, which already hold them.
"""

from __future__ import annotations

import sqlalchemy as sa

from chatbot.db import Base

# The kinds of event, and which labels each carries.
CONVERSATION_STARTED = "conversation_started"  # channel, source_id, area_id (the source's)
TRIAGE_COMPLETED = "triage_completed"  # role (who the help is for), area_id
SERVICE_RECOMMENDED = "service_recommended"  # service_id, area_id (the area it was for)
CRISIS_INTERRUPTED = "crisis_interrupted"  # area_id if the person had named one
KINDS = (CONVERSATION_STARTED, TRIAGE_COMPLETED, SERVICE_RECOMMENDED, CRISIS_INTERRUPTED)

ROLE_NOT_SAID = "not_said"


class OutcomeEventRow(Base):
    __tablename__ = "outcome_events"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    kind = sa.Column(sa.String(24), nullable=False)
    occurred_on = sa.Column(sa.Date, nullable=False)
    channel = sa.Column(sa.String(20))
    source_id = sa.Column(sa.String(64))
    role = sa.Column(sa.String(10))
    area_id = sa.Column(sa.String(100))
    service_id = sa.Column(sa.String(100))

    __table_args__ = (sa.Index("ix_outcome_events_kind_occurred_on", "kind", "occurred_on"),)
