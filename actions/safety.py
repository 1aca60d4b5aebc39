"""Answer a crisis at once with the urgent help routes."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.outcomes import record

# Which extra answer each risk category adds before the general urgent help.
EXTRA_RESPONSE = {
    "medical_emergency": "utter_crisis_medical_emergency",
    "abuse": "utter_crisis_abuse",
}


class ActionRespondToCrisis(Action):
    def name(self) -> str:
        return "action_respond_to_crisis"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        record.crisis_interrupted(tracker.get_slot("area_id"))  # a count only: no text, no category
        categories = (tracker.latest_message.get("risk") or {}).get("categories") or []
        for category in categories:
            if category in EXTRA_RESPONSE:
                dispatcher.utter_message(response=EXTRA_RESPONSE[category])
        dispatcher.utter_message(response="utter_crisis_urgent")
        dispatcher.utter_message(response="utter_crisis_offer_continue")
        return []
