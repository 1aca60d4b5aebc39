"""Invariants of recommend(), for any profile hypothesis can think of."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.knowledge import vocab
from chatbot.knowledge.vocab import NATIONS
from chatbot.triage import Profile, recommend
from chatbot.triage.reasons import load_reasons
from chatbot.triage.recommend import MAX_CARDS

AREAS = ["islington", "tower-hamlets", "nottinghamshire", "manchester", *NATIONS, None]
SURGERIES = [
    None,
    "amwell-group-practice",
    "junction-medical-practice",
    "river-place-group-practice",
    "village-practice",
]

profiles = st.builds(
    Profile,
    role=st.sampled_from(["self", "patient", "helper"]),
    work_status=st.sampled_from([None, *vocab.WORK_STATUSES]),
    weeks_off_sick=st.one_of(st.none(), st.floats(min_value=0, max_value=200)),
    condition_category=st.sampled_from([None, *vocab.CONDITION_CATEGORIES]),
    area_id=st.sampled_from(AREAS),
    gp_surgery_id=st.sampled_from(SURGERIES),
    age=st.one_of(st.none(), st.integers(min_value=14, max_value=90)),
    ready_to_work=st.sampled_from([None, *vocab.READY_TO_WORK]),
    benefits=st.frozensets(st.sampled_from(vocab.BENEFITS), max_size=2),
    circumstances=st.frozensets(st.sampled_from(vocab.CIRCUMSTANCES), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(profiles)
def test_nothing_ended_or_planned_is_ever_recommended(catalogue, profile):
    for match in recommend(profile, catalogue, limit=50).matches:
        assert catalogue.services[match.service_id].status == "active"


@settings(max_examples=400, deadline=None)
@given(profiles)
def test_every_recommendation_covers_the_area_or_is_national(catalogue, profile):
    for match in recommend(profile, catalogue, limit=50).matches:
        areas = catalogue.services[match.service_id].eligibility.areas
        nation = catalogue.nation_of(profile.area_id) or "england"
        assert profile.area_id in areas or nation in areas


@settings(max_examples=400, deadline=None)
@given(profiles)
def test_every_reason_is_true_of_the_profile(catalogue, profile):
    """Each reason is re-derived from the profile alone: only true facts may be said."""
    reasons = load_reasons()
    role = profile.role
    true_phrases = {reasons.say("national", role, nation=n.replace("_", " ").title()) for n in NATIONS}
    if profile.area_id in catalogue.areas:
        true_phrases.add(reasons.say("area", role, area=catalogue.areas[profile.area_id].name))
    if profile.work_status:
        true_phrases.add(reasons.say(f"work_status.{profile.work_status}", role))
    if profile.ready_to_work:
        true_phrases.add(reasons.say(f"ready_to_work.{profile.ready_to_work}", role))
    if profile.gp_surgery_id:
        true_phrases.add(
            reasons.say("gp_surgery", role, surgery=catalogue.gp_surgeries[profile.gp_surgery_id].name)
        )
    if profile.condition_category:
        true_phrases.add(
            reasons.say("condition", role, condition=reasons.label("condition", profile.condition_category))
        )
    for c in profile.circumstances - {"none"}:
        true_phrases.add(reasons.say(f"circumstance.{c}", role))
    for b in profile.benefits - {"none"}:
        true_phrases.add(reasons.say("benefit", role, benefit=reasons.label("benefit", b)))
    for match in recommend(profile, catalogue, limit=50).matches:
        service = catalogue.services[match.service_id]
        for reason in match.reasons:
            if "off sick for" in reason:
                w = service.eligibility.weeks_off_sick
                assert profile.weeks_off_sick is not None
                if w.more_than is not None and "more than" in reason:
                    assert profile.weeks_off_sick > w.more_than
                if w.at_most is not None and "or less" in reason:
                    assert profile.weeks_off_sick <= w.at_most
            elif "aged" in reason:
                age = service.eligibility.age
                assert profile.age is not None
                assert age.min is None or profile.age >= age.min
                assert age.max is None or profile.age <= age.max
            else:
                assert reason in true_phrases, reason


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_recommendations_are_few_distinct_and_local_first(catalogue, profile):
    matches = recommend(profile, catalogue).matches
    ids = [m.service_id for m in matches]
    assert len(ids) <= MAX_CARDS and len(ids) == len(set(ids))
    assert [m.is_local for m in matches] == sorted((m.is_local for m in matches), reverse=True)
    if any(m.is_local for m in matches):
        assert sum(m.is_local for m in matches) <= 3


@settings(max_examples=200, deadline=None)
@given(profiles)
def test_no_service_is_offered_outside_the_nations_it_covers(catalogue, profile):
    nation = catalogue.nation_of(profile.area_id) or "england"
    for m in recommend(profile, catalogue).matches:
        covered = {catalogue.nation_of(a) for a in catalogue.services[m.service_id].eligibility.areas}
        assert nation in covered, (m.service_id, nation)
