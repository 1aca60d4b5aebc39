"""Ways out of any point in the conversation: start again, and not understood."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

from chatbot.nlu.language import looks_like_another_language

from .data_rights import REFERENCE_TEXT
from .referral_status import ActionReferralStatus
from .turns import text_of

UNCLEAR_LIMIT = 2


class ActionStartAgain(Action):
    def name(self) -> str:
        return "action_start_again"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_restarting")
        return [AllSlotsReset(), ActiveLoop(None)]


class ActionHandleUnclear(Action):
    """First miss: ask to rephrase, with buttons. After that: offer a fresh start or a person."""

    def name(self) -> str:
        return "action_handle_unclear"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        if REFERENCE_TEXT.search(text_of(tracker)):
            # A reference is only ever given out for a referral: whatever the words, they ask about it.
            return ActionReferralStatus().run(dispatcher, tracker, domain)
        misses = _misses_in_a_row(tracker)
        if misses >= UNCLEAR_LIMIT:
            dispatcher.utter_message(response="utter_still_unclear")
        elif looks_like_another_language(text_of(tracker)):
            dispatcher.utter_message(response="utter_default_other_language")
        else:
            dispatcher.utter_message(response="utter_default")
        return []


def _misses_in_a_row(tracker: Tracker) -> int:
    """How many of the last messages in a row this action answered (this one included)."""
    answered_by: list[str | None] = []  # for each message, the first action that answered it
    waiting = False
    for event in tracker.events:
        if event.get("event") == "user":
            answered_by.append(None)
            waiting = True
        elif waiting and event.get("event") == "action" and event.get("name") != "action_extract_slots":
            answered_by[-1] = event.get("name")
            waiting = False
    if answered_by:
        answered_by[-1] = "action_handle_unclear"  # the message being answered now
    misses = 0
    for action in reversed(answered_by):
        if action != "action_handle_unclear":
            break
        misses += 1
    return misses
