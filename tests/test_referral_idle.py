"""A referral left half done on a shared screen: details are cleared, not read back, after a pause."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.referral import ValidateReferralForm
from chatbot.referrals.idle import details_gone_stale


def test_a_professionals_pause_is_shorter_than_a_residents():
    assert not details_gone_stale(1000.0, 1000.0 + 4 * 60, "patient")
    assert details_gone_stale(1000.0, 1000.0 + 6 * 60, "patient")
    assert not details_gone_stale(1000.0, 1000.0 + 6 * 60, "self")
    assert details_gone_stale(1000.0, 1000.0 + 16 * 60, "self")
    assert not details_gone_stale(None, 1000.0, "self")


def form_tracker(pause_seconds: float, role: str) -> Tracker:
    events = [
        {"event": "user", "text": "Chris Brown", "timestamp": 1000.0, "parse_data": {"intent": {"name": "inform"}}},  # noqa: E501
        {"event": "user", "text": "yes", "timestamp": 1000.0 + pause_seconds,
         "parse_data": {"intent": {"name": "affirm", "confidence": 0.99}}},
    ]  # fmt: skip
    slots = {"user_role": role, "contact_name": "enc:token", "contact_route": "phone", "contact_phone": "enc:t2",  # noqa: E501
             "best_time": "morning", "requested_slot": "referral_confirmed"}  # fmt: skip
    latest = {"text": "yes", "intent": {"name": "affirm", "confidence": 0.99}, "entities": []}
    return Tracker(
        "idle-test", slots, latest, events, False, None, {"name": "referral_form"}, "action_listen"
    )


def test_details_are_cleared_and_asked_again_after_a_long_pause_never_read_back():
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateReferralForm().run(dispatcher, form_tracker(10 * 60, "patient"), {}))
    cleared = {e["name"] for e in events if e.get("event") == "slot" and e.get("value") is None}
    assert {"contact_name", "contact_phone", "best_time", "requested_slot"} <= cleared
    assert "cleared the details" in dispatcher.messages[0]["text"]
