"""The outbox dispatcher: delivers referral, withdrawal and reminder messages, with retries.

Each run picks the pending messages that are due and, for each one:

1. leases it with one conditional UPDATE (only if nobody holds an unexpired
   lease), so two dispatchers never send the same message at once, on SQLite
   and PostgreSQL alike;
2. composes it (a referral whose person withdrew, or whose details are gone,
   is cancelled instead);
3. sends it, outside any transaction;
4. records the result in a new transaction: sent (and the referral delivered,
   through status.change_status), or a failure with the next attempt after an
   exponential back-off.

Referral and reminder emails carry signed status links (status_links.py), made
fresh for each attempt. A reminder is cancelled at send time if the service has
answered meanwhile.

A message is never given up: a referral must not be lost. One that has waited
more than a day is logged as a WARNING on every failed attempt.

If the process stops between sending and recording, the lease runs out and
the message is sent again with the same Message-ID / Idempotency-Key, so the
service can drop the repeat.

Logs name outbox ids, methods and failure kinds only: never names, contact
details, addresses, URLs or message text.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chatbot.config import Settings, public_base_url
from chatbot.db import session_scope
from chatbot.referrals import models as m
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher, load_key
from chatbot.referrals.senders import (
    ConsentRecord,
    DeliveryFailed,
    OutgoingMessage,
    Person,
    PickupDirectorySender,
    Sender,
    SmtpSender,
    WebhookSender,
    as_utc,
    describe_failure,
    webhook_signing_secret,
)
from chatbot.referrals.status import change_status
from chatbot.referrals.status_links import StatusLinks

logger = logging.getLogger(__name__)

LONG_WAIT = dt.timedelta(days=1)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # cancelled at send time, or leased by another dispatcher first


@dataclass(frozen=True)
class _Lease:
    outbox_id: int
    token: str


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        cipher: ContactCipher,
        service_names: Callable[[str], str],
        senders: Mapping[str, Sender],
        *,
        lease_seconds: float = 300.0,
        backoff_base_s: float = 30.0,
        backoff_cap_s: float = 3600.0,
        jitter: float = 0.1,
        batch_size: int = 100,
        status_links: StatusLinks | None = None,
    ):
        self.engine = engine
        self.cipher = cipher
        self.service_names = service_names
        self.senders = dict(senders)
        # Longer than any sender's timeout, so a lease never runs out mid-send.
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.jitter = jitter
        self.batch_size = batch_size
        # None: emails go without status links (the service can still reply by email).
        self.status_links = status_links
        self._random = random.Random()

    # --- one pass -------------------------------------------------------------

    def run_once(self, now: dt.datetime) -> DeliveryReport:
        now = as_utc(now)
        sent = failed = skipped = 0
        for outbox_id in self._due_ids(now):
            lease = self._take_lease(outbox_id, now)
            if lease is None:
                skipped += 1
                continue
            outcome = self._deliver(lease, now)
            sent += outcome == m.SENT
            failed += outcome == "failed"
            skipped += outcome == m.CANCELLED
        return DeliveryReport(sent=sent, failed=failed, skipped=skipped)

    def run_forever(self, stop: threading.Event, interval_s: float = 10.0) -> None:
        while not stop.is_set():
            try:
                self.run_once(dt.datetime.now(dt.timezone.utc))
            except Exception as error:  # keep delivering after a database hiccup
                # The class only: database errors can quote statement parameters.
                logger.error("referral dispatcher run failed: %s", type(error).__name__)
            stop.wait(interval_s)

    def _due_ids(self, now: dt.datetime) -> list[int]:
        o = m.OutboxRow
        query = (
            sa.select(o.id)
            .where(o.state == m.PENDING, o.next_attempt_at <= now, _lease_free(now))
            .order_by(o.next_attempt_at, o.id)
            .limit(self.batch_size)
        )
        with self.engine.connect() as connection:
            return list(connection.scalars(query))

    def _take_lease(self, outbox_id: int, now: dt.datetime) -> _Lease | None:
        """One atomic UPDATE: of two dispatchers racing for a message, exactly one gets a row."""
        token = secrets.token_hex(16)
        o = m.OutboxRow
        update = (
            sa.update(o)
            .where(o.id == outbox_id, o.state == m.PENDING, o.next_attempt_at <= now, _lease_free(now))
            .values(leased_until=now + self.lease, lease_token=token)
        )
        with self.engine.begin() as connection:
            taken = connection.execute(update).rowcount == 1
        return _Lease(outbox_id, token) if taken else None

    # --- one message ----------------------------------------------------------

    def _deliver(self, lease: _Lease, now: dt.datetime) -> str:
        row = self._leased_row(lease)
        try:
            message = self._compose(row, now)
            if message is None:
                self._cancel(lease)
                logger.info("cancelled %s message %d: nothing to send any more", row.kind, row.id)
                return m.CANCELLED
            sender = self.senders.get(row.method)
            if sender is None:
                raise DeliveryFailed(f"no sender for method {row.method!r}")
            sender.send(message)
        except Exception as error:  # any failure means "try again later"
            self._record_failure(lease, row, error, now)
            return "failed"
        self._record_sent(lease, row, now)
        logger.info("delivered %s message %d (%s)", row.kind, row.id, row.method)
        return m.SENT

    def _leased_row(self, lease: _Lease) -> m.OutboxRow:
        with session_scope(self.engine) as session:
            return session.get(m.OutboxRow, lease.outbox_id)

    def _compose(self, row: m.OutboxRow, now: dt.datetime) -> OutgoingMessage | None:
        """The message to send, or None when a referral must not go out any more."""
        with session_scope(self.engine) as session:
            referral = session.get(m.ReferralRow, row.referral_id)
            message = OutgoingMessage(
                outbox_id=row.id,
                kind=row.kind,
                method=row.method,
                message_key=row.message_key,
                reference=referral.reference,
                service_id=referral.service_id,
                service_name=self._service_name(referral.service_id),
                destination=row.destination,
                sent_at=now,
                purpose=referral.purpose or m.PURPOSE_REFERRAL,
            )
            if row.kind == m.KIND_WITHDRAWAL:
                if not _service_has_referral(session, referral):
                    return None  # never tell a service about a person it never heard of
                withdrawn_at = (
                    referral.status_changed_at if referral.status == m.WITHDRAWN else row.created_at
                )
                return replace(message, withdrawn_at=as_utc(withdrawn_at))
            if row.kind == m.KIND_REMINDER:
                if referral.status != m.DELIVERED:
                    return None  # the service has answered, or the person withdrew
                return replace(
                    message,
                    delivered_at=as_utc(referral.status_changed_at),
                    status_links=self._links(referral, now),
                )
            if referral.status == m.WITHDRAWN or not _has_personal_data(referral):
                return None
            return replace(
                message,
                person=self._person(referral),
                shared_facts=dict(referral.shared_facts or {}),
                consent=_consent(session, referral),
                status_links=self._links(referral, now),
            )

    def _links(self, referral: m.ReferralRow, now: dt.datetime) -> dict[str, str] | None:
        return self.status_links.links(referral.reference, now) if self.status_links else None

    def _service_name(self, service_id: str) -> str:
        try:
            return self.service_names(service_id) or service_id
        except Exception:  # a service gone from the knowledge base still gets its mail
            return service_id

    def _person(self, referral: m.ReferralRow) -> Person:
        try:
            name = self.cipher.decrypt(referral.name_encrypted)
            contact = self.cipher.decrypt(referral.contact_encrypted)
        except ValueError:
            raise DeliveryFailed("contact details cannot be decrypted (check the encryption key)") from None
        return Person(
            name=name,
            contact_route=referral.contact_route or "",
            contact=contact,
            best_time=referral.best_time or "any",
        )

    # --- recording results ----------------------------------------------------

    def _record_sent(self, lease: _Lease, row: m.OutboxRow, now: dt.datetime) -> None:
        with session_scope(self.engine) as session:
            now_delivered = True
            if row.kind == m.KIND_REFERRAL:
                # Referral first, as withdraw() locks it first: the two cannot deadlock.
                # change_status's UPDATE is conditional, so a withdrawal committed meanwhile
                # is never overwritten.
                referral = session.get(m.ReferralRow, row.referral_id)
                now_delivered = change_status(session, referral, m.DELIVERED, m.BY_SYSTEM, now).applied
            # Sent even if withdraw() cancelled it meanwhile: it did go out.
            _execute(
                session,
                sa.update(m.OutboxRow)
                .where(m.OutboxRow.id == row.id, m.OutboxRow.lease_token == lease.token)
                .values(state=m.SENT, sent_at=now, leased_until=None, lease_token=None),
            )
            if not now_delivered:
                self._tell_service_if_withdrawn(session, row, now)

    def _tell_service_if_withdrawn(self, session: Session, row: m.OutboxRow, now: dt.datetime) -> None:
        """The person withdrew while their referral was on its way: the service must hear of it."""
        referral = session.get(m.ReferralRow, row.referral_id)
        if referral.status != m.WITHDRAWN:
            return  # already delivered by an earlier attempt
        notice = store.outbox_message(referral, m.KIND_WITHDRAWAL, row.method, row.destination, now)
        exists = session.scalar(
            sa.select(m.OutboxRow.id).where(m.OutboxRow.message_key == notice.message_key)
        )
        if exists is None:
            session.add(notice)
            logger.info(
                "referral message %d was withdrawn while being sent: withdrawal notice queued", row.id
            )

    def _cancel(self, lease: _Lease) -> None:
        with session_scope(self.engine) as session:
            _execute(
                session,
                sa.update(m.OutboxRow)
                .where(m.OutboxRow.id == lease.outbox_id, m.OutboxRow.lease_token == lease.token)
                .values(state=m.CANCELLED, leased_until=None, lease_token=None),
            )

    def _record_failure(self, lease: _Lease, row: m.OutboxRow, error: Exception, now: dt.datetime) -> None:
        attempts = row.attempts + 1
        delay = self._backoff(attempts)
        reason = describe_failure(error)
        with session_scope(self.engine) as session:
            _execute(
                session,
                sa.update(m.OutboxRow)
                .where(m.OutboxRow.id == lease.outbox_id, m.OutboxRow.lease_token == lease.token)
                .values(
                    attempts=m.OutboxRow.attempts + 1,
                    last_error=reason,
                    next_attempt_at=now + delay,
                    leased_until=None,
                    lease_token=None,
                ),
            )
        logger.info(
            "%s message %d (%s) failed, attempt %d, next in %d s: %s",
            row.kind,
            row.id,
            row.method,
            attempts,
            delay.total_seconds(),
            reason,
        )
        waited = now - as_utc(row.created_at)
        if waited > LONG_WAIT:
            logger.warning(
                "%s message %d (%s) has waited %d hours and is still being retried: %s",
                row.kind,
                row.id,
                row.method,
                waited.total_seconds() // 3600,
                reason,
            )

    def _backoff(self, attempts: int) -> dt.timedelta:
        # Capped exponent: thousands of attempts must not overflow a float.
        seconds = min(self.backoff_cap_s, self.backoff_base_s * 2 ** min(attempts - 1, 32))
        return dt.timedelta(seconds=seconds * (1 + self._random.uniform(0, self.jitter)))


def _lease_free(now: dt.datetime) -> sa.sql.ColumnElement:
    o = m.OutboxRow
    return sa.or_(o.leased_until.is_(None), o.leased_until <= now)


def _execute(session: Session, statement: sa.sql.Executable) -> bool:
    """Run an UPDATE without syncing the session; True when it changed a row."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return result.rowcount > 0


def _has_personal_data(referral: m.ReferralRow) -> bool:
    return (
        referral.personal_data_removed_at is None
        and referral.name_encrypted is not None
        and referral.contact_encrypted is not None
    )


def _service_has_referral(session: Session, referral: m.ReferralRow) -> bool:
    """Sent, or perhaps sent: taken by a dispatcher that may have died before recording it."""
    sent = session.scalar(
        sa.select(m.OutboxRow.id).where(
            m.OutboxRow.referral_id == referral.id,
            m.OutboxRow.kind == m.KIND_REFERRAL,
            sa.or_(m.OutboxRow.state == m.SENT, m.OutboxRow.lease_token.is_not(None)),
        )
    )
    return sent is not None


def _consent(session: Session, referral: m.ReferralRow) -> ConsentRecord:
    row = session.scalar(
        sa.select(m.ConsentRow)
        .where(m.ConsentRow.referral_id == referral.id, m.ConsentRow.decision == "given")
        .order_by(m.ConsentRow.id)
    )
    if row is None:
        raise DeliveryFailed("referral has no consent record")
    return ConsentRecord(
        decided_at=as_utc(row.decided_at),
        given_by=row.given_by,
        how=row.how,
        wording_version=row.wording_version,
    )


def dispatcher_from_settings(
    settings: Settings,
    engine: Engine,
    cipher: ContactCipher,
    service_names: Callable[[str], str],
    *,
    signing_secret: bytes | None = None,
    **options,  # Dispatcher's lease and back-off options
) -> Dispatcher:
    """SMTP when SMTP_HOST is set, else the var/mail/ pickup directory; and webhooks."""
    if settings.smtp_host:
        email: Sender = SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_addr=settings.smtp_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    else:
        email = PickupDirectorySender(
            settings.var_dir / "mail", from_addr=settings.smtp_from, key=load_key(settings.var_dir)
        )
    secret = (
        signing_secret if signing_secret is not None else webhook_signing_secret(load_key(settings.var_dir))
    )
    senders: dict[str, Sender] = {"email": email, "webhook": WebhookSender(secret)}
    options.setdefault(
        "status_links",
        StatusLinks(load_key(settings.var_dir), public_base_url(settings), settings.referral_link_days),
    )
    return Dispatcher(engine, cipher, service_names, senders, **options)
