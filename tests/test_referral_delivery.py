"""The outbox dispatcher, against real servers on this machine: SMTP (aiosmtpd) and HTTP.

Nothing of ours is mocked: referrals are made by store.submit, messages go
through real sockets, and the receivers check what a service would check.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet

from chatbot.config import PROJECT_ROOT, load_settings
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.referrals import models as m
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher, derived_secret, load_key
from chatbot.referrals.delivery import DeliveryReport, Dispatcher, dispatcher_from_settings
from chatbot.referrals.senders import (
    SIGNING_SECRET_ENV,
    PickupDirectorySender,
    SmtpSender,
    WebhookSender,
    read_pickup,
    remove_pickup_copies,
    webhook_signing_secret,
)
from tests.databases import KINDS, throwaway_engine

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone.utc)
SERVICE_ID = "able-futures"
SERVICE_NAME = "Able Futures"
SERVICE_ADDRESS = "referrals@able-futures.example"
FROM_ADDRESS = "referrals@signpost.example"
NAME = "Zoë Testperson"
PHONE = "+447700900123"
PERSON_EMAIL = "zoe.testperson@example.org"
FACTS = {
    "work_status": "off_sick",
    "weeks_off_sick": 6,
    "condition_category": "mental_health",
    "area_id": "manchester",
}
SECRET = b"test-signing-secret"


def service_names(service_id: str) -> str:
    return {SERVICE_ID: SERVICE_NAME}[service_id]


# --- databases --------------------------------------------------------------


def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'chatbot.db'}")
    create_schema(engine)
    return engine


@pytest.fixture
def db(tmp_path):
    engine = sqlite_engine(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture(params=KINDS)
def any_db(request, tmp_path):
    """SQLite, and PostgreSQL in a schema of its own (the server is shared)."""
    with throwaway_engine(request.param, tmp_path, "delivery") as engine:
        yield engine


def another_engine(engine):
    """A second engine on the same database: what a second dispatcher process would have."""
    return make_engine(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def cipher():
    return ContactCipher(Fernet.generate_key())


def submit(
    engine,
    cipher,
    *,
    method="email",
    destination=SERVICE_ADDRESS,
    contact_route="phone",
    n=None,
    at=NOW,
    purpose=m.PURPOSE_REFERRAL,
):
    n = n if n is not None else secrets.token_hex(4)
    contact = PHONE if contact_route == "phone" else PERSON_EMAIL
    submission = store.Submission(
        person_key=f"person-{n}",
        submission_key=f"submission-{n}",
        service_id=SERVICE_ID,
        method=method,
        destination=destination,
        channel="web",
        role="self",
        name=NAME,
        contact_route=contact_route,
        contact=contact,
        best_time="morning",
        shared_facts=FACTS,
        consent=store.Consent(
            wording_version="2026-11-25.1+abcd1234",
            given_by="person",
            how="pressed 'Yes, I agree' in web chat",
            decided_at=NOW,
        ),
        purpose=purpose,
    )
    with session_scope(engine) as session:
        return store.submit(session, submission, cipher, at).reference


def outbox(engine, reference, kind=m.KIND_REFERRAL) -> m.OutboxRow:
    with session_scope(engine) as session:
        return session.scalar(
            sa.select(m.OutboxRow)
            .join(m.ReferralRow, m.ReferralRow.id == m.OutboxRow.referral_id)
            .where(m.ReferralRow.reference == reference, m.OutboxRow.kind == kind)
        )


def referral(engine, reference) -> m.ReferralRow:
    with session_scope(engine) as session:
        return store.find(session, reference)


def utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


# --- a real SMTP server -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """The aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [message["Message-ID"] for message in self.messages]


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_servers():
    """Start servers with start(port); every one is stopped after the test."""
    started: list[SmtpServer] = []

    def start(port: int | None = None) -> SmtpServer:
        server = SmtpServer(port or free_port()).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp(smtp_servers):
    return smtp_servers()


def smtp_sender(port: int) -> SmtpSender:
    return SmtpSender("127.0.0.1", port, FROM_ADDRESS, starttls=False, timeout=5)


def email_dispatcher(engine, cipher, port: int, **options) -> Dispatcher:
    return Dispatcher(engine, cipher, service_names, {"email": smtp_sender(port)}, **options)


# --- a real webhook receiver ------------------------------------------------


def verify_signature(secret: bytes, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """What a service does, exactly as the senders module documents it."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", "")) and abs(time.time() - timestamp) <= tolerance_s


class Receiver:
    """A service's webhook endpoint: checks signatures, answers with the statuses it is given."""

    def __init__(self, secret: bytes, statuses=()):
        self.secret = secret
        self.statuses = list(statuses)
        self.calls: list[dict] = []  # every request: key, whether the signature held, the body
        self.accepted: dict[str, dict] = {}  # key -> payload, once each
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.answer(self, body)

            def log_message(self, *args):  # the server's own stderr log: not wanted
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str = "/referrals") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        key = handler.headers.get("Idempotency-Key", "")
        signed = verify_signature(self.secret, handler.headers.get("X-Signature", ""), body)
        self.calls.append({"key": key, "signed": signed, "payload": json.loads(body)})
        if not signed:
            status = 401
        elif self.statuses:
            status = self.statuses.pop(0)
        else:
            status = 409 if key in self.accepted else 200
        if status == 200:
            self.accepted[key] = json.loads(body)
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(secret: bytes = SECRET, statuses=()) -> Receiver:
        receiver = Receiver(secret, statuses)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def webhook_dispatcher(engine, cipher, secret: bytes = SECRET) -> Dispatcher:
    return Dispatcher(engine, cipher, service_names, {"webhook": WebhookSender(secret, timeout=5)})


# --- (a) delivery by email ----------------------------------------------------


def test_a_referral_is_delivered_once_by_email_with_everything_the_service_needs(any_db, cipher, smtp):
    reference = submit(any_db, cipher)
    dispatcher = email_dispatcher(any_db, cipher, smtp.port)

    assert dispatcher.run_once(NOW) == DeliveryReport(sent=1)
    assert dispatcher.run_once(NOW + dt.timedelta(hours=1)) == DeliveryReport()

    [message] = smtp.inbox.messages
    assert smtp.inbox.recipients == [[SERVICE_ADDRESS]]
    assert message["Message-ID"] == f"<referral-{reference}@signpost.example>"
    assert reference in message["Subject"] and NAME not in message["Subject"]
    body = message.get_content()
    for expected in (
        SERVICE_NAME,
        reference,
        NAME,
        f"Contact by phone: {PHONE}",
        "Best time to get in touch: morning",
        "Work situation: off sick",
        "Time off sick: 6 weeks",
        "Kind of health condition: mental health",
        "Area: manchester",
        "Given by: the person themselves",
        "25 November 2026, 10:00 UTC",
        "pressed 'Yes, I agree' in web chat",
        "2026-11-25.1+abcd1234",
        f"write to {FROM_ADDRESS}",
    ):
        assert expected in body, expected

    row = outbox(any_db, reference)
    assert (row.state, row.attempts, utc(row.sent_at)) == (m.SENT, 0, NOW)
    assert row.lease_token is None and row.leased_until is None
    delivered = referral(any_db, reference)
    assert (delivered.status, utc(delivered.status_changed_at)) == (m.DELIVERED, NOW)


# --- (b) SMTP down, then up ---------------------------------------------------


def test_when_smtp_is_down_the_message_waits_and_goes_once_it_is_back(db, cipher, smtp_servers):
    port = free_port()  # nothing listens here yet
    reference = submit(db, cipher)
    dispatcher = email_dispatcher(db, cipher, port)

    assert dispatcher.run_once(NOW) == DeliveryReport(failed=1)
    row = outbox(db, reference)
    assert row.state == m.PENDING and row.attempts == 1
    assert NOW + dt.timedelta(seconds=30) <= utc(row.next_attempt_at) <= NOW + dt.timedelta(seconds=33)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert referral(db, reference).status == m.SUBMITTED

    # Before the back-off is over nothing is tried, even with the server up.
    server = smtp_servers(port)
    assert dispatcher.run_once(NOW + dt.timedelta(seconds=5)) == DeliveryReport()
    assert server.inbox.messages == []

    later = NOW + dt.timedelta(minutes=5)
    assert dispatcher.run_once(later) == DeliveryReport(sent=1)
    assert dispatcher.run_once(later + dt.timedelta(hours=1)) == DeliveryReport()
    assert server.inbox.message_ids() == [f"<referral-{reference}@signpost.example>"]
    assert referral(db, reference).status == m.DELIVERED


def test_back_off_doubles_up_to_the_cap_and_never_gives_up(db, cipher, caplog):
    reference = submit(db, cipher)
    dispatcher = email_dispatcher(db, cipher, free_port(), backoff_base_s=60, backoff_cap_s=600, jitter=0)
    delays, now = [], NOW
    for _ in range(6):
        assert dispatcher.run_once(now) == DeliveryReport(failed=1)
        next_at = utc(outbox(db, reference).next_attempt_at)
        delays.append((next_at - now).total_seconds())
        now = next_at
    assert delays == [60, 120, 240, 480, 600, 600]
    assert outbox(db, reference).state == m.PENDING

    # A day on it is still tried, and someone is told (with ids only).
    caplog.set_level(logging.WARNING, logger="chatbot.referrals.delivery")
    assert dispatcher.run_once(NOW + dt.timedelta(days=1, hours=2)) == DeliveryReport(failed=1)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert f"message {outbox(db, reference).id} (email) has waited 26 hours" in warning.getMessage()


# --- (c) never twice ------------------------------------------------------------


def test_two_dispatchers_at_once_never_send_a_message_twice(any_db, cipher, smtp):
    references = [submit(any_db, cipher, n=f"{i}-{secrets.token_hex(2)}") for i in range(24)]
    engines = [any_db, another_engine(any_db)]
    dispatchers = [email_dispatcher(engine, cipher, smtp.port) for engine in engines]
    start = threading.Barrier(len(dispatchers))
    reports: list[DeliveryReport] = []

    def run(dispatcher: Dispatcher) -> None:
        start.wait()
        reports.append(dispatcher.run_once(NOW))

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    engines[1].dispose()

    assert sum(report.sent for report in reports) == len(references)
    assert sum(report.failed for report in reports) == 0
    ids = smtp.inbox.message_ids()
    assert sorted(ids) == sorted(f"<referral-{ref}@signpost.example>" for ref in references)
    # And again later: everything is sent, nothing goes twice.
    assert dispatchers[0].run_once(NOW + dt.timedelta(hours=2)) == DeliveryReport()
    assert len(smtp.inbox.messages) == len(references)


def test_a_message_leased_by_a_stopped_dispatcher_is_sent_when_its_lease_runs_out(db, cipher, smtp):
    reference = submit(db, cipher)
    # Another dispatcher took the message and then stopped before sending.
    with db.begin() as connection:
        connection.execute(
            sa.update(m.OutboxRow).values(leased_until=NOW + dt.timedelta(minutes=5), lease_token="gone")
        )
    dispatcher = email_dispatcher(db, cipher, smtp.port)
    assert dispatcher.run_once(NOW + dt.timedelta(minutes=1)) == DeliveryReport()
    assert dispatcher.run_once(NOW + dt.timedelta(minutes=6)) == DeliveryReport(sent=1)
    assert smtp.inbox.message_ids() == [f"<referral-{reference}@signpost.example>"]


# --- (d) webhooks ---------------------------------------------------------------


def test_a_webhook_that_fails_once_gets_the_referral_once_after_a_retry(db, cipher, receivers):
    receiver = receivers(statuses=[500])
    reference = submit(db, cipher, method="webhook", destination=receiver.url())
    dispatcher = webhook_dispatcher(db, cipher)

    assert dispatcher.run_once(NOW) == DeliveryReport(failed=1)
    assert outbox(db, reference).last_error == "DeliveryFailed: HTTP 500"
    assert dispatcher.run_once(NOW + dt.timedelta(minutes=5)) == DeliveryReport(sent=1)
    assert dispatcher.run_once(NOW + dt.timedelta(hours=5)) == DeliveryReport()

    key = f"referral-{reference}"
    assert [(call["key"], call["signed"]) for call in receiver.calls] == [(key, True), (key, True)]
    payload = receiver.accepted[key]
    assert payload["kind"] == "referral" and payload["reference"] == reference
    assert payload["service_id"] == SERVICE_ID
    assert payload["person"] == {
        "name": NAME,
        "contact_route": "phone",
        "contact": PHONE,
        "best_time": "morning",
    }
    assert payload["shared_facts"] == FACTS
    assert payload["consent"]["given_by"] == "person"
    assert payload["consent"]["wording_version"] == "2026-11-25.1+abcd1234"
    assert payload["sent_at"] == (NOW + dt.timedelta(minutes=5)).isoformat()
    assert referral(db, reference).status == m.DELIVERED


def test_a_webhook_that_already_has_the_message_answers_409_and_that_counts(db, cipher, receivers):
    receiver = receivers(statuses=[409])
    reference = submit(db, cipher, method="webhook", destination=receiver.url())
    assert webhook_dispatcher(db, cipher).run_once(NOW) == DeliveryReport(sent=1)
    assert referral(db, reference).status == m.DELIVERED


def test_a_wrong_signature_fails_the_documented_check(db, cipher, receivers):
    receiver = receivers()
    reference = submit(db, cipher, method="webhook", destination=receiver.url())
    assert webhook_dispatcher(db, cipher, secret=b"not-the-shared-secret").run_once(NOW) == DeliveryReport(
        failed=1
    )
    assert receiver.calls[0]["signed"] is False and receiver.accepted == {}
    assert outbox(db, reference).last_error == "DeliveryFailed: HTTP 401"

    # The check itself: a changed body or timestamp no longer matches.
    body = b'{"reference":"HW-00000-00000"}'
    timestamp = int(time.time())
    good = (
        f"t={timestamp},v1=" + hmac.new(SECRET, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    )
    assert verify_signature(SECRET, good, body)
    assert not verify_signature(SECRET, good, body.replace(b"0", b"1", 1))
    assert not verify_signature(SECRET, good.replace(f"t={timestamp}", f"t={timestamp + 1}"), body)
    assert not verify_signature(SECRET, good.replace(f"t={timestamp}", f"t={timestamp - 3600}"), body)


def test_plain_http_to_another_host_is_refused_without_touching_the_network(db, cipher, monkeypatch):
    reference = submit(db, cipher, method="webhook", destination="http://service.example/referrals")
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def watched_getaddrinfo(*args, **kwargs):
        lookups.append(args[0])
        return real_getaddrinfo(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", watched_getaddrinfo)
    assert webhook_dispatcher(db, cipher).run_once(NOW) == DeliveryReport(failed=1)
    assert "service.example" not in lookups
    assert outbox(db, reference).last_error == "DeliveryFailed: refused: webhook URL must use https"


# --- (e) withdrawal and erasure -------------------------------------------------


def test_a_referral_withdrawn_before_delivery_is_never_sent(db, cipher, smtp):
    reference = submit(db, cipher)
    with session_scope(db) as session:
        assert store.withdraw(session, reference, NOW).outcome == store.STOPPED
    assert email_dispatcher(db, cipher, smtp.port).run_once(NOW + dt.timedelta(minutes=1)) == DeliveryReport()
    assert smtp.inbox.messages == []
    assert outbox(db, reference).state == m.CANCELLED


def test_withdrawal_after_delivery_tells_the_service_by_reference_only(db, cipher, smtp):
    reference = submit(db, cipher, contact_route="email")
    dispatcher = email_dispatcher(db, cipher, smtp.port)
    dispatcher.run_once(NOW)
    withdrawn_at = NOW + dt.timedelta(hours=3)
    with session_scope(db) as session:
        assert store.withdraw(session, reference, withdrawn_at).outcome == store.SERVICE_TOLD

    assert dispatcher.run_once(withdrawn_at + dt.timedelta(seconds=1)) == DeliveryReport(sent=1)
    notice = smtp.inbox.messages[1]
    assert notice["Message-ID"] == f"<withdrawal-{reference}@signpost.example>"
    assert reference in notice["Subject"]
    body = notice.get_content()
    assert reference in body
    assert "the person has withdrawn consent; please do not contact them about this referral" in body.lower()
    assert "25 November 2026, 13:00 UTC" in body
    for personal in (NAME, PERSON_EMAIL, PHONE, "off sick", "mental health"):
        assert personal not in notice.as_string()
    assert outbox(db, reference, m.KIND_WITHDRAWAL).state == m.SENT


def test_erasing_a_person_after_delivery_still_tells_the_service(db, cipher, smtp):
    reference = submit(db, cipher, n="erase-me")
    dispatcher = email_dispatcher(db, cipher, smtp.port)
    dispatcher.run_once(NOW)
    with session_scope(db) as session:
        assert store.erase_person(session, "person-erase-me", NOW).services_told == 1
    assert referral(db, reference).name_encrypted is None

    assert dispatcher.run_once(NOW + dt.timedelta(minutes=1)) == DeliveryReport(sent=1)
    assert smtp.inbox.message_ids()[1] == f"<withdrawal-{reference}@signpost.example>"
    assert "withdrawn consent" in smtp.inbox.messages[1].get_content()


def test_a_withdrawal_while_the_referral_is_being_sent_is_passed_on(db, cipher, smtp):
    """The person withdraws during the send: the service gets the referral and then the notice."""
    reference = submit(db, cipher)

    class WithdrawDuringSend:
        def __init__(self, inner):
            self.inner = inner

        def send(self, message):
            with session_scope(db) as session:
                store.withdraw(session, message.reference, NOW)
            self.inner.send(message)

    dispatcher = Dispatcher(db, cipher, service_names, {"email": WithdrawDuringSend(smtp_sender(smtp.port))})
    assert dispatcher.run_once(NOW) == DeliveryReport(sent=1)
    assert referral(db, reference).status == m.WITHDRAWN  # not overwritten by "delivered"
    assert outbox(db, reference).state == m.SENT

    assert email_dispatcher(db, cipher, smtp.port).run_once(NOW + dt.timedelta(minutes=1)) == DeliveryReport(
        sent=1
    )
    assert smtp.inbox.message_ids() == [
        f"<referral-{reference}@signpost.example>",
        f"<withdrawal-{reference}@signpost.example>",
    ]


def test_a_referral_whose_details_are_gone_by_send_time_is_cancelled(db, cipher, smtp):
    reference = submit(db, cipher)
    with db.begin() as connection:  # as a purge by another process would leave it
        connection.execute(
            sa.update(m.ReferralRow).values(
                name_encrypted=None, contact_encrypted=None, personal_data_removed_at=NOW
            )
        )
    assert email_dispatcher(db, cipher, smtp.port).run_once(NOW) == DeliveryReport(skipped=1)
    assert outbox(db, reference).state == m.CANCELLED
    assert smtp.inbox.messages == []


# --- (f) the pickup directory ---------------------------------------------------


def test_the_pickup_directory_holds_one_private_file_per_message(db, cipher, tmp_path):
    mail = tmp_path / "var" / "mail"
    sender = PickupDirectorySender(mail, from_addr=FROM_ADDRESS)
    dispatcher = Dispatcher(db, cipher, service_names, {"email": sender})
    references = [submit(db, cipher), submit(db, cipher)]
    assert dispatcher.run_once(NOW) == DeliveryReport(sent=2)

    files = sorted(mail.iterdir())
    assert [path.name for path in files] == sorted(f"referral-{ref}.eml" for ref in references)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert NAME in written.get_content()

    # The dispatcher stopped after writing but before recording it: the retry overwrites.
    with db.begin() as connection:
        connection.execute(sa.update(m.OutboxRow).values(state=m.PENDING, sent_at=None))
    assert dispatcher.run_once(NOW + dt.timedelta(minutes=1)) == DeliveryReport(sent=2)
    assert sorted(mail.iterdir()) == files
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)
    rewritten = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert rewritten["Date"] == "Wed, 25 Nov 2026 10:01:00 +0000"
    assert rewritten["Message-ID"] == written["Message-ID"]


def test_run_forever_delivers_until_told_to_stop(db, cipher, tmp_path):
    mail = tmp_path / "mail"
    dispatcher = Dispatcher(db, cipher, service_names, {"email": PickupDirectorySender(mail)})
    reference = submit(db, cipher, at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    stop = threading.Event()
    loop = threading.Thread(target=dispatcher.run_forever, args=(stop, 0.05))
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while outbox(db, reference).state != m.SENT and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive()
    assert [path.name for path in mail.iterdir()] == [f"referral-{reference}.eml"]


# --- (g) logs -------------------------------------------------------------------


def test_logs_name_ids_only_never_the_person_or_the_message(db, cipher, smtp_servers, receivers, caplog):
    caplog.set_level(logging.DEBUG)
    token_url_part = "hooks/t0ken-abc123"
    receiver = receivers(statuses=[503])
    by_phone = submit(db, cipher)
    by_email = submit(db, cipher, contact_route="email")
    by_webhook = submit(db, cipher, method="webhook", destination=receiver.url("/" + token_url_part))
    port = free_port()
    dispatcher = Dispatcher(
        db, cipher, service_names, {"email": smtp_sender(port), "webhook": WebhookSender(SECRET, timeout=5)}
    )

    assert dispatcher.run_once(NOW) == DeliveryReport(failed=3)  # SMTP down, webhook answers 503
    server = smtp_servers(port)
    assert dispatcher.run_once(NOW + dt.timedelta(minutes=5)) == DeliveryReport(sent=3)
    with session_scope(db) as session:
        for reference in (by_phone, by_email, by_webhook):
            store.withdraw(session, reference, NOW + dt.timedelta(hours=1))
    assert dispatcher.run_once(NOW + dt.timedelta(hours=2)) == DeliveryReport(sent=3)
    assert len(server.inbox.messages) == 4 and len(receiver.accepted) == 2

    # The SMTP test server ("mail.log") is the service's side, not ours.
    ours = [record for record in caplog.records if not record.name.startswith("mail.log")]
    logged = "\n".join(record.getMessage() for record in ours)
    assert "delivered referral message" in logged and "(webhook) failed" in logged
    for secret in (
        NAME,
        "Testperson",
        PHONE,
        "7700900123",
        PERSON_EMAIL,
        SERVICE_ADDRESS,
        token_url_part,
        "What they told us",
        "withdrawn consent",
        "mental health",
    ):
        assert secret not in logged, secret
    with db.connect() as connection:
        errors = list(connection.scalars(sa.select(m.OutboxRow.last_error)))
    assert sorted(filter(None, errors)) == [
        "ConnectionRefusedError: Connection refused",
        "ConnectionRefusedError: Connection refused",
        "DeliveryFailed: HTTP 503",
    ]


# --- settings -------------------------------------------------------------------


def test_without_smtp_host_mail_goes_to_the_pickup_directory(db, cipher, tmp_path, monkeypatch):
    monkeypatch.delenv(SIGNING_SECRET_ENV, raising=False)
    settings = replace(load_settings(), var_dir=tmp_path, smtp_host="")
    dispatcher = dispatcher_from_settings(settings, db, cipher, service_names)
    pickup = dispatcher.senders["email"]
    assert isinstance(pickup, PickupDirectorySender) and pickup.directory == tmp_path / "mail"
    assert isinstance(dispatcher.senders["webhook"], WebhookSender)

    with_smtp = replace(settings, smtp_host="smtp.example.org", smtp_port=2525)
    smtp_sender_ = dispatcher_from_settings(with_smtp, db, cipher, service_names).senders["email"]
    assert isinstance(smtp_sender_, SmtpSender) and (smtp_sender_.host, smtp_sender_.port) == (
        "smtp.example.org",
        2525,
    )


def test_the_embedded_outbox_seals_each_email_and_the_cli_opens_it(db, cipher, tmp_path, monkeypatch):
    """var/mail holds a name, a number and a condition: sealed with the referral key at rest,
    opened by `python -m chatbot referrals mail` for the person who passes it on."""
    monkeypatch.delenv(SIGNING_SECRET_ENV, raising=False)
    monkeypatch.delenv("REFERRAL_ENCRYPTION_KEY", raising=False)
    settings = replace(load_settings(), var_dir=tmp_path, smtp_host="")
    dispatcher = dispatcher_from_settings(settings, db, cipher, service_names)
    reference = submit(db, cipher)
    assert dispatcher.run_once(NOW) == DeliveryReport(sent=1)

    [sealed] = (tmp_path / "mail").iterdir()
    assert sealed.name == f"referral-{reference}.eml.enc"
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert NAME.encode() not in sealed.read_bytes() and b"Subject" not in sealed.read_bytes()
    opened = email.message_from_bytes(read_pickup(sealed, load_key(tmp_path)), policy=email.policy.default)
    assert NAME in opened.get_content() and opened["Subject"].startswith(f"New referral {reference}")
    with pytest.raises(ValueError, match="cannot be opened"):
        read_pickup(sealed, Fernet.generate_key())

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REFERRAL_ENCRYPTION_KEY")}
    env["CHATBOT_VAR_DIR"] = str(tmp_path)
    run = functools.partial(
        subprocess.run, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    listed = run([sys.executable, "-m", "chatbot", "referrals", "mail"])
    assert listed.returncode == 0 and f"New referral {reference}" in listed.stdout
    assert NAME not in listed.stdout  # the list names references, never people
    shown = run([sys.executable, "-m", "chatbot", "referrals", "mail", reference])
    assert shown.returncode == 0 and NAME in shown.stdout

    assert remove_pickup_copies(tmp_path / "mail", reference) == 1
    assert list((tmp_path / "mail").iterdir()) == []


def test_the_signing_secret_comes_from_the_environment_or_the_key(monkeypatch):
    key = Fernet.generate_key()
    monkeypatch.delenv(SIGNING_SECRET_ENV, raising=False)
    derived = webhook_signing_secret(key)
    assert derived == derived_secret(key, "webhook").hex().encode()
    assert webhook_signing_secret(Fernet.generate_key()) != derived
    monkeypatch.setenv(SIGNING_SECRET_ENV, "shared-with-the-service")
    assert webhook_signing_secret(key) == b"shared-with-the-service"


def test_a_call_back_request_goes_the_same_way_and_says_what_it_is(db, cipher, tmp_path):
    mail = tmp_path / "mail"
    dispatcher = Dispatcher(db, cipher, service_names, {"email": PickupDirectorySender(mail, FROM_ADDRESS)})
    referral = submit(db, cipher)
    callback = submit(db, cipher, purpose=m.PURPOSE_CALLBACK)
    with session_scope(db) as session:
        stored = {row.reference: row.purpose for row in session.scalars(sa.select(m.ReferralRow))}
    assert stored == {referral: m.PURPOSE_REFERRAL, callback: m.PURPOSE_CALLBACK}
    assert dispatcher.run_once(NOW) == DeliveryReport(sent=2)
    read = {
        path.name: email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in mail.iterdir()
    }
    asked = read[f"referral-{callback}.eml"]
    assert asked["Subject"].startswith(f"Call-back request {callback}")
    assert "asked to talk to a real person" in asked.get_content() and NAME in asked.get_content()
    assert read[f"referral-{referral}.eml"]["Subject"].startswith(f"New referral {referral}")
