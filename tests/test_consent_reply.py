"""Only the person can agree: the consent rule over many phrasings (chatbot/referrals/consent_reply.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.referrals.consent_reply import CONFIRM, NO, NOT_THEIRS, UNCLEAR, YES, read_consent_reply

PROXY_LEADS = ["", "yes ", "yeah ", "ok ", "fine ", "sure, ", "Yes. "]
PROXY_CORES = [
    "I agree on her behalf", "i consent on his behalf", "as her GP I'm happy to consent for her",
    "I'm happy to", "I agree", "i'll say yes for him", "yes from me", "I give my consent",
    "as his carer I authorise it", "I have power of attorney so yes", "she'd want it so go ahead",
    "I'm sure he would agree", "she cant really decide so I will", "I'll take responsibility",
    "i consent for them", "happy to sign it off for her", "im her mum so yes", "yes I'm next of kin",
    "MDT agreed it's in her best interests so", "will assume yes", "consent implied, she came to us",
    "just put yes, I'll tell him later", "she's my wife so", "I'm consenting as the duty GP",
]  # fmt: skip
PROXY_TAILS = ["", ".", " x", " thanks", ", she won't mind", " - go on"]
REPORTED = [
    "yes she agreed", "she's agreed", "pt consented verbally in clinic", "he said yes", "yes, the patient agreed",  # noqa: E501
    "patient is happy for you to send it", "yes she has agreed to it", "Yes. Verbal consent given by patient",
    "i asked her and she said yes", "he agreed this morning",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(PROXY_LEADS), st.sampled_from(PROXY_CORES), st.sampled_from(PROXY_TAILS),
    st.sampled_from(["patient", "helper"]), st.booleans(),
)  # fmt: skip
def test_agreeing_for_someone_is_never_a_yes(lead, core, tail, role, shout):
    text = (lead + core + tail).upper() if shout else lead + core + tail
    assert read_consent_reply(text, role).decision == NOT_THEIRS


@pytest.mark.parametrize("text", REPORTED)
def test_a_professional_typing_the_patients_own_yes_is_asked_to_confirm_it_with_the_button(text):
    reading = read_consent_reply(text, "patient")
    assert reading.decision == CONFIRM and "person has agreed" in reading.reason


@pytest.mark.parametrize("role", ["patient", "helper"])
def test_for_someone_else_only_the_button_is_a_yes(role):
    assert read_consent_reply("/affirm", role).decision == YES
    assert read_consent_reply("yes", role).decision == CONFIRM


@pytest.mark.parametrize(
    "text", ["yes", "I agree", "yes I'm happy for them to ring me", "ok go on then", "/affirm"]
)
def test_a_person_agreeing_for_themselves_is_a_yes(text):
    assert read_consent_reply(text, "self").decision == YES


@pytest.mark.parametrize(
    "text, role",
    [("no", "self"), ("not yet", "patient"), ("she said no", "patient"), ("no thanks I'll do it myself", "self"),  # noqa: E501
     ("/deny", "patient"), ("he doesn't want it", "helper")],
)  # fmt: skip
def test_a_no_is_a_no(text, role):
    assert read_consent_reply(text, role).decision == NO


@pytest.mark.parametrize(
    "text, role",
    [("what will they do with it?", "self"), ("maybe", "self"), ("I haven't asked her yet", "patient"),
     ("I'll check with him", "helper"), ("", "self")],
)  # fmt: skip
def test_a_question_or_a_maybe_is_unclear(text, role):
    assert read_consent_reply(text, role).decision == UNCLEAR


def _development_replies() -> list[tuple[str, str, str]]:
    """Every reply of the retired blind sets (tests/data/consent/), as (text, role, expected)."""
    import pathlib

    import yaml

    rows = []
    for path in sorted((pathlib.Path(__file__).parent / "data" / "consent").glob("*.yml")):
        for r in yaml.safe_load(path.read_text(encoding="utf-8"))["replies"]:
            rows.append((r["text"], r["role"], r["expected"]))
    return rows


ROLE_SLOT = {"self": "self", "professional": "patient", "helper": "helper"}


@pytest.mark.parametrize("text,role", [(t, r) for t, r, e in _development_replies() if e == "proxy"])
def test_no_proxy_reply_of_the_development_sets_is_read_as_a_yes(text, role):
    assert read_consent_reply(text, ROLE_SLOT[role]).decision not in (YES, CONFIRM)


def _as_labelled(text: str, role: str, expected: str) -> bool:
    got = read_consent_reply(text, ROLE_SLOT[role]).decision
    if expected == "proxy":
        return got in (NOT_THEIRS, UNCLEAR)  # either way nothing is sent, and we ask again
    if expected == "yes" and role != "self":
        return got == CONFIRM
    return got == expected


def test_the_development_sets_are_read_as_labelled_nearly_always():
    """A yes read as 'not theirs' only asks again; still, most replies must read as written."""
    rows = _development_replies()
    assert sum(_as_labelled(*row) for row in rows) / len(rows) >= 0.95
