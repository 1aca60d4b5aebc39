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

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction, ValidationAction

from chatbot.knowledge.runtime import current_catalogue
from chatbot.nlu.facts import (
    bare_number,
    means_myself,
    says_dont_know,
    speaks_for_self,
    speaks_of_someone_else,
    yes_or_no,
)
from chatbot.nlu.facts_mean_inform import is_question
from chatbot.triage import questions

from .slots import TRIAGE_SLOTS, TriageSlotChecks, answers_from_tracker
from .turns import intent_of, reading_an_answer, slots_before_last_message, text_of

FORM = "triage_form"
# Messages that are not an answer: the form steps aside and the rules take them.
DIGRESSIONS = {
    "crisis", "start_again", "request_human", "out_of_scope", "bot_challenge", "goodbye", "thank",
    "ask_services_in_area", "greet", "request_callback", "ask_referral_status", "request_summary",
}  # fmt: skip
# Messages meant as an answer; if nothing could be taken from one, say so kindly.
ANSWERS = {"inform", "correct", "affirm", "deny", "nlu_fallback"}
UNCLEAR_LIMIT = 2
BOOKKEEPING_SLOTS = {"requested_slot", "unclear_answers"}
_PAYLOAD = re.compile(r'^/\w+\{\{?"(?P<slot>\w+)":\s*"(?P<value>[^"]*)"\}\}?$')


def _intent(tracker: Tracker) -> str:
    return intent_of(tracker)


def _text(tracker: Tracker) -> str:
    return text_of(tracker)


def _reading_an_answer(tracker: Tracker) -> bool:
    return reading_an_answer(tracker, FORM)


def _slots_before_last_message(tracker: Tracker) -> dict[str, Any]:
    return slots_before_last_message(tracker)


def _new_facts(tracker: Tracker, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Slots this message set to a new, usable value (repeating an answer is not news)."""
    before = _slots_before_last_message(tracker)
    last_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=0)
    after: dict[str, Any] = {}
    for event in [*tracker.events[last_user:], *events]:
        if event.get("event") == "slot" and event.get("name") not in BOOKKEEPING_SLOTS:
            after[event["name"]] = event.get("value")
    return {name: value for name, value in after.items() if value is not None and value != before.get(name)}


class ValidateTriageForm(TriageSlotChecks, FormValidationAction):
    def name(self) -> str:
        return "validate_triage_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> list[str]:
        return questions.questions_to_ask(answers_from_tracker(tracker), current_catalogue())

    # --- answers that carry no entity, read in the context of the question asked ---

    def _asked(self, slot: str, tracker: Tracker) -> bool:
        return tracker.get_slot("requested_slot") == slot and _reading_an_answer(tracker)

    def _button_title_answer(self, slot: str, tracker: Tracker, domain: dict) -> dict:
        """The person typed a button's title instead of pressing it ("Less than 4 weeks")."""
        typed = _text(tracker).strip(" .!").lower()
        for variant in domain.get("responses", {}).get(f"utter_ask_{slot}", []):
            for button in variant.get("buttons") or []:
                match = _PAYLOAD.match(button.get("payload", ""))
                if button.get("title", "").lower() == typed and match and match["slot"] == slot:
                    return {slot: match["value"]}
        return {}

    def extract_user_role(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        if self._asked("user_role", tracker) and means_myself(_text(tracker)):
            return {"user_role": "self"}
        entities = tracker.latest_message.get("entities") or []
        said_role = any(e.get("entity") == "user_role" for e in entities)
        facts = [e for e in entities if e.get("entity") != "user_role"]
        unsaid = not said_role and not tracker.get_slot("user_role")
        if self._asked("user_role", tracker) and facts and unsaid:
            # The reply to "Who is this for?" tells a story instead: its pronouns say whose.
            if speaks_of_someone_else(_text(tracker)):
                return {"user_role": "helper"}
            if speaks_for_self(_text(tracker)):
                return {"user_role": "self"}
        # Someone telling their own story in the first person speaks for themself.
        if tracker.get_slot("user_role") or _intent(tracker) not in ("inform", "correct") or not entities:
            return (
                self._button_title_answer("user_role", tracker, domain)
                if self._asked("user_role", tracker)
                else {}
            )
        if any(e.get("entity") == "user_role" for e in entities):
            return {}
        return {"user_role": "self"} if speaks_for_self(_text(tracker)) else {}

    def extract_work_status(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return (
            self._button_title_answer("work_status", tracker, domain)
            if self._asked("work_status", tracker)
            else {}
        )

    def extract_condition_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict:
        asked = self._asked("condition_category", tracker)
        return self._button_title_answer("condition_category", tracker, domain) if asked else {}

    def extract_weeks_off_sick(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict:
        return self._number_answer("weeks_off_sick", tracker, domain)

    def extract_age(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._number_answer("age", tracker, domain)

    def _number_answer(self, slot: str, tracker: Tracker, domain: dict) -> dict:
        """A reply of just a number ("6") answers the question we asked, whatever it was."""
        if not self._asked(slot, tracker):
            return {}
        number = bare_number(_text(tracker))
        return {slot: number} if number is not None else self._button_title_answer(slot, tracker, domain)

    def extract_has_fit_note(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._yes_no_answer("has_fit_note", tracker, domain)

    def extract_ready_to_work(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        return self._yes_no_answer("ready_to_work", tracker, domain)

    def _yes_no_answer(self, slot: str, tracker: Tracker, domain: dict) -> dict:
        """'haven't got one', 'yeah I have': a yes or no to the question we asked."""
        if not self._asked(slot, tracker) or says_dont_know(_text(tracker)) or is_question(_text(tracker)):
            return {}
        said = self._button_title_answer(slot, tracker, domain)
        if said:
            return said
        answer = yes_or_no(_text(tracker))
        return {slot: answer} if answer else {}

    def extract_area_id(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> dict:
        """'yes' to 'Is that in Islington?' picks the first candidate; 'no' the other."""
        candidates = tracker.get_slot("area_candidates") or []
        if not self._asked("area_id", tracker) or not candidates:
            return {}
        answer = yes_or_no(_text(tracker)) if _intent(tracker) in ("affirm", "deny", "inform") else None
        if answer and len(candidates) == 2:
            return {"area_id": candidates[0] if answer == "yes" else candidates[1], "area_candidates": None}
        return {}

    # --- the turn as a whole ---

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> list[dict[str, Any]]:
        requested = tracker.get_slot("requested_slot")
        events = await super().run(dispatcher, tracker, domain)
        if not requested or not _reading_an_answer(tracker):
            return events  # starting, or resuming after a digression: there is no answer to read
        intent = _intent(tracker)
        news = _new_facts(tracker, events)
        if intent in DIGRESSIONS or intent.startswith("ask_") or (intent == "correct" and not news):
            kept = [e for e in events if e.get("name") != "requested_slot"]
            return [*kept, ActionExecutionRejected(FORM)]
        if news:
            if intent == "correct" or _changed_an_earlier_answer(tracker):
                dispatcher.utter_message(response="utter_correction_noted")
            return [*events, SlotSet("unclear_answers", 0)]
        said = tracker.latest_message.get("entities") or []
        if questions.restates_what_is_known(said, _slots_before_last_message(tracker)):
            # "im his mum" when we already know: not a miss, so the question is asked again
            # without "sorry". It still counts: a person who answers other questions in turn
            # (their script, not ours) had the same question four or five times running in the
            # 2026-12-03 set, so the second unanswered turn skips it, as a miss would.
            return await self._unclear_answer(requested, dispatcher, tracker, domain, events, restated=True)
        if intent in ANSWERS:
            return await self._unclear_answer(requested, dispatcher, tracker, domain, events)
        return events

    async def _unclear_answer(
        self,
        requested: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict,
        events: list[dict[str, Any]],
        restated: bool = False,
    ) -> list[dict[str, Any]]:
        """A reply that does not answer the question; a restatement counts too, without "sorry"."""
        count = int(tracker.get_slot("unclear_answers") or 0) + 1
        if not restated and says_dont_know(_text(tracker)):
            count = UNCLEAR_LIMIT  # "not sure" is an answer: skip the question at once
        if count < UNCLEAR_LIMIT:
            if not restated:
                unclear = "utter_unclear_question" if is_question(_text(tracker)) else "utter_unclear_answer"
                dispatcher.utter_message(response=unclear)
            return [*events, SlotSet("unclear_answers", count)]
        # Second miss in a row: skip this question rather than ask it a third time.
        dispatcher.utter_message(response="utter_skip_question")
        skipped_value = "not_sure" if requested == "ready_to_work" else questions.SKIPPED
        skipped = [
            SlotSet(requested, skipped_value),
            SlotSet("area_candidates", None),
            SlotSet("unclear_answers", 0),
        ]
        tracker.add_slots(skipped)
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        kept = [e for e in events if e.get("name") != "requested_slot"]
        return [*kept, *skipped, *([next_slot] if next_slot else [])]


def _changed_an_earlier_answer(tracker: Tracker) -> bool:
    """Whether the last message replaced an answer given before ("actually it's 8 weeks")."""
    before = _slots_before_last_message(tracker)
    last_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=0)
    return any(
        e.get("event") == "slot"
        and e.get("name") in TRIAGE_SLOTS
        and before.get(e["name"]) not in (None, e.get("value"))
        for e in tracker.events[last_user:]
    )


class ValidateSlotsOutsideForms(TriageSlotChecks, ValidationAction):
    """Checks facts given after triage (corrections) the same way the form does."""

    def name(self) -> str:
        return "action_validate_slot_mappings"
