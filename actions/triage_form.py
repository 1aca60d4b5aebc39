"""The triage form: which question comes next, and what to do with an answer.

Designed around Rasa 3.6's form pitfalls:
- no from_text slots: facts come from entities, so a question or a crisis
  typed as an answer is never swallowed;
- a digression (a question, "start again", "talk to a person") makes the form
  step aside with ActionExecutionRejected, even when the message also gave a
  fact; the fact is kept, the rules answer, and the form asks again;
- an answer it cannot use gets a kind nudge, and the second one in a row skips
  the question, so the form never loops.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction, ValidationAction

from chatbot.knowledge.runtime import current_catalogue
from chatbot.nlu.facts import bare_number, says_dont_know, speaks_for_self
from chatbot.triage import questions

from .slots import TRIAGE_SLOTS, TriageSlotChecks, answers_from_tracker

FORM = "triage_form"
# Messages that are not an answer: the form steps aside and the rules take them.
DIGRESSIONS = {
    "crisis", "start_again", "request_human", "out_of_scope", "bot_challenge", "goodbye", "thank",
    "ask_services_in_area", "greet",
}  # fmt: skip
# Messages meant as an answer; if nothing could be taken from one, say so kindly.
ANSWERS = {"inform", "correct", "affirm", "deny", "nlu_fallback"}
UNCLEAR_LIMIT = 2
BOOKKEEPING_SLOTS = {"requested_slot", "unclear_answers"}


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _reading_an_answer(tracker: Tracker) -> bool:
    """Whether the form runs straight after the person's message (not after a digression).

    Rasa calls this action with the form's own run as the latest action, so we
    look at which actions ran since the person's last message.
    """
    actions = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name") != "action_extract_slots":
            actions.append(event.get("name"))
    return actions == [FORM]


def _is_digression(intent: str, events: list[dict[str, Any]]) -> bool:
    if intent in DIGRESSIONS or intent.startswith("ask_"):
        return True
    gave_a_fact = any(e.get("event") == "slot" and e.get("name") not in BOOKKEEPING_SLOTS for e in events)
    return intent == "correct" and not gave_a_fact


def _changed_an_earlier_answer(tracker: Tracker) -> bool:
    """Whether the last message replaced an answer given before ("actually it's 8 weeks")."""
    events = tracker.events
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=0)
    earlier: dict[str, Any] = {}
    for i, event in enumerate(events):
        if event.get("event") != "slot" or event.get("name") not in TRIAGE_SLOTS:
            continue
        if i < last_user:
            earlier[event["name"]] = event.get("value")
        elif earlier.get(event["name"]) not in (None, event.get("value")):
            return True
    return False


class ValidateTriageForm(TriageSlotChecks, FormValidationAction):
    def name(self) -> str:
        return "validate_triage_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> list[str]:
        return questions.questions_to_ask(answers_from_tracker(tracker), current_catalogue())

    def extract_user_role(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        """Someone who tells their own story in the first person is speaking for themselves."""
        entities = tracker.latest_message.get("entities") or []
        if tracker.get_slot("user_role") or _intent(tracker) not in ("inform", "correct") or not entities:
            return {}
        if any(e.get("entity") == "user_role" for e in entities):
            return {}
        return {"user_role": "self"} if speaks_for_self(tracker.latest_message.get("text") or "") else {}

    def extract_weeks_off_sick(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._bare_number_answer("weeks_off_sick", tracker)

    def extract_age(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._bare_number_answer("age", tracker)

    def _bare_number_answer(self, slot: str, tracker: Tracker) -> dict:
        """A reply of just a number ("6") answers the question we asked, whatever it was."""
        if tracker.get_slot("requested_slot") != slot or not _reading_an_answer(tracker):
            return {}
        number = bare_number(tracker.latest_message.get("text") or "")
        return {slot: number} if number is not None else {}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        requested = tracker.get_slot("requested_slot")
        events = await super().run(dispatcher, tracker, domain)
        intent = _intent(tracker)
        if not requested or not _reading_an_answer(tracker):
            return events  # starting, or resuming after a digression: there is no answer to read
        if _is_digression(intent, events):
            kept = [e for e in events if e.get("name") != "requested_slot"]
            return [*kept, ActionExecutionRejected(FORM)]
        progress = any(e.get("event") == "slot" and e.get("name") not in BOOKKEEPING_SLOTS for e in events)
        if progress:
            if intent == "correct" or _changed_an_earlier_answer(tracker):
                dispatcher.utter_message(response="utter_correction_noted")
            return [*events, SlotSet("unclear_answers", 0)]
        if requested and intent in ANSWERS:
            return await self._unclear_answer(requested, dispatcher, tracker, domain, events)
        return events

    async def _unclear_answer(
        self,
        requested: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict,
        events: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        count = int(tracker.get_slot("unclear_answers") or 0) + 1
        if says_dont_know(tracker.latest_message.get("text") or ""):
            count = UNCLEAR_LIMIT  # "not sure" is an answer: skip the question at once
        if count < UNCLEAR_LIMIT:
            dispatcher.utter_message(response="utter_unclear_answer")
            return [*events, SlotSet("unclear_answers", count)]
        # Second miss in a row: skip this question rather than ask it a third time.
        dispatcher.utter_message(response="utter_skip_question")
        skipped = [SlotSet(requested, questions.SKIPPED), SlotSet("unclear_answers", 0)]
        tracker.add_slots(skipped)
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        kept = [e for e in events if e.get("name") != "requested_slot"]
        return [*kept, *skipped, *([next_slot] if next_slot else [])]


class ValidateSlotsOutsideForms(TriageSlotChecks, ValidationAction):
    """Checks facts given after triage (corrections) the same way the form does."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

