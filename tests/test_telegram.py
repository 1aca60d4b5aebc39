"""Telegram: the bridge process against a stand-in Telegram API and the real servers.

The bridge runs as people run it (`python -m chatbot.channels.telegram` in a subprocess),
talks real HTTP to tests/telegram_standin.py (the Telegram side) and to the real Rasa
and action servers (`live_servers`). Nothing in python-telegram-bot is patched.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from chatbot.channels import telegram
from chatbot.channels.telegram_render import (
    CALLBACK_DATA_LIMIT,
    MESSAGE_LIMIT,
    ButtonPayloads,
    render,
    sender_id,
    split_text,
    start_source,
    typed_text,
)
from chatbot.config import PROJECT_ROOT
from chatbot.referrals.crypto import derived_secret, load_key
from chatbot.runner import free_port
from tests.telegram_standin import TelegramStandIn

TOKEN = "7000000001:AAH-test-token-never-in-a-log_x9"
OPENING = "I've been off work with stress for six weeks and my fit note runs out Friday. I live in Islington."
WHO = "Who is this for?"
_chat_ids = itertools.count(7_100_000_001)


def new_chat() -> int:
    return next(_chat_ids)


@dataclass
class Bridge:
    process: subprocess.Popen
    log: Path
    standin: TelegramStandIn

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_bridge(standin: TelegramStandIn, environment: dict, log: Path, **settings: str) -> Bridge:
    env = {
        **environment,
        "TELEGRAM_BOT_TOKEN": standin.token,
        "TELEGRAM_API_BASE_URL": standin.url,
        "TELEGRAM_LOG_LEVEL": "DEBUG",  # even the most talkative level keeps words and token out
        **settings,
    }
    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "chatbot.channels.telegram"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return Bridge(process, log, standin)


def stop_bridge(bridge: Bridge) -> int:
    if bridge.process.poll() is None:
        bridge.process.send_signal(signal.SIGTERM)
    try:
        return bridge.process.wait(20)
    except subprocess.TimeoutExpired:
        bridge.process.kill()
        return bridge.process.wait()


def wait_until_polling(bridge: Bridge) -> None:
    deadline = time.monotonic() + 30
    while not bridge.standin.calls_of("getUpdates"):
        assert bridge.process.poll() is None, f"the bridge stopped:\n{bridge.log_text()}"
        assert time.monotonic() < deadline, f"the bridge never polled:\n{bridge.log_text()}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def standin():
    server = TelegramStandIn(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bridge(live_servers, standin, tmp_path_factory):
    """The bridge in polling mode (the default), with Rasa's own environment (same var/ and key)."""
    env = {**live_servers.environment, "RASA_URL": live_servers.rasa_url}
    running = start_bridge(standin, env, tmp_path_factory.mktemp("telegram") / "bridge.log")
    try:
        wait_until_polling(running)
        yield running
    finally:
        assert stop_bridge(running) == 0, running.log_text()


@pytest.fixture(scope="module")
def hashed(live_servers):
    secret = derived_secret(load_key(live_servers.settings.var_dir), "telegram")
    return lambda chat_id: sender_id(secret, chat_id)


def tracker(live_servers, sender: str) -> dict:
    url = f"{live_servers.rasa_url}/conversations/{sender}/tracker?token={live_servers.token}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def user_events(live_servers, sender: str) -> list[dict]:
    """The person's messages as stored (their words sealed with the referral key), opened here."""
    from chatbot.privacy.tracker_store import readable_text
    from chatbot.referrals.crypto import ContactCipher, load_key

    cipher = ContactCipher(load_key(live_servers.settings.var_dir))
    events = [e for e in tracker(live_servers, sender)["events"] if e["event"] == "user"]
    for event in events:
        assert str(event.get("text", "")).startswith("enc:"), "the words must not be plain at rest"
        event["text"] = readable_text(event["text"], cipher)
    return events


def turn(standin: TelegramStandIn, chat: int, expect: str, act) -> list[str]:
    """Do something as the person, then wait for a reply containing `expect`."""
    mark = standin.mark()
    act()
    return standin.wait_for_text(chat, expect, mark)


# --- through the real servers --------------------------------------------------------------


def test_start_greets_and_asks_who_it_is_for_with_one_button_per_row(bridge, standin):
    chat = new_chat()
    mark = standin.mark()
    texts = turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    assert texts[0].startswith("Hello. I can help you find local support")
    (question,) = [c for c in standin.calls_of("sendMessage", mark, chat) if c.params["text"] == WHO]
    rows = question.params["reply_markup"]["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [
        ["Myself"],
        ["A patient (I work in health care)"],
        ["Someone I help"],
    ]
    assert question.params["parse_mode"] == "HTML"
    assert standin.calls_of("sendChatAction", mark, chat), "the person sees 'typing…' while Rasa works"


def test_pressing_a_button_advances_the_conversation_and_shows_the_choice(bridge, standin):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    mark = standin.mark()
    texts = turn(standin, chat, "What is your work situation?", lambda: standin.press(chat, "Myself"))
    assert texts == ["What is your work situation?"]
    assert standin.calls_of("answerCallbackQuery", mark)
    (edit,) = standin.calls_of("editMessageText", mark, chat)
    assert edit.params["text"] == f"{WHO}\n\n→ <i>Myself</i>"
    assert "reply_markup" not in edit.params, "the used keyboard goes, so it cannot be pressed again"


def test_a_whole_conversation_reaches_the_cards_once_each_and_a_long_payload_button_works(
    bridge, standin, live_servers, hashed
):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    turn(standin, chat, "Do you want to be in work now", lambda: standin.user_says(chat, OPENING))
    turn(standin, chat, "Which GP surgery", lambda: standin.user_says(chat, "yes"))
    mark = standin.mark()
    texts = turn(standin, chat, "pass your details", lambda: standin.press(chat, "Amwell Group Practice"))

    # Three messages: a lead-in, the cards in one message, the offer with its keyboard.
    assert len(texts) == 3, texts
    assert texts[0].startswith("Here is support that could help.")
    assert len(texts[0]) + len(texts[1]) < 900, "more than a phone screen before the question"
    names = ["Get Back on Track", "Mental Health Working", "iWork"]
    lines = [line.split(". ", 1)[-1] for line in texts[1].split("\n")]
    for name in names:
        assert lines.count(name) == 1, f"{name} shown {lines.count(name)} times: {texts}"
    raw = [c.params["text"] for c in standin.calls_of("sendMessage", mark, chat)]
    assert re.search(r"<b>\d\. Mental Health Working</b>\nWhy: ", raw[1])
    assert not any('"recommendations"' in r or "service_id" in r for r in raw), "no JSON shown"

    # /summary: what to keep, as one message; nothing the person said is in it.
    (kept,) = turn(standin, chat, "your details", lambda: standin.user_says(chat, "/summary"))
    assert kept.startswith("Health and work support: your details")
    assert all(name in kept for name in names) and "If you need help now:" in kept
    assert "stress" not in kept and "Amwell" not in kept

    # The referral buttons: a payload over 64 bytes travels as a short token.
    offer = standin.last_keyboard(chat)
    data = {b["text"]: b["callback_data"] for row in offer["reply_markup"]["inline_keyboard"] for b in row}
    assert all(len(d.encode()) <= CALLBACK_DATA_LIMIT for d in data.values())
    assert data["Refer me to Mental Health Working"].startswith("#")
    texts = turn(
        standin,
        chat,
        "Do you agree to me sending these details to Mental Health Working?",
        lambda: standin.press(chat, "Refer me to Mental Health Working", offer),
    )
    slots = tracker(live_servers, hashed(chat))["slots"]
    assert slots["referral_service_id"] == "islington-mental-health-working"
    assert slots["area_id"] == "islington"


def test_restart_starts_again_and_delete_asks_to_confirm(bridge, standin):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    turn(standin, chat, "What is your work situation?", lambda: standin.press(chat, "Myself"))
    texts = turn(standin, chat, WHO, lambda: standin.user_says(chat, "/restart"))
    assert texts[0] == "OK, let's start again."
    texts = turn(standin, chat, "Delete your data now?", lambda: standin.user_says(chat, "/delete"))
    assert "I can delete what I hold about you now" in texts[0]
    buttons = [
        b["text"] for row in standin.last_keyboard(chat)["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == ["Yes, delete my data", "No, keep it"]
    said_before = len(standin.messages_in(chat))
    texts = turn(standin, chat, "Done.", lambda: standin.press(chat, "Yes, delete my data"))
    assert "delete the chat in the Telegram app" in texts[-1]  # it says what Telegram keeps
    left = [m.get("text", "") for m in standin.messages_in(chat)]
    assert said_before > 5 and len(left) == 1 and left[0].startswith("Done."), left  # the rest deleted


def test_a_share_link_start_passes_its_source_and_the_chat_id_never_reaches_rasa(
    bridge, standin, live_servers, hashed
):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start mentor-scheme_2"))
    other = new_chat()
    turn(standin, other, WHO, lambda: standin.user_says(other, "/start not<a>valid"))

    (first,) = user_events(live_servers, hashed(chat))
    assert first["text"] == "hi"
    assert first["input_channel"] == "telegram"
    assert {k: first["metadata"].get(k) for k in ("source", "channel")} == {
        "source": "mentor-scheme_2",
        "channel": "telegram",
    }
    (first,) = user_events(live_servers, hashed(other))
    assert "source" not in (first.get("metadata") or {})

    # The tracker store holds the keyed hash only: not the chat id, anywhere.
    assert hashed(chat).startswith("tg-") and str(chat) not in hashed(chat)
    with sqlite3.connect(f"file:{live_servers.settings.var_dir / 'tracker.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT sender_id, data FROM events").fetchall()
    assert any(s == hashed(chat) for s, _ in rows)
    for chat_id in (chat, other):
        assert not [s for s, d in rows if str(chat_id) in s or str(chat_id) in (d or "")]
    assert user_events(live_servers, str(chat)) == []


def test_pictures_stickers_and_unknown_commands_get_a_kind_answer_and_never_reach_rasa(
    bridge, standin, live_servers, hashed
):
    chat = new_chat()
    texts = turn(
        standin, chat, "only read typed text", lambda: standin.send_photo(chat, caption="my fit note")
    )
    assert texts == [telegram.ONLY_TEXT]
    turn(standin, chat, "only read typed text", lambda: standin.send_sticker(chat))
    turn(standin, chat, "/restart", lambda: standin.user_says(chat, "/frobnicate"))
    assert user_events(live_servers, hashed(chat)) == []


def test_typing_an_answer_closes_the_keyboard_so_a_stale_tap_cannot_answer_later(bridge, standin):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    question = json.loads(json.dumps(standin.last_keyboard(chat)))  # as the person's app still shows it
    mark = standin.mark()
    turn(standin, chat, "What is your work situation?", lambda: standin.user_says(chat, "myself"))
    closed = [
        c for c in standin.calls_of("editMessageReplyMarkup", mark, chat)
        if c.params.get("message_id") == question["message_id"]
    ]
    assert closed and "reply_markup" not in closed[-1].params, "the typed answer closed the old keyboard"
    mark = standin.mark()
    standin.press(chat, "Someone I help", question)  # the old keyboard, tapped late
    time.sleep(1.0)
    assert standin.texts(chat, mark) == [], "nothing reached Rasa from the stale keyboard"
    answers = [c.params.get("text") for c in standin.calls_of("answerCallbackQuery", mark)]
    assert telegram.ALREADY_CHOSEN in answers


def test_buttons_pressed_twice_or_forgotten_are_handled_kindly(bridge, standin):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    question = standin.last_keyboard(chat)
    mark = standin.mark()
    standin.press(chat, "Myself", question)
    standin.press(chat, "Myself", question)  # a double tap, before the keyboard went
    standin.wait_for_text(chat, "What is your work situation?", mark)
    time.sleep(0.5)
    assert standin.texts(chat, mark) == ["What is your work situation?"], "sent to Rasa once"
    answers = [c.params.get("text") for c in standin.calls_of("answerCallbackQuery", mark)]
    assert telegram.ALREADY_CHOSEN in answers

    # A token the bridge no longer knows (e.g. after a restart): the button's words, as typed.
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/restart"))
    stale = json.loads(json.dumps(standin.last_keyboard(chat)))
    stale["reply_markup"]["inline_keyboard"][0][0]["callback_data"] = "#forgotten-token-xyz"
    texts = turn(
        standin,
        chat,
        "What is your work situation?",
        lambda: standin.press_data(chat, stale, "#forgotten-token-xyz"),
    )
    # Unknown data on no button at all: a kind word, nothing sent to Rasa.
    other = {**stale, "message_id": stale["message_id"] + 1000}
    texts = turn(
        standin,
        chat,
        "That button no longer works",
        lambda: standin.press_data(chat, other, "#not-on-any-button"),
    )
    assert texts == [telegram.EXPIRED_BUTTON]


def test_one_chat_is_answered_in_order_while_another_talks(bridge, standin):
    chat, other = new_chat(), new_chat()
    mark = standin.mark()
    standin.user_says(chat, "/start")
    standin.user_says(other, "/start")
    standin.user_says(chat, "Myself")  # queued before the first reply came
    texts = standin.wait_for_text(chat, "What is your work situation?", mark)
    assert texts[-2:] == [WHO, "What is your work situation?"]
    assert texts[0].startswith("Hello.")
    standin.wait_for_text(other, WHO, mark)


def test_a_very_long_message_and_slash_typed_text_are_read_as_words(bridge, standin, live_servers, hashed):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    long_text = "I have been feeling low and tired at work. " * 90  # about 3,900 characters
    mark = standin.mark()
    standin.user_says(chat, long_text)
    deadline = time.monotonic() + 30
    while not standin.texts(chat, mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert standin.texts(chat, mark) and telegram.RASA_DOWN not in standin.texts(chat, mark)
    # Typed text never reaches Rasa as an intent: the leading slash goes (buttons send intents).
    turn(standin, chat, "?", lambda: standin.user_says(chat, '/ inform{"user_role":"patient"}'))
    last = user_events(live_servers, hashed(chat))[-1]
    assert not last["text"].startswith("/")


def test_the_bridge_log_holds_no_words_no_ids_and_no_token(bridge, standin):
    chat = new_chat()
    turn(standin, chat, WHO, lambda: standin.user_says(chat, "/start"))
    turn(standin, chat, "Do you want to be in work now", lambda: standin.user_says(chat, OPENING))
    log = bridge.log_text()
    assert "update: text ->" in log and "update: start ->" in log  # it does log, by kind
    for secret in (
        TOKEN,
        TOKEN.split(":")[1],
        "stress",
        "Islington",
        "fit note",
        str(chat),
        "alex_private",
        "Alex",
    ):
        assert secret not in log, f"{secret!r} is in the bridge's log"
    assert "Hello" not in log and WHO not in log, "nor what the bot said"
    assert "update failed" not in log and "Traceback" not in log, log


# --- Rasa down, and webhook mode ------------------------------------------------------------


def test_rasa_down_gets_a_kind_try_again_and_the_bridge_carries_on(tmp_path, live_servers):
    standin = TelegramStandIn(TOKEN).start()
    env = {**live_servers.environment, "RASA_URL": f"http://127.0.0.1:{free_port()}"}  # nothing listens
    down = start_bridge(standin, env, tmp_path / "bridge.log")
    try:
        wait_until_polling(down)
        chat = new_chat()
        assert turn(standin, chat, "try again", lambda: standin.user_says(chat, "/start")) == [
            telegram.RASA_DOWN
        ]
        assert turn(standin, chat, "try again", lambda: standin.user_says(chat, "hello?")) == [
            telegram.RASA_DOWN
        ]
        assert down.process.poll() is None
    finally:
        assert stop_bridge(down) == 0
        standin.stop()
    assert "Rasa unavailable (ConnectError)" in down.log_text()
    assert TOKEN not in down.log_text() and "hello?" not in down.log_text()


def test_webhook_mode_sets_the_webhook_and_accepts_only_the_secret(tmp_path, live_servers, hashed):
    standin = TelegramStandIn(TOKEN).start()
    port, secret = free_port(), "s3cret_for-this-test"
    url = f"http://127.0.0.1:{port}/telegram-hook"
    env = {**live_servers.environment, "RASA_URL": live_servers.rasa_url}
    hook = start_bridge(
        standin,
        env,
        tmp_path / "bridge.log",
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL=url,
        TELEGRAM_WEBHOOK_SECRET=secret,
        TELEGRAM_WEBHOOK_LISTEN="127.0.0.1",
        TELEGRAM_WEBHOOK_PORT=str(port),
    )

    def post(update: dict, token: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        request = urllib.request.Request(url, data=json.dumps(update).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        registered = standin.wait_for_call("setWebhook")
        assert registered.params["url"] == url
        assert registered.params["secret_token"] == secret
        assert not standin.calls_of("getUpdates")
        deadline = time.monotonic() + 20
        while True:  # setWebhook comes just before the local server listens
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            except urllib.error.HTTPError:
                break
            except OSError:
                assert time.monotonic() < deadline and hook.process.poll() is None, hook.log_text()
                time.sleep(0.05)

        chat = new_chat()
        mark = standin.mark()
        assert post(standin.message_update(chat, "/start"), "wrong") == 403
        assert post(standin.message_update(chat, "/start"), None) == 403
        time.sleep(1.0)
        assert standin.calls_of("sendMessage", mark) == [], "nothing sent for a request without the secret"

        assert post(standin.message_update(chat, "/start"), secret) == 200
        standin.wait_for_text(chat, WHO, mark)
        # An update the library cannot read is refused, and its content is not logged.
        broken = standin.message_update(chat, "my private words")
        del broken["update_id"]
        assert post(broken, secret) == 400
    finally:
        assert stop_bridge(hook) == 0, hook.log_text()
        standin.stop()
    log = hook.log_text()
    assert "update: start ->" in log
    for private in (secret, TOKEN, "my private words", "alex_private", str(chat)):
        assert private not in log, f"{private!r} is in the bridge's log"


# --- the parts, without servers --------------------------------------------------------------


def test_payloads_over_64_bytes_get_short_tokens_and_the_map_stays_bounded():
    payloads = ButtonPayloads(capacity=3)
    short = '/inform{"user_role":"self"}'
    long = '/request_referral{"service_id":"islington-mental-health-working"}'
    assert payloads.payload_for(payloads.token_for(short)) == short
    token = payloads.token_for(long)
    assert len(token.encode()) <= CALLBACK_DATA_LIMIT and payloads.token_for(long) == token
    assert payloads.payload_for(token) == long
    for i in range(3):
        payloads.token_for(long + "x" * 60 + str(i))
    assert len(payloads) == 3 and payloads.payload_for(token) is None, "the oldest is forgotten"
    assert payloads.payload_for("#unknown") is None and payloads.payload_for("junk") is None


def test_long_texts_split_under_telegrams_limit_with_buttons_on_the_last_piece():
    text = "\n\n".join(f"Paragraph {i}: " + "words & <more> words " * 40 for i in range(20))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p) <= MESSAGE_LIMIT for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())
    messages = render([{"text": text, "buttons": [{"title": "Yes", "payload": "/affirm"}]}])
    assert [bool(m.buttons) for m in messages] == [False] * (len(messages) - 1) + [True]
    assert "&lt;more&gt;" in messages[0].html and "&amp;" in messages[0].html
    assert split_text("x" * 9000) == ["x" * 4000, "x" * 4000, "x" * 1000]


def test_cards_come_from_the_payload_only_when_their_text_did_not_and_a_referral_line_likewise():
    card = {
        "service_id": "a",
        "name": "Able <Work>",
        "reasons": ["you live in Islington"],
        "next_step": "Call them.",
        "last_verified": "2026-11-24",
    }
    second = {**card, "name": "Best Fit"}
    as_text = "1. Able <Work>\nWhy: You live in Islington.\nNext: Call them.\n2. Best Fit\nWhy: Also."
    shown = render([{"text": as_text}, {"custom": {"recommendations": [card, second]}}])
    assert [m.html for m in shown] == [
        "<b>1. Able &lt;Work&gt;</b>\nWhy: You live in Islington.\nNext: Call them.\n"
        "<b>2. Best Fit</b>\nWhy: Also."
    ]
    (only_payload,) = render([{"custom": {"recommendations": [card]}}])
    assert only_payload.html.startswith("<b>Able &lt;Work&gt;</b>\nWhy it fits: you live in Islington.")
    assert "(Facts last checked 24 November 2026.)" in only_payload.html
    referral = {
        "custom": {"referral": {"reference": "HW-7K3MQ-9PXA1", "service_id": "a", "status": "queued"}}
    }
    assert render([{"text": "Your reference is HW-7K3MQ-9PXA1."}, referral])[1:] == []
    assert "HW-7K3MQ-9PXA1" in render([referral])[0].html
    assert render([{"custom": {"something": "else"}}]) == []


def test_start_sources_typed_text_and_sender_ids():
    assert start_source(["mentor-scheme_2"]) == "mentor-scheme_2"
    for bad in (["a" * 65], ["no spaces"], ["émile"], ["x<y"], [], ["a", "b"]):
        assert start_source(bad) is None
    assert typed_text('  /inform{"user_role":"self"}') == 'inform{"user_role":"self"}'
    assert typed_text("  hello ") == "hello"
    one, two = sender_id(b"k" * 32, 12345), sender_id(b"other", 12345)
    assert one.startswith("tg-") and "12345" not in one and one != two
    assert one == sender_id(b"k" * 32, "12345")


def test_settings_are_checked_and_sender_id_can_be_looked_up(monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("TELEGRAM_"):
            monkeypatch.delenv(name)
    assert telegram.main([]) == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err
    with pytest.raises(telegram.SettingsError, match="TELEGRAM_WEBHOOK_URL"):
        telegram.load_bridge_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook"})
    with pytest.raises(telegram.SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        telegram.load_bridge_settings({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "has space"})
    settings = telegram.load_bridge_settings(
        {
            "TELEGRAM_BOT_TOKEN": "1:x",
            "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook",
        }
    )
    assert settings.webhook_path == "telegram/hook" and len(settings.webhook_secret) >= 32
    assert (
        settings.api_base_url == "https://api.telegram.org" and settings.rasa_url == "http://127.0.0.1:5005"
    )

    monkeypatch.setenv("REFERRAL_ENCRYPTION_KEY", "a-fixed-key-for-this-test")
    assert telegram.main(["sender-id", "4242"]) == 0
    expected = sender_id(derived_secret(b"a-fixed-key-for-this-test", "telegram"), 4242)
    assert capsys.readouterr().out.strip() == expected


def test_library_log_lines_keep_their_shape_but_lose_their_data_and_the_token():
    settings = telegram.load_bridge_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    formatter = telegram._PrivateFormatter("%(name)s: %(message)s", [settings.token])
    update = {"message": {"text": "my private words", "from": {"username": "alex_private"}}}
    try:
        raise ValueError(f"bad update {update}")
    except ValueError:
        record = logging.getLogger("telegram.ext.Updater").makeRecord(
            "telegram.ext.Updater",
            logging.CRITICAL,
            __file__,
            1,
            "Received data was: %r (%d)",
            (update, 3),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert line == "telegram.ext.Updater: Received data was: … (3) [ValueError]"
    ours = logging.LogRecord("chatbot.telegram", logging.INFO, __file__, 1, "token %s", (TOKEN,), None)
    assert formatter.format(ours) == "chatbot.telegram: token [secret]"
