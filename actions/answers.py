"""Answer questions from knowledge/answers, and list an area's services."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge.runtime import current_catalogue
from chatbot.triage import questions
from chatbot.triage.service_status import service_status

QUESTION_PREFIX = "ask_"


class ActionAnswerQuestion(Action):
    """Intent ask_<answer id> is answered with that entry of knowledge/answers."""

    def name(self) -> str:
        return "action_answer_question"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if intent == "ask_service_status":
            status = service_status(tracker.latest_message.get("text") or "", current_catalogue())
            dispatcher.utter_message(response=status.response, **status.values)
            return []
        answers = {a.id: a for a in current_catalogue().knowledge.answers}
        answer = answers.get(_for_who_asks(intent.removeprefix(QUESTION_PREFIX), tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_default")
            return []
        dispatcher.utter_message(text=answer.text.strip())
        if not tracker.active_loop_name and not tracker.get_slot("recommended_services"):
            dispatcher.utter_message(response="utter_offer_triage")
        return []


def _for_who_asks(answer_id: str, tracker: Tracker) -> str:
    """'What can you do?' from a peer mentor or a receptionist gets the overview for them."""
    if answer_id != "about_assistant":
        return answer_id
    roles = {
        e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "user_role"
    }
    text = (tracker.latest_message.get("text") or "").lower()
    if "patient" in roles:
        return "about_for_professionals"
    if "helper" in roles and "mentor" in text:
        return "about_for_peer_mentors"
    return answer_id


class ActionListServicesInArea(Action):
    """For peer mentors and professionals: what is open in a place."""

    def name(self) -> str:
        return "action_list_services_in_area"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        catalogue = current_catalogue()
        said = [
            e.get("value")
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == "area_id"
        ]
        area_id = None
        for value in [*said, tracker.get_slot("area_id")]:
            if value:
                answer = questions.read_area(value, catalogue)
                area_id = answer.area_id or (answer.candidates[0] if answer.candidates else None)
                break
        if area_id is None or area_id not in catalogue.areas:
            dispatcher.utter_message(response="utter_name_an_area")
            return []
        nation = catalogue.nation_of(area_id)
        services = [s for s in catalogue.by_area.get(area_id, ()) if s.is_active]
        national = [s for s in catalogue.by_area.get(nation, ()) if s.is_active]
        lines = [f"- {s.name}" for s in services] if not catalogue.is_nation(area_id) else []
        everywhere = catalogue.areas[nation].name
        lines.append(f"- and {len(national)} national services open to anyone in {everywhere}")
        dispatcher.utter_message(
            response="utter_services_in_area", area=catalogue.areas[area_id].name, services="\n".join(lines)
        )
        return []
