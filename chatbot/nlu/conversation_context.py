"""Let an NLU component see the conversation a message belongs to.

Rasa 3.6 gives NLU components the message alone, but the risk check must read a
message in the light of the conversation's recent signals ("goodbye" after
"I've been saving my tablets" is urgent). Rasa's processor does hold the tracker
while it parses (`MessageProcessor.parse_message(message, tracker)`); we keep it
in a context variable for exactly that call, so the component can read it and
nothing else changes. Outside a conversation (training, `rasa test nlu`, a bare
parse) the component sees no tracker and reads the message on its own.
"""

from __future__ import annotations

import contextvars
from typing import Any

_tracker: contextvars.ContextVar[Any] = contextvars.ContextVar("conversation_tracker", default=None)


def current_tracker() -> Any:
    """The tracker of the message being parsed, or None outside a conversation."""
    return _tracker.get()


def give_nlu_the_conversation() -> None:
    """Wrap MessageProcessor.parse_message so the tracker is visible while it runs; idempotent."""
    from rasa.core.processor import MessageProcessor

    rasas_parse = MessageProcessor.parse_message
    if hasattr(rasas_parse, "rasas_parse"):
        return

    async def parse_message(
        self: MessageProcessor, message: Any, tracker: Any = None, *args: Any, **kwargs: Any
    ):
        token = _tracker.set(tracker)
        try:
            return await rasas_parse(self, message, tracker, *args, **kwargs)
        finally:
            _tracker.reset(token)

    parse_message.rasas_parse = rasas_parse  # type: ignore[attr-defined]
    MessageProcessor.parse_message = parse_message
