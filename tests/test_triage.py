"""recommend(): the right local service, with reasons that are true."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatbot.triage import Profile, recommend

# One profile that must get the service, one that must not (and why not).
TABLE = [
    (
        "islington-get-back-on-track",
        Profile(
            work_status="off_sick",
            weeks_off_sick=6,
            area_id="islington",
            gp_surgery_id="amwell-group-practice",
        ),
        Profile(
            work_status="off_sick",
            weeks_off_sick=3,
            area_id="islington",
            gp_surgery_id="amwell-group-practice",
        ),
    ),  # not yet four weeks
    (
        "islington-ips",
        Profile(
            work_status="out_of_work",
            condition_category="musculoskeletal",
            area_id="islington",
            ready_to_work="yes",
        ),
        Profile(
            work_status="out_of_work",
            condition_category="musculoskeletal",
            area_id="islington",
            ready_to_work="no",
        ),
    ),
    (
        "islington-iwork",
        Profile(work_status="out_of_work", area_id="islington", ready_to_work="yes"),
        Profile(work_status="out_of_work", area_id="tower-hamlets", ready_to_work="yes"),
    ),
    (
        "islington-mental-health-working",
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="islington",
            ready_to_work="yes",
        ),
        Profile(
            work_status="out_of_work",
            condition_category="musculoskeletal",
            area_id="islington",
            ready_to_work="yes",
        ),
    ),
    (
        "islington-aftercare",
        Profile(
            work_status="out_of_work",
            condition_category="substance_use",
            area_id="islington",
            ready_to_work="yes",
            circumstances=frozenset({"substance_misuse_service"}),
        ),
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="islington",
            ready_to_work="yes",
        ),
    ),
    (
        "islington-community-access-project",
        Profile(
            work_status="out_of_work",
            condition_category="learning_disability",
            area_id="islington",
            ready_to_work="yes",
        ),
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="islington",
            ready_to_work="yes",
        ),
    ),
    (
        "islington-future-ambitions",
        Profile(
            work_status="out_of_work",
            condition_category="learning_disability",
            age=19,
            area_id="islington",
            ready_to_work="yes",
        ),
        Profile(
            work_status="out_of_work",
            condition_category="learning_disability",
            age=40,
            area_id="islington",
            ready_to_work="yes",
        ),
    ),
    (
        "tower-hamlets-work-path",
        Profile(work_status="out_of_work", area_id="tower-hamlets", ready_to_work="yes"),
        Profile(work_status="out_of_work", area_id="islington", ready_to_work="yes"),
    ),
    (
        "tower-hamlets-social-prescribing",
        Profile(work_status="out_of_work", area_id="tower-hamlets", ready_to_work="no"),
        Profile(work_status="out_of_work", area_id="tower-hamlets", ready_to_work="yes"),
    ),
    (
        "nottinghamshire-help-yourself",
        Profile(work_status="out_of_work", area_id="nottinghamshire", ready_to_work="yes"),
        Profile(work_status="out_of_work", area_id="manchester", ready_to_work="yes"),
    ),
    (
        "nottinghamshire-talking-therapies-employment",
        Profile(
            work_status="off_sick",
            weeks_off_sick=8,
            condition_category="mental_health",
            area_id="nottinghamshire",
            ready_to_work="yes",
            circumstances=frozenset({"in_talking_therapy"}),
        ),
        Profile(
            work_status="off_sick",
            weeks_off_sick=8,
            condition_category="mental_health",
            area_id="nottinghamshire",
            ready_to_work="yes",
        ),
    ),
    (
        "nottinghamshire-ips",
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="nottinghamshire",
            ready_to_work="yes",
            circumstances=frozenset({"secondary_mental_health_care"}),
        ),
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="nottinghamshire",
            ready_to_work="no",
            circumstances=frozenset({"secondary_mental_health_care"}),
        ),
    ),
    (
        "manchester-fit-for-work-in-work",
        Profile(
            work_status="off_sick",
            weeks_off_sick=3,
            condition_category="musculoskeletal",
            area_id="manchester",
        ),
        Profile(work_status="out_of_work", condition_category="musculoskeletal", area_id="manchester"),
    ),
    (
        "manchester-fit-for-work-out-of-work",
        Profile(
            work_status="out_of_work",
            condition_category="long_term_condition",
            area_id="manchester",
            ready_to_work="yes",
        ),
        Profile(
            work_status="in_work",
            condition_category="long_term_condition",
            area_id="manchester",
            ready_to_work="yes",
        ),
    ),
    (
        "manchester-work-programme-leavers",
        Profile(
            work_status="out_of_work",
            area_id="manchester",
            ready_to_work="yes",
            benefits=frozenset({"esa_wrag"}),
            circumstances=frozenset({"work_programme_leaver"}),
        ),
        Profile(
            work_status="out_of_work",
            area_id="manchester",
            ready_to_work="yes",
            benefits=frozenset({"universal_credit"}),
            circumstances=frozenset({"work_programme_leaver"}),
        ),
    ),
    (
        "manchester-ips",
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="manchester",
            ready_to_work="yes",
            circumstances=frozenset({"secondary_mental_health_care"}),
        ),
        Profile(
            work_status="out_of_work",
            condition_category="mental_health",
            area_id="manchester",
            ready_to_work="yes",
        ),
    ),
    (
        "national-jobcentre-plus",
        Profile(work_status="out_of_work", area_id="england"),
        Profile(work_status="in_education", area_id="england"),
    ),
    (
        "national-connect-to-work",
        Profile(
            work_status="out_of_work",
            area_id="england",
            ready_to_work="yes",
            condition_category="physical_disability",
        ),
        Profile(
            work_status="out_of_work",
            area_id="england",
            ready_to_work="no",
            condition_category="physical_disability",
        ),
    ),
    (
        "national-workwell",
        Profile(work_status="off_sick", weeks_off_sick=2, area_id="england"),
        Profile(work_status="in_education", area_id="england"),
    ),
    (
        "national-access-to-work",
        Profile(work_status="in_work", age=30, area_id="england", condition_category="physical_disability"),
        Profile(
            work_status="out_of_work", age=30, area_id="england", condition_category="physical_disability"
        ),
    ),
    (
        "national-nhs-talking-therapies",
        Profile(
            work_status="off_sick",
            weeks_off_sick=2,
            condition_category="mental_health",
            age=30,
            area_id="england",
        ),
        Profile(
            work_status="off_sick",
            weeks_off_sick=2,
            condition_category="musculoskeletal",
            age=30,
            area_id="england",
        ),
    ),
]
# The national routes of Scotland, Wales and Northern Ireland: offered only there.
# fmt: off
TABLE += [
    ("scotland-no-one-left-behind",
     Profile(work_status="out_of_work", ready_to_work="yes", area_id="scotland"),
     Profile(work_status="out_of_work", ready_to_work="yes", area_id="england")),
    ("scotland-psychological-therapies", Profile(condition_category="mental_health", area_id="scotland"),
     Profile(condition_category="mental_health", area_id="wales")),
    ("wales-working-wales", Profile(work_status="out_of_work", age=30, area_id="wales"),
     Profile(work_status="out_of_work", age=30, area_id="scotland")),
    ("wales-primary-mental-health-support", Profile(condition_category="mental_health", area_id="wales"),
     Profile(condition_category="mental_health", area_id="england")),
    ("ni-jobs-and-benefits-office", Profile(work_status="out_of_work", area_id="northern_ireland"),
     Profile(work_status="out_of_work", area_id="england")),
    ("ni-access-to-work", Profile(work_status="in_work", area_id="northern_ireland"),
     Profile(work_status="in_work", area_id="scotland")),
    ("ni-condition-management-programme", Profile(work_status="off_sick", area_id="northern_ireland"),
     Profile(work_status="off_sick", area_id="wales")),
    ("ni-gp-talking-therapies", Profile(condition_category="mental_health", area_id="northern_ireland"),
     Profile(condition_category="mental_health", area_id="scotland")),
]  # noqa: E501
# fmt: on
NEVER_OFFERED = {
    "islington-peer-mentoring",
    "islington-icope-jobcentre",
    "islington-working-better",
    "manchester-health-and-wellbeing-service",
    "national-work-and-health-programme",
}


def _ids(profile, catalogue, limit=50):
    return [m.service_id for m in recommend(profile, catalogue, limit=limit).matches]


def test_table_covers_every_active_service(knowledge):
    active = {s.id for s in knowledge.services if s.is_active}
    assert active == {row[0] for row in TABLE}


@pytest.mark.parametrize("service_id,gets,does_not", TABLE, ids=[row[0] for row in TABLE])
def test_service_table(service_id, gets, does_not, catalogue):
    assert service_id in _ids(gets, catalogue)
    assert service_id not in _ids(does_not, catalogue)


def test_off_sick_over_four_weeks_at_host_surgery_gets_retention_first(catalogue):
    """SERVICES.md: more than four weeks signed off triggers an employment retention offer."""
    result = recommend(
        Profile(
            work_status="off_sick",
            weeks_off_sick=6,
            condition_category="mental_health",
            area_id="islington",
            gp_surgery_id="junction-medical-practice",
            age=40,
            ready_to_work="yes",
        ),
        catalogue,
    )
    assert result.matches[0].service_id == "islington-get-back-on-track"
    assert "you are registered at Junction Medical Practice" in result.matches[0].reasons
    assert "you have been off sick for more than 4 weeks" in result.matches[0].reasons


def test_out_of_work_wanting_work_gets_ips_and_ended_pilot_is_only_mentioned(catalogue):
    """USERS.md: the receptionist's patient at River Place gets IPS; Working Better has ended."""
    result = recommend(
        Profile(
            role="patient",
            work_status="out_of_work",
            condition_category="musculoskeletal",
            area_id="islington",
            gp_surgery_id="river-place-group-practice",
            ready_to_work="yes",
        ),
        catalogue,
    )
    assert result.matches[0].service_id == "islington-ips"
    assert all(r.startswith(("the patient", "it ")) for r in result.matches[0].reasons)
    assert "islington-working-better" in [u.service_id for u in result.unavailable]
    assert "islington-working-better" not in [m.service_id for m in result.matches]


def test_not_ready_to_work_gets_no_job_search_and_planned_mentoring_is_not_offered(catalogue):
    """USERS.md: not ready in Islington: peer mentoring is only planned, so it is not offered."""
    result = recommend(
        Profile(
            work_status="out_of_work",
            area_id="islington",
            ready_to_work="no",
            condition_category="mental_health",
            age=35,
        ),
        catalogue,
        limit=10,
    )
    ids = [m.service_id for m in result.matches]
    assert "islington-peer-mentoring" not in ids
    assert "islington-peer-mentoring" in [u.service_id for u in result.unavailable]
    assert "islington-ips" not in ids and "national-connect-to-work" not in ids


def test_not_ready_in_tower_hamlets_gets_social_prescribing(catalogue):
    result = recommend(
        Profile(work_status="out_of_work", area_id="tower-hamlets", ready_to_work="no"), catalogue
    )
    assert result.matches[0].service_id == "tower-hamlets-social-prescribing"


def test_nothing_local_fits_says_so_and_gives_the_national_route(catalogue):
    result = recommend(
        Profile(
            work_status="self_employed",
            area_id="manchester",
            ready_to_work="yes",
            condition_category="mental_health",
            age=50,
        ),
        catalogue,
    )
    assert not result.local_found
    assert result.matches and all(not m.is_local for m in result.matches)


def test_local_comes_before_national(catalogue):
    result = recommend(
        Profile(work_status="out_of_work", area_id="tower-hamlets", ready_to_work="yes"), catalogue, limit=10
    )
    flags = [m.is_local for m in result.matches]
    assert flags == sorted(flags, reverse=True) and flags[0]


def test_unknown_facts_that_could_unlock_a_local_service_are_reported(catalogue):
    result = recommend(Profile(work_status="off_sick", weeks_off_sick=6, area_id="islington"), catalogue)
    assert "gp_surgery_id" in result.could_ask
    assert "islington-get-back-on-track" not in [m.service_id for m in result.matches]


def test_order_is_deterministic(catalogue):
    profile = Profile(work_status="out_of_work", area_id="islington", ready_to_work="yes")
    assert recommend(profile, catalogue) == recommend(profile, catalogue)


@pytest.mark.parametrize(
    "text,area_id,confirm",
    [
        ("N19", "islington", False),
        ("n19 5", "islington", False),
        ("Mansfield", "nottinghamshire", False),
        ("tower hamlets", "tower-hamlets", False),
        ("Tower Hamlets", "tower-hamlets", False),
        ("E14 3BQ", "tower-hamlets", False),
        ("e14 3bq", "tower-hamlets", False),
        ("Worksop", "nottinghamshire", False),
        ("I live in Wythenshawe", "manchester", False),
        ("SW1A 1AA", "england", False),
        ("N1", "islington", True),
    ],
)
def test_places_resolve_to_areas(text, area_id, confirm, catalogue):
    match = catalogue.resolve_area(text)
    assert (match.area_id, match.needs_confirmation) == (area_id, confirm)


def test_nottingham_city_is_not_nottinghamshire(catalogue):
    assert catalogue.resolve_area("Nottingham").area_id != "nottinghamshire"
    assert catalogue.resolve_area("NG1 5FS").area_id != "nottinghamshire"


def test_gp_surgeries_resolve_by_everyday_names(catalogue):
    assert catalogue.resolve_gp_surgery("river place") == "river-place-group-practice"
    assert catalogue.resolve_gp_surgery("we're at St John's Way") == "st-johns-way-medical-centre"
    assert catalogue.resolve_gp_surgery("somewhere else") is None


@pytest.mark.parametrize("role", ["helper"])
def test_a_helper_is_never_offered_to_send_the_persons_details(knowledge, role):
    from chatbot.triage.wording import next_step_for

    for service in knowledge.services:
        text = next_step_for(service, role)
        assert "we can send" not in text and "your details" not in text, service.id
        assert "the patient" not in text.lower(), service.id


@pytest.mark.parametrize(
    "place,locality,offered",
    [
        ("I live in Harpurhey", "north-manchester", True),
        ("M9 4", "north-manchester", True),
        ("near Didsbury village", "elsewhere", False),
        ("M20", "elsewhere", False),
        ("manchester", None, True),  # not said which part: not ruled out on a guess (the card says which)
    ],
)
def test_the_north_manchester_pilot_follows_the_part_of_manchester_named(place, locality, offered, catalogue):
    assert catalogue.locality_of("manchester", place) == locality
    profile = Profile(
        work_status="out_of_work",
        condition_category="long_term_condition",
        area_id="manchester",
        locality=catalogue.locality_of("manchester", place),
        ready_to_work="yes",
    )
    assert ("manchester-fit-for-work-out-of-work" in _ids(profile, catalogue)) is offered


def test_an_area_without_localities_places_nobody_in_one(catalogue):
    assert catalogue.locality_of("islington", "Archway N19") is None
    assert catalogue.locality_of(None, "Harpurhey") is None


@pytest.mark.parametrize(
    "earlier, new, text, kept",
    [
        ("off_sick", "in_work", "employed", "off_sick"),
        ("off_sick", "in_work", "yeah i have a job", "off_sick"),
        ("off_sick", "in_work", "im back at work now", "in_work"),
        ("off_sick", "in_work", "on a phased return", "in_work"),
        ("off_sick", "in_work", "I went back last monday", "in_work"),
        ("off_sick", "in_work", "employed, want to get back to work", "off_sick"),
        ("out_of_work", "in_work", "got a job", "in_work"),
        ("off_sick", "out_of_work", "they sacked me", "out_of_work"),
    ],
)
def test_someone_off_sick_who_says_they_are_employed_is_still_off_sick(earlier, new, text, kept):
    from chatbot.triage.questions import work_status_after

    assert work_status_after(earlier, new, text) == kept


def test_a_postcode_shared_by_councils_keeps_the_area_already_known(catalogue):
    from chatbot.triage.questions import read_area, settled_by_earlier

    # "S80" (Bassetlaw, Bolsover or Rotherham), as the fact extractor passes it on: "is it in ...?"
    s80 = read_area("confirm:nottinghamshire", catalogue)
    assert s80.area_id is None and "nottinghamshire" in s80.candidates
    assert settled_by_earlier(s80, "nottinghamshire").area_id == "nottinghamshire"
    assert settled_by_earlier(s80, None).area_id is None  # nothing known: ask
    assert settled_by_earlier(s80, "manchester").area_id is None  # a move: ask
    n1 = read_area("confirm:islington", catalogue)  # N1: Islington or Hackney
    assert settled_by_earlier(n1, None, surgery_area="islington").area_id == "islington"
    assert settled_by_earlier(n1, None, surgery_area=None).area_id is None


def test_saying_again_who_it_is_for_is_not_a_missed_answer():
    from chatbot.triage.questions import restates_what_is_known

    known = {"user_role": "helper", "work_status": None}
    assert restates_what_is_known([{"entity": "user_role", "value": "helper"}], known)
    assert not restates_what_is_known([{"entity": "work_status", "value": "out_of_work"}], known)
    assert not restates_what_is_known([], known)
    assert not restates_what_is_known([{"entity": "user_role"}], {"user_role": "unknown"})


@pytest.mark.parametrize(
    "text, service_id",
    [
        ("we used to send people to the Remploy thing, is that still running?", "islington-working-better"),
        ("is the single homeless project peer mentoring up and running yet?", "islington-peer-mentoring"),
    ],
)
def test_a_service_can_be_named_by_the_organisation_that_runs_it(catalogue, text, service_id):
    from chatbot.triage.service_status import named_service_ids

    assert named_service_ids(text, catalogue) == [service_id]


def test_workwell_is_for_people_recently_out_of_work_not_long_out_of_it(catalogue):
    """SERVICES.md: WorkWell is for people in work, off sick, or *recently* out of work."""
    recent = Profile(work_status="out_of_work", weeks_off_sick=8, condition_category="mental_health",
                     area_id="england", ready_to_work="yes", age=40)  # fmt: skip
    long_out = replace(recent, weeks_off_sick=104)
    never_said = replace(recent, weeks_off_sick=None)
    assert "national-workwell" in _ids(recent, catalogue)
    assert "national-workwell" not in _ids(long_out, catalogue)
    assert "national-workwell" in _ids(never_said, catalogue)  # a limit on what is told, never asked


def test_job_finding_help_is_not_offered_to_someone_at_work(catalogue):
    at_work = Profile(work_status="in_work", condition_category="mental_health", area_id="islington",
                      ready_to_work="yes", age=40)  # fmt: skip
    shown = _ids(at_work, catalogue)
    assert "islington-iwork" not in shown and "islington-mental-health-working" not in shown
    assert "islington-iwork" in _ids(replace(at_work, work_status="out_of_work"), catalogue)
