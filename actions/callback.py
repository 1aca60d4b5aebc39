"""A call-back from a person: "Can I talk to a real person?" at any point.

A call-back request is a warm referral to the area's single point of access
(tagged in knowledge/services/), so it reuses the referral form, the consent
record, encryption, the outbox and the statuses (actions/referral.py); only
its purpose differs. Where an area has no such service we say so honestly and
give the national routes.
"""

from __future__ import annotations

import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot.knowledge.runtime import current_catalogue
from chatbot.knowledge.schema import Service
from chatbot.referrals.models import PURPOSE_CALLBACK

from .referral import FORM, can_refer, cleared_referral_slots, role_of

NATIONAL_AREA = "england"


def callback_service(area_id: str | None, role: str) -> Service | None:
    if not area_id or area_id == NATIONAL_AREA:
        return None
    service = current_catalogue().single_point_of_access(area_id)
    return service if service is not None and can_refer(service, role) else None


def area_name(area_id: str) -> str:
    area = current_catalogue().areas.get(area_id)
    return area.name if area else area_id


def say_no_local_callback(dispatcher: CollectingDispatcher, area_id: str | None) -> None:
    place = f"in {area_name(area_id)}" if area_id and area_id != NATIONAL_AREA else "where you live"
    dispatcher.utter_message(text=f"I do not know a local team that can call you back {place}.")
    dispatcher.utter_message(response="utter_national_people")


# Where a call-back request can go, for this person.
HELPER = "helper"  # only the person can ask for themselves
NO_TEAM = "no_team"  # the area is known and has no single point of access
AREA_UNKNOWN = "area_unknown"  # the form asks for the area first
TEAM = "team"


def callback_route(tracker: Tracker) -> tuple[str, Service | None]:
    role = role_of(tracker)
    area_id = tracker.get_slot("area_id")
    if role == "helper":
        return HELPER, None
    service = callback_service(area_id, role)
    if service is not None:
        return TEAM, service
    return (NO_TEAM if area_id else AREA_UNKNOWN), None


def say_why_not(dispatcher: CollectingDispatcher, route: str, area_id: str | None) -> None:
    if route == HELPER:
        dispatcher.utter_message(response="utter_callback_helper")
        dispatcher.utter_message(response="utter_national_people")
    else:
        say_no_local_callback(dispatcher, area_id)


class ActionOfferCallback(Action):
    """Offer a call-back from the area's team, with the national routes beside it."""

    def name(self) -> str:
        return "action_offer_callback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        route, service = callback_route(tracker)
        if route in (HELPER, NO_TEAM):
            if route == NO_TEAM:
                dispatcher.utter_message(text="I am a computer, so I cannot put you through to a person.")
            say_why_not(dispatcher, route, tracker.get_slot("area_id"))
            return []
        who = "the patient" if role_of(tracker) == "patient" else "you"
        team = service.name if service else "a local team"
        dispatcher.utter_message(
            text=f"I am a computer, but I can ask {team} to phone or email {who}. Would you like that?",
            buttons=[
                {"title": "Yes, ask for a call-back", "payload": "/request_callback"},
                {"title": "No thanks", "payload": "/deny"},
            ],
        )
        dispatcher.utter_message(response="utter_national_people")
        return []


class ActionStartCallback(Action):
    """Start the referral form for a call-back (asking the area first if we need it)."""

    def name(self) -> str:
        return "action_start_callback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        route, service = callback_route(tracker)
        if route in (HELPER, NO_TEAM):
            say_why_not(dispatcher, route, tracker.get_slot("area_id"))
            return []
        return [
            *cleared_referral_slots(),
            SlotSet("referral_purpose", PURPOSE_CALLBACK),
            SlotSet("referral_attempt", uuid.uuid4().hex),
            SlotSet("referral_service_id", service.id if service else None),
            FollowupAction(FORM),
        ]
