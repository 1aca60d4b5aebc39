"""People's rights over their data: withdraw consent, and delete my data."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, AllSlotsReset, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from chatbot.config import load_settings
from chatbot.db import session_scope
from chatbot.knowledge.runtime import current_catalogue
from chatbot.referrals import store
from chatbot.referrals.idle import DETAIL_SLOTS
from chatbot.referrals.reference import normalise_reference
from chatbot.referrals.runtime import contact_cipher, forget_local_copies, hashing_secret, referral_engine

from .turns import text_of

logger = logging.getLogger(__name__)

# "HW-7K3MQ-9PXA1", "hw 7k3mq 9pxa1", "HW7K3MQ9PXA1"
REFERENCE_TEXT = re.compile(r"\bHW[\s-]*[0-9A-Z]{5}[\s-]*[0-9A-Z]{5}\b", re.IGNORECASE)


def _answer(answer_id: str) -> str:
    return next(a.text.strip() for a in current_catalogue().knowledge.answers if a.id == answer_id)


class ActionWithdrawConsent(Action):
    """'withdraw consent HW-…': stop a referral not yet sent, or tell the service that has it."""

    def name(self) -> str:
        return "action_withdraw_consent"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = text_of(tracker)
        typed = REFERENCE_TEXT.search(text)
        reference = normalise_reference(typed.group(0)) if typed else tracker.get_slot("referral_reference")
        if not reference:
            dispatcher.utter_message(text=_answer("data_withdraw_consent"))
            if typed:
                dispatcher.utter_message(
                    text="That reference does not look right. It looks like HW-7K3MQ-9PXA1."
                )
            return []
        # Only the person: this conversation made it, or they typed its contact (or last digits).
        requester = store.Requester(
            person_key=store.person_key(hashing_secret(), tracker.sender_id),
            proof=REFERENCE_TEXT.sub(" ", text),
            cipher=contact_cipher(),
        )
        try:
            with session_scope(referral_engine()) as session:
                result = store.withdraw(session, reference, dt.datetime.now(dt.timezone.utc), requester)
        except SQLAlchemyError as error:
            logger.error("consent could not be withdrawn: %s", type(error).__name__)
            dispatcher.utter_message(
                text="Sorry, I could not do that just now. Please try again in a minute."
            )
            return []
        if result.outcome == store.NOT_FOUND:
            # The same words for a wrong reference and for someone else's: nothing is learnt.
            dispatcher.utter_message(text=NOT_FOUND_OR_NOT_YOURS.format(reference=reference))
            return []
        forget_local_copies([reference])
        if result.person_key and result.person_key != requester.person_key:
            # Withdrawn from another conversation: the one that made it forgets the details too.
            _forget_in_the_conversation_that_made_it(result.person_key)
        service = current_catalogue().services.get(result.service_id or "")
        name = service.name if service else "the service"
        messages = {
            store.ALREADY_WITHDRAWN: f"The referral {reference} was already withdrawn. Nothing more is sent.",
            store.STOPPED: f"Done. The referral {reference} has been stopped. Nothing was sent to {name}. "
            "I have deleted the details it held.",
            store.SERVICE_TOLD: (
                f"Done. {name} already had the referral {reference}, so I am telling them you "
                "have changed your mind and asking them to delete your details. I have deleted my copy."
            ),
        }
        dispatcher.utter_message(text=messages[result.outcome])
        # The conversation forgets the details too (they were kept, encrypted, for the read-back).
        return [SlotSet(slot, None) for slot in DETAIL_SLOTS]


def _forget_in_the_conversation_that_made_it(person_key: str) -> None:
    # Here, not at the top: it brings Rasa's tracker store code, which the action server
    # otherwise never loads (rare: a withdrawal typed in another conversation).
    from chatbot.privacy.tracker_store import scrub_contact_slots_of

    secret = hashing_secret()
    try:
        scrub_contact_slots_of(
            load_settings().tracker_store_url, person_key, lambda sender: store.person_key(secret, sender)
        )
    except SQLAlchemyError as error:
        # The referral is withdrawn and its row emptied; the retention purge still ends these.
        logger.error("the other conversation's contact slots could not be emptied: %s", type(error).__name__)


NOT_FOUND_OR_NOT_YOURS = (
    "I could not find a referral with the reference {reference} that I can change from here. "
    'If it is yours, type "withdraw consent", the reference, and the last 4 digits of the phone '
    "number (or the email address) you gave. You can also ask the service directly."
)


class ActionOfferErasure(Action):
    """'delete my data': say what will happen, and ask before doing it."""

    def name(self) -> str:
        return "action_offer_erasure"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text=(
                "I can delete what I hold about you now: this conversation, and the details of any "
                "referral made in it. A referral not yet sent will be stopped. A service that already "
                "has your details will be asked to delete them.\n\nDelete your data now?"
            ),
            buttons=[
                {"title": "Yes, delete my data", "payload": "/affirm"},
                {"title": "No, keep it", "payload": "/deny"},
            ],
        )
        # Any questions under way stop here, so the next "yes" or "no" answers this.
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionEraseMyData(Action):
    """Erase the person's referral data here; the tracker store then forgets the conversation.

    chatbot/privacy/tracker_store.py deletes every stored event of this sender
    when it sees this action, so nothing of the conversation stays behind.
    """

    def name(self) -> str:
        return "action_erase_my_data"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        person = store.person_key(hashing_secret(), tracker.sender_id)
        try:
            with session_scope(referral_engine()) as session:
                erased = store.erase_person(session, person, dt.datetime.now(dt.timezone.utc))
            forget_local_copies(erased.references)
        except SQLAlchemyError as error:
            logger.error("erasure failed: %s", type(error).__name__)
            # The tracker store forgets this conversation whatever happens here.
            dispatcher.utter_message(
                text="I have deleted this conversation, but I could not delete referral details just now. "
                'Please type "delete my data" again in a few minutes.'
            )
            return [AllSlotsReset()]
        told = (
            f" {erased.services_told} service(s) that already had your details will be asked to delete them."
            if erased.services_told
            else ""
        )
        telegram = (
            " I have also removed my messages from this chat where Telegram allows it (up to 48 hours old). "
            "Telegram keeps the rest: to remove it, delete the chat in the Telegram app."
            if tracker.get_latest_input_channel() == "telegram"
            else ""
        )
        dispatcher.utter_message(
            text=f"Done. I have deleted what I hold about you: your details and this conversation.{told}{telegram} Take care.",  # noqa: E501
            json_message={"erased": True},  # a channel that shows the chat (Telegram) clears its side too
        )
        return [AllSlotsReset()]
