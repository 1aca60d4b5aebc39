"""Store referrals and consent, withdraw them, erase them, purge them.

Every function takes a SQLAlchemy session and `now`, and changes nothing
outside the session's transaction: the caller commits (db.session_scope), so a
crash at any point leaves all of a change or none of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chatbot.referrals import models as m
from chatbot.referrals.crypto import ContactCipher
from chatbot.referrals.reference import new_reference
from chatbot.referrals.status import add_working_days, as_utc, change_status, record_submitted


def person_key(secret: bytes, sender_id: str) -> str:
    """Who a conversation is, as a keyed hash: erasure can find their rows, a reader cannot."""
    return hmac.new(secret, b"person:" + sender_id.encode(), hashlib.sha256).hexdigest()


def submission_key(secret: bytes, sender_id: str, attempt_id: str) -> str:
    return hmac.new(secret, f"submit:{sender_id}:{attempt_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Consent:
    wording_version: str
    given_by: str  # person | professional
    how: str
    decided_at: dt.datetime


@dataclass(frozen=True)
class Submission:
    person_key: str
    submission_key: str
    service_id: str
    method: str  # email | webhook, from the service's referral settings
    destination: str
    channel: str
    role: str
    name: str
    contact_route: str
    contact: str
    best_time: str
    shared_facts: dict
    consent: Consent
    purpose: str = m.PURPOSE_REFERRAL  # or a call-back request to the area's single point of access


@dataclass(frozen=True)
class Submitted:
    reference: str
    service_id: str
    status: str
    is_new: bool


def submit(session: Session, submission: Submission, cipher: ContactCipher, now: dt.datetime) -> Submitted:
    """Store the referral, its consent and its outbox message, once per submission key."""
    existing = session.scalar(
        sa.select(m.ReferralRow).where(m.ReferralRow.submission_key == submission.submission_key)
    )
    if existing is not None:
        return Submitted(existing.reference, existing.service_id, existing.status, is_new=False)
    referral = m.ReferralRow(
        reference=new_reference(),
        submission_key=submission.submission_key,
        person_key=submission.person_key,
        service_id=submission.service_id,
        status=m.SUBMITTED,
        channel=submission.channel,
        role=submission.role,
        created_at=now,
        status_changed_at=now,
        name_encrypted=cipher.encrypt(submission.name),
        contact_route=submission.contact_route,
        contact_encrypted=cipher.encrypt(submission.contact),
        best_time=submission.best_time,
        shared_facts=submission.shared_facts,
        purpose=submission.purpose,
    )
    referral_consent = _consent_row(
        submission.service_id, "given", submission.channel, submission.role, submission.consent
    )
    try:
        # A savepoint: a second submitter racing us on the same key loses cleanly.
        with session.begin_nested():
            session.add(referral)
            session.flush()
            record_submitted(session, referral, now)
            referral_consent.referral_id = referral.id
            session.add(referral_consent)
            session.add(
                outbox_message(referral, m.KIND_REFERRAL, submission.method, submission.destination, now)
            )
    except IntegrityError:
        winner = session.scalar(
            sa.select(m.ReferralRow).where(m.ReferralRow.submission_key == submission.submission_key)
        )
        if winner is None:
            raise
        return Submitted(winner.reference, winner.service_id, winner.status, is_new=False)
    return Submitted(referral.reference, referral.service_id, referral.status, is_new=True)


def record_refusal(session: Session, service_id: str, channel: str, role: str, consent: Consent) -> None:
    """A "no": counted for the commissioners' report, with nothing about the person."""
    session.add(_consent_row(service_id, "refused", channel, role, consent))


def _consent_row(service_id: str, decision: str, channel: str, role: str, consent: Consent) -> m.ConsentRow:
    return m.ConsentRow(
        service_id=service_id,
        decision=decision,
        wording_version=consent.wording_version,
        given_by=consent.given_by,
        how=consent.how,
        channel=channel,
        role=role,
        decided_at=consent.decided_at,
    )


def outbox_message(
    referral: m.ReferralRow, kind: str, method: str, destination: str, now: dt.datetime
) -> m.OutboxRow:
    return m.OutboxRow(
        referral_id=referral.id,
        kind=kind,
        method=method,
        destination=destination,
        message_key=f"{kind}-{referral.reference}",
        state=m.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


# What withdraw() found and did.
NOT_FOUND = "not_found"
ALREADY_WITHDRAWN = "already_withdrawn"
STOPPED = "stopped"  # not yet delivered: it never will be
SERVICE_TOLD = "service_told"  # delivered: the service gets a withdrawal notice


@dataclass(frozen=True)
class Withdrawal:
    outcome: str
    service_id: str | None = None
    person_key: str | None = None  # whose referral: to find the conversation that made it


@dataclass(frozen=True)
class Requester:
    """Who asks to withdraw: the conversation's person key, and what else they typed.

    Only the person may withdraw: from the conversation that made the referral (the
    same person key), or elsewhere with a second fact only they know, the contact on
    record or its last four digits (`proof`).
    """

    person_key: str
    proof: str = ""
    cipher: ContactCipher | None = None

    def may_withdraw(self, referral: m.ReferralRow) -> bool:
        if hmac.compare_digest(self.person_key, referral.person_key):
            return True
        return bool(self.cipher and referral.contact_encrypted and _proves(self.proof, referral, self.cipher))


def _proves(proof: str, referral: m.ReferralRow, cipher: ContactCipher) -> bool:
    contact = cipher.decrypt(referral.contact_encrypted).strip().lower()
    proof = proof.strip().lower()
    if referral.contact_route == "email":
        return bool(proof) and re.search(rf"(?<![\w.+-]){re.escape(contact)}(?![\w.-])", proof) is not None
    digits = re.sub(r"\D", "", contact)
    typed = re.findall(r"\d[\d\s]*\d", proof)
    return any(len(d) >= 4 and digits.endswith(d) for d in (re.sub(r"\D", "", t) for t in typed))


def withdraw(
    session: Session, reference: str, now: dt.datetime, requester: Requester | None = None
) -> Withdrawal:
    """Withdraw consent for a referral, and remove the person's details from it.

    `requester` None is an operator at the command line; anyone else who is not the
    person is told exactly what a wrong reference gets: NOT_FOUND, and nothing more.
    """
    referral = session.scalar(
        sa.select(m.ReferralRow).where(m.ReferralRow.reference == reference).with_for_update()
    )
    if referral is None or (requester is not None and not requester.may_withdraw(referral)):
        return Withdrawal(NOT_FOUND)
    outcome = _withdraw(session, referral, now)
    # The withdrawal notice needs only the reference: nothing personal is kept for it.
    _remove_personal_data(referral, now)
    return Withdrawal(outcome, referral.service_id, referral.person_key)


def _withdraw(session: Session, referral: m.ReferralRow, now: dt.datetime) -> str:
    if referral.status == m.WITHDRAWN:
        return ALREADY_WITHDRAWN
    messages = session.scalars(sa.select(m.OutboxRow).where(m.OutboxRow.referral_id == referral.id)).all()
    referral_message = next(msg for msg in messages if msg.kind == m.KIND_REFERRAL)
    if referral_message.state == m.PENDING:
        referral_message.state = m.CANCELLED
        # A dispatcher that took it may have sent it and crashed before recording
        # that: then the service may have it, and must hear of the withdrawal.
        might_have_it = referral_message.lease_token is not None
        outcome = STOPPED
    else:
        might_have_it = True
        outcome = SERVICE_TOLD
    if might_have_it:
        session.add(
            outbox_message(
                referral, m.KIND_WITHDRAWAL, referral_message.method, referral_message.destination, now
            )
        )
    change_status(session, referral, m.WITHDRAWN, m.BY_PERSON, now)
    for consent in session.scalars(sa.select(m.ConsentRow).where(m.ConsentRow.referral_id == referral.id)):
        consent.withdrawn_at = now
    return outcome


@dataclass(frozen=True)
class Erasure:
    referrals: int  # referrals whose personal data was removed
    services_told: int  # of them, how many a service already had
    references: tuple[str, ...] = ()  # so copies outside the database can go too


def erase_person(session: Session, person: str, now: dt.datetime) -> Erasure:
    """ "Delete my data": withdraw every referral of this person and remove their details.

    Undelivered referrals are stopped; services that already have one get a
    withdrawal notice (sent by the dispatcher, which needs only the reference).
    """
    referrals = session.scalars(
        sa.select(m.ReferralRow).where(m.ReferralRow.person_key == person).with_for_update()
    ).all()
    told = 0
    for referral in referrals:
        if _withdraw(session, referral, now) == SERVICE_TOLD:
            told += 1
        _remove_personal_data(referral, now)
        # Nothing may lead back to the person once they asked to be forgotten.
        referral.person_key = "erased:" + referral.reference
    return Erasure(
        referrals=len(referrals), services_told=told, references=tuple(r.reference for r in referrals)
    )


def _remove_personal_data(referral: m.ReferralRow, now: dt.datetime) -> None:
    referral.name_encrypted = None
    referral.contact_encrypted = None
    referral.contact_route = None
    referral.best_time = None
    referral.shared_facts = None
    referral.personal_data_removed_at = referral.personal_data_removed_at or now


def purge_expired(session: Session, retention: dt.timedelta, now: dt.datetime) -> int:
    """Remove personal data from referrals older than the retention period.

    A referral still waiting in the outbox that old cannot be delivered any
    more without its details, so it is cancelled (and counted in the result).
    Statuses, consent records and times stay, for the outcome reports.
    """
    cutoff = now - retention
    expired = session.scalars(
        sa.select(m.ReferralRow).where(
            m.ReferralRow.created_at < cutoff, m.ReferralRow.personal_data_removed_at.is_(None)
        )
    ).all()
    for referral in expired:
        for message in session.scalars(
            sa.select(m.OutboxRow).where(
                m.OutboxRow.referral_id == referral.id, m.OutboxRow.state == m.PENDING
            )
        ):
            if message.kind == m.KIND_REFERRAL:
                message.state = m.CANCELLED
        _remove_personal_data(referral, now)
    return len(expired)


def queue_reminders(session: Session, now: dt.datetime, reminder_days: int, limit: int = 500) -> int:
    """Queue one reminder for each referral delivered over `reminder_days` working days ago
    that its service has not acknowledged (or moved past). Returns how many were queued.

    The reminder's message key is "reminder-<reference>", unique in the outbox, so a
    referral never gets two, even when two workers run this at once. The dispatcher
    sends it like any message, and cancels it if the service answers first.
    """
    now = as_utc(now)
    r = m.ReferralRow
    # A working day is at least a calendar day, so this finds every due one (and a few more).
    candidates = session.scalars(
        sa.select(r)
        .where(
            r.status == m.DELIVERED,
            r.status_changed_at <= now - dt.timedelta(days=reminder_days),
            r.personal_data_removed_at.is_(None),
            ~sa.exists().where(m.OutboxRow.referral_id == r.id, m.OutboxRow.kind == m.KIND_REMINDER),
        )
        .order_by(r.status_changed_at)
        .limit(limit)
    ).all()
    queued = 0
    for referral in candidates:
        # While the status is "delivered", status_changed_at is the delivery time.
        if now <= add_working_days(as_utc(referral.status_changed_at), reminder_days):
            continue
        original = session.scalar(
            sa.select(m.OutboxRow).where(
                m.OutboxRow.referral_id == referral.id, m.OutboxRow.kind == m.KIND_REFERRAL
            )
        )
        reminder = outbox_message(referral, m.KIND_REMINDER, original.method, original.destination, now)
        try:
            with session.begin_nested():  # another worker queued it first: this savepoint loses
                session.add(reminder)
        except IntegrityError:
            continue
        queued += 1
    return queued


def find(session: Session, reference: str) -> m.ReferralRow | None:
    return session.scalar(sa.select(m.ReferralRow).where(m.ReferralRow.reference == reference))
