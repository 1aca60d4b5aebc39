"""Reading the triage slots: the same checks in the form and outside it.

Rasa validates a slot in the form with ValidateTriageForm, and outside any
form (a correction after the recommendations) with action_validate_slot_mappings;
both use these methods so a fact means the same wherever it was said.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge import vocab
from chatbot.knowledge.runtime import current_catalogue
from chatbot.nlu.facts import says_dont_know, says_where_they_live
from chatbot.triage import questions
from chatbot.triage.profile import Profile

from .turns import slots_before_last_message

TRIAGE_SLOTS = (
    "user_role",
    "work_status",
    "weeks_off_sick",
    "has_fit_note",
    "condition_category",
    "area_id",
    "gp_surgery_id",
    "age",
    "ready_to_work",
    "benefits",
    "circumstances",
)
CHOICES = {
    "user_role": questions.ROLES,
    "work_status": vocab.WORK_STATUSES,
    "has_fit_note": ("yes", "no"),
    "condition_category": vocab.CONDITION_CATEGORIES,
    "ready_to_work": vocab.READY_TO_WORK,
}


# Read with the answers, but not an answer of its own (never "noted" as a correction):
# set beside area_id from the same words.
AREA_DETAIL_SLOTS = ("area_locality",)


def answers_from_tracker(tracker: Tracker) -> dict[str, Any]:
    return {name: tracker.get_slot(name) for name in (*TRIAGE_SLOTS, *AREA_DETAIL_SLOTS)}


def profile_from_tracker(tracker: Tracker) -> Profile:
    return questions.profile_from_answers(answers_from_tracker(tracker))


class TriageSlotChecks:
    """validate_<slot> methods shared by the form and the global slot validation."""

    def _choice(self, slot: str, value: Any) -> dict[str, Any]:
        return {slot: questions.read_choice(value, CHOICES[slot])}

    def validate_user_role(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        return self._choice("user_role", value)

    def validate_work_status(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        chosen = self._choice("work_status", value)
        earlier = slots_before_last_message(t).get("work_status")
        text = t.latest_message.get("text") or ""
        return {"work_status": questions.work_status_after(earlier, chosen["work_status"], text)}

    def validate_has_fit_note(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        # "not sure" can be read as a "no"; it is not one.
        if says_dont_know(t.latest_message.get("text") or ""):
            # Read as a "no" by the classifier ("dunno"), it is a skip: say so, as for any skip.
            d.utter_message(response="utter_skip_question")
            return {"has_fit_note": questions.SKIPPED}
        return self._choice("has_fit_note", value)

    def validate_condition_category(
        self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict
    ) -> dict:
        return self._choice("condition_category", value)

    def validate_ready_to_work(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        if says_dont_know(t.latest_message.get("text") or ""):
            return {"ready_to_work": "not_sure"}
        return self._choice("ready_to_work", value)

    def validate_weeks_off_sick(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        weeks = questions.read_weeks(value)
        if weeks not in (None, questions.SKIPPED) and t.get_slot("work_status") is None:
            return {"weeks_off_sick": weeks, "work_status": "off_sick"}  # "off 12/52": time off sick
        return {"weeks_off_sick": weeks}

    def validate_age(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        return {"age": questions.read_age(value)}

    def validate_gp_surgery_id(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        catalogue = current_catalogue()
        surgery_id = questions.read_gp_surgery(value, catalogue)
        area = questions.area_from_surgery(surgery_id, t.get_slot("area_id"), catalogue)
        return {"gp_surgery_id": surgery_id, **area}

    def validate_benefits(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        earlier = slots_before_last_message(t).get("benefits")
        return {"benefits": questions.read_list(value, vocab.BENEFITS, earlier)}

    def validate_circumstances(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        earlier = slots_before_last_message(t).get("circumstances")
        return {"circumstances": questions.read_list(value, vocab.CIRCUMSTANCES, earlier)}

    def validate_area_id(self, value: Any, d: CollectingDispatcher, t: Tracker, domain: dict) -> dict:
        if value is None:
            return {}  # already read (Rasa may validate twice): keep the choice to offer
        catalogue = current_catalogue()
        before = slots_before_last_message(t).get("area_id")
        text = t.latest_message.get("text") or ""
        if (
            before not in (None, questions.SKIPPED)
            and t.get_slot("requested_slot") != "area_id"
            and len(text.split()) > 3  # "NG18" alone, or "Manchester actually", is a correction
            and not says_where_they_live(text)
        ):
            # "his mate uses a service in Mansfield": a place said in passing is not a move.
            return {"area_id": before}
        surgery = catalogue.gp_surgeries.get(t.get_slot("gp_surgery_id") or "")
        answer = questions.settled_by_earlier(
            questions.read_area(value, catalogue), before, surgery.area if surgery else None
        )
        slots = {"area_id": answer.area_id, "area_candidates": list(answer.candidates) or None}
        if value not in catalogue.areas:  # a place just named, not the id read already
            slots["area_council"] = answer.council or None  # "Cardiff": named, with no local services
        slots["area_locality"] = questions.locality_after(
            catalogue.locality_of(answer.area_id, text),  # "Harpurhey", "M20"
            t.get_slot("area_locality"),
            same_area=answer.area_id == before,
        )
        return slots
