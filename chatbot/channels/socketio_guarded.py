"""Rasa's socket.io channel with the same guard as the REST channel (credentials.yml:
chatbot.channels.socketio_guarded.GuardedSocketIOInput; docs/bad-input.md).

Everything else is Rasa's SocketIOInput unchanged: the name "socketio", the event names,
`session_persistence`, the /socket.io path, and the output channel (whose custom-payload fix
chatbot/channels/web.py applies). The guard wraps two event handlers Rasa registers:

- `session_request`: data that is not an object, or a session id that is not 1-128 letters, digits
  and . _ : @ + = -, gets a fresh session id instead of an error.
- the user message event: the data must be an object with the message as text; the sender (the
  session id, or the socket id without session persistence) is rate limited like a REST sender;
  the text is cleaned and capped as on the REST channel (guard.prepare_message); metadata must be
  a small object (a JSON string of one is accepted, as Rasa does), else it is dropped and the message
  still goes through. Whatever is refused gets a kind bot message on the bot event, never an error.

A polling POST over 64 KB gets HTTP 413 before Engine.IO reads it (Engine.IO's own refusal sent
no HTTP answer).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint, response

from chatbot.channels import guard

logger = logging.getLogger(__name__)

LOST_SESSION = "Sorry, I lost track of our conversation. Please reload the page and try again."


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel, checking and cleaning every message first."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, *args: Any, limiter: guard.RateLimiter | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter or guard.shared_limiter()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint
        sio.eio.max_http_buffer_size = guard.MAX_BODY_BYTES
        self._refuse_oversize_polling_posts(sio.eio)
        namespace = self.namespace or "/"
        handlers = sio.handlers[namespace]
        rasa_session_request = handlers["session_request"]
        rasa_handle_message = handlers[self.user_message_evt]

        async def say(sid: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=self.namespace)

        async def session_request(sid: str, data: Any = None, *_: Any) -> None:
            if not isinstance(data, dict):
                data = {}
            session_id = data.get("session_id")
            try:
                guard.check_sender(session_id)
            except guard.BadInput:
                session_id = uuid.uuid4().hex
            await rasa_session_request(sid, {**data, "session_id": session_id})

        async def handle_message(sid: str, data: Any = None, *_: Any) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message", ""), str):
                logger.debug("socket.io: refused a message that is not text")
                await say(sid, guard.UNREADABLE)
                return
            if self.session_persistence:
                sender = data.get("session_id")
                try:
                    guard.check_sender(sender)
                except guard.BadInput:
                    logger.debug("socket.io: refused a message without a valid session id")
                    await say(sid, LOST_SESSION)
                    return
            else:
                sender = sid

            wait = self.limiter.check(sender)
            if wait:
                logger.debug("socket.io: a sender is over the rate limit")
                await say(sid, guard.too_fast_message(wait))
                return

            prepared = await guard.prepare_message_off_loop(data.get("message", ""))
            if prepared.empty:
                await say(sid, guard.NO_WORDS)
                return
            cleaned = {"session_id": sender, "message": prepared.text}
            metadata = self._metadata(data.get(self.metadata_key))
            if metadata is not None:
                cleaned[self.metadata_key] = metadata
            try:
                await rasa_handle_message(sid, cleaned)
            except Exception as error:  # never an error for the person; no text in the log
                logger.error("socket.io: handling a message failed (%s)", type(error).__name__)
                await say(sid, guard.SOMETHING_WENT_WRONG)
                return
            if prepared.truncated:
                await say(sid, guard.TRUNCATED.format(limit=guard.MAX_MESSAGE_CHARS))

        sio.on("session_request", namespace=self.namespace)(session_request)
        sio.on(self.user_message_evt, namespace=self.namespace)(handle_message)
        return socketio_webhook

    @staticmethod
    def _refuse_oversize_polling_posts(eio: Any) -> None:
        """A long-polling POST over the limit gets 413 and a kind reason.

        Engine.IO itself refuses it by dropping the session, and python-engineio 4 then
        sent no HTTP answer at all. Its request handler is wrapped on this server only,
        before Rasa attaches it to the app (which binds the handler it finds then).
        """
        engineio_handle = eio.handle_request

        async def handle_request(request: Any, *args: Any, **kwargs: Any) -> Any:
            if request.method == "POST":
                size = int(request.headers.get("content-length") or 0) or len(request.body or b"")
                if size > guard.MAX_BODY_BYTES:
                    sid = request.args.get("sid")
                    if sid and sid in eio.sockets:  # as Engine.IO does: that session is over
                        await eio.disconnect(sid)
                    return response.json({"error": "too_large", "message": guard.TOO_LARGE}, status=413)
            return await engineio_handle(request, *args, **kwargs)

        eio.handle_request = handle_request

    @staticmethod
    def _metadata(value: Any) -> dict[str, Any] | None:
        """Small, clean metadata, or None (the message still goes through without it)."""
        if value is None:
            return None
        try:
            if isinstance(value, str) and len(value) <= guard.MAX_METADATA_BYTES:
                value = json.loads(value)
            return guard.check_metadata(value)
        except (guard.BadInput, ValueError, RecursionError):
            logger.debug("socket.io: dropped metadata that is not a small JSON object")
            return None
