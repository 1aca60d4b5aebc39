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

Two speed fixes (docs/benchmarks.md):
- Rasa checks every action server response with `jsonschema.validate`, which
  first checks the constant schema against the JSON Schema meta-schema, about
  30 ms of CPU per call and most of a message's time. We check responses with
  a validator compiled once; a response it rejects goes to Rasa's own check,
  so errors are exactly Rasa's.
- Rasa opens a new HTTP session, so a new connection, for each of the 2-3
  action calls of a message. We keep one session per endpoint and event loop.
- Rasa finds each stored event's class by walking every Event subclass, for
  every event of the conversation it reads (over a thousand walks per message).
  We remember the class found for each event name.

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


def keep_logs_free_of_personal_data() -> None:
    rasa_log_utils._anonymizer = mask_personal_values
    structlog.processors.dict_tracebacks = structlog.processors.ExceptionRenderer(
        ExceptionDictTransformer(show_locals=False)
    )


def pass_the_token_privately() -> None:
    token = os.environ.pop(RASA_TOKEN_ENV, "")  # popped: Rasa's own child processes do not need it
    if token and not any(arg.startswith("--auth-token") for arg in sys.argv):
        # One argument with "=": a token that starts with "-" would read as an option.
        sys.argv.append(f"--auth-token={token}")


def check_action_responses_with_a_compiled_validator() -> None:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    if hasattr(RemoteAction._validate_action_result, "rasas_own_check"):
        return  # already applied (tests, or the bench's instrumented server)
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, not per response
    validator = validator_class(schema)
    rasas_own_check = RemoteAction._validate_action_result

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        if validator.is_valid(result):
            return True
        # Rare, and then Rasa's own check raises its own error with its own message.
        return rasas_own_check(self, result)

    _validate_action_result.rasas_own_check = rasas_own_check  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result


# Below the action server's (Sanic: 5 s) and nginx's keep-alive, so the client always
# drops an idle connection first and never sends on one the server is closing.
IDLE_CONNECTION_SECONDS = 2.0


class _KeptOpen:
    """`async with` round a session that must stay open for the next request."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def __aenter__(self) -> Any:
        return self.session

    async def __aexit__(self, *_: object) -> None:
        return None


def reuse_connections_to_endpoints() -> None:
    import asyncio

    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
    from rasa.utils.endpoints import EndpointConfig

    if getattr(EndpointConfig.session, "kept_open", False):
        return

    def session(self: EndpointConfig) -> _KeptOpen:
        loop = asyncio.get_running_loop()
        kept = self.__dict__.get("_kept_session")
        if kept is None or kept[0] is not loop or kept[1].closed:
            auth = aiohttp.BasicAuth(**self.basic_auth) if self.basic_auth else None
            # What Rasa's EndpointConfig.session makes, with a connector that keeps connections.
            client = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
            )
            kept = (loop, client)
            self.__dict__["_kept_session"] = kept
        return _KeptOpen(kept[1])

    session.kept_open = True  # type: ignore[attr-defined]
    EndpointConfig.session = session


def remember_event_classes() -> None:
    from rasa.shared.core.events import Event

    rasas_lookup = Event.resolve_by_type
    if hasattr(rasas_lookup, "rasas_lookup"):
        return
    found: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        cls = found.get(type_name)
        if cls is None:
            # Only classes found are kept: unknown names keep Rasa's own answer (default or error).
            cls = rasas_lookup(type_name, default)
            if cls is not None and cls is not default:
                found[type_name] = cls
        return cls

    resolve_by_type.rasas_lookup = rasas_lookup  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)


def main() -> None:
    if json_logs_wanted():
        use_json_logs("rasa")  # before Rasa sets up its own logging (it then keeps ours)
    check_action_responses_with_a_compiled_validator()
    reuse_connections_to_endpoints()
    remember_event_classes()
    keep_logs_free_of_personal_data()
    pass_the_token_privately()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
