"""Faults during a referral, with servers of its own (it kills one of them).

The action server dies just before the person confirms, as a crash would;
the referral must then be made exactly once when it is back, however often
the person presses "send".
"""

from __future__ import annotations

import sqlite3
import time
import urllib.error
import urllib.request

import pytest

from tests.chat import Conversation
from tests.conftest import start_test_servers

OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."


@pytest.fixture(scope="module")
def own_servers(tmp_path_factory, smtp_server):
    controller, _ = smtp_server
    servers = start_test_servers(tmp_path_factory.mktemp("faults"), controller.port)
    yield servers
    servers.stop()


def referral_count(servers) -> int:
    connection = sqlite3.connect(servers.settings.var_dir / "chatbot.db")
    (count,) = connection.execute("SELECT count(*) FROM referrals").fetchone()
    (outbox,) = connection.execute("SELECT count(*) FROM referral_outbox WHERE kind = 'referral'").fetchone()
    connection.close()
    assert outbox == count
    return count


def wait_until_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.25)
    raise AssertionError(f"{url} did not come back")


def test_action_server_killed_before_send_then_back_makes_exactly_one_referral(own_servers):
    chat = Conversation(own_servers.rasa_url, token=own_servers.token)
    for message in (OPENING, "yes", '/inform{"gp_surgery_id":"amwell-group-practice"}',
                    '/request_referral{"service_id":"islington-get-back-on-track"}', "/affirm", "Ali",
                    "020 7946 0321", "morning"):  # fmt: skip
        replies = chat.say(message)
    assert any("Is this right?" in text for text in chat.texts(replies))

    own_servers.kill("action server")
    replies = chat.say("/affirm")  # Rasa cannot reach its actions: nothing may be stored
    assert chat.custom(replies, "referral") is None
    assert chat.texts(replies) == ["Sorry, something went wrong on my side. Please send your message again."]
    assert referral_count(own_servers) == 0

    own_servers.launch("action server")
    wait_until_healthy(f"{own_servers.action_url}/health")
    first = chat.custom(chat.say("/affirm"), "referral")
    again = chat.texts(chat.say("/affirm"))

    assert first and first["status"] == "submitted"
    assert any(first["reference"] in text and "already on its way" in text for text in again), again
    assert referral_count(own_servers) == 1
    assert own_servers.processes["Rasa server"].poll() is None
