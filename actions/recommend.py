"""Recommend services at the end of triage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge.runtime import current_catalogue
from chatbot.outcomes import record
from chatbot.triage import recommend
from chatbot.triage.summary import patient_summary
from chatbot.triage.wording import facts_line

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
        area = catalogue.areas.get(profile.area_id or "")
        council = tracker.get_slot("area_council")
        if area and area.is_nation and council:
            # Honest about coverage: the council is named, and the routes are its nation's.
            dispatcher.utter_message(
                response="utter_no_local_services_yet", council=council, nation=area.name
            )
        elif area and not area.is_nation and not result.local_found:
            dispatcher.utter_message(response="utter_no_local_services", area=area.name)
        dispatcher.utter_message(response="utter_recommendations_intro")
        for match in result.matches:
            dispatcher.utter_message(
                response="utter_recommendation_card",
                name=match.name,
                reasons="; ".join(match.reasons),
                next_step=match.next_step,
                last_verified=match.last_verified.strftime("%-d %B %Y"),
                facts=facts_line(match, dt.date.today()),
                caveats="".join(f"Good to know: {c}\n" for c in match.caveats),
            )
        # Closed and planned services are not mentioned here, unasked: "is X still running?"
        # and naming one get its status (actions/answers.py).
        dispatcher.utter_message(json_message={"recommendations": [m.as_payload() for m in result.matches]})
        if profile.role == "patient":
            summary = patient_summary(profile, result, catalogue, dt.date.today())
            dispatcher.utter_message(response="utter_patient_summary", summary=summary)
        dispatcher.utter_message(response="utter_change_or_restart")
        return [
            SlotSet("recommended_services", [m.service_id for m in result.matches]),
            SlotSet("unclear_answers", 0),
        ]


class ActionPatientSummary(Action):
    """'summary' at any time: the record summary again, with the referral's reference once made."""

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
        summary = patient_summary(
            profile,
            recommend(profile, catalogue),
            catalogue,
            dt.date.today(),
            referral_reference=tracker.get_slot("referral_reference"),
        )
        dispatcher.utter_message(response="utter_patient_summary", summary=summary)
        return []
