"""A referral's status: which change may follow which, recording changes, reading them back.

    submitted -> delivered -> acknowledged -> contacted -> support_started
                                  \\______________\\____________\\-> declined | could_not_contact
    any status but withdrawn -> withdrawn

The dispatcher sets "delivered"; the service sets the rest, and may skip forward
(delivered -> contacted) but never go back. support_started, declined and
could_not_contact are final for the service; the person may still withdraw,
because consent can always be withdrawn.

Every status write goes through change_status(), which writes the referral's
status and one StatusChangeRow in the caller's transaction. Its UPDATE is
conditional on the status still being one the change may follow, so two
writers racing (a service's click and the person's withdrawal, two workers)
never both win, on SQLite and PostgreSQL alike.

Also here: the working-day arithmetic and the chat's read-only view of a
referral (status_view). The reminder a service gets when it has not answered is
queued by store.queue_reminders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from chatbot.referrals import models as m

# The way forward; a service may skip steps but never go back.
PATH = (m.SUBMITTED, m.DELIVERED, m.ACKNOWLEDGED, m.CONTACTED, m.SUPPORT_STARTED)
# Statuses a service reports (by status link or webhook).
SERVICE_STATUSES = (m.ACKNOWLEDGED, m.CONTACTED, m.SUPPORT_STARTED, m.DECLINED, m.COULD_NOT_CONTACT)
# After these the service has nothing more to say.
FINAL_STATUSES = frozenset({m.SUPPORT_STARTED, m.DECLINED, m.COULD_NOT_CONTACT, m.WITHDRAWN})
# Once the service has spoken to the person (or ended it), it is no longer "waiting to hear".
ANSWERED_STATUSES = frozenset({m.CONTACTED, m.SUPPORT_STARTED, m.DECLINED, m.COULD_NOT_CONTACT})
_ENDINGS_FROM = frozenset({m.DELIVERED, m.ACKNOWLEDGED, m.CONTACTED})

# Who may set which status. Nobody sets "submitted": submit() starts there.
_SETTERS = {
    m.DELIVERED: frozenset({m.BY_SYSTEM}),
    m.WITHDRAWN: frozenset({m.BY_PERSON, m.BY_SYSTEM}),
    **{status: frozenset({m.BY_SERVICE}) for status in SERVICE_STATUSES},
}

# What change_status() did. Only APPLIED changed anything.
APPLIED = "applied"
SAME = "same"  # already that status: nothing to do
NOT_DELIVERED = "not_delivered"  # a service status before the service has the referral
OUT_OF_ORDER = "out_of_order"  # a step back, or an ending that does not fit
FINISHED = "finished"  # the referral is in a final status
NOT_ALLOWED = "not_allowed"  # that party may not set that status, or no such status
NOT_FOUND = "not_found"  # record_service_update: no such referral for that service
REPLAYED = "replayed"  # record_service_update: this receipt key was used before


@dataclass(frozen=True)
class StatusChange:
    outcome: str
    status: str | None  # the referral's status afterwards (None when not found)
    requested: str

    @property
    def applied(self) -> bool:
        return self.outcome == APPLIED


def refusal(current: str, new: str, changed_by: str) -> str | None:
    """Why `new` may not follow `current` when set by `changed_by`; None when it may."""
    if changed_by not in _SETTERS.get(new, ()):
        return NOT_ALLOWED
    if new == current:
        return SAME
    if new == m.WITHDRAWN:
        return None
    if current in FINAL_STATUSES:
        return FINISHED
    if current == m.SUBMITTED and new != m.DELIVERED:
        return NOT_DELIVERED
    if new in (m.DECLINED, m.COULD_NOT_CONTACT):
        return None if current in _ENDINGS_FROM else OUT_OF_ORDER
    if current in PATH and new in PATH and PATH.index(new) > PATH.index(current):
        return None
    return OUT_OF_ORDER


def may_follow(current: str, new: str, changed_by: str) -> bool:
    return refusal(current, new, changed_by) is None


def _predecessors(new: str, changed_by: str) -> list[str]:
    return [status for status in m.REFERRAL_STATUSES if may_follow(status, new, changed_by)]


def change_status(
    session: Session, referral: m.ReferralRow, new_status: str, changed_by: str, now: dt.datetime
) -> StatusChange:
    """Move the referral to `new_status` and record who did it, or refuse and change nothing.

    Returns a StatusChange whose `outcome` says what happened (APPLIED, or the reason
    it was refused). Nothing is committed: the caller's transaction holds the change.
    """
    reason = refusal(referral.status, new_status, changed_by)
    if reason is not None:
        return StatusChange(reason, referral.status, new_status)
    r = m.ReferralRow
    # Conditional on what the status is *now* in the database, not on what we read.
    update = (
        sa.update(r)
        .where(r.id == referral.id, r.status.in_(_predecessors(new_status, changed_by)))
        .values(status=new_status, status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    if session.execute(update).rowcount != 1:
        session.refresh(referral)  # someone else changed it first: refuse by what they did
        return StatusChange(
            refusal(referral.status, new_status, changed_by) or OUT_OF_ORDER, referral.status, new_status
        )
    set_committed_value(referral, "status", new_status)
    set_committed_value(referral, "status_changed_at", now)
    _record(session, referral, new_status, changed_by, now)
    return StatusChange(APPLIED, new_status, new_status)


def record_submitted(session: Session, referral: m.ReferralRow, now: dt.datetime) -> None:
    """The first line of a new referral's history (submit() creates it as "submitted")."""
    _record(session, referral, m.SUBMITTED, m.BY_SYSTEM, now)


def _record(session: Session, referral: m.ReferralRow, status: str, by: str, now: dt.datetime) -> None:
    session.add(m.StatusChangeRow(referral_id=referral.id, status=status, changed_by=by, changed_at=now))


def record_service_update(
    session: Session,
    reference: str,
    new_status: str,
    now: dt.datetime,
    *,
    receipt_key: str | None = None,
    service_id: str | None = None,
) -> StatusChange:
    """A service tells us where a referral is (by status link or webhook).

    Either the change is applied (with `receipt_key` remembered, so the same link or
    request can never apply anything again: REPLAYED), or nothing at all changes.
    `service_id`, when given, must be the referral's: a service updates only its own.

    A service that answers before the dispatcher has recorded the delivery (a fast
    webhook receiver calls back at once) proves the delivery, so it is recorded first.
    """
    query = sa.select(m.ReferralRow).where(m.ReferralRow.reference == reference)
    if service_id is not None:
        query = query.where(m.ReferralRow.service_id == service_id)
    referral = session.scalar(query.with_for_update())
    if referral is None:
        return StatusChange(NOT_FOUND, None, new_status)
    # A savepoint, so a refusal takes back the receipt (and an implied delivery) too.
    savepoint = session.begin_nested()
    if receipt_key is not None:
        session.add(m.StatusReceiptRow(key=receipt_key, referral_id=referral.id, received_at=now))
        try:
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            return StatusChange(REPLAYED, referral.status, new_status)
    if (
        referral.status == m.SUBMITTED
        and new_status in SERVICE_STATUSES
        and _referral_message_went_out(session, referral)
    ):
        change_status(session, referral, m.DELIVERED, m.BY_SYSTEM, now)
    change = change_status(session, referral, new_status, m.BY_SERVICE, now)
    if change.applied:
        savepoint.commit()
    else:
        savepoint.rollback()
        session.refresh(referral)
        change = StatusChange(change.outcome, referral.status, new_status)
    return change


def preview_service_update(
    session: Session, reference: str, new_status: str, *, receipt_key: str | None = None
) -> StatusChange:
    """What record_service_update would do now, changing nothing (for a page shown before a click).

    An outcome of APPLIED here means "would be applied".
    """
    referral = session.scalar(sa.select(m.ReferralRow).where(m.ReferralRow.reference == reference))
    if referral is None:
        return StatusChange(NOT_FOUND, None, new_status)
    if receipt_key is not None and session.scalar(
        sa.select(m.StatusReceiptRow.id).where(m.StatusReceiptRow.key == receipt_key)
    ):
        return StatusChange(REPLAYED, referral.status, new_status)
    current = referral.status
    if current == m.SUBMITTED and _referral_message_went_out(session, referral):
        current = m.DELIVERED
    return StatusChange(refusal(current, new_status, m.BY_SERVICE) or APPLIED, referral.status, new_status)


def _referral_message_went_out(session: Session, referral: m.ReferralRow) -> bool:
    """Sent, or being sent (leased): the service may have it."""
    o = m.OutboxRow
    found = session.scalar(
        sa.select(o.id).where(
            o.referral_id == referral.id,
            o.kind == m.KIND_REFERRAL,
            sa.or_(o.state == m.SENT, o.lease_token.is_not(None)),
        )
    )
    return found is not None


def as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; everything is stored in UTC. (senders.py has the
    # same helper; importing it here would make senders -> status_links -> status a cycle.)
    return (
        value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    )


# --- working days ---------------------------------------------------------------


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """`days` working days (Monday to Friday) after `start`, at the same time of day.

    Delivered on a Friday at 16:00, one working day later is Monday 16:00; on a
    Saturday at 10:00, Monday 10:00. Weekdays are taken in UTC (at most an hour
    from UK time) and bank holidays are not known: a reminder may come a day early.
    """
    moment = start
    remaining = days
    while remaining > 0:
        moment += dt.timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


# --- the chat's view ------------------------------------------------------------


@dataclass(frozen=True)
class StatusStep:
    status: str
    changed_by: str
    changed_at: dt.datetime


@dataclass(frozen=True)
class StatusView:
    """The facts the chat words for the person; nothing personal."""

    reference: str
    service_id: str
    purpose: str  # referral | callback
    status: str
    changed_at: dt.datetime  # when the status last changed
    delivered_at: dt.datetime | None  # None while it waits in the outbox
    # When the service should have been in touch by (delivery + response_days working days).
    contact_due_by: dt.datetime | None
    # Delivered, nothing from the service beyond "acknowledged", and past contact_due_by.
    overdue: bool
    history: tuple[StatusStep, ...]


def status_view(
    session: Session,
    reference: str,
    now: dt.datetime,
    response_days: int,
    person_key: str | None = None,
) -> StatusView | None:
    """Where the referral with this reference is, or None if there is none.

    Give `person_key` (store.person_key of the conversation) to find only that
    person's own referrals.
    """
    query = sa.select(m.ReferralRow).where(m.ReferralRow.reference == reference)
    if person_key is not None:
        query = query.where(m.ReferralRow.person_key == person_key)
    referral = session.scalar(query)
    if referral is None:
        return None
    history = tuple(
        StatusStep(row.status, row.changed_by, as_utc(row.changed_at))
        for row in session.scalars(
            sa.select(m.StatusChangeRow)
            .where(m.StatusChangeRow.referral_id == referral.id)
            .order_by(m.StatusChangeRow.changed_at, m.StatusChangeRow.id)
        )
    )
    delivered_at = _delivered_at(session, referral, history)
    due_by = add_working_days(delivered_at, response_days) if delivered_at is not None else None
    waiting = referral.status in (m.DELIVERED, m.ACKNOWLEDGED)
    return StatusView(
        reference=referral.reference,
        service_id=referral.service_id,
        purpose=referral.purpose or m.PURPOSE_REFERRAL,
        status=referral.status,
        changed_at=as_utc(referral.status_changed_at),
        delivered_at=delivered_at,
        contact_due_by=due_by,
        overdue=waiting and due_by is not None and as_utc(now) > due_by,
        history=history,
    )


def _delivered_at(
    session: Session, referral: m.ReferralRow, history: tuple[StatusStep, ...]
) -> dt.datetime | None:
    for step in history:
        if step.status == m.DELIVERED:
            return step.changed_at
    # Referrals delivered before the status history existed: the outbox knows when.
    sent_at = session.scalar(
        sa.select(m.OutboxRow.sent_at).where(
            m.OutboxRow.referral_id == referral.id,
            m.OutboxRow.kind == m.KIND_REFERRAL,
            m.OutboxRow.state == m.SENT,
        )
    )
    return as_utc(sent_at) if sent_at is not None else None
