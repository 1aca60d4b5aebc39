"""Referral status: the history of each referral's statuses, its purpose, and used status updates.

- referral_status_changes: each status a referral has had, when, and who said so
  (chatbot/referrals/status.py writes one row per change).
- referrals.purpose: "referral" or "callback"; existing rows are referrals.
- referral_status_receipts: the status links and signed webhook calls already used, so none
  is applied twice (chatbot/channels/status_updates.py).

Existing referrals get no history rows: status_view falls back on the outbox's sent_at for
when they were delivered.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "referral_status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.String(length=10), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_referral_status_changes_referral_id"),
        "referral_status_changes",
        ["referral_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_referral_status_changes_changed_at"), "referral_status_changes", ["changed_at"], unique=False
    )

    op.create_table(
        "referral_status_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        op.f("ix_referral_status_receipts_referral_id"),
        "referral_status_receipts",
        ["referral_id"],
        unique=False,
    )

    with op.batch_alter_table("referrals") as batch:
        # The server default fills existing rows (and SQLite needs one for a NOT NULL column).
        batch.add_column(
            sa.Column("purpose", sa.String(length=10), nullable=False, server_default="referral")
        )


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("purpose")
    op.drop_index(op.f("ix_referral_status_receipts_referral_id"), table_name="referral_status_receipts")
    op.drop_table("referral_status_receipts")
    op.drop_index(op.f("ix_referral_status_changes_changed_at"), table_name="referral_status_changes")
    op.drop_index(op.f("ix_referral_status_changes_referral_id"), table_name="referral_status_changes")
    op.drop_table("referral_status_changes")
