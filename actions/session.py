"""The start of each conversation session: count arrivals through share links.

Rasa runs `action_session_start` before the first message of a conversation (and
again after `session_expiration_time` of silence), with that message's metadata in
the slot `session_started_metadata`. The web widget (socket.io `metadata`, also sent
as `customData`), the Telegram bridge and the REST channel (`"metadata"` in the body)
pass a share link's
source as `{"source": "<id>"}`, optionally with `"channel"`.

So a source is recorded once per conversation, never per person: the row holds the
source, the channel and the day, nothing else.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from chatbot.outcomes import record
from chatbot.sources import CHANNELS, UNKNOWN_CHANNEL, record_conversation_source, source_for

METADATA_SLOT = "session_started_metadata"


def _channel(metadata: dict, tracker: Tracker) -> str:
    # On a brand-new conversation Rasa has not logged the first message yet, so the
    # tracker knows no input channel: the channel's own metadata says it best.
    for candidate in (metadata.get("channel"), tracker.get_latest_input_channel()):
        if isinstance(candidate, str) and candidate in CHANNELS:
            return candidate
    return UNKNOWN_CHANNEL


def _carried_over(tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
    if not (domain.get("session_config") or {}).get("carry_over_slots_to_new_session"):
        return []
    return [
        SlotSet(name, value)
        for name, value in tracker.current_slot_values().items()
        if value is not None and name != METADATA_SLOT
    ]


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted(), *_carried_over(tracker, domain)]
        metadata = tracker.get_slot(METADATA_SLOT)
        source = source_for(metadata.get("source")) if isinstance(metadata, dict) else None
        channel = _channel(metadata if isinstance(metadata, dict) else {}, tracker)
        record.conversation_started(channel, source and source.id, source and source.area_id)
        if source is not None:
            record_conversation_source(source.id, channel, dt.date.today())
            if source.professional:
                # A surgery's staff link: the questions speak about the patient from the start.
                events.append(SlotSet("user_role", "patient"))
        events.append(ActionExecuted("action_listen"))
        return events
