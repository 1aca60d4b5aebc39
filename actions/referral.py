"""The warm referral: offer, consent, contact details, read-back, submit.

Privacy by design:
- contact details live in slots only as "enc:<token>" ciphertext, and only
  until the referral is stored; then the slots are cleared;
- the tracker store redacts what was typed and shown during the form
  (chatbot/privacy/tracker_store.py), so the read-back never sits in plain JSON;
- a "no" to consent records the decision and nothing about the person.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from sqlalchemy.exc import SQLAlchemyError

from chatbot.config import load_settings
from chatbot.db import session_scope
from chatbot.knowledge.runtime import current_catalogue
from chatbot.knowledge.schema import Service
from chatbot.nlu.facts import says_dont_know
from chatbot.nlu.facts_mean_inform import is_question
from chatbot.referrals import contact, store
from chatbot.referrals.consent import current_wording
from chatbot.referrals.consent_reply import CONFIRM, NOT_THEIRS, read_consent_reply
from chatbot.referrals.idle import DETAIL_SLOTS, details_gone_stale
from chatbot.referrals.models import PURPOSE_CALLBACK, PURPOSE_REFERRAL
from chatbot.referrals.offer import offer
from chatbot.referrals.runtime import contact_cipher, hashing_secret, referral_engine

from .slots import AREA_DETAIL_SLOTS, TRIAGE_SLOTS
from .turns import intent_of, last_user_index, reading_an_answer, slots_before_last_message, text_of

logger = logging.getLogger(__name__)

FORM = "referral_form"
ENCRYPTED = "enc:"
CONTACT_SLOTS = ("contact_name", "contact_phone", "contact_email")
REFERRAL_SLOTS = (
    "referral_service_id",
    "referral_consent",
    "referral_consent_record",
    "referral_outcome",
    *DETAIL_SLOTS,
    "referral_purpose",
)
# The facts a referral carries, named one by one in the consent wording.
SHARED_FACTS = ("work_status", "weeks_off_sick", "condition_category", "area_id")
# A call-back needs only where the person lives: the team asks the rest itself.
CALLBACK_FACTS = ("area_id",)
# Messages that are never an answer to a referral question.
DIGRESSIONS = {"crisis", "start_again", "request_human", "bot_challenge", "ask_services_in_area", "goodbye"}
CANCEL = re.compile(
    r"^\s*(cancel|stop|forget it|never ?mind|i('ve| have)? changed my mind|"
    r"don'?t (send|bother)|i don'?t want (this|that|it|to))\b",
    re.IGNORECASE,
)
BARE_NO = re.compile(r"^\s*(no+|nope|nah)\b", re.IGNORECASE)
HEDGES = re.compile(r"\b(but|maybe|not sure|unless|if)\b|\?", re.IGNORECASE)
CLEAR_YES_CONFIDENCE = 0.8
NOT_AN_ANSWER_CONFIDENCE = 0.8
BEST_TIME_WORDS = {
    "morning": r"\bmorning|\bam\b|before (noon|12|lunch)",
    "afternoon": r"afternoon|\bpm\b|after (noon|12|lunch)",
    "evening": r"evening|night|after work|after [5-9]",
    "any": r"\bany ?(time)?\b|whenever|don'?t mind|anytime",
}


def role_of(tracker: Tracker) -> str:
    role = tracker.get_slot("user_role")
    return role if role in ("patient", "helper") else "self"


def is_callback(tracker: Tracker) -> bool:
    return tracker.get_slot("referral_purpose") == PURPOSE_CALLBACK


def shared_facts(tracker: Tracker) -> dict[str, Any]:
    names = CALLBACK_FACTS if is_callback(tracker) else SHARED_FACTS
    return {name: tracker.get_slot(name) for name in names if tracker.get_slot(name) not in (None, "unknown")}


def can_refer(service: Service, role: str) -> bool:
    """We pass details on only to services that take them, from who is asking."""
    accepts = service.referral.accepts_from
    asker = "professional" if role == "patient" else "self"
    return service.referral.takes_warm_referral and (not accepts or asker in accepts)


def recommended(tracker: Tracker) -> list[Service]:
    services = current_catalogue().services
    return [services[i] for i in tracker.get_slot("recommended_services") or [] if i in services]


def named_service(tracker: Tracker, candidates: list[Service]) -> Service | None:
    """The service a button names, or one typed by name ("refer me to iwork")."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "service_id":
            return next((s for s in candidates if s.id == entity.get("value")), None)
    typed = _squash(text_of(tracker))
    found = [s for s in candidates if _squash(s.name) in typed]
    return found[0] if len(found) == 1 else None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def how_to_self_refer(dispatcher: CollectingDispatcher, services: list[Service]) -> None:
    for service in services:
        dispatcher.utter_message(
            text=f"To get to {service.name} without me: {service.referral.route_without_us.strip()}"
        )


def cleared_referral_slots() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in REFERRAL_SLOTS]


class ActionOfferReferral(Action):
    """After the recommendations: offer to pass details on, to each service that takes them."""

    def name(self) -> str:
        return "action_offer_referral"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        role = role_of(tracker)
        services = recommended(tracker)
        if not services:
            return []
        referable = [(s.id, s.name) for s in services if can_refer(s, role)]
        shown = intent_of(tracker) == "request_service_details"
        question = offer(role, referable, details_shown=shown)
        dispatcher.utter_message(text=question.text, buttons=question.buttons)
        return []


class ActionStartReferral(Action):
    """Check a referral can be made, then start the form (or explain the other route)."""

    def name(self) -> str:
        return "action_start_referral"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        # "Refer me to Mental Health Working" names a service, not a new condition.
        return [*_reverted_triage_facts(tracker), *self._start(dispatcher, tracker)]

    def _start(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        role = role_of(tracker)
        services = recommended(tracker)
        if not services:
            if tracker.get_slot("user_role"):
                dispatcher.utter_message(response="utter_no_recommendations")
                return []
            dispatcher.utter_message(response="utter_referral_needs_triage")
            return [FollowupAction("triage_form")]
        wanted = named_service(tracker, services)
        if role == "helper":
            wording = current_wording()
            for service in [wanted] if wanted else services:
                dispatcher.utter_message(
                    text=wording.texts["helper_cannot_consent"].format(
                        how_to=service.referral.route_without_us.strip()
                    )
                )
            return []
        referable = [s for s in services if can_refer(s, role)]
        if wanted and wanted not in referable:
            dispatcher.utter_message(text=f"{wanted.name} does not take referrals from me.")
            how_to_self_refer(dispatcher, [wanted])
            return []
        if not referable:
            dispatcher.utter_message(text="None of these services take referrals from me.")
            how_to_self_refer(dispatcher, services)
            return []
        chosen = wanted or (referable[0] if len(referable) == 1 else None)
        return [
            *cleared_referral_slots(),
            SlotSet("referral_attempt", uuid.uuid4().hex),
            SlotSet("referral_service_id", chosen.id if chosen else None),
            FollowupAction(FORM),
        ]


class ActionAskReferralServiceId(Action):
    def name(self) -> str:
        return "action_ask_referral_service_id"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        role = role_of(tracker)
        services = [s for s in recommended(tracker) if can_refer(s, role)]
        dispatcher.utter_message(
            text="Which service should I pass the details to?",
            buttons=[
                {"title": s.name, "payload": f'/request_referral{{"service_id":"{s.id}"}}'} for s in services
            ],
        )
        return []


class ActionAskReferralConsent(Action):
    """The consent question: the service, each item shared, why, how long, how to withdraw."""

    def name(self) -> str:
        return "action_ask_referral_consent"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        role = role_of(tracker)
        service = current_catalogue().services[tracker.get_slot("referral_service_id")]
        wording = current_wording()
        text = wording.ask(service.name, shared_facts(tracker), role, load_settings().referral_retention_days)
        yes, no = wording.buttons(role)
        dispatcher.utter_message(
            text=text, buttons=[{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}]
        )
        return []


class ActionAskReferralConfirmed(Action):
    """Read the details back before anything is sent."""

    def name(self) -> str:
        return "action_ask_referral_confirmed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        details = decrypted_details(tracker)
        service = current_catalogue().services[tracker.get_slot("referral_service_id")]
        route = "Phone" if details["contact_route"] == "phone" else "Email"
        shown = contact.readable_phone(details["contact"]) if route == "Phone" else details["contact"]
        best_time = "any time" if details["best_time"] == "any" else f"in the {details['best_time']}"
        dispatcher.utter_message(
            text=(
                f"Please check these details for {service.name}:\n"
                f"Name: {details['name']}\n{route}: {shown}\nBest time: {best_time}\n\n"
                "Is this right?"
            ),
            buttons=[
                {"title": "Yes, send it", "payload": "/affirm"},
                {"title": "Change the name", "payload": "change the name"},
                {"title": "Change the phone or email", "payload": "change the contact"},
                {"title": "Change the best time", "payload": "change the time"},
                {"title": "Cancel", "payload": "cancel"},
            ],
        )
        return []


def decrypted_details(tracker: Tracker) -> dict[str, str]:
    cipher = contact_cipher()

    def plain(slot: str) -> str:
        value = tracker.get_slot(slot) or ""
        return cipher.decrypt(value.removeprefix(ENCRYPTED).encode()) if value.startswith(ENCRYPTED) else ""

    route = tracker.get_slot("contact_route") or "phone"
    return {
        "name": plain("contact_name"),
        "contact_route": route,
        "contact": plain("contact_email" if route == "email" else "contact_phone"),
        "best_time": tracker.get_slot("best_time") or "any",
    }


def encrypted(value: str) -> str:
    return ENCRYPTED + contact_cipher().encrypt(value).decode()


class ValidateReferralForm(FormValidationAction):
    def name(self) -> str:
        return "validate_referral_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> list[str]:
        if tracker.get_slot("referral_outcome"):
            return []  # refused, cancelled, or no call-back team: ask nothing more
        if is_callback(tracker) and not tracker.get_slot("referral_service_id"):
            return ["area_id"]  # the team depends on where the person lives
        needed = ["referral_service_id", "referral_consent"]
        if tracker.get_slot("referral_consent") != "given":
            return needed
        route = tracker.get_slot("contact_route")
        return [
            *needed,
            "contact_name",
            "contact_route",
            "contact_email" if route == "email" else "contact_phone",
            "best_time",
            "referral_confirmed",
        ]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> list[dict[str, Any]]:
        # The extractors check every answer. Unlike rasa_sdk's default, keep each
        # referral slot they set even when it is no longer required (after a "no",
        # or a change from email to phone), or it would be silently dropped.
        slots = tracker.slots_to_validate()
        return [SlotSet(name, value) for name, value in slots.items() if name in REFERRAL_SLOTS]

    def _asked(self, slot: str, tracker: Tracker) -> bool:
        return tracker.get_slot("requested_slot") == slot and reading_an_answer(tracker, FORM)

    def _answer_text(self, slot: str, tracker: Tracker, free_text: bool = True) -> str | None:
        """The text typed in answer to this question, unless it was not an answer.

        A free-text answer (a name) could swallow a question, so questions are
        never taken as one; a choice (a time of day) only matches its own words.
        """
        if not self._asked(slot, tracker) or _cancels(tracker):
            return None
        if _not_an_answer(tracker) if free_text else intent_of(tracker) == "crisis":
            return None
        return text_of(tracker)

    def extract_referral_service_id(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        if not self._asked("referral_service_id", tracker):
            return {}
        role = role_of(tracker)
        chosen = named_service(tracker, [s for s in recommended(tracker) if can_refer(s, role)])
        return {"referral_service_id": chosen.id} if chosen else {}

    def extract_referral_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        if not self._asked("referral_consent", tracker):
            return {}
        reading = read_consent_reply(text_of(tracker), role_of(tracker))
        decision = {"yes": "given", "no": "refused"}.get(reading.decision)
        if decision is None:
            return {}  # unclear, or not theirs to give: run() asks again, and says why
        professional = role_of(tracker) == "patient"
        record = {
            "decided_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            # Who gave the answer: the person, or a professional attesting the patient's own answer.
            "given_by": "professional" if professional else "person",
            "answered_by": "a professional, for the patient's own answer" if professional else "the person",
            "how": f"{reading.reason} in {tracker.get_latest_input_channel() or 'chat'}",
        }
        slots: dict[str, Any] = {"referral_consent": decision, "referral_consent_record": record}
        if decision == "refused":
            slots["referral_outcome"] = "refused"
        return slots

    def extract_contact_name(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        text = self._answer_text("contact_name", tracker)
        if text is None:
            return {}
        checked = contact.check_name(_strip_name_lead_in(text))
        return self._keep("contact_name", checked, dispatcher)

    def extract_contact_route(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        text = self._answer_text("contact_route", tracker)
        if text is None:
            return {}
        if "@" in text:  # they typed the address straight away
            checked = contact.check_email(contact.email_in(text))
            return {"contact_route": "email", **self._keep("contact_email", checked, dispatcher)}
        if sum(ch.isdigit() for ch in text) >= 10:
            checked = contact.check_uk_phone(contact.phone_in(text))
            return {"contact_route": "phone", **self._keep("contact_phone", checked, dispatcher)}
        route = _route_named(text)
        return {"contact_route": route} if route else {}

    def extract_contact_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        text = self._answer_text("contact_phone", tracker)
        if text is None:
            return {}
        if not any(ch.isdigit() for ch in text) and _route_named(text) == "email":
            return {"contact_route": "email"}
        return self._keep("contact_phone", contact.check_uk_phone(contact.phone_in(text)), dispatcher)

    def extract_contact_email(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        text = self._answer_text("contact_email", tracker)
        if text is None:
            return {}
        if "@" not in text and _route_named(text) == "phone":
            return {"contact_route": "phone"}
        return self._keep("contact_email", contact.check_email(contact.email_in(text)), dispatcher)

    def extract_best_time(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        text = (self._answer_text("best_time", tracker, free_text=False) or "").lower()
        if not text:
            return {}
        found = [time for time, pattern in BEST_TIME_WORDS.items() if re.search(pattern, text)]
        return {"best_time": found[0]} if len(found) == 1 else {}

    def extract_referral_confirmed(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict):
        if not self._asked("referral_confirmed", tracker):
            return {}
        text = text_of(tracker).lower()
        if CANCEL.match(text) and not re.search(r"\b(name|phone|number|email|time)\b", text):
            return {}  # handled in run(): the referral is cancelled
        changes = _changes_asked_for(text)
        if changes:
            return {"referral_confirmed": None, **{slot: None for slot in changes}}
        if _clear_yes(tracker):
            return {"referral_confirmed": "yes"}
        return {}

    def _keep(self, slot: str, checked: contact.Checked, dispatcher: CollectingDispatcher) -> dict:
        if not checked.ok:
            dispatcher.utter_message(text=checked.problem)
            return {}
        return {slot: encrypted(checked.value)}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> list[dict[str, Any]]:
        requested = tracker.get_slot("requested_slot")
        stale = self._details_gone_stale(dispatcher, tracker)
        if stale:
            return stale
        answering = bool(requested) and reading_an_answer(tracker, FORM)
        # At the read-back a bare "no" means "something is wrong": we ask what to change.
        cancels = (
            _cancels(tracker) if requested != "referral_confirmed" else bool(CANCEL.match(text_of(tracker)))
        )
        if answering and cancels and requested not in ("referral_consent", "referral_service_id"):
            return [
                *_reverted_triage_facts(tracker),
                SlotSet("referral_outcome", "cancelled"),
                SlotSet("requested_slot", None),  # ends the form: action_submit_referral says so
            ]
        if answering and requested == "area_id":
            return self._callback_area(dispatcher, tracker)
        events = await super().run(dispatcher, tracker, domain)
        if not answering:
            return events
        before = {e.get("name") for e in events if e.get("event") == "slot"}
        took_answer = any(name in before for name in REFERRAL_SLOTS)
        intent = intent_of(tracker)
        confidence = (tracker.latest_message.get("intent") or {}).get("confidence") or 0
        asks_something = intent.startswith("ask_") and (
            is_question(text_of(tracker)) or confidence >= NOT_AN_ANSWER_CONFIDENCE
        )
        if not took_answer and (intent in DIGRESSIONS or asks_something):
            kept = [e for e in events if e.get("name") != "requested_slot"]
            return [*kept, ActionExecutionRejected(FORM)]
        if not took_answer and requested in ("referral_consent", "referral_service_id"):
            role = role_of(tracker)
            if requested == "referral_consent":
                reading = read_consent_reply(text_of(tracker), role)
                wording = current_wording()
                if reading.decision == NOT_THEIRS:
                    dispatcher.utter_message(text=wording.texts["not_theirs_to_give_patient"])
                elif reading.decision == CONFIRM:
                    _, no = wording.buttons(role)
                    dispatcher.utter_message(
                        text=wording.texts["confirm_own_words_patient"],
                        buttons=[
                            {"title": wording.texts["confirm_yes_button_patient"], "payload": "/affirm"},
                            {"title": no, "payload": "/deny"},
                        ],
                    )
                else:
                    dispatcher.utter_message(text=wording.ask_again(role))
        elif not took_answer and requested in ("contact_route", "best_time", "referral_confirmed"):
            dispatcher.utter_message(
                response="utter_referral_what_to_change"
                if requested == "referral_confirmed"
                else "utter_unclear_answer"
            )
        # Phone numbers and names can look like facts ("0161..." is not an age).
        reverted = _reverted_triage_facts(tracker)
        if not took_answer:
            # Ask the same question again; without a slot event Rasa would reject the form.
            return [*events, *reverted, SlotSet(requested, None)]
        return [*events, *reverted]

    @staticmethod
    def _details_gone_stale(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """After a long pause, typed details are cleared and asked again, never read back."""
        if not any(tracker.get_slot(slot) for slot in DETAIL_SLOTS):
            return []
        times = [
            e.get("timestamp") for e in tracker.events if e.get("event") == "user" and e.get("timestamp")
        ]
        if len(times) < 2 or not details_gone_stale(times[-2], times[-1], tracker.get_slot("user_role")):
            return []
        dispatcher.utter_message(
            text="It has been a while, so I have cleared the details typed earlier, to keep them private. "
            "Let's take them again."
        )
        return [SlotSet(slot, None) for slot in DETAIL_SLOTS] + [SlotSet("requested_slot", None)]

    def _callback_area(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        """The area for a call-back: it picks the team, or tells us there is none."""
        from .callback import callback_service, say_no_local_callback  # callback.py imports this module

        area_id = tracker.slots_to_validate().get("area_id")
        if not area_id:
            if _not_an_answer(tracker):
                return [ActionExecutionRejected(FORM)]
            dispatcher.utter_message(response="utter_callback_area_unclear")
            return [SlotSet("area_id", None)]
        service = callback_service(area_id, role_of(tracker))
        if service is None:
            say_no_local_callback(dispatcher, area_id)
            return [SlotSet("area_id", area_id), SlotSet("referral_outcome", "no_local_callback")]
        return [SlotSet("area_id", area_id), SlotSet("referral_service_id", service.id)]


def _hedged(text: str) -> bool:
    return bool(HEDGES.search(text)) or says_dont_know(text)


def _not_an_answer(tracker: Tracker) -> bool:
    """A question, a crisis or a clear request to do something else is not a name or a number."""
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") == "crisis" or is_question(text_of(tracker)):
        return True
    confident = (intent.get("confidence") or 0) >= NOT_AN_ANSWER_CONFIDENCE
    return confident and (intent.get("name") in DIGRESSIONS or intent.get("name", "").startswith("ask_"))


def _clear_yes(tracker: Tracker) -> bool:
    intent = tracker.latest_message.get("intent") or {}
    text = text_of(tracker)
    if text.strip() == "/affirm":
        return True
    return (
        intent.get("name") == "affirm"
        and (intent.get("confidence") or 0) >= CLEAR_YES_CONFIDENCE
        and not _hedged(text)
        and not CANCEL.match(text)
        and not BARE_NO.match(text)
    )


def _cancels(tracker: Tracker) -> bool:
    text = text_of(tracker)
    return bool(CANCEL.match(text) or BARE_NO.match(text)) or text.strip() == "/deny"


def _route_named(text: str) -> str | None:
    lowered = text.lower()
    phone = bool(re.search(r"\b(phone|call|ring|text|mobile|landline)\b", lowered))
    email = bool(re.search(r"\be-?mail\b", lowered))
    return "phone" if phone and not email else "email" if email and not phone else None


def _strip_name_lead_in(text: str) -> str:
    return re.sub(r"^\s*(my name is|my name's|i am|i'm|it's|it is|call me|her name is|his name is)\s+", "",
                  text, flags=re.IGNORECASE)  # fmt: skip


def _changes_asked_for(text: str) -> list[str]:
    changes: list[str] = []
    if re.search(r"\bname\b", text):
        changes.append("contact_name")
    if re.search(r"\b(phone|number|email|e-mail|contact)\b", text):
        changes += ["contact_route", "contact_phone", "contact_email"]
    if re.search(r"\b(time|morning|afternoon|evening)\b", text):
        changes.append("best_time")
    return changes


def _reverted_triage_facts(tracker: Tracker) -> list[dict[str, Any]]:
    """Undo triage facts the slot mappings took from a referral answer."""
    before = slots_before_last_message(tracker)
    changed = {
        e["name"]
        for e in tracker.events[last_user_index(tracker) :]
        if e.get("event") == "slot" and e.get("name") in (*TRIAGE_SLOTS, *AREA_DETAIL_SLOTS)
    }
    return [SlotSet(name, before.get(name)) for name in sorted(changed)]


class ActionSubmitReferral(Action):
    """After the form: store the referral (once), or end politely with the self-referral route."""

    def name(self) -> str:
        return "action_submit_referral"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        service_id = tracker.get_slot("referral_service_id")
        service = current_catalogue().services.get(service_id or "")
        outcome = tracker.get_slot("referral_outcome")
        if (
            not outcome
            and tracker.get_slot("referral_confirmed") != "yes"
            and tracker.get_slot("referral_reference")
        ):
            # "yes" again after it was sent (a retry after an error that was not ours to see).
            reference = tracker.get_slot("referral_reference")
            dispatcher.utter_message(
                text=f"Your referral {reference} is already on its way. Nothing more is needed."
            )
            return []
        if service is None or outcome or tracker.get_slot("referral_confirmed") != "yes":
            return self._no_referral(dispatcher, tracker, service, outcome)
        try:
            submitted = self._store(tracker, service)
        except SQLAlchemyError as error:
            logger.error("referral could not be stored: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_referral_try_again")
            return []
        days = service.referral.response_days
        when = f" within {days} working days" if days else " soon"
        them = "the patient" if role_of(tracker) == "patient" else "you"
        done = (
            f"I have asked {service.name} to call or email {them}"
            if is_callback(tracker)
            else f"I have passed the details to {service.name}. They should contact {them}"
        )
        dispatcher.utter_message(
            text=(
                f"Done. {done}{when}.\n\n"
                f"Your reference is {submitted.reference}. Please keep it. To change your mind, "
                f'type "withdraw consent {submitted.reference}".'
            )
        )
        dispatcher.utter_message(
            json_message={
                "referral": {
                    "reference": submitted.reference,
                    "service_id": submitted.service_id,
                    "status": submitted.status,
                }
            }
        )
        return [*cleared_referral_slots(), SlotSet("referral_reference", submitted.reference)]

    def _store(self, tracker: Tracker, service: Service) -> store.Submitted:
        details = decrypted_details(tracker)
        record = tracker.get_slot("referral_consent_record") or {}
        secret = hashing_secret()
        submission = store.Submission(
            person_key=store.person_key(secret, tracker.sender_id),
            submission_key=store.submission_key(
                secret, tracker.sender_id, tracker.get_slot("referral_attempt")
            ),
            service_id=service.id,
            method=service.referral.method,
            destination=service.referral.email
            if service.referral.method == "email"
            else service.referral.webhook_url,
            channel=tracker.get_latest_input_channel() or "unknown",
            role=role_of(tracker),
            name=details["name"],
            contact_route=details["contact_route"],
            contact=details["contact"],
            best_time=details["best_time"],
            shared_facts=shared_facts(tracker),
            purpose=tracker.get_slot("referral_purpose") or PURPOSE_REFERRAL,
            consent=store.Consent(
                wording_version=current_wording().version,
                given_by=record.get("given_by", "person"),
                how=record.get("how", "typed 'yes' in chat"),
                decided_at=dt.datetime.fromisoformat(record["decided_at"])
                if record.get("decided_at")
                else dt.datetime.now(dt.timezone.utc),
            ),
        )
        now = dt.datetime.now(dt.timezone.utc)
        with session_scope(referral_engine()) as session:
            return store.submit(session, submission, contact_cipher(), now)

    def _no_referral(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, service: Service | None, outcome: str | None
    ) -> list[dict[str, Any]]:
        if outcome == "no_local_callback":
            return cleared_referral_slots()  # the form already said so, with the national routes
        if outcome == "refused" and service is not None:
            record = tracker.get_slot("referral_consent_record") or {}
            try:
                with session_scope(referral_engine()) as session:
                    store.record_refusal(
                        session,
                        service.id,
                        tracker.get_latest_input_channel() or "unknown",
                        role_of(tracker),
                        store.Consent(
                            current_wording().version,
                            record.get("given_by", "person"),
                            record.get("how", "typed 'no' in chat"),
                            dt.datetime.now(dt.timezone.utc),
                        ),
                    )
            except SQLAlchemyError as error:  # a lost count must not stop the conversation
                logger.error("consent refusal could not be counted: %s", type(error).__name__)
        dispatcher.utter_message(
            response="utter_referral_refused" if outcome == "refused" else "utter_referral_cancelled"
        )
        if service is not None:
            how_to_self_refer(dispatcher, [service])
        return cleared_referral_slots()
