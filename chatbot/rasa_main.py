"""`python -m chatbot.rasa_main …`: Rasa's own command line, with logs that keep people's words out.

Rasa 3.6 logs through structlog. Two of its defaults could put message text,
slot values or contact details into a log file:
- its JSON renderer (used whenever output is not a terminal) prints the local
  variables of every frame of a logged exception;
- at DEBUG level, events carry the text, entities and slots; Rasa's hook for
  masking them (`_anonymizer`) does nothing without the paid Rasa Pro plugin.
We swap in a traceback renderer without locals and a masker for those keys,
before Rasa configures logging.

The HTTP API token comes in the environment (RASA_TOKEN_ENV) and is
added to Rasa's arguments here, inside the process: on the command line any
local user could read it with `ps`, while a process's environment is readable
only by its owner.

Rasa's speed adjustments (chatbot/rasa_speedups.py) are applied first.

Everything else is Rasa's unchanged `main()`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import rasa.utils.log_utils as rasa_log_utils
import structlog
from structlog.tracebacks import ExceptionDictTransformer

from chatbot.config import RASA_TOKEN_ENV
from chatbot.json_logs import json_logs_wanted, use_json_logs
from chatbot.rasa_speedups import apply_speedups

MASKED = "[masked]"
# The keys Rasa's own anonymizer lists, plus the sender id (a Telegram chat id is personal).
PERSONAL_KEYS = frozenset(
    {
        "text", "response_text", "user_text", "slot_values", "parse_data_text", "parse_data_entities",
        "prediction_events", "tracker_latest_message", "prefilled_slots", "message", "response",
        "slot_candidates", "rasa_event", "rasa_events", "tracker_states", "current_states", "old_states",
        "successes", "current_entity", "next_entity", "states", "entity", "token_text", "user_message",
        "json_message", "sender_id", "value", "slot_value", "events", "entities",
    }
)  # fmt: skip


def mask_personal_values(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in PERSONAL_KEYS.intersection(event_dict):
        event_dict[key] = MASKED
    return event_dict


# Rasa's reader of "/intent{...}" messages warns with the whole line quoted, and a person
# can type such a line with their name and number in it ("Failed to parse arguments in line").
PARSE_WARNING = "Failed to parse arguments in line"
MASKED_PARSE_WARNING = (
    "Failed to parse arguments in a message that starts with '/': [masked]. "
    "Rasa continued without the parts it could not read."
)


def mask_message_parse_warnings() -> None:
    import rasa.shared.utils.io as rasa_io

    rasas_warning = rasa_io.raise_warning
    if hasattr(rasas_warning, "rasas_warning"):
        return

    def raise_warning(message: str, *args: Any, **kwargs: Any) -> None:
        if PARSE_WARNING in str(message):
            message = MASKED_PARSE_WARNING
        rasas_warning(message, *args, **kwargs)

    raise_warning.rasas_warning = rasas_warning  # type: ignore[attr-defined]
    rasa_io.raise_warning = raise_warning


def keep_logs_free_of_personal_data() -> None:
    mask_message_parse_warnings()
    rasa_log_utils._anonymizer = mask_personal_values
    structlog.processors.dict_tracebacks = structlog.processors.ExceptionRenderer(
        ExceptionDictTransformer(show_locals=False)
    )


def pass_the_token_privately() -> None:
    token = os.environ.pop(RASA_TOKEN_ENV, "")  # popped: Rasa's own child processes do not need it
    if token and not any(arg.startswith("--auth-token") for arg in sys.argv):
        # One argument with "=": a token that starts with "-" would read as an option.
        sys.argv.append(f"--auth-token={token}")


def main() -> None:
    if json_logs_wanted():
        use_json_logs("rasa")  # before Rasa sets up its own logging (it then keeps ours)
    apply_speedups()
    keep_logs_free_of_personal_data()
    pass_the_token_privately()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
