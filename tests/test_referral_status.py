"""Referral status: which change may follow which, the history, the chat's view, the one reminder.

On SQLite and on the PostgreSQL server at 127.0.0.1:5432 (each test in a schema of its own).
Referrals are made by store.submit and delivered by the real dispatcher into a pickup
directory or a real SMTP server (aiosmtpd); nothing of ours is mocked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import secrets
import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from chatbot.config import load_settings
from chatbot.db import make_engine, session_scope
from chatbot.referrals import models as m
from chatbot.referrals import status as st
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher
from chatbot.referrals.delivery import Dispatcher
from chatbot.referrals.senders import PickupDirectorySender, SmtpSender
from chatbot.referrals.status_links import LINK_LABELS, StatusLinks
from chatbot.worker import queue_due_reminders
from tests.databases import throwaway_engine

KEY = Fernet.generate_key()
# A Monday. Delivered at 10:00, three working days later is Thursday 10:00.
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
SERVICE_ID = "able-futures"
NAME = "Zoë Testperson"
PHONE = "+447700900123"


# --- databases and referrals (also used by test_status_updates.py) ---------------------


def open_engine(kind: str, tmp_path) -> contextlib.AbstractContextManager[sa.engine.Engine]:
    return throwaway_engine(kind, tmp_path, "status")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with open_engine(request.param, tmp_path) as engine:
        yield engine


def another_engine(engine):
    """What a second process would have: its own engine on the same database."""
    return make_engine(engine.url.render_as_string(hide_password=False))


CIPHER = ContactCipher(KEY)
LINKS = StatusLinks(KEY, "https://signpost.example", valid_days=60)


def submit(engine, at: dt.datetime = MONDAY, person: str = "person-1") -> str:
    with session_scope(engine) as session:
        return store.submit(
            session,
            store.Submission(
                person_key=person,
                submission_key=secrets.token_hex(8),
                service_id=SERVICE_ID,
                method="email",
                destination="referrals@able-futures.example",
                channel="web",
                role="self",
                name=NAME,
                contact_route="phone",
                contact=PHONE,
                best_time="morning",
                shared_facts={"work_status": "off_sick"},
                consent=store.Consent("2026-11-25.1+abcd", "person", "pressed 'Yes, I agree'", at),
            ),
            CIPHER,
            at,
        ).reference


def dispatcher(engine, mail_dir, **senders) -> Dispatcher:
    return Dispatcher(
        engine,
        CIPHER,
        lambda _: "Able Futures",
        senders or {"email": PickupDirectorySender(mail_dir)},
        status_links=LINKS,
    )


def delivered_referral(engine, tmp_path, at: dt.datetime = MONDAY) -> str:
    reference = submit(engine, at)
    assert dispatcher(engine, tmp_path / "mail").run_once(at).sent >= 1
    return reference


def referral_row(engine, reference) -> m.ReferralRow:
    with session_scope(engine) as session:
        return store.find(session, reference)


def history(engine, reference) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(m.StatusChangeRow.status, m.StatusChangeRow.changed_by)
            .join(m.ReferralRow, m.ReferralRow.id == m.StatusChangeRow.referral_id)
            .where(m.ReferralRow.reference == reference)
            .order_by(m.StatusChangeRow.id)
        ).all()
    return [tuple(row) for row in rows]


def service_says(engine, reference, status, at, **options) -> st.StatusChange:
    with session_scope(engine) as session:
        return st.record_service_update(session, reference, status, at, **options)


def reminders(engine) -> list[m.OutboxRow]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(m.OutboxRow).where(m.OutboxRow.kind == m.KIND_REMINDER)))


# --- which status may follow which -------------------------------------------------------

S = m
SERVICE = m.BY_SERVICE


@pytest.mark.parametrize(
    "current, new, by, expected",
    [
        (S.SUBMITTED, S.DELIVERED, m.BY_SYSTEM, None),
        (S.DELIVERED, S.ACKNOWLEDGED, SERVICE, None),
        (S.ACKNOWLEDGED, S.CONTACTED, SERVICE, None),
        (S.CONTACTED, S.SUPPORT_STARTED, SERVICE, None),
        (S.DELIVERED, S.CONTACTED, SERVICE, None),  # skipping forward
        (S.DELIVERED, S.SUPPORT_STARTED, SERVICE, None),
        (S.DELIVERED, S.DECLINED, SERVICE, None),
        (S.ACKNOWLEDGED, S.COULD_NOT_CONTACT, SERVICE, None),
        (S.CONTACTED, S.DECLINED, SERVICE, None),
        (S.CONTACTED, S.ACKNOWLEDGED, SERVICE, st.OUT_OF_ORDER),  # never back
        (S.ACKNOWLEDGED, S.ACKNOWLEDGED, SERVICE, st.SAME),
        (S.SUBMITTED, S.ACKNOWLEDGED, SERVICE, st.NOT_DELIVERED),
        (S.SUBMITTED, S.DECLINED, SERVICE, st.NOT_DELIVERED),
        (S.SUPPORT_STARTED, S.DECLINED, SERVICE, st.FINISHED),
        (S.DECLINED, S.CONTACTED, SERVICE, st.FINISHED),
        (S.COULD_NOT_CONTACT, S.CONTACTED, SERVICE, st.FINISHED),
        (S.WITHDRAWN, S.ACKNOWLEDGED, SERVICE, st.FINISHED),
        (S.SUBMITTED, S.WITHDRAWN, m.BY_PERSON, None),
        (S.SUPPORT_STARTED, S.WITHDRAWN, m.BY_PERSON, None),  # consent can always be withdrawn
        (S.DECLINED, S.WITHDRAWN, m.BY_PERSON, None),
        (S.WITHDRAWN, S.WITHDRAWN, m.BY_PERSON, st.SAME),
        (S.DELIVERED, S.WITHDRAWN, SERVICE, st.NOT_ALLOWED),  # only the person withdraws
        (S.SUBMITTED, S.DELIVERED, SERVICE, st.NOT_ALLOWED),  # only the dispatcher delivers
        (S.DELIVERED, S.ACKNOWLEDGED, m.BY_PERSON, st.NOT_ALLOWED),
        (S.DELIVERED, "finished", SERVICE, st.NOT_ALLOWED),
    ],
)
def test_which_status_may_follow_which(current, new, by, expected):
    assert st.refusal(current, new, by) == expected


def test_every_status_write_is_recorded_with_who_made_it(engine, tmp_path):
    reference = delivered_referral(engine, tmp_path)
    assert service_says(engine, reference, m.ACKNOWLEDGED, MONDAY).applied
    assert service_says(engine, reference, m.SUPPORT_STARTED, MONDAY).applied  # skipped "contacted"
    with session_scope(engine) as session:
        assert store.withdraw(session, reference, MONDAY).outcome == store.SERVICE_TOLD
    assert history(engine, reference) == [
        (m.SUBMITTED, m.BY_SYSTEM),
        (m.DELIVERED, m.BY_SYSTEM),
        (m.ACKNOWLEDGED, m.BY_SERVICE),
        (m.SUPPORT_STARTED, m.BY_SERVICE),
        (m.WITHDRAWN, m.BY_PERSON),
    ]
    erased = submit(engine, person="forget-me")
    with session_scope(engine) as session:
        store.erase_person(session, "forget-me", MONDAY)
    assert history(engine, erased) == [(m.SUBMITTED, m.BY_SYSTEM), (m.WITHDRAWN, m.BY_PERSON)]


def test_a_refused_change_changes_nothing(engine, tmp_path):
    reference = delivered_referral(engine, tmp_path)
    later = MONDAY + dt.timedelta(hours=1)
    assert service_says(engine, reference, m.CONTACTED, MONDAY).applied
    for status, reason in [(m.ACKNOWLEDGED, st.OUT_OF_ORDER), (m.CONTACTED, st.SAME)]:
        change = service_says(engine, reference, status, later, receipt_key=f"link:{status}")
        assert (change.outcome, change.status) == (reason, m.CONTACTED)
    assert service_says(engine, reference, m.DECLINED, MONDAY).applied
    assert service_says(engine, reference, m.SUPPORT_STARTED, later).outcome == st.FINISHED
    row = referral_row(engine, reference)
    assert (row.status, st.as_utc(row.status_changed_at)) == (m.DECLINED, MONDAY)
    assert [s for s, _ in history(engine, reference)][-2:] == [m.CONTACTED, m.DECLINED]
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(m.StatusReceiptRow)) == 0


def test_a_service_updates_only_its_own_referrals_and_each_receipt_once(engine, tmp_path):
    reference = delivered_referral(engine, tmp_path)
    wrong = service_says(engine, reference, m.ACKNOWLEDGED, MONDAY, service_id="another-service")
    assert wrong.outcome == st.NOT_FOUND
    assert service_says(engine, "HW-00000-00000", m.ACKNOWLEDGED, MONDAY).outcome == st.NOT_FOUND
    first = service_says(
        engine, reference, m.ACKNOWLEDGED, MONDAY, receipt_key="link:abc", service_id=SERVICE_ID
    )
    assert first.applied
    again = service_says(engine, reference, m.CONTACTED, MONDAY, receipt_key="link:abc")
    assert (again.outcome, again.status) == (st.REPLAYED, m.ACKNOWLEDGED)
    assert referral_row(engine, reference).status == m.ACKNOWLEDGED


def test_a_service_answering_before_the_delivery_is_recorded_proves_it(engine, tmp_path):
    reference = submit(engine)
    # Still waiting in the outbox, untouched: the service cannot have it.
    assert service_says(engine, reference, m.ACKNOWLEDGED, MONDAY).outcome == st.NOT_DELIVERED
    assert history(engine, reference) == [(m.SUBMITTED, m.BY_SYSTEM)]
    # A dispatcher has taken it and is sending it (a fast webhook receiver answers at once).
    with session_scope(engine) as session:
        session.execute(sa.update(m.OutboxRow).values(lease_token="sending", leased_until=MONDAY))
    assert service_says(engine, reference, m.ACKNOWLEDGED, MONDAY).applied
    assert history(engine, reference) == [
        (m.SUBMITTED, m.BY_SYSTEM),
        (m.DELIVERED, m.BY_SYSTEM),
        (m.ACKNOWLEDGED, m.BY_SERVICE),
    ]


def test_racing_final_updates_only_one_wins(engine, tmp_path):
    reference = delivered_referral(engine, tmp_path)
    engines = [engine, another_engine(engine)]
    barrier = threading.Barrier(2)
    results: list[st.StatusChange] = []

    def say(index: int, status: str) -> None:
        barrier.wait()
        results.append(service_says(engines[index], reference, status, MONDAY))

    threads = [threading.Thread(target=say, args=pair) for pair in [(0, m.SUPPORT_STARTED), (1, m.DECLINED)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engines[1].dispose()
    assert sorted(r.outcome for r in results) == sorted([st.APPLIED, st.FINISHED])
    winner = next(r.requested for r in results if r.applied)
    assert referral_row(engine, reference).status == winner
    assert [s for s, _ in history(engine, reference)][2:] == [winner]


# --- working days and the chat's view ----------------------------------------------------


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (MONDAY, 3, MONDAY + dt.timedelta(days=3)),  # Thursday
        (MONDAY, 5, MONDAY + dt.timedelta(days=7)),  # next Monday
        (
            MONDAY + dt.timedelta(days=4, hours=6),
            1,
            MONDAY + dt.timedelta(days=7, hours=6),
        ),  # Fri 16:00 -> Mon
        (MONDAY + dt.timedelta(days=5), 1, MONDAY + dt.timedelta(days=7)),  # Saturday -> Monday
        (MONDAY + dt.timedelta(days=6), 2, MONDAY + dt.timedelta(days=8)),  # Sunday -> Tuesday
        (MONDAY, 0, MONDAY),
    ],
)
def test_working_days_skip_weekends(start, days, expected):
    assert st.add_working_days(start, days) == expected


def test_the_view_is_overdue_only_after_the_working_days_pass_without_contact(engine, tmp_path):
    friday = MONDAY + dt.timedelta(days=4, hours=6)  # Friday 16:00
    reference = delivered_referral(engine, tmp_path, at=friday)

    def view(at: dt.datetime) -> st.StatusView:
        with session_scope(engine) as session:
            return st.status_view(session, reference, at, response_days=2)

    tuesday_16 = friday + dt.timedelta(days=4)  # Monday and Tuesday are the two working days
    before = view(tuesday_16 - dt.timedelta(minutes=1))
    assert (before.status, before.overdue, before.delivered_at) == (m.DELIVERED, False, friday)
    assert before.contact_due_by == tuesday_16
    assert (before.service_id, before.purpose, before.reference) == (
        SERVICE_ID,
        m.PURPOSE_REFERRAL,
        reference,
    )
    assert view(tuesday_16 + dt.timedelta(minutes=1)).overdue
    assert service_says(engine, reference, m.ACKNOWLEDGED, tuesday_16).applied
    acknowledged = view(tuesday_16 + dt.timedelta(hours=1))
    assert acknowledged.overdue and acknowledged.changed_at == tuesday_16  # received, not yet contacted
    assert [step.status for step in acknowledged.history] == [m.SUBMITTED, m.DELIVERED, m.ACKNOWLEDGED]
    assert service_says(engine, reference, m.CONTACTED, tuesday_16).applied
    assert not view(tuesday_16 + dt.timedelta(days=30)).overdue


def test_the_view_before_delivery_and_for_the_wrong_person(engine):
    reference = submit(engine, person="me")
    with session_scope(engine) as session:
        waiting = st.status_view(session, reference, MONDAY + dt.timedelta(days=30), 5)
        assert (waiting.status, waiting.delivered_at, waiting.overdue) == (m.SUBMITTED, None, False)
        assert st.status_view(session, reference, MONDAY, 5, person_key="me") is not None
        assert st.status_view(session, reference, MONDAY, 5, person_key="someone-else") is None
        assert st.status_view(session, "HW-00000-00000", MONDAY, 5) is None


# --- the email's status links ------------------------------------------------------------


def test_the_referral_email_carries_one_working_link_per_service_status(engine, tmp_path):
    reference = delivered_referral(engine, tmp_path)
    [eml] = (tmp_path / "mail").glob("*.eml")
    body = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_content()
    assert "Please tell us how this referral is going" in body
    lines = body.splitlines()
    for status, label in LINK_LABELS.items():
        url = lines[lines.index(f"{label}:") + 1]
        assert url.startswith("https://signpost.example/webhooks/referral-status/")
        claim = LINKS.read(url.rsplit("/", 1)[1], MONDAY)
        assert (claim.reference, claim.status) == (reference, status)
    assert list(LINK_LABELS) == list(st.SERVICE_STATUSES)


# --- the reminder --------------------------------------------------------------------------


def queue(engine, at: dt.datetime, days: int = 3) -> int:
    """What the worker does every minute."""
    settings = replace(load_settings(), referral_reminder_days=days)
    return queue_due_reminders(settings, engine, at)


def test_one_reminder_after_three_working_days_without_an_answer(engine, tmp_path, smtp_server):
    controller, mailbox = smtp_server
    reference = delivered_referral(engine, tmp_path)
    thursday = MONDAY + dt.timedelta(days=3)
    assert queue(engine, thursday) == 0  # exactly three working days: not yet
    assert queue(engine, thursday + dt.timedelta(minutes=1)) == 1
    assert queue(engine, thursday + dt.timedelta(days=10)) == 0  # never a second
    smtp = SmtpSender("127.0.0.1", controller.port, "referrals@signpost.example", starttls=False)
    assert dispatcher(engine, None, email=smtp).run_once(thursday + dt.timedelta(minutes=2)).sent == 1
    [reminder] = [
        email.message_from_bytes(raw, policy=email.policy.default)
        for raw in mailbox.messages
        if f"<reminder-{reference}@".encode() in raw
    ]
    assert reminder["Subject"] == f"Reminder: referral {reference} is waiting for an update"
    body = reminder.get_content()
    assert "23 November 2026, 10:00 UTC" in body and NAME not in body and PHONE not in body
    assert all(f"{label}:" in body for label in LINK_LABELS.values())
    assert queue(engine, thursday + dt.timedelta(days=20)) == 0
    assert [(r.state, r.message_key) for r in reminders(engine)] == [(m.SENT, f"reminder-{reference}")]
    assert referral_row(engine, reference).status == m.DELIVERED  # a reminder changes no status


def test_no_reminder_once_the_service_answered_or_the_person_withdrew(engine, tmp_path):
    answered, withdrawn, waiting = (delivered_referral(engine, tmp_path) for _ in range(3))
    assert service_says(engine, answered, m.ACKNOWLEDGED, MONDAY + dt.timedelta(days=1)).applied
    with session_scope(engine) as session:
        store.withdraw(session, withdrawn, MONDAY + dt.timedelta(days=1))
    friday = MONDAY + dt.timedelta(days=4)
    assert queue(engine, friday) == 1
    assert [r.message_key for r in reminders(engine)] == [f"reminder-{waiting}"]
    # The service answers after the reminder was queued, before it went: it is never sent.
    assert service_says(engine, waiting, m.CONTACTED, friday).applied
    report = dispatcher(engine, tmp_path / "mail").run_once(friday + dt.timedelta(minutes=1))
    assert (report.sent, report.skipped) == (1, 1)  # sent: the withdrawal notice
    assert [r.state for r in reminders(engine)] == [m.CANCELLED]
    assert not list((tmp_path / "mail").glob("reminder-*"))


def test_two_workers_racing_queue_and_send_one_reminder(engine, tmp_path, smtp_server):
    controller, mailbox = smtp_server
    reference = delivered_referral(engine, tmp_path)
    due = MONDAY + dt.timedelta(days=3, minutes=1)
    engines = [engine, another_engine(engine)]
    barrier = threading.Barrier(2)
    queued: list[int] = []
    errors: list[BaseException] = []

    def worker(worker_engine) -> None:
        try:
            barrier.wait()
            queued.append(queue(worker_engine, due))
            smtp = SmtpSender("127.0.0.1", controller.port, "referrals@signpost.example", starttls=False)
            dispatcher(worker_engine, None, email=smtp).run_once(due)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engines[1].dispose()
    assert not errors, errors
    assert sorted(queued) == [0, 1]
    assert [r.state for r in reminders(engine)] == [m.SENT]
    sent = [raw for raw in mailbox.messages if f"<reminder-{reference}@".encode() in raw]
    assert len(sent) == 1


def test_a_webhook_reminder_names_the_referral_and_nothing_about_the_person():
    from chatbot.referrals.senders import OutgoingMessage, webhook_payload

    reminder = OutgoingMessage(
        outbox_id=1,
        kind=m.KIND_REMINDER,
        method="webhook",
        message_key="reminder-HW-7K3MQ-9PXA1",
        reference="HW-7K3MQ-9PXA1",
        service_id=SERVICE_ID,
        service_name="Able Futures",
        destination="https://able-futures.example/hook",
        sent_at=MONDAY + dt.timedelta(days=4),
        delivered_at=MONDAY,
    )
    assert webhook_payload(reminder) == {
        "kind": "reminder",
        "reference": "HW-7K3MQ-9PXA1",
        "service_id": SERVICE_ID,
        "service_name": "Able Futures",
        "sent_at": "2026-11-27T10:00:00+00:00",
        "delivered_at": "2026-11-23T10:00:00+00:00",
    }


def test_staff_print_a_services_webhook_secret(tmp_path):
    import subprocess
    import sys

    from chatbot.config import PROJECT_ROOT
    from chatbot.referrals.status_links import service_webhook_secret

    env = {"PATH": "/usr/bin:/bin", "CHATBOT_VAR_DIR": str(tmp_path), "REFERRAL_ENCRYPTION_KEY": KEY.decode()}
    printed = subprocess.run(
        [sys.executable, "-m", "chatbot", "referrals", "webhook-secret", SERVICE_ID],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert printed == service_webhook_secret(KEY, SERVICE_ID).decode()
    assert printed != service_webhook_secret(KEY, "another-service").decode()
