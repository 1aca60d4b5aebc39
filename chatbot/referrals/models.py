"""Tables for warm referrals: the referral, the consent behind it, and the outbox.

They live in the same database as the knowledge base (SQLite by default,
PostgreSQL by DATABASE_URL). Contact details are stored only as Fernet tokens
(`*_encrypted`); nothing here holds message text.

One submission writes the referral, its consent and its outbox message in one
transaction, so a crash leaves either all three or none (see store.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from chatbot.db import Base

# Statuses a referral moves through. The service reports the middle ones
# (chatbot/referrals/status.py says which change may follow which).
SUBMITTED = "submitted"  # stored and waiting in the outbox
DELIVERED = "delivered"  # the service has it
ACKNOWLEDGED = "acknowledged"  # the service says it has read it
CONTACTED = "contacted"  # the service has spoken to the person
SUPPORT_STARTED = "support_started"
DECLINED = "declined"  # the service cannot help (or the person said no to it)
COULD_NOT_CONTACT = "could_not_contact"
WITHDRAWN = "withdrawn"  # the person changed their mind (or erased their data)
REFERRAL_STATUSES = (
    SUBMITTED,
    DELIVERED,
    ACKNOWLEDGED,
    CONTACTED,
    SUPPORT_STARTED,
    DECLINED,
    COULD_NOT_CONTACT,
    WITHDRAWN,
)

PURPOSE_REFERRAL = "referral"
PURPOSE_CALLBACK = "callback"

# Who made a status change.
BY_SERVICE = "service"
BY_PERSON = "person"
BY_SYSTEM = "system"
CHANGED_BY = (BY_SERVICE, BY_PERSON, BY_SYSTEM)

# Outbox message kinds and states.
KIND_REFERRAL = "referral"
KIND_WITHDRAWAL = "withdrawal"  # tells a service that already has a referral
KIND_REMINDER = "reminder"  # one nudge when a delivered referral has had no answer (status.py)
PENDING = "pending"
SENT = "sent"
CANCELLED = "cancelled"  # a referral withdrawn before it was sent


class ReferralRow(Base):
    __tablename__ = "referrals"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    reference = sa.Column(sa.String(16), nullable=False, unique=True)
    # HMAC of the conversation and its referral attempt: the same submission twice
    # finds this row instead of making a second referral.
    submission_key = sa.Column(sa.String(64), nullable=False, unique=True)
    # HMAC of the channel's sender id, so "delete my data" finds the person's rows
    # without storing who they are.
    person_key = sa.Column(sa.String(64), nullable=False, index=True)
    service_id = sa.Column(sa.String(100), nullable=False, index=True)
    status = sa.Column(sa.String(20), nullable=False, index=True)
    channel = sa.Column(sa.String(40), nullable=False)
    role = sa.Column(sa.String(20), nullable=False)  # self | patient
    # A referral to a service, or a call-back request to the area's single point
    # of access: the same consent, details, outbox and statuses.
    purpose = sa.Column(
        sa.String(10), nullable=False, default=PURPOSE_REFERRAL, server_default=PURPOSE_REFERRAL
    )
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    status_changed_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    # Personal data: encrypted, and set to NULL by erasure and the retention purge.
    name_encrypted = sa.Column(sa.LargeBinary)
    contact_route = sa.Column(sa.String(10))  # phone | email
    contact_encrypted = sa.Column(sa.LargeBinary)
    best_time = sa.Column(sa.String(10))
    # The triage facts named in the consent wording (work, condition group, area).
    shared_facts = sa.Column(sa.JSON)
    personal_data_removed_at = sa.Column(sa.DateTime(timezone=True))


class StatusChangeRow(Base):
    """Each status a referral has had, when, and who said so. Never personal data."""

    __tablename__ = "referral_status_changes"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    referral_id = sa.Column(
        sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status = sa.Column(sa.String(20), nullable=False)
    changed_by = sa.Column(sa.String(10), nullable=False)  # service | person | system
    changed_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)


class StatusReceiptRow(Base):
    """A status update a service sent us, remembered so the same one is never applied twice.

    `key` is "link:<nonce>" for a status link, or "api:<signature>" for the JSON webhook
    (chatbot/channels/status_updates.py): a copied link or a captured request replayed
    finds its key here. Written in the transaction that changes the status.
    """

    __tablename__ = "referral_status_receipts"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    key = sa.Column(sa.String(100), nullable=False, unique=True)
    referral_id = sa.Column(
        sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    received_at = sa.Column(sa.DateTime(timezone=True), nullable=False)


class ConsentRow(Base):
    """One decision about sharing: given (with a referral) or refused (with none).

    `given_by` is "person" when the person said yes themselves, or "professional"
    when a health professional confirmed that the patient agreed: a professional
    attests, never consents.
    """

    __tablename__ = "referral_consents"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    referral_id = sa.Column(sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), index=True)
    service_id = sa.Column(sa.String(100), nullable=False)
    decision = sa.Column(sa.String(10), nullable=False)  # given | refused
    wording_version = sa.Column(sa.String(40), nullable=False)
    given_by = sa.Column(sa.String(20), nullable=False)  # person | professional
    how = sa.Column(sa.String(120), nullable=False)  # e.g. "pressed 'Yes, I agree' in web chat"
    channel = sa.Column(sa.String(40), nullable=False)
    role = sa.Column(sa.String(20), nullable=False)
    decided_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    withdrawn_at = sa.Column(sa.DateTime(timezone=True))


class OutboxRow(Base):
    """A message to a service, delivered by the dispatcher with retries.

    `message_key` is stable across retries: it is the email's Message-ID and
    the webhook's Idempotency-Key, so a service can drop a repeat.
    """

    __tablename__ = "referral_outbox"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    referral_id = sa.Column(
        sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind = sa.Column(sa.String(20), nullable=False)  # referral | withdrawal | reminder
    method = sa.Column(sa.String(10), nullable=False)  # email | webhook
    destination = sa.Column(sa.String(500), nullable=False)  # address or URL, fixed at submission
    message_key = sa.Column(sa.String(80), nullable=False, unique=True)
    state = sa.Column(sa.String(12), nullable=False, index=True)  # pending | sent | cancelled
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    next_attempt_at = sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    # A dispatcher leases a message before sending, so two never send it at once.
    leased_until = sa.Column(sa.DateTime(timezone=True))
    lease_token = sa.Column(sa.String(40))
    last_error = sa.Column(sa.String(300))  # the kind of failure only, never content
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False)
    sent_at = sa.Column(sa.DateTime(timezone=True))
