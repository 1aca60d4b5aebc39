"""Issue 9, end to end through the real servers, worker and a loopback SMTP server.

A referral made in a conversation is emailed to the service; the service
follows the "We have received this referral" link from that email and
confirms; the person asks how it is going and hears it; a replayed link
changes nothing; and the commissioners' report counts the referral.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from cryptography.fernet import Fernet

from chatbot.config import PROJECT_ROOT
from chatbot.db import make_engine, session_scope
from chatbot.referrals import models as rm
from chatbot.referrals import status, store
from chatbot.referrals.crypto import ContactCipher
from tests.chat import Conversation

OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."
RECEIVED_LABEL = "We have received this referral:"


@pytest.fixture(scope="module")
def delivered(live_servers, smtp_server):
    chat = Conversation(live_servers.rasa_url, token=live_servers.token)
    for message in (
        OPENING,
        "yes",
        '/inform{"gp_surgery_id":"amwell-group-practice"}',
        '/request_referral{"service_id":"islington-iwork"}',
        "/affirm",
        "Morgan Loop",
        "morgan.loop@example.com",
        "any time",
    ):
        chat.say(message)
    reference = chat.custom(chat.say("/affirm"), "referral")["reference"]
    _, mailbox = smtp_server
    deadline = time.monotonic() + 30
    body = None
    while time.monotonic() < deadline and body is None:
        for raw in mailbox.messages:
            message = email.message_from_bytes(raw)
            if reference in (message["Subject"] or "") and "Reminder" not in (message["Subject"] or ""):
                body = message.get_payload(decode=True).decode()
        time.sleep(0.25)
    assert body is not None, "the referral email did not arrive"
    return {
        "chat": chat,
        "reference": reference,
        "body": body,
        "db": live_servers.settings.var_dir / "chatbot.db",
    }


def _link(body: str, label: str) -> str:
    lines = body.splitlines()
    return lines[lines.index(label) + 1].strip()


def _status_rows(db, reference: str) -> list[tuple[str, str]]:
    connection = sqlite3.connect(db)
    rows = connection.execute(
        "SELECT c.status, c.changed_by FROM referral_status_changes c "
        "JOIN referrals r ON r.id = c.referral_id WHERE r.reference = ? ORDER BY c.id",
        (reference,),
    ).fetchall()
    connection.close()
    return rows


def _open(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def acknowledged(delivered):
    link = _link(delivered["body"], RECEIVED_LABEL)
    before = _status_rows(delivered["db"], delivered["reference"])
    shown = _open(link)
    after_look = _status_rows(delivered["db"], delivered["reference"])
    confirmed = _open(link, "POST")
    after_confirm = _status_rows(delivered["db"], delivered["reference"])
    replayed = _open(link, "POST")
    after_replay = _status_rows(delivered["db"], delivered["reference"])
    return {
        **delivered,
        "before": before,
        "shown": shown,
        "after_look": after_look,
        "confirmed": confirmed,
        "after_confirm": after_confirm,
        "replayed": replayed,
        "after_replay": after_replay,
    }


def test_the_email_carries_one_signed_link_per_status(delivered):
    link = _link(delivered["body"], RECEIVED_LABEL)
    # The reference, the status and an expiry, with a nonce and a MAC: nothing about the person.
    assert re.fullmatch(
        rf"http://[^/]+/webhooks/referral-status/{delivered['reference']}\.acknowledged\.\d+\.[\w-]+\.[\w-]+",
        link,
    )


def test_opening_the_link_only_shows_a_page(acknowledged):
    status, page = acknowledged["shown"]
    assert status == 200 and "<form" in page and 'method="post"' in page
    assert (
        acknowledged["after_look"]
        == acknowledged["before"]
        == [("submitted", "system"), ("delivered", "system")]
    )


def test_confirming_records_the_acknowledgement_once(acknowledged):
    status, _ = acknowledged["confirmed"]
    assert status == 200
    assert acknowledged["after_confirm"] == [*acknowledged["before"], ("acknowledged", "service")]


def test_a_replayed_link_is_refused_and_changes_nothing(acknowledged):
    status, page = acknowledged["replayed"]
    assert 400 <= status < 500 and "<h1>" in page
    assert acknowledged["after_replay"] == acknowledged["after_confirm"]


def test_the_person_asks_and_hears_the_status(acknowledged):
    chat = acknowledged["chat"]
    texts = " ".join(chat.texts(chat.say(f"what's happening with my referral {acknowledged['reference']}?")))
    assert f"iWork has read referral {acknowledged['reference']}" in texts


def _isolated_copy(db, keep: str, copy):
    """The servers' database with only this conversation's referral left in it.

    Other tests share the servers and make referrals of their own; with them gone
    the report's figures are known exactly.
    """
    source, target = sqlite3.connect(db), sqlite3.connect(copy)
    source.backup(target)
    source.close()
    others = "SELECT id FROM referrals WHERE reference != ?"
    for table in (
        "referral_status_changes",
        "referral_consents",
        "referral_outbox",
        "referral_status_receipts",
    ):
        target.execute(f"DELETE FROM {table} WHERE referral_id IN ({others})", (keep,))
    target.execute("DELETE FROM referral_consents WHERE referral_id IS NULL")  # refusals from other tests
    target.execute("DELETE FROM referrals WHERE reference != ?", (keep,))
    target.commit()
    target.close()


def _acknowledged_elsewhere(url: str, n: int) -> None:
    """n more iWork referrals, delivered and acknowledged, so the count is above suppression."""
    engine = make_engine(url)
    cipher = ContactCipher(Fernet.generate_key())
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(engine) as session:
        for i in range(n):
            made = store.submit(
                session,
                store.Submission(
                    person_key=f"seeded-{i}",
                    submission_key=f"seeded-{i}",
                    service_id="islington-iwork",
                    method="email",
                    destination="referrals@iwork.islington.example",
                    channel="web",
                    role="self",
                    name="Seeded Person",
                    contact_route="email",
                    contact="seeded@example.com",
                    best_time="any",
                    shared_facts={},
                    consent=store.Consent("v1", "person", "pressed yes in web chat", now),
                ),
                cipher,
                now,
            )
            referral = store.find(session, made.reference)
            for new, by in ((rm.DELIVERED, rm.BY_SYSTEM), (rm.ACKNOWLEDGED, rm.BY_SERVICE)):
                assert status.change_status(session, referral, new, by, now).applied
    engine.dispose()


def test_the_report_counts_the_referral(acknowledged, tmp_path):
    copy = tmp_path / "report.db"
    _isolated_copy(acknowledged["db"], acknowledged["reference"], copy)
    url = f"sqlite:///{copy}"
    _acknowledged_elsewhere(url, 5)
    today = dt.date.today().isoformat()
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "report", "--from", today, "--to", today, "--format", "json"],
        env={**os.environ, "DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert acknowledged["reference"] not in result.stdout and "Morgan" not in result.stdout
    tables = {t["key"]: t for t in json.loads(result.stdout)["tables"]}
    by_status = tables["referrals_by_service_status"]
    row = next(r["values"] for r in by_status["rows"] if r["label"] == "iWork")
    counts = dict(zip(by_status["columns"], row, strict=True))
    # 5 seeded + the one made, delivered and acknowledged in this test's conversation.
    assert counts["Acknowledged"] == 6 and counts["Total"] == 6
