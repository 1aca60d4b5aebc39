"""Custom actions, called as Rasa calls them, with a real Tracker and dispatcher."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerQuestion, ActionListServicesInArea
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
    # Two messages: the lead-in, then the cards (short text and the payload in one message).
    assert [m.get("response") for m in dispatcher.messages] == ["utter_recommendations_intro", None]
    cards = dispatcher.messages[1]
    payload = cards["custom"]
    assert len(payload["recommendations"]) >= 1
    names = [c["name"] for c in payload["recommendations"]]
    lines = cards["text"].split("\n")
    assert lines[0] == (f"1. {names[0]}" if len(names) > 1 else names[0])  # how the widget knows
    assert all(f"{i}. {name}" in lines for i, name in enumerate(names, start=1) if len(names) > 1)
    assert "" not in lines  # a blank line would split it into several messages in Rasa's channels
    assert all(c["why"] and c["first_step"] and c["checked"] for c in payload["recommendations"])
    keep = payload["keep"]
    assert [s["name"] for s in keep["services"]] == names
    assert "Call 999 now." in keep["help_now"]


def test_recommend_action_speaks_about_the_patient_in_professional_mode():
    dispatcher = CollectingDispatcher()
    ActionRecommendServices().run(dispatcher, _tracker(user_role="patient", work_status="off_sick"), {})
    payload = next(m["custom"] for m in dispatcher.messages if m.get("custom"))
    reasons = [r for rec in payload["recommendations"] for r in rec["reasons"]]
    assert any("the patient is off sick" in r for r in reasons)
    assert not any(r.startswith("you ") for r in reasons)


def _asking(text: str, intent: str, entities=(), **slots) -> Tracker:
    return Tracker(
        sender_id="test",
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent}, "entities": list(entities)},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_a_question_is_answered_from_knowledge(knowledge):
    dispatcher = CollectingDispatcher()
    ActionAnswerQuestion().run(dispatcher, _asking("what's a fit note", "ask_fit_note_what_is"), {})
    expected = next(a.text for a in knowledge.answers if a.id == "fit_note_what_is")
    assert dispatcher.messages[0]["text"] == expected.strip()


def test_a_peer_mentor_asking_what_it_does_gets_the_mentors_overview(knowledge):
    dispatcher = CollectingDispatcher()
    mentor = [{"entity": "user_role", "value": "helper"}]
    ActionAnswerQuestion().run(
        dispatcher, _asking("I'm a peer mentor, what can you do?", "ask_about_assistant", mentor), {}
    )
    expected = next(a.text for a in knowledge.answers if a.id == "about_for_peer_mentors")
    assert dispatcher.messages[0]["text"] == expected.strip()


def test_services_in_an_area_are_listed_without_closed_ones(catalogue):
    dispatcher = CollectingDispatcher()
    place = [{"entity": "area_id", "value": "islington"}]
    ActionListServicesInArea().run(
        dispatcher, _asking("what is there in islington", "ask_services_in_area", place), {}
    )
    listed = dispatcher.messages[0]["services"]
    open_ones = [s.name for s in catalogue.by_area["islington"] if s.is_active]
    closed = [s.name for s in catalogue.by_area["islington"] if not s.is_active]
    assert all(name in listed for name in open_ones)
    assert not any(f"- {name}\n" in listed + "\n" for name in closed)


def test_patient_summary_holds_facts_and_signposting_only(catalogue):
    import datetime as dt

    from chatbot.triage import Profile, recommend
    from chatbot.triage.summary import patient_summary

    profile = Profile(role="patient", work_status="off_sick", weeks_off_sick=6, has_fit_note=True,
                      condition_category="mental_health", area_id="islington")  # fmt: skip
    result = recommend(profile, catalogue)
    summary = patient_summary(profile, result, catalogue, dt.date(2026, 11, 24))
    assert "off sick from a job (6 weeks; has a fit note)" in summary
    assert "Lives in: Islington" in summary
    assert all(f"[{m.service_id}]" in summary for m in result.matches)
    assert "Signposted on 24 Nov 2026" in summary
