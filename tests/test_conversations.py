"""End-to-end test stories: whole conversations, run against the real servers.

Each story in tests/conversations/*.yml is a list of turns: what the person
says, and what must (or must not) come back. They run through the REST channel,
so they test NLU, rules, the form, the actions and knowledge/ together.

Checks per turn (all optional):
  says:       substrings, each must appear in some bot text of the turn
  not_says:   substrings that must appear in no bot text of the turn
  buttons:    button titles that must be offered
  recommends: service ids that must be in the recommendations payload
  first:      the id that must come first in the recommendations payload
  not_recommends: service ids that must not be in the payload
  no_recommendations: true when the turn must send no payload
  slots:      slot values after the turn (null means not set)
  referral:   keys the turn's {"referral": ...} payload must have ({service_id, status})
  no_referral: true when the turn must send no referral payload
The text {reference} in what the person says is replaced by the last referral
reference the conversation was given.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.chat import Conversation

STORIES = [
    (path.stem, story)
    for path in sorted((Path(__file__).parent / "conversations").glob("*.yml"))
    for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]
]


def test_there_are_at_least_forty_stories():
    assert len(STORIES) >= 40


@pytest.mark.parametrize("story", [s for _, s in STORIES], ids=[f"{f}: {s['story']}" for f, s in STORIES])
def test_story(live_servers, story):
    chat = Conversation(live_servers.rasa_url, token=live_servers.token)
    reference = None
    for number, turn in enumerate(story["steps"], start=1):
        replies = chat.say(turn["user"].replace("{reference}", reference or "none"))
        texts = chat.texts(replies)
        where = f"turn {number} ({turn['user']!r}) got {texts} {chat.buttons(replies)}"
        for part in turn.get("says", []):
            assert any(part.lower() in t.lower() for t in texts), f"expected {part!r}: {where}"
        for part in turn.get("not_says", []):
            assert not any(part.lower() in t.lower() for t in texts), f"did not expect {part!r}: {where}"
        for title in turn.get("buttons", []):
            assert title in chat.buttons(replies), f"expected button {title!r}: {where}"
        payload = chat.custom(replies, "recommendations")
        ids = [r["service_id"] for r in payload or []]
        if turn.get("no_recommendations"):
            assert payload is None, f"expected no recommendations: {where}"
        for service_id in turn.get("recommends", []):
            assert service_id in ids, f"expected {service_id} in {ids}: {where}"
        if "first" in turn:
            assert ids and ids[0] == turn["first"], f"expected {turn['first']} first in {ids}: {where}"
        for service_id in turn.get("not_recommends", []):
            assert service_id not in ids, f"did not expect {service_id} in {ids}: {where}"
        referral = chat.custom(replies, "referral")
        if turn.get("no_referral"):
            assert referral is None, f"expected no referral payload: {where}"
        if "referral" in turn:
            assert referral, f"expected a referral payload: {where}"
            assert re.fullmatch(r"HW-[0-9A-Z]{5}-[0-9A-Z]{5}", referral["reference"]), where
            for key, value in turn["referral"].items():
                assert referral[key] == value, (
                    f"referral {key}={referral[key]!r}, expected {value!r}: {where}"
                )
            reference = referral["reference"]
        if "slots" in turn:
            slots = chat.slots()
            for name, value in turn["slots"].items():
                assert slots.get(name) == value, (
                    f"slot {name}={slots.get(name)!r}, expected {value!r}: {where}"
                )
