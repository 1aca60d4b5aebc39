"""Outcome events: tally marks for the commissioners' report (chatbot/outcomes/).

- outcome_events: one row per countable moment (a conversation started, triage completed,
  a service recommended, a crisis interruption), with the day and coarse labels only: no
  sender id, no text, nothing that links two rows of the same conversation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=10), nullable=True),
        sa.Column("area_id", sa.String(length=100), nullable=True),
        sa.Column("service_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_outcome_events_kind_occurred_on", "outcome_events", ["kind", "occurred_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outcome_events_kind_occurred_on", table_name="outcome_events")
    op.drop_table("outcome_events")
