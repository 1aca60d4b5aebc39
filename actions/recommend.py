"""Recommend services at the end of triage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge.runtime import current_catalogue
from chatbot.outcomes import record
from chatbot.safety.routes import load_routes, nation_of
from chatbot.triage import recommend
from chatbot.triage.cards import card_payload, compact_cards_text, details_text
from chatbot.triage.keep import keep_payload, keep_text
from chatbot.triage.summary import patient_summary

from .slots import profile_from_tracker


class ActionRecommendServices(Action):
    def name(self) -> str:
        return "action_recommend_services"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        catalogue = current_catalogue()
        profile = profile_from_tracker(tracker)
        result = recommend(profile, catalogue)
        # Counted once per conversation (or fresh start): the slot is empty until the first time.
        earlier = tracker.get_slot("recommended_services")
        if earlier is None:
            record.triage_completed(tracker.get_slot("user_role"), profile.area_id)
        record.services_recommended(
            [m.service_id for m in result.matches if m.service_id not in (earlier or [])], profile.area_id
        )
        if not result.matches:
            dispatcher.utter_message(response="utter_no_recommendations")
            return [SlotSet("recommended_services", [])]
        if earlier is not None and list(earlier) == [m.service_id for m in result.matches]:
            # "pt agreed to us looking into options", "bit of anxiety": nothing that changes
            # what fits. Not the whole turn again, only that, and the question (the offer).
            dispatcher.utter_message(response="utter_recommendations_unchanged")
            return [SlotSet("unclear_answers", 0)]
        area = catalogue.areas.get(profile.area_id or "")
        council = tracker.get_slot("area_council")
        # One lead-in: the coverage notice, when there is one, is the lead-in.
        if area and area.is_nation and council:
            # Honest about coverage: the council is named, and the routes are its nation's.
            dispatcher.utter_message(
                response="utter_no_local_services_yet", council=council, nation=area.name
            )
        elif area and not area.is_nation and not result.local_found:
            dispatcher.utter_message(response="utter_no_local_services", area=area.name)
        else:
            dispatcher.utter_message(response="utter_recommendations_intro")
        # The cards: short text for channels without cards, and the payload for those with them.
        # Closed and planned services are not mentioned here, unasked: "is X still running?"
        # and naming one get its status (actions/answers.py).
        today = dt.date.today()
        dispatcher.utter_message(
            text=compact_cards_text(result.matches, today),
            json_message={
                "recommendations": [card_payload(m, today) for m in result.matches],
                "keep": keep_payload(
                    result.matches,
                    load_routes(),
                    nation_of(profile.area_id),
                    today,
                    tracker.get_slot("referral_reference"),
                ),
            },
        )
        return [
            SlotSet("recommended_services", [m.service_id for m in result.matches]),
            SlotSet("unclear_answers", 0),
        ]


class ActionPatientSummary(Action):
    """'summary' (or /summary in Telegram) at any time: for a professional, the record summary
    with the referral's reference once made; for anyone else, the details to keep."""

    def name(self) -> str:
        return "action_patient_summary"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("recommended_services") is None:
            dispatcher.utter_message(response="utter_no_summary_yet")
            return []
        catalogue = current_catalogue()
        profile = profile_from_tracker(tracker)
        result = recommend(profile, catalogue)
        today = dt.date.today()
        reference = tracker.get_slot("referral_reference")
        if profile.role == "patient":
            summary = patient_summary(profile, result, catalogue, today, referral_reference=reference)
            dispatcher.utter_message(response="utter_patient_summary", summary=summary)
            return []
        keep = keep_payload(result.matches, load_routes(), nation_of(profile.area_id), today, reference)
        dispatcher.utter_message(text=keep_text(keep))
        return []


class ActionServiceDetails(Action):
    """The "More about these services" button: all that the short cards leave out."""

    def name(self) -> str:
        return "action_service_details"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("recommended_services") is None:
            dispatcher.utter_message(response="utter_no_summary_yet")
            return []
        profile = profile_from_tracker(tracker)
        today = dt.date.today()
        for match in recommend(profile, current_catalogue()).matches:
            dispatcher.utter_message(text=details_text(match, today, profile.role))
        return []
