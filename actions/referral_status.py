"""'What's happening with my referral?': the status in plain words, and honesty when a service is late.

The reference is the key: it is what the person (or the professional) was
given, and what they hear back holds no personal data, only the service, the
status and its date.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from chatbot.db import session_scope
from chatbot.knowledge.runtime import current_catalogue
from chatbot.referrals import status, store
from chatbot.referrals.reference import normalise_reference
from chatbot.referrals.runtime import referral_engine
from chatbot.referrals.status_wording import current_status_wording

from .data_rights import REFERENCE_TEXT
from .referral import role_of
from .turns import text_of

logger = logging.getLogger(__name__)


class ActionReferralStatus(Action):
    def name(self) -> str:
        return "action_referral_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        wording = current_status_wording()
        typed = REFERENCE_TEXT.search(text_of(tracker))
        reference = normalise_reference(typed.group(0)) if typed else tracker.get_slot("referral_reference")
        if not reference:
            dispatcher.utter_message(text=wording.texts["ask_reference"])
            return []
        services = current_catalogue().services
        now = dt.datetime.now(dt.timezone.utc)
        try:
            with session_scope(referral_engine()) as session:
                found = store.find(session, reference)
                days = _response_days(found.service_id) if found else None
                view = status.status_view(session, reference, now, days or 0) if found else None
        except SQLAlchemyError as error:
            logger.error("referral status could not be read: %s", type(error).__name__)
            dispatcher.utter_message(text=wording.texts["try_again"])
            return []
        if view is None:
            dispatcher.utter_message(text=wording.texts["not_found"].format(reference=reference))
            return []
        service = services.get(view.service_id)
        name = service.name if service else "the service"
        how_to = service.referral.route_without_us.strip() if service else ""
        role = role_of(tracker)
        dispatcher.utter_message(
            text=wording.describe(view.status, reference, name, view.changed_at, role, how_to)
        )
        if view.overdue and days and service is not None:
            dispatcher.utter_message(
                text=wording.overdue(name, days, role, how_to),
                buttons=[{"title": wording.texts["call_back_button"], "payload": "/request_callback"}],
            )
        return []


def _response_days(service_id: str) -> int | None:
    service = current_catalogue().services.get(service_id)
    return service.referral.response_days if service else None
