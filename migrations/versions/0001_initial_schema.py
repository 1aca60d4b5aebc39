"""Initial schema.

Every table our models declare: knowledge base, referrals, consent, outbox,
conversation_sources. Not Rasa's `events` table, which Rasa creates and owns.

Made with `alembic revision --autogenerate` against an empty PostgreSQL 15 database, then read.
tests/production/test_migrations.py checks that `upgrade head` gives exactly Base.metadata.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "conversation_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_conversation_sources_source_id"), "conversation_sources", ["source_id"], unique=False
    )
    op.create_index(
        op.f("ix_conversation_sources_started_on"), "conversation_sources", ["started_on"], unique=False
    )

    op.create_table(
        "kb_answers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("last_reviewed", sa.Date(), nullable=False),
        sa.Column("review_by", sa.Date(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "kb_areas",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "kb_loads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("services", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "kb_organizations",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("contact_route", sa.String(length=10), nullable=True),
        sa.Column("contact_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("best_time", sa.String(length=10), nullable=True),
        sa.Column("shared_facts", sa.JSON(), nullable=True),
        sa.Column("personal_data_removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("submission_key"),
    )
    op.create_index(op.f("ix_referrals_created_at"), "referrals", ["created_at"], unique=False)
    op.create_index(op.f("ix_referrals_person_key"), "referrals", ["person_key"], unique=False)
    op.create_index(op.f("ix_referrals_service_id"), "referrals", ["service_id"], unique=False)
    op.create_index(op.f("ix_referrals_status"), "referrals", ["status"], unique=False)

    op.create_table(
        "kb_area_terms",
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("area_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["kb_areas.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "area_id"),
    )
    op.create_table(
        "kb_gp_surgeries",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("area_id", sa.String(length=100), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["kb_areas.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "kb_services",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.String(length=100), nullable=False),
        sa.Column("last_verified", sa.Date(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["kb_organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_kb_services_status"), "kb_services", ["status"], unique=False)

    op.create_table(
        "referral_consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("wording_version", sa.String(length=40), nullable=False),
        sa.Column("given_by", sa.String(length=20), nullable=False),
        sa.Column("how", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_referral_consents_referral_id"), "referral_consents", ["referral_id"], unique=False
    )

    op.create_table(
        "referral_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=500), nullable=False),
        sa.Column("message_key", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_key"),
    )
    op.create_index(
        op.f("ix_referral_outbox_next_attempt_at"), "referral_outbox", ["next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_referral_outbox_referral_id"), "referral_outbox", ["referral_id"], unique=False)
    op.create_index(op.f("ix_referral_outbox_state"), "referral_outbox", ["state"], unique=False)

    op.create_table(
        "kb_service_areas",
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("area_id", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["kb_areas.id"],
        ),
        sa.ForeignKeyConstraint(["service_id"], ["kb_services.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("service_id", "area_id"),
    )
    op.create_index(op.f("ix_kb_service_areas_area_id"), "kb_service_areas", ["area_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_kb_service_areas_area_id"), table_name="kb_service_areas")

    op.drop_table("kb_service_areas")
    op.drop_index(op.f("ix_referral_outbox_state"), table_name="referral_outbox")
    op.drop_index(op.f("ix_referral_outbox_referral_id"), table_name="referral_outbox")
    op.drop_index(op.f("ix_referral_outbox_next_attempt_at"), table_name="referral_outbox")

    op.drop_table("referral_outbox")
    op.drop_index(op.f("ix_referral_consents_referral_id"), table_name="referral_consents")

    op.drop_table("referral_consents")
    op.drop_index(op.f("ix_kb_services_status"), table_name="kb_services")

    op.drop_table("kb_services")
    op.drop_table("kb_gp_surgeries")
    op.drop_table("kb_area_terms")
    op.drop_index(op.f("ix_referrals_status"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_service_id"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_person_key"), table_name="referrals")
    op.drop_index(op.f("ix_referrals_created_at"), table_name="referrals")

    op.drop_table("referrals")
    op.drop_table("kb_organizations")
    op.drop_table("kb_loads")
    op.drop_table("kb_areas")
    op.drop_table("kb_answers")
    op.drop_index(op.f("ix_conversation_sources_started_on"), table_name="conversation_sources")
    op.drop_index(op.f("ix_conversation_sources_source_id"), table_name="conversation_sources")

    op.drop_table("conversation_sources")
