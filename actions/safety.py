"""Answer a sign of risk at once: the urgent routes, or the direct check question beside them."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from chatbot.outcomes import record
from chatbot.safety.routes import load_routes, nation_of


class ActionRespondToCrisis(Action):
    def name(self) -> str:
        return "action_respond_to_crisis"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        risk = tracker.latest_message.get("risk") or {}
        routes = load_routes()
        nation = nation_of(tracker.get_slot("area_id"))
        if risk.get("level") == "none" and risk.get("check_answer") == "no":
            # "No" to the check question: thank them, leave the numbers, and carry on where we were.
            dispatcher.utter_message(text=routes.cleared(nation))
            if tracker.active_loop_name:
                return [FollowupAction(tracker.active_loop_name)]
            # The message the question was about held facts (chatbot/nlu/risk_detector.py):
            # they are this answer's now, so the questions start from them.
            held = tracker.latest_message.get("entities") or []
            return [FollowupAction("triage_form")] if held else []
        record.crisis_interrupted(tracker.get_slot("area_id"))  # a count only: no text, no category
        reply = routes.reply(
            level=risk.get("level", "urgent"),
            categories=risk.get("categories") or [],
            about=risk.get("about", "self"),
            role=tracker.get_slot("user_role"),
            nation=nation,
        )
        for text in reply.messages:
            dispatcher.utter_message(text=text)
        return []
