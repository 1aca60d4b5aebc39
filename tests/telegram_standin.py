"""A small stand-in for the Telegram Bot API, over real HTTP on loopback (aiohttp).

It answers what python-telegram-bot calls (getMe, getUpdates with long polling and
offset semantics, sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage,
answerCallbackQuery, sendChatAction, setMyCommands, setWebhook, deleteWebhook, ...),
records every call, and lets a test play the person: type a message, press a button,
send /start with a payload, send a photo. Like Telegram, it refuses a text over 4096
characters, HTML it cannot parse, and callback_data over 64 bytes, so the bridge's
output is checked against the real limits.

It runs in a thread with its own event loop; every method a test calls is thread-safe.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000000001
BOT_USERNAME = "signpost_test_bot"
# Form fields python-telegram-bot sends as plain strings; every other one is JSON.
STRING_FIELDS = {"text", "parse_mode", "callback_query_id", "url", "secret_token", "action", "ip_address"}
ALLOWED_TAGS = re.compile(
    r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|tg-spoiler|blockquote)>|<a href=\"[^\"]*\">|</a>"
)
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def plain_text(text: str, parse_mode: str | None) -> str:
    """What Telegram would show: HTML checked like Telegram does, tags removed."""
    if (parse_mode or "").upper() != "HTML":
        return text
    without_tags = ALLOWED_TAGS.sub("", text)
    if "<" in without_tags or ">" in without_tags:
        raise ApiError(400, "Bad Request: can't parse entities: unsupported start tag")
    if "&" in ENTITY.sub("", without_tags):
        raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
    return html.unescape(without_tags)


class TelegramStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], dict] = {}  # every message of every chat, by (chat, id)
        self._loop = asyncio.new_event_loop()
        self._new_update: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="telegram-standin")
        self.port = 0

    # -- life --

    def start(self) -> TelegramStandIn:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._new_update = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    @property
    def url(self) -> str:
        """What TELEGRAM_API_BASE_URL should be: methods are at {url}/bot<token>/<method>."""
        return f"http://127.0.0.1:{self.port}"

    # -- the HTTP side (runs in the stand-in's loop) --

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        with self._lock:
            self.calls.append(Call(method, params))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        try:
            result = await handler(params)
        except ApiError as error:
            return web.json_response(
                {"ok": False, "error_code": error.code, "description": error.description}, status=error.code
            )
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if not isinstance(value, str):
                continue  # a file upload: not used by the bridge
            if key in STRING_FIELDS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        return params

    async def _api_getMe(self, params: dict) -> dict:  # noqa: N802 (Telegram's method names)
        return self.bot_user()

    async def _api_getUpdates(self, params: dict) -> list[dict]:  # noqa: N802
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        assert self._new_update is not None
        async with self._new_update:
            if offset:
                # Telegram forgets every update before the offset: they are confirmed.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout:
                try:
                    await asyncio.wait_for(self._new_update.wait_for(lambda: bool(self._updates)), timeout)
                except asyncio.TimeoutError:
                    pass
            return list(self._updates[:limit])

    async def _api_deleteWebhook(self, params: dict) -> bool:  # noqa: N802
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict) -> bool:  # noqa: N802
        self.webhook = dict(params)
        return True

    async def _api_getWebhookInfo(self, params: dict) -> dict:  # noqa: N802
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    async def _api_setMyCommands(self, params: dict) -> bool:  # noqa: N802
        return True

    async def _api_sendChatAction(self, params: dict) -> bool:  # noqa: N802
        return True

    async def _api_answerCallbackQuery(self, params: dict) -> bool:  # noqa: N802
        return True

    async def _api_sendMessage(self, params: dict) -> dict:  # noqa: N802
        chat_id = int(params["chat_id"])
        text = plain_text(str(params.get("text", "")), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        self._check_markup(markup)
        message = self._new_message(chat_id, self.bot_user(), text)
        if markup:
            message["reply_markup"] = markup
        return message

    async def _api_editMessageText(self, params: dict) -> dict:  # noqa: N802
        message = self._message(params)
        text = plain_text(str(params.get("text", "")), params.get("parse_mode"))
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        message["text"] = text
        self._set_markup(message, params.get("reply_markup"))
        return message

    async def _api_editMessageReplyMarkup(self, params: dict) -> dict:  # noqa: N802
        message = self._message(params)
        self._set_markup(message, params.get("reply_markup"))
        return message

    async def _api_deleteMessage(self, params: dict) -> bool:  # noqa: N802
        """As Telegram: a private chat's messages, the bot's and the person's, under 48 hours old."""
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._lock:
            message = self._messages.get(key)
            if message is None:
                raise ApiError(400, "Bad Request: message to delete not found")
            if time.time() - message["date"] >= 48 * 3600:
                raise ApiError(400, "Bad Request: message can't be deleted")
            del self._messages[key]
        return True

    def messages_in(self, chat_id: int) -> list[dict]:
        """What the chat still shows, oldest first."""
        with self._lock:
            return [m for (chat, _), m in sorted(self._messages.items()) if chat == chat_id]

    def _message(self, params: dict) -> dict:
        message = self._messages.get((int(params["chat_id"]), int(params["message_id"])))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _set_markup(self, message: dict, markup: Any) -> None:
        self._check_markup(markup)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    @staticmethod
    def _check_markup(markup: Any) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _new_message(self, chat_id: int, sender: dict, text: str | None) -> dict:
        with self._lock:
            ids = self._message_ids.setdefault(chat_id, itertools.count(1))
            message_id = next(ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "first_name": "Test"},
            "from": sender,
        }
        if text is not None:
            message["text"] = text
        with self._lock:
            self._messages[(chat_id, message_id)] = message
        return message

    async def _add_update(self, build: Callable[[], dict]) -> dict:
        assert self._new_update is not None
        async with self._new_update:
            update = build()
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
            self._new_update.notify_all()
        return update

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    # -- the person's side (called from tests) --

    @staticmethod
    def bot_user() -> dict:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Signpost",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @staticmethod
    def user(chat_id: int) -> dict:
        return {"id": abs(chat_id), "is_bot": False, "first_name": "Alex", "username": "alex_private"}

    def message_update(self, chat_id: int, text: str | None = None, **extra: Any) -> dict:
        """A new message as a Telegram update, not queued: to post to a webhook (user_says queues one)."""

        def build() -> dict:
            message = self._new_message(chat_id, self.user(chat_id), text)
            command = re.match(r"/[A-Za-z0-9_]{1,32}(@\w+)?", text or "")
            if command:  # as Telegram marks it: "/start x" is a command, "/ x" is not
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
            message.update(extra)
            return {"update_id": next(self._update_ids), "message": message}

        return build()

    def user_says(self, chat_id: int, text: str) -> dict:
        """The person sends a text (or a command such as "/start mentor-scheme")."""

        def build() -> dict:
            return self.message_update(chat_id, text)

        return self._run(self._add_update(build))

    def send_photo(self, chat_id: int, caption: str | None = None) -> dict:
        photo = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 90, "height": 90}]
        extra: dict[str, Any] = {"photo": photo}
        if caption:
            extra["caption"] = caption
        return self._run(self._add_update(lambda: self.message_update(chat_id, None, **extra)))

    def send_sticker(self, chat_id: int) -> dict:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._run(self._add_update(lambda: self.message_update(chat_id, None, sticker=sticker)))

    def press(self, chat_id: int, title: str, message: dict | None = None) -> dict:
        """The person presses the button called `title` (in `message`, else the newest keyboard)."""
        message = message or self.last_keyboard(chat_id)
        assert message, f"no message with buttons in chat {chat_id}"
        data = next(
            (
                b["callback_data"]
                for row in message["reply_markup"]["inline_keyboard"]
                for b in row
                if b["text"] == title
            ),
            None,
        )
        assert data is not None, f"no button {title!r} in {message['reply_markup']}"
        return self.press_data(chat_id, message, data)

    def press_data(self, chat_id: int, message: dict, data: str) -> dict:
        def build() -> dict:
            query_id = f"q{time.monotonic_ns()}"
            return {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(chat_id),
                    "chat_instance": f"ci{chat_id}",
                    "message": dict(message),
                    "data": data,
                }
            }

        return self._run(self._add_update(build))

    # -- what the bot did --

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def calls_of(self, method: str, since: int = 0, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            calls = self.calls[since:]
        return [
            c
            for c in calls
            if c.method == method and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]

    def texts(self, chat_id: int, since: int = 0) -> list[str]:
        """The texts the bot sent to a chat since a mark, as the person would read them."""
        return [
            plain_text(c.params["text"], c.params.get("parse_mode"))
            for c in self.calls_of("sendMessage", since, chat_id)
        ]

    def last_keyboard(self, chat_id: int) -> dict | None:
        with self._lock:
            mine = [m for (chat, _), m in self._messages.items() if chat == chat_id and m.get("reply_markup")]
        return mine[-1] if mine else None

    def wait_for_text(self, chat_id: int, needle: str, since: int = 0, timeout: float = 30) -> list[str]:
        """Wait until the bot sends a text containing `needle`; then every text since the mark."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.texts(chat_id, since)
            if any(needle in t for t in texts):
                return texts
            time.sleep(0.05)
        raise AssertionError(
            f"no message containing {needle!r} within {timeout} s; got {self.texts(chat_id, since)}"
        )

    def wait_for_call(self, method: str, since: int = 0, timeout: float = 30) -> Call:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = self.calls_of(method, since)
            if calls:
                return calls[0]
            time.sleep(0.05)
        raise AssertionError(f"the bot did not call {method} within {timeout} s")
