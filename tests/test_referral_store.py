"""Referral storage: once per submission, withdrawal, erasure and the retention purge.

Runs on SQLite (the embedded default) and on the PostgreSQL server the
production profile uses, each in its own database or schema.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from chatbot.db import Base, create_schema, make_engine, session_scope
from chatbot.referrals import models as m
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher
from tests.databases import KINDS, throwaway_engine

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=KINDS)
def engine(request, tmp_path):
    with throwaway_engine(request.param, tmp_path, "referrals") as engine:
        yield engine


@pytest.fixture
def cipher():
    return ContactCipher(Fernet.generate_key())


def submission(key: str = "attempt-1", person: str = "person-1", method: str = "email") -> store.Submission:
    return store.Submission(
        person_key=person,
        submission_key=key,
        service_id="islington-iwork",
        method=method,
        destination="referrals@iwork.islington.example",
        channel="rest",
        role="self",
        name="Sam Taylor",
        contact_route="phone",
        contact="+447700900123",
        best_time="morning",
        shared_facts={"work_status": "off_sick", "area_id": "islington"},
        consent=store.Consent("2026-11-25.1+abcd", "person", "pressed the button 'yes' in rest", NOW),
    )


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_submission_stores_referral_consent_and_outbox_with_contact_details_encrypted(engine, cipher):
    with session_scope(engine) as session:
        result = store.submit(session, submission(), cipher, NOW)
    assert result.is_new and result.status == m.SUBMITTED
    with session_scope(engine) as session:
        referral = store.find(session, result.reference)
        assert b"Sam" not in referral.name_encrypted and b"7700" not in referral.contact_encrypted
        assert cipher.decrypt(referral.name_encrypted) == "Sam Taylor"
        consent = session.scalar(sa.select(m.ConsentRow))
        assert (consent.referral_id, consent.decision, consent.given_by) == (referral.id, "given", "person")
        assert consent.wording_version == "2026-11-25.1+abcd"
        outbox = session.scalar(sa.select(m.OutboxRow))
        assert (outbox.kind, outbox.state, outbox.method) == (m.KIND_REFERRAL, m.PENDING, "email")


def test_the_same_submission_twice_makes_one_referral(engine, cipher):
    with session_scope(engine) as session:
        first = store.submit(session, submission(), cipher, NOW)
    with session_scope(engine) as session:
        second = store.submit(session, submission(), cipher, NOW)
    assert second.reference == first.reference and not second.is_new
    assert (count(engine, m.ReferralRow), count(engine, m.OutboxRow), count(engine, m.ConsentRow)) == (
        1,
        1,
        1,
    )
    with session_scope(engine) as session:
        store.submit(session, submission(key="attempt-2"), cipher, NOW)
    assert count(engine, m.ReferralRow) == 2


def test_racing_submissions_of_one_attempt_make_one_referral(engine, cipher):
    references: list[str] = []
    barrier = threading.Barrier(4)

    def submit_once() -> None:
        barrier.wait()
        with session_scope(engine) as session:
            references.append(store.submit(session, submission(), cipher, NOW).reference)

    threads = [threading.Thread(target=submit_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(references) == 4 and len(set(references)) == 1
    assert count(engine, m.ReferralRow) == 1 and count(engine, m.OutboxRow) == 1


def test_withdrawing_before_delivery_stops_it_and_after_delivery_tells_the_service(engine, cipher):
    with session_scope(engine) as session:
        pending = store.submit(session, submission("a"), cipher, NOW)
        delivered = store.submit(session, submission("b"), cipher, NOW)
    with session_scope(engine) as session:
        message = session.scalar(
            sa.select(m.OutboxRow).join(m.ReferralRow).where(m.ReferralRow.reference == delivered.reference)
        )
        message.state = m.SENT
    with session_scope(engine) as session:
        assert store.withdraw(session, pending.reference, NOW).outcome == store.STOPPED
        assert store.withdraw(session, delivered.reference, NOW).outcome == store.SERVICE_TOLD
        assert store.withdraw(session, delivered.reference, NOW).outcome == store.ALREADY_WITHDRAWN
        assert store.withdraw(session, "HW-00000-00000", NOW).outcome == store.NOT_FOUND
    with session_scope(engine) as session:
        states = {(o.kind, o.state) for o in session.scalars(sa.select(m.OutboxRow))}
        assert states == {
            (m.KIND_REFERRAL, m.CANCELLED),
            (m.KIND_REFERRAL, m.SENT),
            (m.KIND_WITHDRAWAL, m.PENDING),
        }
        assert all(c.withdrawn_at is not None for c in session.scalars(sa.select(m.ConsentRow)))


def test_erasure_removes_the_persons_details_and_nobody_elses(engine, cipher):
    with session_scope(engine) as session:
        mine = store.submit(session, submission("a", person="me"), cipher, NOW)
        theirs = store.submit(session, submission("b", person="them"), cipher, NOW)
    with session_scope(engine) as session:
        erased = store.erase_person(session, "me", NOW)
    assert erased.referrals == 1
    with session_scope(engine) as session:
        gone, kept = store.find(session, mine.reference), store.find(session, theirs.reference)
        assert gone.name_encrypted is None and gone.contact_encrypted is None and gone.shared_facts is None
        assert gone.status == m.WITHDRAWN and gone.person_key != "me"
        assert kept.name_encrypted is not None and kept.status == m.SUBMITTED
    with session_scope(engine) as session:
        assert store.erase_person(session, "me", NOW).referrals == 0


def test_the_purge_removes_old_personal_data_and_keeps_the_counts(engine, cipher):
    with session_scope(engine) as session:
        old = store.submit(session, submission("old"), cipher, NOW - dt.timedelta(days=100))
        new = store.submit(session, submission("new"), cipher, NOW - dt.timedelta(days=5))
    with session_scope(engine) as session:
        assert store.purge_expired(session, dt.timedelta(days=90), NOW) == 1
    with session_scope(engine) as session:
        assert store.find(session, old.reference).name_encrypted is None
        assert store.find(session, new.reference).name_encrypted is not None
        assert store.purge_expired(session, dt.timedelta(days=90), NOW) == 0
    assert count(engine, m.ReferralRow) == 2 and count(engine, m.ConsentRow) == 2


KILLED_SUBMITTER = """
import datetime as dt, sys
from cryptography.fernet import Fernet
from chatbot.db import make_engine, session_scope
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher
sys.path.insert(0, {tests!r})
from test_referral_store import submission
engine = make_engine({url!r})
print("ready", flush=True)
while True:  # the parent kills us at a random moment, often mid-transaction
    with session_scope(engine) as session:
        store.submit(session, submission("killed"), ContactCipher(Fernet.generate_key()),
                     dt.datetime.now(dt.timezone.utc))
"""


def test_a_submitter_killed_at_any_moment_leaves_one_whole_referral_or_none(tmp_path, cipher):
    """Like the action server dying mid-submit: then the person presses 'send' again."""
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    engine = make_engine(url)
    create_schema(engine)
    tests = os.path.dirname(__file__)
    for delay in (0.0, 0.05, 0.2, 0.5):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_SUBMITTER.format(tests=tests, url=url)],
            stdout=subprocess.PIPE,
            cwd=os.path.dirname(tests),
        )
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        referrals, outbox, consents = (
            count(engine, model) for model in (m.ReferralRow, m.OutboxRow, m.ConsentRow)
        )
        assert referrals == outbox == consents and referrals <= 1
    with session_scope(engine) as session:  # the person tries again
        store.submit(session, submission("killed"), cipher, NOW)
    assert (count(engine, m.ReferralRow), count(engine, m.OutboxRow), count(engine, m.ConsentRow)) == (
        1,
        1,
        1,
    )
    engine.dispose()


def test_tables_are_registered_for_create_schema():
    assert {"referrals", "referral_consents", "referral_outbox"} <= set(Base.metadata.tables)


def test_withdrawal_removes_the_personal_data_and_keeps_what_the_notice_needs(engine, cipher):
    with session_scope(engine) as session:
        submitted = store.submit(session, submission("w"), cipher, NOW)
    with session_scope(engine) as session:
        assert store.withdraw(session, submitted.reference, NOW).outcome == store.STOPPED
    with session_scope(engine) as session:
        row = session.scalar(sa.select(m.ReferralRow))
        assert (row.name_encrypted, row.contact_encrypted, row.best_time, row.shared_facts) == (None,) * 4
        assert row.personal_data_removed_at is not None and row.reference == submitted.reference


@pytest.mark.parametrize(
    "person, proof, allowed",
    [
        ("person-1", "", True),  # the conversation that made it
        ("someone-else", "", False),  # a stranger with only the reference
        ("someone-else", "the last digits are 0123", True),
        ("someone-else", "+44 7700 900123", True),
        ("someone-else", "0124", False),
        ("someone-else", "123", False),  # three digits are not enough
    ],
)
def test_only_the_person_can_withdraw(engine, cipher, person, proof, allowed):
    with session_scope(engine) as session:
        submitted = store.submit(session, submission("o"), cipher, NOW)
    requester = store.Requester(person_key=person, proof=proof, cipher=cipher)
    with session_scope(engine) as session:
        result = store.withdraw(session, submitted.reference, NOW, requester)
    assert (result.outcome == store.STOPPED) is allowed
    if not allowed:  # the stranger learns nothing: not even which service
        assert result == store.Withdrawal(store.NOT_FOUND)
        with session_scope(engine) as session:
            assert session.scalar(sa.select(m.ReferralRow)).contact_encrypted is not None


def test_the_outbox_copies_go_with_a_withdrawal(tmp_path):
    from chatbot.referrals.senders import remove_pickup_copies

    for name in (
        "referral-HW-AAAAA-BBBBB.eml",
        "reminder-HW-AAAAA-BBBBB.eml",
        "withdrawal-HW-AAAAA-BBBBB.eml",
    ):
        (tmp_path / name).write_text("x")
    assert remove_pickup_copies(tmp_path, "HW-AAAAA-BBBBB") == 2
    assert [p.name for p in tmp_path.iterdir()] == ["withdrawal-HW-AAAAA-BBBBB.eml"]
