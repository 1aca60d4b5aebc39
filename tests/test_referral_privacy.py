"""A whole referral through the real servers: delivered by email, and nothing personal left about.

One conversation with made-up but unique contact details; then every log
file, the tracker store's raw rows and the referral tables are searched for
them. The email that reached the loopback SMTP server must carry them.
"""

from __future__ import annotations

import email
import sqlite3
import time
import uuid

import pytest

from tests.chat import Conversation
from tests.personal_data import MadeUpPerson, assert_var_is_private_and_holds_none_of

OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."


@pytest.fixture(scope="module")
def referral(live_servers, smtp_server):
    """Make one referral; return what was typed and what came back."""
    unique = uuid.uuid4().hex[:6]
    person = {
        "name": f"Quentin Zzyzx{unique}",
        "phone_typed": "020 7946 0" + str(int(unique, 16) % 1000).zfill(3),
        "email": f"quentin.{unique}@example.com",
    }
    chat = Conversation(live_servers.rasa_url, token=live_servers.token)
    for message in (OPENING, "yes", '/inform{"gp_surgery_id":"amwell-group-practice"}'):
        chat.say(message)
    chat.say('/request_referral{"service_id":"islington-iwork"}')
    chat.say("/affirm")
    chat.say(f"my name is {person['name']}")
    chat.say("email")
    chat.say(f"it's {person['email']}")
    chat.say("evening")
    replies = chat.say("/affirm")
    payload = chat.custom(replies, "referral")
    assert payload, chat.texts(replies)
    _, mailbox = smtp_server
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _emails_about(mailbox, payload["reference"]):
        time.sleep(0.25)
    return {"chat": chat, "person": person, "payload": payload, "mailbox": mailbox}


def _emails_about(mailbox, reference: str) -> list[email.message.Message]:
    found = [email.message_from_bytes(raw) for raw in mailbox.messages]
    return [m for m in found if reference in (m["Subject"] or "")]


def test_the_referral_is_delivered_once_by_email_with_the_details(referral):
    emails = _emails_about(referral["mailbox"], referral["payload"]["reference"])
    assert len(emails) == 1
    body = emails[0].get_payload(decode=True).decode()
    assert referral["person"]["name"] in body and referral["person"]["email"] in body
    assert emails[0]["To"] == "referrals@iwork.islington.example"
    assert referral["person"]["name"] not in emails[0]["Subject"]


def _personal_strings(referral) -> list[str]:
    person = referral["person"]
    return [
        person["name"],
        person["name"].split()[1],
        person["email"],
        person["phone_typed"].replace(" ", ""),
    ]


def test_no_log_file_holds_a_name_email_or_message_text(referral, live_servers):
    logs = list((live_servers.settings.var_dir / "logs").glob("*.log"))
    assert {p.name for p in logs} >= {"Rasa_server.log", "action_server.log", "worker.log"}
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    for secret in [*_personal_strings(referral), "off work with stress", "my name is"]:
        assert secret not in text, f"{secret!r} is in a log"


def test_the_tracker_store_keeps_no_contact_details_in_plain_text(referral, live_servers):
    connection = sqlite3.connect(live_servers.settings.var_dir / "tracker.db")
    rows = connection.execute(
        "SELECT data FROM events WHERE sender_id = ?", (referral["chat"].sender,)
    ).fetchall()
    connection.close()
    stored = "\n".join(row[0] for row in rows)
    assert rows and "[redacted]" in stored
    for secret in _personal_strings(referral):
        assert secret not in stored, f"{secret!r} is in the tracker store"


def test_the_referral_tables_hold_contact_details_only_encrypted(referral, live_servers):
    connection = sqlite3.connect(live_servers.settings.var_dir / "chatbot.db")
    dump = "\n".join(connection.iterdump())
    connection.close()
    assert referral["payload"]["reference"] in dump
    for secret in _personal_strings(referral):
        assert secret not in dump, f"{secret!r} is stored in plain text"


def test_the_referral_is_marked_delivered(referral, live_servers):
    connection = sqlite3.connect(live_servers.settings.var_dir / "chatbot.db")
    status = connection.execute(
        "SELECT status FROM referrals WHERE reference = ?", (referral["payload"]["reference"],)
    ).fetchone()
    connection.close()
    assert status == ("delivered",)


def test_nothing_personal_is_plain_anywhere_under_var_and_every_file_is_owner_only(live_servers, smtp_server):
    """A conversation full of names, numbers, conditions and an address, a referral, then a
    search of every file under var/ (databases, logs, keys, outbox) for any of it."""
    person = MadeUpPerson.new()
    chat = Conversation(live_servers.rasa_url, token=live_servers.token)
    chat.say(
        f"Hi, I'm {person.name}, my number is {person.phone}, I live at 14 {person.street} in Islington, "
        f"off sick 7 weeks with bipolar and {person.condition}"
    )
    for message in ("yes", "yes", '/inform{"gp_surgery_id":"amwell-group-practice"}',
                    '/request_referral{"service_id":"islington-get-back-on-track"}', "/affirm",
                    f"my name is {person.name}", "phone", person.phone, "morning", "/affirm"):  # fmt: skip
        replies = chat.say(message)
    assert chat.custom(replies, "referral"), chat.texts(replies)
    time.sleep(1.5)  # the worker delivers it (to the loopback SMTP server, not var/mail)
    assert_var_is_private_and_holds_none_of(live_servers.settings.var_dir, person.needles())
