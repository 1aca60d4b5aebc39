"""Referrals under the production profile when an action server or the mail server fails.

Shares the stack of conftest.py (two action servers behind nginx, a private SMTP server):
- both action servers frozen while the person confirms, then killed with the request in
  flight: nothing is stored, and once the supervisor has them back, "send" makes exactly
  one referral and one outbox message, however often it is pressed;
- the SMTP server stopped: the referral waits in the outbox (the worker retries), and is
  delivered exactly once when the server is back.
Runs before test_stack.py (whose last test stops the stack).
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import sqlalchemy as sa

from tests.production.test_stack import Chat, Reply, observe

OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."
TO_READ_BACK = [
    OPENING,
    "yes",
    '/inform{"gp_surgery_id":"amwell-group-practice"}',
    '/request_referral{"service_id":"islington-get-back-on-track"}',
    "/affirm",
    "Ali",
    "020 7946 0321",
    "morning",
]


def to_read_back(chat: Chat) -> None:
    for message in TO_READ_BACK:
        reply = chat.say_ok(message)
    assert any("Is this right?" in t for t in reply.texts), reply.describe()


def referral_rows(private_postgres) -> list[dict]:
    """Every referral with its outbox messages of kind 'referral' (ids, states, keys: no personal data)."""
    engine = sa.create_engine(private_postgres.database_url("chatbot"), future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT r.reference, r.status, o.state, o.attempts, o.message_key, o.last_error "
                    "FROM referrals r LEFT JOIN referral_outbox o ON o.referral_id = r.id "
                    "AND o.kind = 'referral' ORDER BY r.id"
                )
            ).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout:.0f} s")


def test_action_servers_killed_while_the_person_confirms_make_exactly_one_referral(
    production_stack, private_postgres
):
    stack = production_stack
    chat = Chat(stack)
    to_read_back(chat)
    before = referral_rows(private_postgres)
    victims = [r for name, r in stack.state()["processes"].items() if name.startswith("actions-")]

    # Frozen, so the confirmation's action call is surely in flight when they die.
    for victim in victims:
        os.killpg(victim["pid"], signal.SIGSTOP)
    answer: list[Reply] = []
    sender = threading.Thread(target=lambda: answer.append(chat.say("/affirm", timeout=120)))
    sender.start()
    time.sleep(2.0)
    for victim in victims:
        os.killpg(victim["pid"], signal.SIGKILL)
    sender.join(130)
    during = answer[0]
    observe("action servers killed mid-referral", f"the confirmation got {during.describe()[:120]}")
    assert during.custom("referral") is None
    assert referral_rows(private_postgres) == before  # nothing stored

    def both_back() -> bool:
        processes = stack.status()["processes"]
        return all(
            processes[n]["healthy"] and processes[n]["restarts"] >= 1 for n in ("actions-1", "actions-2")
        )

    wait_for(both_back, 120, "the supervisor did not have both action servers back")
    first = chat.say_ok("/affirm")
    referral = first.custom("referral")
    assert referral and referral["status"] == "submitted", first.describe()
    again = chat.say_ok("/affirm")
    assert any(referral["reference"] in t and "already on its way" in t for t in again.texts), (
        again.describe()
    )

    after = referral_rows(private_postgres)
    new = [row for row in after if row not in before and row["reference"] == referral["reference"]]
    assert len(after) == len(before) + 1, after
    assert len(new) == 1 and new[0]["message_key"], new  # one referral, one outbox message
    observe("action servers killed mid-referral", f"after restart: one referral {referral['reference']}")


def test_smtp_stopped_referrals_wait_then_are_delivered_exactly_once(
    production_stack, private_postgres, private_smtp
):
    stack = production_stack
    private_smtp.stop()
    try:
        chat = Chat(stack)
        to_read_back(chat)
        reply = chat.say_ok("/affirm")
        referral = reply.custom("referral")
        assert referral and referral["status"] == "submitted", reply.describe()

        def tried_and_waiting() -> dict | None:
            for row in referral_rows(private_postgres):
                if row["reference"] == referral["reference"] and row["attempts"] >= 1:
                    return row
            return None

        waiting = wait_for(tried_and_waiting, 30, "the worker did not try to send the referral")
        observe(
            "SMTP down",
            f"outbox: {waiting['state']}, attempts {waiting['attempts']}, {waiting['last_error']}",
        )
        assert waiting["state"] == "pending" and waiting["status"] == "submitted"
        assert not any(waiting["message_key"].encode() in m for m in private_smtp.messages)
    finally:
        private_smtp.start()

    def sent() -> dict | None:
        for row in referral_rows(private_postgres):
            if row["reference"] == referral["reference"] and row["state"] == "sent":
                return row
        return None

    # The worker retries after its back-off (30 s, with jitter).
    started = time.monotonic()
    row = wait_for(sent, 90, "the referral was not delivered after SMTP came back")
    time.sleep(3)  # a few more dispatch rounds: still one email
    copies = [m for m in private_smtp.messages if row["message_key"].encode() in m]
    observe(
        "SMTP back",
        f"delivered {time.monotonic() - started:.0f} s later after {row['attempts']} attempts; "
        f"{len(copies)} email(s)",
    )
    assert len(copies) == 1
    assert row["status"] == "delivered"
