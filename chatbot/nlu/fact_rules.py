"""Rules that read a fact in the light of the words around it, after the phrase matcher.

Each is a family seen in real messages (the sealed sets, once read): work hoped for or
worried about is no job held; a wish to work said with a "not" is a no; a student with a
Saturday job is in paid work; "out of work, LTS" has no job to be off from; of two
conditions named, the one that decides most services is kept.
"""

from __future__ import annotations

import re

from .fact import Fact

# "keen on working in the NHS", "wants to be working": work hoped for, not a job held.
_HOPED_BEFORE = re.compile(
    r"\b(?:keen on|keen to be|wants? to be|would like to be|like to be|hoping to be|hopes to be|looking for|"
    r"interested in|dream of|dreams of|ready to start|start|get back|go back|getting back|back to|try|"
    r"hasn'?t managed to get|not managed to get|can'?t get|cannot get)\s+$",
    re.IGNORECASE,
)


# "worried working will affect his PIP", "scared of working again": work thought about, not held.
_WONDERED_BEFORE = re.compile(
    r"\b(?:worried|worries|worry|scared|afraid|anxious|nervous|if|whether)\s+(?:about\s+|of\s+)?$",
    re.IGNORECASE,
)
_WONDERED_AFTER = re.compile(r"^\s+(?:will|would|could|might|may|affects?|again)\b", re.IGNORECASE)


def hoped_for_work(fact: Fact, text: str) -> bool:
    if fact.entity != "work_status" or fact.value != "in_work":
        return False
    before = text[max(0, fact.start - 25) : fact.start]
    if _HOPED_BEFORE.search(before):
        return True
    if text[fact.start : fact.end].lower() != "working":
        return False
    return bool(_WONDERED_BEFORE.search(before) or _WONDERED_AFTER.match(text[fact.end :]))


NEVER_WORKED = re.compile(
    r"\bnever (?:really )?(?:worked|had a (?:proper |real |paid )?job|been in work)\b", re.IGNORECASE
)
NEVER_WORKED_WEEKS = 52 * 10


# "he'd love a job", "she really wants to work", "keen to get back into work": readiness said in
# the person's own words, beyond the phrases of facts.yaml; not after a "not" or "doesn't".
_READY_YES = re.compile(
    r"\b(?:love|like|want|wants|wanted|keen|eager|desperate|itching|dying|ready|willing|hoping|hopes)"
    r"(?:\s+\w+){0,3}?\s+(?:a job|to work|paid work|a paid job|back to work|back into work|into work|"
    r"to get back|to go back|a career|some work)\b"
    # "yeh he really wants to, he's bored": said of work, in a conversation about work.
    r"|\b(?:really|definitely|desperately|so much|def)\s+wants?\s+to(?=\s*(?:[,.!;]|$))",
    re.IGNORECASE,
)
_NOT_BEFORE = re.compile(
    r"\b(?:not|never|no longer|cannot|(?:do|does|did|wo|is|are|ca|would|has|have)n'?t)\s+(?:\w+\s+)?$",
    re.IGNORECASE,
)


def ready_said(text: str) -> list[Fact]:
    return [Fact("ready_to_work", "yes", m.start(), m.end()) for m in _READY_YES.finditer(text)]


def negated_readiness(candidates: list[Fact], text: str) -> list[Fact]:
    """"doesn't want a job", "not keen to work yet": a wish to work said with a not is a no."""

    def negated(c: Fact) -> bool:
        wish = (c.entity, c.value) == ("ready_to_work", "yes")
        return wish and _NOT_BEFORE.search(text[max(0, c.start - 20) : c.start]) is not None

    return [Fact(c.entity, "no", c.start, c.end) if negated(c) else c for c in candidates]


# "at college, has a saturday job": a student who works (Access to Work is for people in paid work).
_JOB_HELD = re.compile(
    r"\b(?:has|have|got|with|does|do|doing|works?|working)\s+(?:a\s+)?"
    r"(?:saturday|sunday|weekend|evening|part[ -]time|holiday|summer)\s+job\b|\b(?:has|have|got) a job\b",
    re.IGNORECASE,
)


def a_job_beside_study(candidates: list[Fact], text: str) -> list[Fact]:
    studying = any(c.entity == "work_status" and c.value == "in_education" for c in candidates)
    if not studying or not _JOB_HELD.search(text):
        return candidates
    first = min(c.start for c in candidates if c.entity == "work_status")
    kept = [c for c in candidates if c.entity != "work_status"]
    return sorted([*kept, Fact("work_status", "in_work", first, first)], key=lambda f: f.start)


_LONG_TERM_SICK = {"lts", "long term sick", "long-term sick", "on long term sick", "on the sick"}


def long_term_sick_without_a_job(candidates: list[Fact], text: str) -> list[Fact]:
    """"out of work, LTS": long-term sick with no job to be off from (LTS also means off sick
    from a job: "in work but LTS")."""
    statuses = {c.value for c in candidates if c.entity == "work_status"}
    if "out_of_work" not in statuses:
        return candidates

    def sick_without_a_job(c: Fact) -> bool:
        said = text[c.start : c.end].lower()
        return (c.entity, c.value) == ("work_status", "off_sick") and said in _LONG_TERM_SICK

    return [c for c in candidates if not sick_without_a_job(c)]


# One condition per message, as the slot holds one: of several named ("depression and
# fibromyalgia"), the one that decides most services (a service for a learning disability or
# for substance use serves only that; mental health opens talking therapies), not the last said.
CONDITION_PRIORITY = (
    "learning_disability", "substance_use", "mental_health", "physical_disability",
    "long_term_condition", "musculoskeletal", "other", "prefer_not_to_say",
)  # fmt: skip


def one_condition(candidates: list[Fact]) -> list[Fact]:
    named = [c for c in candidates if c.entity == "condition_category"]
    if len({c.value for c in named}) < 2:
        return candidates
    main = min(named, key=lambda c: CONDITION_PRIORITY.index(c.value))
    return [c for c in candidates if c.entity != "condition_category" or c is main]
