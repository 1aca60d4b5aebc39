"""Serve the local chat page from the Rasa server itself, at /webhooks/web/.

Same origin as the REST channel, so the page needs no CORS and no CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request

STATIC = Path(__file__).parent / "static"


class WebChatChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "web"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        web = Blueprint("web_chat_page", __name__)

        @web.route("/", methods=["GET"])
        async def page(_: Request) -> response.HTTPResponse:
            return await response.file(STATIC / "chat.html", mime_type="text/html; charset=utf-8")

        @web.route("/chat.js", methods=["GET"])
        async def script(_: Request) -> response.HTTPResponse:
            return await response.file(STATIC / "chat.js", mime_type="text/javascript; charset=utf-8")

        return web
