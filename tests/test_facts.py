"""Facts found in everyday messages by the rules built from knowledge/."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.config import PROJECT_ROOT
from chatbot.knowledge.loader import read_knowledge
from chatbot.nlu.facts import (
    FactFinder,
    bare_number,
    load_fact_finder,
    says_dont_know,
    says_where_they_live,
    speaks_for_self,
)

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(scope="module")
def finder():
    return load_fact_finder(PROJECT_ROOT / "knowledge")


def facts(finder, text):
    return {(f.entity, f.value, text[f.start : f.end]) for f in finder.find(text, TODAY)}


def values(finder, text):
    return {f.entity: f.value for f in finder.find(text, TODAY)}


def test_the_users_md_resident_example(finder):
    text = "been signed off with my back since early march, scared they'll sack me, I'm in Islington"
    assert values(finder, text) == {
        "work_status": "off_sick",
        "condition_category": "musculoskeletal",
        "weeks_off_sick": "37.7",
        "area_id": "islington",
    }


def test_the_users_md_receptionist_example(finder):
    text = (
        "Patient is unemployed, long-term back problems, wants to get back to work, "
        "registered with us at River Place"
    )
    assert facts(finder, text) >= {
        ("user_role", "patient", "Patient"),
        ("work_status", "out_of_work", "unemployed"),
        ("condition_category", "musculoskeletal", "back problems"),
        ("ready_to_work", "yes", "wants to get back to work"),
        ("gp_surgery_id", "river-place-group-practice", "River Place"),
    }


@pytest.mark.parametrize(
    "text, entity, value",
    [
        ("stress", "condition_category", "mental_health"),
        ("it's my nerves", "condition_category", "mental_health"),
        ("panic attacks", "condition_category", "mental_health"),
        ("sugar", "condition_category", "long_term_condition"),
        ("my husband has MS", "condition_category", "long_term_condition"),
        ("anxeity", "condition_category", "mental_health"),  # misspelt
        ("diabetis", "condition_category", "long_term_condition"),
        ("manchesta", "area_id", "manchester"),
        ("N7", "area_id", "islington"),
        ("e14 3bq", "area_id", "tower-hamlets"),
        ("SW1A 1AA", "area_id", "SW1A"),  # a real postcode where we list no local services: placed later
        ("unemployed, 34, N7", "age", "34"),
        ("i'm 52", "age", "52"),
        ("my fit note runs out friday", "has_fit_note", "yes"),
        ("haven't got a fit note", "has_fit_note", "no"),
        ("i dont want a job right now", "ready_to_work", "no"),
        ("asking for a friend", "user_role", "helper"),
        ("i'm self-employed", "work_status", "self_employed"),
        # Read from the retired 2026-12-03 blind set, by family (2026-12-03 b):
        ("been oot of work wi a bad back", "work_status", "out_of_work"),  # Scots
        ("lost my job in may and want to get back working", "work_status", "out_of_work"),
        ("she keeps saying she wants a proper job", "ready_to_work", "yes"),
        ("i help him, im his mum", "user_role", "helper"),
        ("on a script from the drug and alcohol team", "condition_category", "substance_use"),
        # A reply of body parts alone (2026-12-04):
        ("back and neck", "condition_category", "musculoskeletal"),
        ("back", "condition_category", "musculoskeletal"),
        ("my knees mainly", "condition_category", "musculoskeletal"),
    ],
)
def test_everyday_words(finder, text, entity, value):
    assert values(finder, text).get(entity) == value


@pytest.mark.parametrize(
    "text, entity",
    [
        ("what is a fit note?", "has_fit_note"),  # asking about one is not having one
        ("i want to go back to work next week", "condition_category"),  # not "my back"
        ("b4 i was ill", "area_id"),  # text-speak, not Birmingham
        ("i live with my partner and i'm off sick", "user_role"),  # still speaking for themself
        ("45", "age"),  # a bare number answers whatever was asked (see actions/triage_form.py)
        ("I'm a patient at Amwell", "user_role"),
        ("im back", "condition_category"),  # body-part words beside others are not a reply about them
        ("go back to the start", "condition_category"),
    ],
)
def test_words_that_only_sound_like_a_fact(finder, text, entity):
    assert entity not in values(finder, text)


def test_a_partial_postcode_district_asks_for_confirmation(finder):
    knowledge = read_knowledge(PROJECT_ROOT / "knowledge")
    district = next(d for a in knowledge.areas for d in a.partial_postcode_districts)
    assert values(finder, district)["area_id"].startswith(("confirm:", "choose:"))


def test_a_new_town_in_knowledge_is_understood_without_retraining(tmp_path):
    copy = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", copy)
    areas_file = copy / "areas.yaml"
    data = yaml.safe_load(areas_file.read_text())
    manchester = next(a for a in data["areas"] if a["id"] == "manchester")
    manchester["towns"].append("Newtown Heath")
    areas_file.write_text(yaml.safe_dump(data))
    phrases = yaml.safe_load((copy / "phrases" / "facts.yaml").read_text())
    finder = FactFinder(phrases, read_knowledge(copy))
    assert ("area_id", "manchester", "Newtown Heath") in facts(finder, "i live in Newtown Heath")


def test_speaking_for_self_and_other_replies():
    assert speaks_for_self("I've been off work with stress")
    assert not speaks_for_self("my son is off sick, he has anxiety")
    assert bare_number("about 6") == 6.0 and bare_number("6 weeks") is None
    assert says_dont_know("not sure") and says_dont_know("dunno") and not says_dont_know("not ready")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_any_text_gives_facts_inside_the_text_that_never_overlap(text):
    found = load_fact_finder(PROJECT_ROOT / "knowledge").find(text, TODAY)
    for a, b in zip(found, found[1:], strict=False):
        assert a.end <= b.start
    assert all(0 <= f.start < f.end <= len(text) for f in found)


@pytest.mark.parametrize(
    "text, area",
    [("pt lives Archway N19 but is registered with us in Kentish Town (Camden)", "islington"),
     ("bethnal green innit, E2", "tower-hamlets"), ("I work in Camden but live in Islington", "islington")],
)  # fmt: skip
def test_one_place_per_message_where_the_person_lives(finder, text, area):
    assert [f.value for f in finder.find(text, TODAY) if f.entity == "area_id"] == [area]


@pytest.mark.parametrize(
    "text, age",
    [
        ("helping a 22 yr old lad with cerebral palsy, out of work since uni", "22"),
        ("im 22 years old and working at tesco", "22"),
        ("my son is 19 y/o, at college", "19"),
    ],
)
def test_an_age_in_years_old_is_an_age_not_years_off_sick(finder, text, age):
    found = values(finder, text)
    assert found.get("age") == age and "weeks_off_sick" not in found


@pytest.mark.parametrize(
    "text, status",
    [
        ("been out of work since uni. hes keen on working in the NHS", "out_of_work"),
        ("unemployed, wants to be working again by summer", "out_of_work"),
        ("working part time at the co-op", "in_work"),
        # A student with a job is in paid work (Access to Work); 2026-12-04.
        ("pt 17, at college doing level 3 + has a saturday job at a supermarket", "in_work"),
        ("2nd year at queen mary, want a part time job to help with rent", "in_education"),
    ],
)
def test_work_hoped_for_is_not_a_job_held(finder, text, status):
    assert values(finder, text).get("work_status") == status


@pytest.mark.parametrize(
    "text",
    [
        # A service's name, and work worried about, are no work status (2026-12-04 set).
        "didnt we used to have the remploy working better thing here? is that still going",
        "is mental health working still taking referrals",
        "he gets PIP, worried working will affect it",
    ],
)
def test_a_service_named_or_work_worried_about_is_no_work_status(finder, text):
    assert "work_status" not in values(finder, text)


@pytest.mark.parametrize(
    "text, facts_wanted",
    [
        ("pt in work but LTS, 7/52 so far, MSK", {"work_status": "off_sick", "weeks_off_sick": "7"}),
        ("out of work, LTS", {"work_status": "out_of_work"}),
        ("unemployed 18 months, want to get back into work", {"ready_to_work": "yes"}),
        ("she's been on the sick since the summer", {"work_status": "off_sick"}),
        ("out of work, never really worked", {"work_status": "out_of_work", "weeks_off_sick": "520"}),
    ],
)
def test_professional_shorthand_and_never_having_worked(finder, text, facts_wanted):
    assert facts_wanted.items() <= values(finder, text).items()


@pytest.mark.parametrize(
    "text, role",
    [
        ("schizophrenia, he's under the CMHT and has a care coordinator", None),
        ("her physio says she can do light duties", None),
        ("i'm a care coordinator, asking for someone on my caseload", "patient"),
    ],
)
def test_someone_elses_professional_is_not_the_speakers_role(finder, text, role):
    assert values(finder, text).get("user_role") == role


@pytest.mark.parametrize(
    "text",
    [
        "cardiff, out of work with anxiety since last winter, ready to look for work now",
        "hes keen on working in the NHS",
        "she's hoping to get back to work after the op",
        "i want to work again",
        "not working no, just finished college. hed love a job tho",
        "she's desperate to get back into work",
        "yeh he really wants to, he's bored out his head",
    ],
)
def test_ways_of_saying_someone_wants_work(finder, text):
    assert values(finder, text).get("ready_to_work") == "yes"


@pytest.mark.parametrize("text", ["he doesn't want a job right now", "she doesnt want to work yet"])
def test_a_wish_to_work_said_with_a_not_is_a_no(finder, text):
    assert values(finder, text).get("ready_to_work") == "no"


@pytest.mark.parametrize(
    "text, facts_wanted",
    [
        (
            "been off sick from work since october, my backs gone, i work in a warehouse",
            {"work_status": "off_sick", "condition_category": "musculoskeletal"},
        ),
        ("Just been offered my first proper job!! call centre, starts 5th jan", {"work_status": "in_work"}),
    ],
)
def test_off_sick_from_the_job_they_name_and_a_job_offered(finder, text, facts_wanted):
    found = values(finder, text)
    assert {k: found.get(k) for k in facts_wanted} == facts_wanted


@pytest.mark.parametrize(
    "text, facts_wanted",
    [
        (
            "he's still off, his sick line runs to January. he's desperate to get back",
            {"work_status": "off_sick", "has_fit_note": "yes", "ready_to_work": "yes"},
        ),
        ("He finished college in the summer and is bored stiff at home", {"work_status": "out_of_work"}),
        ("off work 2 wks with my back, self certified then got a note", {"has_fit_note": "yes"}),
    ],
)
def test_everyday_and_scottish_ways_of_saying_off_sick_with_a_note(finder, text, facts_wanted):
    found = values(finder, text)
    assert {k: found.get(k) for k in facts_wanted} == facts_wanted


@pytest.mark.parametrize(
    "text, facts_wanted",
    [
        ("fit note yes, runs till the 12th", {"has_fit_note": "yes"}),
        ("its for me", {"user_role": "self"}),
    ],
)
def test_short_answers_that_say_again_what_we_know(finder, text, facts_wanted):
    found = values(finder, text)
    assert {k: found.get(k) for k in facts_wanted} == facts_wanted


@pytest.mark.parametrize(
    "text, other",
    [("i help her, im her dad", False), ("oot of work", False), ("necesito ayuda con mi trabajo", True),
     ("أحتاج مساعدة في العمل", True), ("hi 👋", False)],
)
def test_only_a_message_in_another_language_is_told_that_english_is_needed(text, other):
    from chatbot.nlu.language import looks_like_another_language

    assert looks_like_another_language(text) is other


@pytest.mark.parametrize(
    "text, home",
    [
        ("heaton moor, stockport SK4", True),  # a place and its postcode: a move, mid-form
        ("we're at 12 high st, NG18 2AB", True),
        ("actually it's NG18", True),
        ("his mate uses a service in Mansfield and likes it", False),  # said in passing
        ("pt has low B12 levels and fatigue", False),  # a vitamin, not Birmingham
    ],
)
def test_a_place_meant_as_home(text, home):
    assert says_where_they_live(text) is home


@pytest.mark.parametrize(
    "text, condition",
    [
        # Of two conditions, the one that decides most services (the slot holds one).
        ("out of work about 3 yrs with depression and fibromyalgia", "mental_health"),
        ("learning disability and anxiety, lives with mum", "learning_disability"),
        # GP staff's shorthand.
        ("pt unemployed approx 2 yrs, T2DM w neuropathy in feet", "long_term_condition"),
    ],
)
def test_the_condition_that_decides_the_services_is_kept(finder, text, condition):
    found = [f.value for f in finder.find(text, TODAY) if f.entity == "condition_category"]
    assert found and set(found) == {condition}
