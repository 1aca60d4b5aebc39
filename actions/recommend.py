"""Recommend services at the end of triage."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge.runtime import current_catalogue
from chatbot.triage import recommend

from .profile import profile_from_tracker


class ActionRecommendServices(Action):
    def name(self) -> str:
        return "action_recommend_services"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        result = recommend(profile_from_tracker(tracker), current_catalogue())
        if not result.matches:
            dispatcher.utter_message(response="utter_no_recommendations")
            return []
        dispatcher.utter_message(response="utter_recommendations_intro")
        for match in result.matches:
            dispatcher.utter_message(
                response="utter_recommendation_card",
                name=match.name,
                reasons="; ".join(match.reasons),
                next_step=match.next_step,
                last_verified=match.last_verified.strftime("%-d %B %Y"),
            )
        dispatcher.utter_message(json_message={"recommendations": [m.as_payload() for m in result.matches]})
        return []
