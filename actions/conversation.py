"""Ways out of any point in the conversation: start again, and not understood."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

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
        misses = 0
        for event in reversed(tracker.events):
            if event.get("event") != "user":
                continue
            if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
                break
            misses += 1
        dispatcher.utter_message(response="utter_default" if misses < UNCLEAR_LIMIT else "utter_still_unclear")
        return []
