"""Rasa's REST channel with a guard at the door (credentials.yml: chatbot.channels.rest.GuardedRestInput).

Same URLs as Rasa's own (`name()` is still "rest"): GET /webhooks/rest/ answers {"status": "ok"}
(chatbot/runner.py waits on it) and POST /webhooks/rest/webhook takes
{"sender": ..., "message": ..., "metadata": {...}, "input_channel": ...} and answers the bot's
messages as a JSON list. Before Rasa sees anything (chatbot/channels/guard.py, docs/bad-input.md):

    body over 64 KB (read as a stream, never buffered whole)   413 {"error", "message"}
    not UTF-8, not JSON, wrong types, sender missing or odd     400 {"error", "message"} in plain words
    more than the sender's rate allows                          429 {"error", "message", "retry_after"}
                                                                    and a Retry-After header
    no words once cleaned (empty, spaces, control characters)  200 [a kind bot message]; Rasa not asked
    otherwise                                                   200 Rasa's replies to the cleaned text,
                                                                    plus a note when it was truncated

Nothing here logs what anyone wrote or who they are.
"""

from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from chatbot.channels import guard

logger = logging.getLogger(__name__)


def refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any):
    return response.json({"error": code, "message": message, **extra}, status=status, headers=headers)


def bot_message(recipient_id: str, text: str) -> dict[str, str]:
    """A message in the shape of Rasa's own replies on this channel."""
    return {"recipient_id": recipient_id, "text": text}


async def read_body(request: Request, limit: int = guard.MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None when it is larger than `limit` (then only `limit` bytes were read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        if request.stream is not None:
            request.stream.request_max_size = limit  # what is left is not read: the connection closes
        return None
    if request.stream is None:  # a non-streaming route (tests): Sanic has read it already
        return request.body if len(request.body) <= limit else None
    request.stream.request_max_size = limit
    body = bytearray()
    try:
        async for chunk in request.stream:
            body += chunk
            if len(body) > limit:
                return None
    except PayloadTooLarge:
        return None
    return bytes(body)


class GuardedRestInput(RestInput):
    """Rasa's REST channel, checking and cleaning every message first (see the module's docstring)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, limiter: guard.RateLimiter | None = None) -> None:
        self.limiter = limiter or guard.shared_limiter()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            body = await read_body(request)
            if body is None:
                logger.debug("REST: refused a body over %d bytes (413)", guard.MAX_BODY_BYTES)
                return refusal(413, "too_large", guard.TOO_LARGE)
            try:
                incoming = guard.parse_rest_body(body)
            except guard.BadInput as error:
                logger.debug("REST: refused a request (%d %s)", error.status, error.code)
                return refusal(error.status, error.code, error.message)

            wait = self.limiter.check(incoming.sender)
            if wait:
                seconds = guard.retry_after(wait)
                logger.debug("REST: a sender is over the rate limit (429, retry after %d s)", seconds)
                return refusal(
                    429,
                    "too_many_messages",
                    guard.too_fast_message(wait),
                    headers={"Retry-After": str(seconds)},
                    retry_after=seconds,
                )

            prepared = await guard.prepare_message_off_loop(incoming.text)
            if prepared.empty:
                return response.json([bot_message(incoming.sender, guard.NO_WORDS)])
            notes = (
                [bot_message(incoming.sender, guard.TRUNCATED.format(limit=guard.MAX_MESSAGE_CHARS))]
                if prepared.truncated
                else []
            )
            input_channel = incoming.input_channel or self.name()

            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                stream = self.stream_response(
                    on_new_message, prepared.text, incoming.sender, input_channel, incoming.metadata
                )

                async def stream_with_notes(resp: Any) -> None:
                    await stream(resp)
                    for note in notes:
                        await resp.write(json.dumps(note) + "\n")

                return response.stream(stream_with_notes, content_type="text/event-stream")

            collector = CollectingOutputChannel()
            message = UserMessage(
                prepared.text,
                collector,
                incoming.sender,
                input_channel=input_channel,
                metadata=incoming.metadata,
            )
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("REST: Rasa did not answer in time")
                notes.append(bot_message(incoming.sender, guard.SOMETHING_WENT_WRONG))
            except Exception as error:  # never a stack trace for the person; no text in the log
                logger.error("REST: handling a message failed (%s)", type(error).__name__)
                notes.append(bot_message(incoming.sender, guard.SOMETHING_WENT_WRONG))
            if not collector.messages and not notes:
                # Every turn of this assistant answers; silence means Rasa swallowed a failure
                # (an action server it could not reach), and the person must not be left waiting.
                logger.warning("REST: a message got no answer")
                notes.append(bot_message(incoming.sender, guard.SOMETHING_WENT_WRONG))
            return response.json(collector.messages + notes)

        return webhook
