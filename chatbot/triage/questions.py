"""Which triage questions to ask, and what an answer means. Plain data, no Rasa.

The form asks the core questions of USERS.md, one at a time, and then only the
questions whose answer would change which local service fits (recommend()'s
`could_ask`), or, when nothing local fits, which national one does; so nobody
is asked their age or GP surgery for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatbot.knowledge import vocab
from chatbot.nlu.facts import says_back_at_work

from .catalogue import Catalogue
from .profile import Profile
from .recommend import recommend

SKIPPED = "unknown"  # the person chose not to answer
OFF_SICK_QUESTIONS = ("weeks_off_sick", "has_fit_note")
# Asked only where they matter, in this order.
# Circumstances before benefits: "none of these" often settles both.
QUESTIONS_WHERE_THEY_MATTER = ("ready_to_work", "age", "circumstances", "benefits", "gp_surgery_id")
MAX_WEEKS = 52 * 20
AGE_RANGE = (10, 110)
ROLES = ("self", "patient", "helper")


def profile_from_answers(answers: Mapping[str, Any]) -> Profile:
    """A Profile from slot values; skipped or missing answers are 'not known'."""

    def known(name: str) -> Any:
        value = answers.get(name)
        return None if value in (None, SKIPPED, "") else value

    weeks, age = known("weeks_off_sick"), known("age")
    return Profile(
        role=known("user_role") if known("user_role") in ROLES else "self",
        work_status=known("work_status"),
        weeks_off_sick=float(weeks) if weeks is not None else None,
        has_fit_note={"yes": True, "no": False}.get(known("has_fit_note")),
        condition_category=known("condition_category"),
        area_id=known("area_id"),
        locality=known("area_locality"),
        gp_surgery_id=known("gp_surgery_id"),
        age=int(age) if age is not None else None,
        ready_to_work=known("ready_to_work"),
        benefits=_known_set(answers.get("benefits")),
        circumstances=_known_set(answers.get("circumstances")),
    )


def _known_set(value: Any) -> frozenset[str]:
    """A list slot as a set; skipped ("unknown") or missing is the empty set, 'not known'."""
    values = [value] if isinstance(value, str) else list(value or [])
    return frozenset(v for v in values if v not in (None, SKIPPED, ""))


def read_list(value: Any, allowed: tuple[str, ...], earlier: Any) -> list[str] | str | None:
    """A benefits or circumstances answer, added to what was said before; 'none' stands alone."""
    said = [value] if isinstance(value, str) else list(value or [])
    if SKIPPED in said:
        return SKIPPED
    said = [v for v in said if v in allowed]
    if not said:
        return None
    if said == ["none"] or set(said) == {"none"}:
        return ["none"]
    before = [v for v in ([earlier] if isinstance(earlier, str) else list(earlier or [])) if v in allowed]
    return sorted({*before, *said} - {"none", SKIPPED})


def questions_to_ask(answers: Mapping[str, Any], catalogue: Catalogue) -> list[str]:
    """The slots the triage form needs, in the order it asks them."""
    questions = ["user_role", "work_status"]
    if answers.get("work_status") == "off_sick":
        questions += OFF_SICK_QUESTIONS
    questions += ["condition_category", "area_id"]
    if all(answers.get(q) is not None for q in questions):
        result = recommend(profile_from_answers(answers), catalogue)
        could_ask = set(result.could_ask)
        if not result.local_found:
            # Nothing local fits yet: ask what national services need, rather than offer nothing.
            could_ask |= set(result.could_ask_national)
        # Age is one short question, and without it a student with anxiety is offered no NHS
        # Talking Therapies (16 and over): asked whenever a national service waits on it.
        could_ask |= set(result.could_ask_national) & NATIONAL_QUESTIONS_ALWAYS_WORTH_ASKING
        # Keep a question once answered: the form must still validate its answer.
        questions += [q for q in QUESTIONS_WHERE_THEY_MATTER if q in could_ask or answers.get(q) is not None]
    return questions


NATIONAL_QUESTIONS_ALWAYS_WORTH_ASKING = frozenset({"age"})


@dataclass(frozen=True)
class AreaAnswer:
    area_id: str | None
    candidates: tuple[str, ...] = ()  # ask the person to choose between these
    council: str = ""  # a council outside the covered areas, named back to the person


def restates_what_is_known(entities: list[dict], known: Mapping[str, Any]) -> bool:
    """The message only says again what we know ("im his mum", "patient"): facts, all of them
    about slots already answered, and none new (the caller checked that)."""
    names = {e.get("entity") for e in entities if e.get("entity")}
    return bool(names) and all(known.get(name) not in (None, SKIPPED) for name in names)


def settled_by_earlier(
    answer: AreaAnswer, earlier: str | None, surgery_area: str | None = None
) -> AreaAnswer:
    """"S80" (Bassetlaw, Bolsover or Rotherham) after "lives in Worksop": the area already
    known is one of the places the new answer could be, so it stands, and is not asked. So
    does the area of the person's GP surgery ("Ritchie Street ... lives N1": Islington)."""
    if answer.area_id is not None:
        return answer
    for known in (earlier, surgery_area):
        # "somewhere else in England" is no place
        if known not in (None, SKIPPED, vocab.NATIONAL_AREA_ID) and known in answer.candidates:
            return AreaAnswer(known)
    return answer


def area_from_surgery(surgery_id: str | None, area_id: str | None, catalogue: Catalogue) -> dict[str, str]:
    """"GP at Mitchison Road surgery": the surgery's area, when no place has been said, so the
    person is not asked where they live (four times, in the 2026-12-03 set) once it is known."""
    surgery = catalogue.gp_surgeries.get(surgery_id or "")
    if surgery is None or area_id not in (None, SKIPPED) or surgery.area not in catalogue.areas:
        return {}
    return {"area_id": surgery.area}


def read_area(value: Any, catalogue: Catalogue) -> AreaAnswer:
    """Turn the fact extractor's area value (see chatbot.nlu.facts) into an answer."""
    text = str(value or "")
    if text.startswith("confirm:"):
        area = text.removeprefix("confirm:")
        return (
            AreaAnswer(None, (area, vocab.NATIONAL_AREA_ID)) if area in catalogue.areas else AreaAnswer(None)
        )
    if text.startswith("choose:"):
        areas = tuple(a for a in text.removeprefix("choose:").split(",") if a in catalogue.areas)
        return AreaAnswer(areas[0]) if len(areas) == 1 else AreaAnswer(None, areas)
    if text in catalogue.areas:
        return AreaAnswer(text)
    if text.startswith("place:"):  # a council named (chatbot.nlu.facts), placed in its area or nation
        match = catalogue.place_of_councils(text.removeprefix("place:").split(","))
        return AreaAnswer(match.area_id, match.candidates if match.area_id is None else (), match.council)
    match = catalogue.resolve_area(text)  # typed text from an older client, or a button
    if match.needs_confirmation:
        return AreaAnswer(
            None,
            match.candidates if len(match.candidates) > 1 else (*match.candidates, vocab.NATIONAL_AREA_ID),
        )
    return AreaAnswer(match.area_id, council=match.council)


def locality_after(said: str | None, earlier: str | None, same_area: bool) -> str | None:
    """The part of the area: a message that names none ("psychosis", "yes wants work", read
    again after the cards) keeps the one said before, in the same area."""
    return said if said is not None or not same_area else earlier


def work_status_after(earlier: str | None, new: str | None, text: str) -> str | None:
    """Someone off sick who says "employed" or "I have a job" is still off sick: being off sick
    is being employed. Only going back ("back at work", "phased return") changes it."""
    if earlier == "off_sick" and new == "in_work" and not says_back_at_work(text):
        return "off_sick"
    return new


def read_weeks(value: Any) -> float | str | None:
    if value == SKIPPED:
        return SKIPPED
    try:
        weeks = float(value)
    except (TypeError, ValueError):
        return None
    return round(weeks, 1) if 0 <= weeks <= MAX_WEEKS else None


def read_age(value: Any) -> int | str | None:
    if value == SKIPPED:
        return SKIPPED
    try:
        age = int(float(value))
    except (TypeError, ValueError):
        return None
    return age if AGE_RANGE[0] <= age <= AGE_RANGE[1] else None


def read_gp_surgery(value: Any, catalogue: Catalogue) -> str | None:
    if value in (SKIPPED, "other") or value in catalogue.gp_surgeries:
        return value
    return catalogue.resolve_gp_surgery(str(value or ""))


def read_choice(value: Any, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed or value == SKIPPED else None


def surgeries_that_matter(answers: Mapping[str, Any], catalogue: Catalogue) -> list[str]:
    """GP surgeries that some local service in the person's area is tied to."""
    area = answers.get("area_id")
    ids = {
        g for s in catalogue.by_area.get(area or "", ()) if s.is_active for g in s.eligibility.gp_surgeries
    }
    return sorted(ids, key=lambda g: catalogue.gp_surgeries[g].name if g in catalogue.gp_surgeries else g)
