"""Reading the latest turn of a conversation, shared by the forms."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def intent_of(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def text_of(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def reading_an_answer(tracker: Tracker, form: str) -> bool:
    """Whether the form runs straight after the person's message (not after a digression).

    Rasa calls a form's validation action with the form's own run as the latest
    action, so we look at which actions ran since the person's last message.
    """
    actions = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") != "action_extract_slots":
            actions.append(event.get("name"))
    return actions == [form]


def last_user_index(tracker: Tracker) -> int:
    return max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=0)


def slots_before_last_message(tracker: Tracker) -> dict[str, Any]:
    before: dict[str, Any] = {}
    for event in tracker.events[: last_user_index(tracker)]:
        if event.get("event") == "slot":
            before[event["name"]] = event.get("value")
    return before
