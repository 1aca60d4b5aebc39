"""Every active service can be reached by a conversation, through the real servers (issue 18).

Four services were once unreachable because no question or extractor ever set the facts
their eligibility names. Here each active service gets the conversation of a person it is
for (tests/test_triage.py's TABLE), told to the running assistant as button answers, and
must appear among the cards the person sees.
"""

from __future__ import annotations

import json

import pytest

from chatbot.triage.profile import Profile
from tests.chat import Conversation
from tests.test_triage import TABLE

MAX_TURNS = 8


def _facts(profile: Profile) -> dict[str, str]:
    facts = {
        "user_role": profile.role,
        "work_status": profile.work_status,
        "weeks_off_sick": None if profile.weeks_off_sick is None else f"{profile.weeks_off_sick:g}",
        "has_fit_note": {True: "yes", False: "no"}.get(profile.has_fit_note),
        "condition_category": profile.condition_category,
        "area_id": profile.area_id,
        "gp_surgery_id": profile.gp_surgery_id,
        "age": None if profile.age is None else str(profile.age),
        "ready_to_work": profile.ready_to_work,
        "benefits": min(profile.benefits) if profile.benefits else None,
        "circumstances": min(profile.circumstances) if profile.circumstances else None,
    }
    return {k: v for k, v in facts.items() if v is not None}


def _inform(facts: dict[str, str]) -> str:
    return "/inform" + json.dumps(facts)


@pytest.mark.parametrize("service_id,profile", [row[:2] for row in TABLE], ids=[row[0] for row in TABLE])
def test_every_active_service_is_reachable_in_a_conversation(live_servers, service_id, profile):
    chat = Conversation(live_servers.rasa_url, token=live_servers.token)
    facts = _facts(profile)
    replies = chat.say(_inform(facts))
    for _ in range(MAX_TURNS):
        shown = Conversation.custom(replies, "recommendations")
        if shown is not None:
            break
        asked = chat.slots().get("requested_slot")
        assert asked, f"no question and no recommendation: {Conversation.texts(replies)}"
        replies = chat.say(_inform({asked: facts.get(asked, "unknown")}))
    else:
        pytest.fail(f"no recommendation after {MAX_TURNS} answers")
    assert service_id in [card["service_id"] for card in shown]
