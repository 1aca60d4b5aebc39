"""LOG_FORMAT=json: every line the Rasa server, the action server and the worker write is one
JSON object, and none holds what the person typed or their contact details (issue 7)."""

from __future__ import annotations

import json
import logging
import os
import re
import time

import pytest

from chatbot.json_logs import JsonLines
from tests.chat import Conversation
from tests.conftest import start_test_servers

OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."
NAME = "Zebedee Quillfeather"
PHONE = "020 7946 0321"
REFERRAL = [
    OPENING,
    "yes",
    '/inform{"gp_surgery_id":"amwell-group-practice"}',
    '/request_referral{"service_id":"islington-get-back-on-track"}',
    "/affirm",
    NAME,
    PHONE,
    "morning",
    "/affirm",
]
# What must never reach a log: the person's words and details, and the conversation's id.
PERSONAL = ["Zebedee", "Quillfeather", "fit note runs out", "Islington.", "six weeks"]
# The phone number's digit groups and the number run together. A group is looked for as a
# group ("last 4: 0321"), not inside a longer run of digits: a free port such as 60321 in a
# log line is not the number (that made this test fail at random).
PHONE_PARTS = re.compile(r"(?<!\d)(?:7946|0321)(?!\d)|79460321")


def holds_personal(text: str) -> str | None:
    """The first personal detail found in a log text, if any."""
    found = next((secret for secret in PERSONAL if secret in text), None)
    match = PHONE_PARTS.search(text)
    return found or (match.group(0) if match else None)


@pytest.fixture(scope="module")
def json_logging_servers(tmp_path_factory, smtp_server):
    controller, mailbox = smtp_server
    os.environ["LOG_FORMAT"] = "json"
    try:
        servers = start_test_servers(tmp_path_factory.mktemp("json-logs"), controller.port)
    finally:
        os.environ.pop("LOG_FORMAT", None)
    yield servers, mailbox
    servers.stop()


def test_every_line_is_json_without_personal_data(json_logging_servers):
    servers, mailbox = json_logging_servers
    chat = Conversation(servers.rasa_url, token=servers.token)
    for message in REFERRAL:
        replies = chat.say(message)
    referral = chat.custom(replies, "referral")
    assert referral, chat.texts(replies)
    deadline = time.monotonic() + 30  # the worker sends it: its log lines are part of the check
    while not any(referral["reference"].encode() in m for m in mailbox.messages):
        assert time.monotonic() < deadline, "the worker did not deliver the referral"
        time.sleep(0.5)
    time.sleep(1)

    seen_sources = set()
    for path in sorted(servers.log_dir.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        assert lines, f"{path.name} is empty"
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                pytest.fail(f"{path.name}:{number} is not JSON: {line[:200]!r}")
            assert isinstance(record, dict) and {"time", "level", "source"} <= record.keys(), line[:200]
            seen_sources.add(record["source"])
            assert chat.sender not in line, f"{path.name}:{number} holds the conversation's id"
            assert holds_personal(line) is None, f"{path.name}:{number} holds {holds_personal(line)!r}"
    assert {"rasa", "actions", "worker"} <= seen_sources


def test_an_exception_is_one_line_with_its_type_and_no_local_values():
    formatter = JsonLines("test")
    try:
        contact = PHONE  # noqa: F841 (a local variable that must not be printed)
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord("chatbot.x", logging.ERROR, __file__, 1, "failed for %s", ("ref-1",), True)
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "failed for ref-1" and parsed["exception"] == "ValueError"
    assert PHONE not in line


def test_rasas_structured_events_keep_their_fields():
    record = logging.LogRecord(
        "rasa.core", logging.INFO, __file__, 1, '{"event": "x.y", "log_level": "info"}', (), None
    )
    parsed = json.loads(JsonLines("rasa").format(record))
    assert parsed["event"] == "x.y" and parsed["source"] == "rasa" and "log_level" not in parsed


MALFORMED = [
    '/inform{"contact_name": "Zebedee Quillfeather", "phone": "020 7946 0321"',  # no closing brace
    '/inform{"contact_name": "Zebedee Quillfeather"} rest 020 7946 0321',
    '/no_such_intent{"condition": "Quillfeather syndrome"}',
    '/inform{"zebedee_quillfeather": "020 7946 0321"}',
]


@pytest.mark.parametrize("fixture", ["json_logging_servers", "live_servers"])
def test_malformed_payloads_with_personal_data_reach_no_log(fixture, request):
    servers = request.getfixturevalue(fixture)
    servers = servers[0] if isinstance(servers, tuple) else servers
    chat = Conversation(servers.rasa_url, token=servers.token)
    for message in MALFORMED:
        chat.say(message)
    time.sleep(1)
    for path in sorted(servers.log_dir.glob("*.log")):
        text = path.read_text(errors="replace")
        assert holds_personal(text) is None, f"{path.name} holds {holds_personal(text)!r}"
