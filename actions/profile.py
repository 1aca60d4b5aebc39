"""Build a triage Profile from the conversation's slots."""

from __future__ import annotations

from rasa_sdk import Tracker

from chatbot.triage import Profile


def profile_from_tracker(tracker: Tracker) -> Profile:
    slot = tracker.get_slot
    weeks = slot("weeks_off_sick") if "weeks_off_sick" in tracker.slots else None
    return Profile(
        role=slot("user_role") or "self",
        work_status=slot("work_status"),
        weeks_off_sick=float(weeks) if weeks is not None else None,
        condition_category=tracker.slots.get("condition_category"),
        area_id=tracker.slots.get("area_id"),
        gp_surgery_id=tracker.slots.get("gp_surgery_id"),
        ready_to_work=tracker.slots.get("ready_to_work"),
    )
