"""The triage form's validation action, called as Rasa calls it, with a real Tracker."""

from __future__ import annotations

import asyncio

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.triage_form import ValidateTriageForm
from chatbot.config import PROJECT_ROOT
from chatbot.triage.questions import questions_to_ask

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def run_form(text, intent, *, requested, slots=None, entities=(), set_now=None, after=("triage_form",)):
    """Run validate_triage_form on one message; `set_now` are slots Rasa extracted from it."""
    slots = {"requested_slot": requested, "unclear_answers": 0, **(slots or {})}
    set_now = set_now or {}
    events = [
        *[{"event": "slot", "name": k, "value": v} for k, v in slots.items() if v is not None],
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        *[{"event": "slot", "name": k, "value": v} for k, v in set_now.items()],
        *[{"event": "action", "name": name} for name in after],
        # Rasa adds the extracted values again after the form's own run, for validation.
        *[{"event": "slot", "name": k, "value": v} for k, v in set_now.items()],
    ]
    tracker = Tracker(
        sender_id="test",
        slots={**slots, **set_now},
        latest_message={"text": text, "intent": {"name": intent}, "entities": list(entities)},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "triage_form"},
        latest_action_name="triage_form",
    )
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateTriageForm().run(dispatcher, tracker, DOMAIN))
    said = [m.get("response") for m in dispatcher.messages]
    slot_events = {e["name"]: e["value"] for e in result if e.get("event") == "slot"}
    rejected = any(e.get("event") == "action_execution_rejected" for e in result)
    return slot_events, said, rejected


def test_a_question_mid_form_makes_the_form_step_aside():
    slots, said, rejected = run_form("what is a fit note?", "ask_fit_note_what_is", requested="user_role")
    assert rejected and said == []


def test_a_question_that_names_a_place_keeps_the_place():
    slots, _, rejected = run_form(
        "what is there in islington?",
        "ask_services_in_area",
        requested="user_role",
        slots={"user_role": "self", "work_status": "out_of_work"},
        set_now={"area_id": "islington"},
        entities=[{"entity": "area_id", "value": "islington"}],
    )
    assert rejected and slots.get("area_id") == "islington"


def test_an_unclear_answer_gets_a_kind_nudge_and_the_question_again():
    slots, said, rejected = run_form(
        "blah", "nlu_fallback", requested="work_status", slots={"user_role": "self"}
    )
    assert not rejected
    assert said == ["utter_unclear_answer"] and slots["unclear_answers"] == 1


def test_a_second_unclear_answer_skips_the_question_instead_of_looping():
    slots, said, rejected = run_form(
        "blah again",
        "nlu_fallback",
        requested="work_status",
        slots={"user_role": "self", "unclear_answers": 1},
    )
    assert not rejected and said == ["utter_skip_question"]
    assert slots["work_status"] == "unknown"
    assert slots["requested_slot"] == "condition_category"


def test_not_sure_skips_at_once():
    slots, said, _ = run_form("not sure", "deny", requested="age", slots={"user_role": "self"})
    assert slots["age"] == "unknown" and said == ["utter_skip_question"]


def test_a_first_person_story_is_taken_as_speaking_for_themself():
    slots, _, _ = run_form(
        "I've been off sick with stress",
        "inform",
        requested=None,
        set_now={"work_status": "off_sick", "condition_category": "mental_health"},
        entities=[
            {"entity": "work_status", "value": "off_sick"},
            {"entity": "condition_category", "value": "mental_health"},
        ],
        after=("triage_form",),
    )
    assert slots.get("user_role") == "self"


def test_a_bare_number_answers_the_question_asked():
    slots, _, rejected = run_form(
        "6", "inform", requested="weeks_off_sick", slots={"user_role": "self", "work_status": "off_sick"}
    )
    assert not rejected and slots["weeks_off_sick"] == 6.0


def test_a_changed_answer_is_acknowledged():
    _, said, _ = run_form(
        "actually it's been 8 weeks",
        "correct",
        requested="has_fit_note",
        slots={"user_role": "self", "work_status": "off_sick", "weeks_off_sick": 6.0},
        set_now={"weeks_off_sick": "8"},
        entities=[{"entity": "weeks_off_sick", "value": "8"}],
    )
    assert "utter_correction_noted" in said


def test_resuming_after_a_digression_does_not_nudge():
    _, said, rejected = run_form(
        "what is a fit note?",
        "ask_fit_note_what_is",
        requested="work_status",
        slots={"user_role": "self"},
        after=("action_answer_question", "triage_form"),
    )
    assert said == [] and not rejected


def test_a_partial_postcode_asks_which_council(catalogue):
    slots, _, _ = run_form(
        "N1",
        "inform",
        requested="area_id",
        slots={"user_role": "self", "work_status": "out_of_work", "condition_category": "mental_health"},
        set_now={"area_id": "confirm:islington"},
    )
    assert slots["area_id"] is None and slots["area_candidates"] == ["islington", "england"]


@pytest.mark.parametrize(
    "answers, expected_extra",
    [
        ({"user_role": "self", "work_status": "out_of_work"}, []),
        ({"user_role": "self", "work_status": "off_sick"}, ["weeks_off_sick", "has_fit_note"]),
    ],
)
def test_off_sick_adds_how_long_and_the_fit_note(catalogue, answers, expected_extra):
    asked = questions_to_ask(answers, catalogue)
    assert asked[:2] == ["user_role", "work_status"]
    assert all(q in asked for q in expected_extra)
    assert "gp_surgery_id" not in asked  # not until we know enough to tell whether it matters


def test_gp_surgery_is_asked_only_where_it_changes_the_answer(catalogue):
    base = {"user_role": "self", "work_status": "off_sick", "weeks_off_sick": 8, "has_fit_note": "yes",
            "condition_category": "mental_health"}  # fmt: skip
    assert "gp_surgery_id" in questions_to_ask({**base, "area_id": "islington"}, catalogue)
    assert "gp_surgery_id" not in questions_to_ask({**base, "area_id": "england"}, catalogue)
