"""Custom actions, called as Rasa calls them, with a real Tracker and dispatcher."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.recommend import ActionRecommendServices


def _tracker(**slots) -> Tracker:
    return Tracker(
        sender_id="test",
        slots=slots,
        latest_message={},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


def test_recommend_action_sends_cards_and_payload():
    dispatcher = CollectingDispatcher()
    ActionRecommendServices().run(dispatcher, _tracker(user_role="self", work_status="off_sick"), {})
    responses = [m.get("response") for m in dispatcher.messages]
    assert responses[0] == "utter_recommendations_intro"
    cards = [m for m in dispatcher.messages if m.get("response") == "utter_recommendation_card"]
    payload = next(m["custom"] for m in dispatcher.messages if m.get("custom"))
    assert len(cards) == len(payload["recommendations"]) >= 1
    assert cards[0]["name"] == payload["recommendations"][0]["name"]


def test_recommend_action_speaks_about_the_patient_in_professional_mode():
    dispatcher = CollectingDispatcher()
    ActionRecommendServices().run(dispatcher, _tracker(user_role="patient", work_status="off_sick"), {})
    payload = next(m["custom"] for m in dispatcher.messages if m.get("custom"))
    reasons = [r for rec in payload["recommendations"] for r in rec["reasons"]]
    assert any("the patient is off sick" in r for r in reasons)
    assert not any(r.startswith("you ") for r in reasons)
