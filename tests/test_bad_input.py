"""Bad input through every front door (issue 7; docs/bad-input.md).

The guard's functions on their own (chatbot/channels/guard.py), then the real servers over HTTP
(`live_servers`): every class of bad input gets a sane answer, the server keeps holding a normal
conversation, the tracker store holds nothing harmful, a flood from one sender is limited while
others are served, and arbitrary text never gets a 5xx. Then the socket.io channel the widget uses.
"""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import time
import unicodedata
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.channels import guard
from chatbot.channels.guard import (
    MAX_BODY_BYTES,
    MAX_MESSAGE_CHARS,
    BadInput,
    RateLimiter,
    clean_text,
    limiter_from_env,
    parse_rest_body,
    prepare_message,
    risk_categories,
)

WHO = "Who is this for?"
# The servers inherit this process's environment, so they use the same limit (CHAT_RATE_BURST).
BURST = limiter_from_env().burst
needs_a_limit = pytest.mark.skipif(BURST == 0, reason="CHAT_RATE_BURST=0: the rate limit is off")
PREFIX = "bad-input-"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\u202a-\u202e\u2066-\u2069]")
# Typed text: any character but surrogates, with control and bidi characters more often than chance.
TYPED = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x07\x08\x1b\x7f\x85\r\n\t\u2028\u202e\u2066\ufeff\u200d\u0301 /{}\"'<>;"),
    ),
    max_size=300,
)


def new_sender() -> str:
    return PREFIX + uuid.uuid4().hex


# ---- the guard's functions --------------------------------------------------------------------


def test_cleaning_keeps_words_newlines_tabs_and_emoji_and_drops_controls():
    assert clean_text("  I\x00 have\x07 a bad\x1b[31m back\x7f\x85  ") == "I have a bad[31m back"
    lines = "line one\r\nline two\rthree\u2028four\tfive"
    assert clean_text(lines) == "line one\nline two\nthree\nfour\tfive"
    assert clean_text("e\u0301") == "\u00e9"  # NFC
    assert clean_text("abc\u202edcba\u2066x\u2069\ufeff") == "abcdcbax"  # no bidi overrides, no BOM
    assert clean_text("lone \ud800 surrogate") == "lone  surrogate"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f"{family} مرحبا 你好 Привет") == f"{family} مرحبا 你好 Привет"


def test_a_long_message_is_cut_at_a_word_and_marked_truncated():
    prepared = prepare_message("word " * 1_000, risk=None)
    assert prepared.truncated and prepared.original_chars == 4_999
    assert len(prepared.text) <= MAX_MESSAGE_CHARS and prepared.text.endswith("word")
    short = prepare_message("  fine  ")
    assert (short.text, short.truncated, short.empty) == ("fine", False, False)
    assert prepare_message(" \x00\t\r\n ").empty


def test_an_accent_or_emoji_sequence_is_never_split_by_the_cap():
    text = "a" * 9 + "e\u0301\u0323" + "x" * 20
    assert prepare_message(text, limit=10, risk=None).text == "a" * 9
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert prepare_message("a" * 8 + family + "b" * 10, limit=10, risk=None).text == "a" * 8


@pytest.mark.parametrize(
    ("at", "phrases"),
    [
        (2_500, ["Honestly I just want to kill myself."]),
        (31_000, ["my partner hits me when he drinks"]),
        (59_000, ["I took an overdose"]),
        (20_000, ["he hits me every night", "and I want to end my life"]),
    ],
)
def test_risk_anywhere_in_a_long_message_survives_the_cap(at, phrases):
    filler = "My back has been bad for months and the job is getting harder every week. " * 900
    text = filler[:at]
    for phrase in phrases:  # 60,000 characters with the phrases from `at`, 5,000 apart
        text += " " + phrase + " " + filler[:5_000]
    text += filler[: 60_000 - len(text)]
    wanted = set().union(*(risk_categories(phrase) for phrase in phrases))
    assert len(wanted) == len(phrases), phrases
    prepared = prepare_message(text)
    assert prepared.truncated and len(prepared.text) <= MAX_MESSAGE_CHARS
    assert wanted <= set(risk_categories(prepared.text))
    assert prepared.risk_passages >= 1


def test_no_passages_are_added_when_the_kept_part_already_carries_the_risk():
    prepared = prepare_message("I want to kill myself. " + "work is hard. " * 400)
    assert prepared.risk_passages == 0 and "kill myself" in prepared.text


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(TYPED, st.text(st.sampled_from("ab \u0301\u200d\U0001f469\ud800\x00\n"), max_size=80)),
    limit=st.integers(1, 120),
)
def test_normalising_is_idempotent_capped_and_leaves_no_control_characters(text, limit):
    once = prepare_message(text, limit=limit, risk=None)
    assert len(once.text) <= limit
    assert not CONTROL.search(once.text)
    assert unicodedata.is_normalized("NFC", once.text)
    assert once.text == once.text.strip()
    assert prepare_message(once.text, limit=limit, risk=None).text == once.text
    assert once.truncated == (len(clean_text(text)) > limit)
    if not once.truncated:
        assert once.text == clean_text(text)


def test_the_rate_limiter_allows_a_burst_then_one_a_second_per_sender():
    now = [0.0]
    limiter = RateLimiter(burst=3, per_second=1.0, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.check("a") == pytest.approx(1.0)
    assert limiter.check("b") == 0.0  # another sender has its own bucket
    now[0] += 0.5
    assert limiter.check("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.check("a") == 0.0
    now[0] += 100
    assert [limiter.check("a") for _ in range(4)][-1] > 0  # refills to the burst, no further


def test_the_rate_limiter_forgets_the_least_recently_seen_sender_first():
    limiter = RateLimiter(burst=1, per_second=0.001, max_senders=2, clock=lambda: 0.0)
    limiter.check("a"), limiter.check("b"), limiter.check("a"), limiter.check("c")
    assert len(limiter) == 2
    assert limiter.check("a") > 0  # still remembered (seen after b)
    assert limiter.check("b") == 0.0  # forgotten: a full bucket again


def test_rate_limit_settings_come_from_the_environment_and_are_checked():
    limiter = limiter_from_env({"CHAT_RATE_BURST": "5", "CHAT_RATE_PER_SECOND": "0.5"})
    assert (limiter.burst, limiter.per_second) == (5, 0.5)
    assert (limiter_from_env({}).burst, limiter_from_env({}).per_second) == (20, 1.0)
    assert limiter_from_env({"CHAT_RATE_BURST": "0"}).check("x") == 0.0  # off
    for bad in ({"CHAT_RATE_BURST": "ten"}, {"CHAT_RATE_PER_SECOND": "0"}, {"CHAT_RATE_BURST": "-1"}):
        with pytest.raises(ValueError, match="CHAT_RATE_BURST"):
            limiter_from_env(bad)


def body(**fields) -> bytes:
    return json.dumps(fields).encode()


@pytest.mark.parametrize(
    ("raw", "status", "words"),
    [
        (b"", 400, "is empty"),
        (b"not json", 400, "must be JSON"),
        (b"\xff\xfe{}", 400, "UTF-8"),
        (b"[1, 2]", 400, "not a list"),
        (b"[" * 50_000, 400, "must be JSON"),
        (body(message="hi"), 400, "'sender' is missing"),
        (body(sender=42, message="hi"), 400, "'sender' must be text"),
        (body(sender="two words", message="hi"), 400, "'sender' must be 1 to 128"),
        (body(sender="x" * 129, message="hi"), 400, "'sender' must be 1 to 128"),
        (body(sender="me"), 400, "'message' is missing"),
        (body(sender="me", message=None), 400, "not null"),
        (body(sender="me", message=7), 400, "not a number"),
        (body(sender="me", message=["hi"]), 400, "not a list"),
        (body(sender="me", message={"text": "hi"}), 400, "not an object"),
        (body(sender="me", message=True), 400, "not true or false"),
        (body(sender="me", message="hi", metadata="x"), 400, "'metadata' must be a JSON object"),
        (body(sender="me", message="hi", metadata=[1]), 400, "not a list"),
        (body(sender="me", message="hi", metadata={"a": "x" * 5000}), 400, "too large"),
        (body(sender="me", message="hi", metadata={"a": [[[[[[[[[[1]]]]]]]]]]}), 400, "nested too deeply"),
        (body(sender="me", message="hi", input_channel="<b>"), 400, "input_channel"),
        (b'{"sender": "me", "message": "' + b"a" * MAX_BODY_BYTES + b'"}', 413, "too large"),
    ],
)
def test_rest_bodies_are_checked_field_by_field_in_plain_words(raw, status, words):
    with pytest.raises(BadInput) as caught:
        parse_rest_body(raw)
    assert caught.value.status == status
    assert words in caught.value.message


def test_a_good_rest_body_keeps_its_fields_and_cleans_its_metadata():
    parsed = parse_rest_body(
        body(sender="tg-abc", message="hi", metadata={"source\x00": "a\x07b", "n": float("nan")})
    )
    assert (parsed.sender, parsed.text, parsed.input_channel) == ("tg-abc", "hi", None)
    assert parsed.metadata == {"source": "ab", "n": None}


# ---- the REST channel of the real server --------------------------------------------------------


class Client:
    """Raw HTTP to the REST channel: any bytes, any status, one keep-alive connection."""

    def __init__(self, base_url: str) -> None:
        self.url = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)

    def post(self, raw: bytes, path: str = "/webhooks/rest/webhook") -> tuple[int, object, dict]:
        for attempt in (1, 2):  # a refused large body closes the connection: open a new one once
            try:
                self.connection.request("POST", path, raw, {"Content-Type": "application/json"})
                response = self.connection.getresponse()
                data = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
                if attempt == 2:
                    raise
        if response.getheader("connection", "").lower() == "close":
            self.connection.close()
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = data.decode(errors="replace")
        return response.status, parsed, {k.lower(): v for k, v in response.getheaders()}

    def say(self, sender: str, message: object, **fields) -> tuple[int, object, dict]:
        return self.post(json.dumps({"sender": sender, "message": message, **fields}).encode())

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def client(live_servers):
    client = Client(live_servers.rasa_url)
    yield client
    client.close()


def texts(replies: object) -> list[str]:
    assert isinstance(replies, list), replies
    return [r["text"] for r in replies if "text" in r]


def still_holds_a_conversation(client: Client) -> None:
    status, replies, _ = client.say(new_sender(), "hello")
    assert status == 200 and WHO in texts(replies)


def assert_kind_refusal(status: int, reply: object, expected: int) -> None:
    assert status == expected, (status, reply)
    assert isinstance(reply, dict) and set(reply) >= {"error", "message"}, reply
    assert not re.search(r"Traceback|Exception|Error:|File \"", reply["message"]), reply


def test_the_health_route_runner_waits_on_still_answers(live_servers):
    with urllib.request.urlopen(f"{live_servers.rasa_url}/webhooks/rest/", timeout=10) as response:
        assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})


MISSING = object()
WRONG = {
    "message a number": {"message": 42},
    "message a list": {"message": ["hi"]},
    "message an object": {"message": {"text": "hi"}},
    "message null": {"message": None},
    "message missing": {"message": MISSING},
    "sender missing": {"sender": MISSING},
    "sender a number": {"sender": 1234},
    "sender with a newline": {"sender": "a\nb"},
    "metadata text": {"metadata": "source=x"},
    "metadata a list": {"metadata": ["x"]},
}


@pytest.mark.parametrize("case", list(WRONG), ids=list(WRONG))
def test_wrong_json_types_get_a_400_in_plain_words(client, case):
    fields = {"sender": new_sender(), "message": "hi", **WRONG[case]}
    raw = json.dumps({key: value for key, value in fields.items() if value is not MISSING}).encode()
    assert_kind_refusal(*client.post(raw)[:2], 400)
    still_holds_a_conversation(client)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"sender": "me", "message": "\xff\xfehi"}', 400),  # invalid UTF-8
        (b"{not json", 400),
        (b"", 400),
        (b"[" * 60_000, 400),  # nested past the JSON parser's recursion limit
        (b'{"sender": "me", "message": "' + b"a" * 100_000 + b'"}', 413),  # 100 KB
    ],
    ids=["invalid utf-8", "not json", "empty body", "deep nesting", "100 KB"],
)
def test_unreadable_or_oversized_bodies_get_400_or_413(client, raw, expected):
    assert_kind_refusal(*client.post(raw)[:2], expected)
    still_holds_a_conversation(client)


@pytest.mark.parametrize("message", ["", "   ", "\x00\x01\x1b\x7f", "\n\t\r\n"], ids=repr)
def test_a_message_without_words_gets_a_kind_answer_without_asking_rasa(client, live_servers, message):
    sender = new_sender()
    status, replies, _ = client.say(sender, message)
    assert status == 200 and texts(replies) == [guard.NO_WORDS]
    assert stored_user_texts(live_servers, sender) == []
    still_holds_a_conversation(client)


TYPED_EXAMPLES = {
    "control characters": ("I\x00 have\x07 a bad\x1b[31m back\x7f and\u202e stress\ufeff", "stress"),
    "html": ("<script>alert('x')</script><img src=x onerror=alert(1)> I have a bad back", "<script>"),
    "sql": ("Robert'); DROP TABLE events;-- I'm off sick with stress", "DROP TABLE"),
    "emoji and other scripts": ("😀 👨\u200d👩\u200d👧 مرحبا 你好 Привет नमस्ते e\u0301", "Привет"),
    "escaped lone surrogate": ("bad back \ud800 here", "bad back"),
}


@pytest.mark.parametrize("case", list(TYPED_EXAMPLES), ids=list(TYPED_EXAMPLES))
def test_odd_text_is_answered_and_stored_clean(client, live_servers, case):
    message, kept = TYPED_EXAMPLES[case]
    sender = new_sender()
    status, replies, _ = client.say(sender, message)
    assert status == 200 and texts(replies), replies
    assert not any("<script>" in t for t in texts(replies))  # never echoed back
    (stored,) = stored_user_texts(live_servers, sender)
    assert stored == clean_text(message) and kept in stored
    assert not CONTROL.search(stored)
    still_holds_a_conversation(client)


def test_a_long_message_is_truncated_with_a_note_and_stored_capped(client, live_servers):
    sender = new_sender()
    message = "I have been off work with my back and I live in Islington. " * 1_000  # 59 KB
    status, replies, _ = client.say(sender, message)
    assert status == 200
    assert texts(replies)[-1] == guard.TRUNCATED.format(limit=MAX_MESSAGE_CHARS)
    (stored,) = stored_user_texts(live_servers, sender)
    assert 1_900 < len(stored) <= MAX_MESSAGE_CHARS


def test_a_crisis_phrase_late_in_a_long_message_still_gets_the_urgent_help_answer(client):
    filler = "Work has been hard and my back is bad, and I live in Islington with my family. "
    message = filler * 380 + "Honestly, I just want to end my life. " + filler * 320  # 55 KB, crisis at 30 KB
    status, replies, _ = client.say(new_sender(), message)
    said = texts(replies)
    assert status == 200
    assert any("999" in t for t in said) and any("Samaritans" in t for t in said), said
    assert said[-1] == guard.TRUNCATED.format(limit=MAX_MESSAGE_CHARS)


def test_streaming_replies_are_guarded_too(client):
    status, data, _ = client.post(
        json.dumps({"sender": new_sender(), "message": "hello\x00"}).encode(),
        path="/webhooks/rest/webhook?stream=true",
    )
    assert status == 200 and WHO in str(data)
    assert_kind_refusal(*client.post(b"[]", path="/webhooks/rest/webhook?stream=true")[:2], 400)


@needs_a_limit
def test_a_flood_from_one_sender_gets_429_after_the_burst_while_others_are_served(client, live_servers):
    # BURST + 20 requests at once (40 with the default burst of 20). Their text is blank so that those
    # let through cost no Rasa turn (one sender's turns queue on Rasa's lock, about a second each);
    # the limit counts them all the same.
    flooder, flood = new_sender(), BURST + 20

    def flood_once(_: int) -> tuple[int, object, dict]:
        one = Client(live_servers.rasa_url)
        try:
            return one.say(flooder, " ")
        finally:
            one.close()

    with ThreadPoolExecutor(flood + 1) as pool:
        served = pool.submit(still_holds_a_conversation, Client(live_servers.rasa_url))
        results = list(pool.map(flood_once, range(flood)))
        real_text = client.say(flooder, "hello")  # real text is refused as quickly
        served.result()  # another sender had a whole turn meanwhile
    statuses = [status for status, _, _ in results]
    assert statuses.count(200) >= BURST and statuses.count(429) >= 15, statuses
    assert statuses.count(200) + statuses.count(429) == flood, statuses
    reply, headers = next((reply, headers) for status, reply, headers in results if status == 429)
    assert_kind_refusal(429, reply, 429)
    assert "faster than I can read" in reply["message"]
    assert int(headers["retry-after"]) == reply["retry_after"] >= 1

    status, reply, headers = real_text
    assert status == 429, reply
    time.sleep(int(headers["retry-after"]))
    status, reply, _ = client.say(flooder, "hello")  # and served after the wait
    assert status == 200 and WHO in texts(reply)


def stored_user_texts(live_servers, sender: str) -> list[str]:
    """What Rasa received, as the tracker store keeps it: sealed with the referral key, opened here."""
    from chatbot.privacy.tracker_store import CIPHERTEXT_PREFIX, readable_text
    from chatbot.referrals.crypto import ContactCipher, load_key

    cipher = ContactCipher(load_key(live_servers.settings.var_dir))
    stored = [event["text"] for event in stored_user_events(live_servers, sender)]
    assert all(t.startswith(CIPHERTEXT_PREFIX) for t in stored), "user text must not be plain at rest"
    return [readable_text(t, cipher) for t in stored]


def stored_user_events(live_servers, sender: str | None = None) -> list[dict]:
    """User events in the tracker store's SQLite file (read-only), for one sender or all of ours."""
    path = live_servers.settings.tracker_store_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE type_name = 'user' AND sender_id LIKE ?",
            (sender if sender else PREFIX + "%",),
        ).fetchall()
    return [json.loads(data) for (data,) in rows]


def strings_in(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    message=st.one_of(
        TYPED,
        TYPED.map(lambda t: t * 300),  # long, up to the body limit and past it
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TYPED,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TYPED, inner, max_size=3),
            max_leaves=8,
        ),
    ),
    metadata=st.one_of(st.none(), st.dictionaries(TYPED, TYPED, max_size=3)),
)
def test_any_text_or_json_gets_200_400_413_or_429_and_never_a_5xx(client, message, metadata):
    fields = {"metadata": metadata} if metadata is not None else {}
    status, reply, _ = client.say(new_sender(), message, **fields)
    assert status in (200, 400, 413, 429), (status, reply)
    if status == 200:
        assert isinstance(message, str) and isinstance(reply, list)
    else:
        assert_kind_refusal(status, reply, status)


def test_the_tracker_store_holds_no_control_characters_and_no_over_long_message(live_servers, client):
    client.say(new_sender(), "one more \x00\x1b[0m\u202e message", metadata={"k\x07": "v\x00"})
    from chatbot.privacy.tracker_store import readable_text
    from chatbot.referrals.crypto import ContactCipher, load_key

    cipher = ContactCipher(load_key(live_servers.settings.var_dir))
    events = stored_user_events(live_servers)  # every message this module sent
    assert events
    for event in events:
        assert set(event.get("metadata") or {}) <= {"source", "channel"}  # only where a visit came from
        said = readable_text(event["text"], cipher)  # stored sealed: opened with the key
        assert len(said) <= MAX_MESSAGE_CHARS
        for text in [said, *strings_in(event.get("metadata"))]:
            assert not CONTROL.search(text), text
            assert unicodedata.is_normalized("NFC", text)


# ---- the socket.io channel (the web widget's), polling only ----------------------------------


class SocketChat:
    def __init__(self, base_url: str) -> None:
        import socketio

        self.received: list[dict] = []
        self.session_id: str | None = None
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", self.received.append)
        self.client.on("session_confirm", self._confirmed)
        self.client.connect(base_url, transports=["polling"], socketio_path="/socket.io")

    def _confirmed(self, session_id: str) -> None:
        self.session_id = session_id

    def start(self, session_id: object) -> str:
        self.session_id = None
        self.client.emit("session_request", session_id)
        self._wait(lambda: self.session_id is not None)
        return self.session_id

    def say(self, data: object, until: str | None = None) -> list[str]:
        self.received.clear()
        self.client.emit("user_uttered", data)
        self._wait(lambda: any(until in m.get("text", "") for m in self.received) if until else self.received)
        time.sleep(0.3)  # the rest of the turn
        return [m.get("text", "") for m in self.received]

    @staticmethod
    def _wait(condition, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "no answer over socket.io"
            time.sleep(0.05)


@pytest.fixture
def socket_chat(live_servers):
    chat = SocketChat(live_servers.rasa_url)
    yield chat
    chat.client.disconnect()


def test_socketio_bad_input_gets_kind_bot_messages_and_the_chat_carries_on(socket_chat, live_servers):
    chat = socket_chat
    assert chat.start("not an object") != "not an object"  # a fresh session id instead
    session = chat.start({"session_id": PREFIX + uuid.uuid4().hex})
    assert chat.say({"message": 42, "session_id": session}) == [guard.UNREADABLE]
    assert chat.say(["hi"]) == [guard.UNREADABLE]
    assert chat.say({"message": "hi", "session_id": None}) == [socket_chat_lost()]
    assert chat.say({"message": "\x00 \x07", "session_id": session}) == [guard.NO_WORDS]
    said = chat.say({"message": "hello\x00", "session_id": session, "metadata": "{broken"}, until=WHO)
    assert WHO in said
    long = "I have a bad back. " * 300 + "I want to end my life."
    said = chat.say({"message": long, "session_id": session}, until=guard.TRUNCATED[:20])
    assert any("999" in t for t in said) and said[-1].startswith(guard.TRUNCATED[:20])
    stored = stored_user_texts(live_servers, session)
    assert stored[0] == "hello" and len(stored[1]) <= MAX_MESSAGE_CHARS


def socket_chat_lost() -> str:
    from chatbot.channels.socketio_guarded import LOST_SESSION

    return LOST_SESSION


def test_socketio_refuses_a_100_kb_payload_and_the_next_connection_is_served(live_servers):
    big = SocketChat(live_servers.rasa_url)
    session = big.start({"session_id": PREFIX + uuid.uuid4().hex})
    big.client.emit("user_uttered", {"message": "a" * 100_000, "session_id": session})
    deadline = time.monotonic() + 20
    while big.client.connected and time.monotonic() < deadline:  # Engine.IO: 400, socket closed
        time.sleep(0.05)
    assert not big.client.connected and big.received == []
    assert stored_user_texts(live_servers, session) == []
    again = SocketChat(live_servers.rasa_url)
    try:
        again.start({"session_id": session})
        assert WHO in again.say({"message": "hello", "session_id": session}, until=WHO)
    finally:
        again.client.disconnect()


@needs_a_limit
def test_socketio_flood_is_limited_per_session(socket_chat):
    chat = socket_chat
    session = chat.start({"session_id": PREFIX + uuid.uuid4().hex})
    chat.received.clear()
    flood = BURST + 10
    for _ in range(flood):  # blank, so that no Rasa turn is needed; counted all the same
        chat.client.emit("user_uttered", {"message": "", "session_id": session})
        time.sleep(0.01)  # Engine.IO takes at most 16 packets in one polling request
    chat._wait(lambda: len(chat.received) >= flood)
    words = [m["text"] for m in chat.received]
    too_fast = [w for w in words if "faster than I can read" in w]
    assert len(too_fast) >= 5 and words.count(guard.NO_WORDS) + len(too_fast) == flood
    assert words[:BURST] == [guard.NO_WORDS] * BURST


def test_an_oversize_socketio_polling_post_gets_413_with_a_reason(client):
    status, data, _ = client.post(
        b"4" + b"x" * (70 * 1024), path="/socket.io/?EIO=4&transport=polling&sid=none"
    )
    assert status == 413 and "too large" in str(data)


def test_deep_json_is_a_400_on_the_rest_channel(client):
    status, data, _ = client.post(b'{"sender": "a", "message": ' + b"[" * 1500 + b"]" * 1500 + b"}")
    assert status == 400
