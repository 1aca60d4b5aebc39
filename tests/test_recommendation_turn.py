"""The recommendation turn is short (issue 19): a lead-in, short cards, a question; the rest a tap away."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import yaml

from chatbot.config import PROJECT_ROOT
from chatbot.knowledge.runtime import current_catalogue
from chatbot.referrals.offer import MORE, NO_THANKS, RECORD_SUMMARY, offer
from chatbot.safety.routes import load_routes
from chatbot.triage import recommend
from chatbot.triage.cards import compact_cards_text, details_text, first_step
from chatbot.triage.keep import keep_payload, keep_text
from chatbot.triage.profile import Profile

TODAY = dt.date(2026, 12, 3)
PHONE_BUDGET = 900  # characters before the first question


def every_profile():
    catalogue = current_catalogue()
    statuses = ["off_sick", "out_of_work", "in_work"]
    conditions = ["mental_health", "musculoskeletal", "other"]
    surgeries = [None, *sorted(catalogue.gp_surgeries)]
    for area, status, weeks, condition, role, surgery in itertools.product(
        sorted(catalogue.areas), statuses, [2, 8, 60], conditions, ["self", "patient", "helper"], surgeries
    ):
        yield Profile(
            role=role,
            work_status=status,
            weeks_off_sick=weeks if status == "off_sick" else None,
            has_fit_note=True,
            condition_category=condition,
            area_id=area,
            gp_surgery_id=surgery,
        )


def lead_ins() -> dict[str, int]:
    """The longest lead-in said before cards of a local area and of a nation (domain.yml)."""
    responses = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
    longest = {
        name: max(len(v["text"]) for v in responses[name])
        for name in ("utter_recommendations_intro", "utter_no_local_services", "utter_no_local_services_yet")
    }
    names = 40  # the longest area, council or nation name put in
    return {
        "local": longest["utter_recommendations_intro"],
        "national_only": longest["utter_no_local_services"] + names,
        "nation": longest["utter_no_local_services_yet"] + 2 * names,
    }


def lead_in_for(profile: Profile, result, catalogue) -> str:
    """Which lead-in actions/recommend.py says (without a council named, the longest case)."""
    if catalogue.areas[profile.area_id].is_nation:
        return "nation"
    return "local" if result.local_found else "national_only"


def test_the_cards_of_every_profile_fit_a_phone_screen_before_the_question():
    catalogue = current_catalogue()
    lead_in = lead_ins()
    sizes = []
    for profile in every_profile():
        result = recommend(profile, catalogue)
        cards = len(compact_cards_text(result.matches, TODAY))
        sizes.append((cards + lead_in[lead_in_for(profile, result, catalogue)], profile.area_id))
    worst = max(sizes)
    print("longest turn before the question:", worst)
    assert worst[0] < PHONE_BUDGET, worst


def test_a_short_card_is_four_lines_and_the_details_keep_everything_it_leaves_out():
    catalogue = current_catalogue()
    profile = Profile(
        role="self", work_status="in_work", condition_category="mental_health", area_id="england"
    )
    matches = recommend(profile, catalogue).matches
    talking = next(m for m in matches if m.service_id == "national-nhs-talking-therapies")
    card = compact_cards_text([talking], TODAY).split("\n")
    assert card[0] == "NHS Talking Therapies"
    assert card[1] == "Why: It helps people with a mental health condition."
    assert card[2].startswith("Next: ") and card[3].startswith("Checked ")
    assert len(card) == 4
    details = details_text(talking, TODAY)
    assert all(reason in details for reason in talking.reasons)
    assert all(caveat in details for caveat in talking.caveats)  # "It is not a crisis service..."
    assert talking.next_step.strip() in details


@pytest.mark.parametrize(
    "step, first",
    [
        ("Apply on GOV.UK. You can help them check.", "Apply on GOV.UK."),
        ("Call 0800 123 456. Lines are open 9am to 5pm.", "Call 0800 123 456."),
        ("Ask your GP", "Ask your GP"),
    ],
)
def test_the_first_step_is_the_first_sentence(step, first):
    assert first_step(step) == first


def test_the_page_to_keep_has_services_contacts_reference_date_and_help_but_nothing_said():
    catalogue = current_catalogue()
    profile = Profile(
        role="self",
        work_status="off_sick",
        weeks_off_sick=6,
        has_fit_note=True,
        condition_category="mental_health",
        area_id="scotland",
    )
    matches = recommend(profile, catalogue).matches
    keep = keep_payload(matches, load_routes(), "scotland", TODAY, "HW-ABCDE-FGHIJ")
    text = keep_text(keep)
    assert text.startswith("Health and work support: your details (3 December 2026)")
    assert all(m.name in text and m.next_step.strip() in text for m in matches)
    assert "Your referral reference: HW-ABCDE-FGHIJ" in text
    assert "- Call 999 now." in text
    assert "\n\n" not in text  # one message: Rasa's channels split a text at a blank line
    assert "NHS 24" in text and "NHS 111" not in text.replace("NHS 24 111", "")  # Scotland's own line
    # What the person told us is not on it: no reasons, no weeks off, no condition.
    assert "Why" not in text and "6 weeks" not in text and "off sick" not in text


def test_the_question_ends_the_turn_with_the_details_one_tap_away():
    ask = offer("self", [("islington-iwork", "iWork")])
    assert ask.text.endswith("Would you like that?")
    assert ask.buttons[0] == {
        "title": "Refer me to iWork",
        "payload": '/request_referral{"service_id":"islington-iwork"}',
    }
    assert NO_THANKS in ask.buttons and MORE in ask.buttons and RECORD_SUMMARY not in ask.buttons
    professional = offer("patient", [("islington-iwork", "iWork")])
    assert (
        professional.buttons[0]["title"] == "Refer the patient to iWork"
        and RECORD_SUMMARY in professional.buttons
    )
    helper = offer("helper", [("islington-iwork", "iWork")])
    assert not any(b["payload"].startswith("/request_referral") for b in helper.buttons)
    assert MORE in helper.buttons
    assert MORE not in offer("self", [("islington-iwork", "iWork")], details_shown=True).buttons
