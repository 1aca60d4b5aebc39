"""Custom ways of asking: questions whose buttons depend on the knowledge."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge import vocab
from chatbot.knowledge.runtime import current_catalogue
from chatbot.triage import questions

from .slots import answers_from_tracker


def _inform(slot: str, value: str) -> str:
    return f'/inform{{"{slot}":"{value}"}}'


class ActionAskAreaId(Action):
    def name(self) -> str:
        return "action_ask_area_id"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        catalogue = current_catalogue()
        candidates = tracker.get_slot("area_candidates") or []
        if (
            len(candidates) == 2
            and candidates[1] == vocab.NATIONAL_AREA_ID
            and candidates[0] in catalogue.areas
        ):
            name = catalogue.areas[candidates[0]].name
            buttons = [
                {"title": f"Yes, {name}", "payload": _inform("area_id", candidates[0])},
                {"title": "No, somewhere else", "payload": _inform("area_id", vocab.NATIONAL_AREA_ID)},
            ]
            dispatcher.utter_message(response="utter_ask_area_confirm", area=name, buttons=buttons)
            return []
        if candidates:
            buttons = [
                {
                    "title": "Somewhere else" if a == vocab.NATIONAL_AREA_ID else catalogue.areas[a].name,
                    "payload": _inform("area_id", a),
                }
                for a in candidates
                if a in catalogue.areas
            ]
            dispatcher.utter_message(response="utter_ask_area_choice", buttons=buttons)
            return []
        buttons = [
            {"title": area.name, "payload": _inform("area_id", area.id)}
            for area in sorted(catalogue.areas.values(), key=lambda a: a.name)
            if area.id != vocab.NATIONAL_AREA_ID
        ]
        buttons.append(
            {"title": "Somewhere else in England", "payload": _inform("area_id", vocab.NATIONAL_AREA_ID)}
        )
        dispatcher.utter_message(response="utter_ask_area_id", buttons=buttons)
        return []


class ActionAskGpSurgeryId(Action):
    def name(self) -> str:
        return "action_ask_gp_surgery_id"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        catalogue = current_catalogue()
        surgeries = questions.surgeries_that_matter(answers_from_tracker(tracker), catalogue)
        buttons = [
            {"title": catalogue.gp_surgeries[g].name, "payload": _inform("gp_surgery_id", g)}
            for g in surgeries
            if g in catalogue.gp_surgeries
        ]
        buttons += [
            {"title": "Another surgery", "payload": _inform("gp_surgery_id", "other")},
            {"title": "Not sure", "payload": _inform("gp_surgery_id", questions.SKIPPED)},
        ]
        dispatcher.utter_message(response="utter_ask_gp_surgery_id", buttons=buttons)
        return []
