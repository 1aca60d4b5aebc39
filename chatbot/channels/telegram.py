"""The Telegram bridge: python-telegram-bot on one side, Rasa's REST channel on the other.

    TELEGRAM_BOT_TOKEN=... python -m chatbot.channels.telegram        # polling (the default)
    TELEGRAM_MODE=webhook TELEGRAM_WEBHOOK_URL=https://bot.example.org/telegram ...

Each Telegram update becomes one `POST {RASA_URL}/webhooks/rest/webhook` with
`{"sender", "message", "input_channel": "telegram", "metadata"}`; the replies are
rendered by chatbot/channels/telegram_render.py. See docs/telegram.md.

Privacy: Rasa never sees the chat id (the sender is a keyed hash of it, "tg-…"), the
bridge never forwards names, usernames, phone numbers, photos or files, and its log
says what kind of update came and how it went, never what anyone wrote. httpx and
python-telegram-bot log at WARNING only: their INFO lines carry request URLs, which
contain the bot token (and the token is masked in anything this process logs).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import re
import secrets
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from chatbot.channels.telegram_render import (
    MESSAGE_LIMIT,
    ButtonPayloads,
    Outgoing,
    escape,
    render,
    sender_id,
    start_source,
    typed_text,
)

logger = logging.getLogger("chatbot.telegram")

TELEGRAM_API = "https://api.telegram.org"
# What the commands send to Rasa (intents of domain.yml, or text for the NLU).
GREETING = "hi"
RESTART = "/start_again"
DELETE = "/ask_data_delete"
HELP = "what can you do?"
SUMMARY = "/request_summary"  # the services, how to contact them, the reference, help now

RASA_DOWN = "Sorry, I cannot answer just now. Please try again in a moment."
ONLY_TEXT = (
    "Sorry, I can only read typed text messages, not pictures, stickers, voice notes or files. "
    "Please type your message."
)
UNKNOWN_COMMAND = (
    "I know /start, /restart (start the questions again), /delete (delete what I hold about you) "
    "and /help. Otherwise, just type your message."
)
NO_WORDS = "I did not find any words in that. Please type your message."
EDITED = "I only read new messages, not changes to old ones. Please send it again as a new message."
GROUP = "Please talk to me in a private chat with me, not in a group: what you tell me is personal."
EXPIRED_BUTTON = "That button no longer works. Please type your answer, or send /restart to begin again."
ALREADY_CHOSEN = "Already chosen"

COMMANDS = (
    ("start", "Begin"),
    ("restart", "Start the questions again"),
    ("delete", "Delete what I hold about you"),
    ("summary", "Your details to keep"),
    ("help", "What I can do"),
)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "tornado", "apscheduler", "hpack", "asyncio")


# --- settings ------------------------------------------------------------------------


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which and what to do."""


@dataclass(frozen=True)
class BridgeSettings:
    token: str
    api_base_url: str  # Telegram's, or a stand-in's: methods are at {api_base_url}/bot<token>/<method>
    mode: str  # polling | webhook
    rasa_url: str
    rasa_timeout: float
    webhook_url: str
    webhook_secret: str
    webhook_listen: str
    webhook_port: int
    log_level: str

    @property
    def webhook_path(self) -> str:
        """The local path the webhook server answers on: the public URL's path."""
        return urlsplit(self.webhook_url).path.strip("/")


def _get(env: Mapping[str, str], name: str, default: str = "") -> str:
    return (env.get(name) or "").strip() or default


def load_bridge_settings(env: Mapping[str, str] | None = None) -> BridgeSettings:
    env = os.environ if env is None else env
    token = _get(env, "TELEGRAM_BOT_TOKEN")
    if not token:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token.")
    mode = _get(env, "TELEGRAM_MODE", "polling").lower()
    if mode not in ("polling", "webhook"):
        raise SettingsError(f"TELEGRAM_MODE must be 'polling' or 'webhook', not '{mode}'.")
    api = _get(env, "TELEGRAM_API_BASE_URL", TELEGRAM_API).rstrip("/")
    api = api.removesuffix("/bot")  # accept python-telegram-bot's form too
    webhook_url = _get(env, "TELEGRAM_WEBHOOK_URL")
    if mode == "webhook" and not webhook_url.startswith(("https://", "http://")):
        raise SettingsError(
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL, the public https:// address Telegram posts "
            "to (your reverse proxy), e.g. https://bot.example.org/telegram"
        )
    secret = _get(env, "TELEGRAM_WEBHOOK_SECRET")
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise SettingsError("TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -, at most 256.")
    try:
        port = int(_get(env, "TELEGRAM_WEBHOOK_PORT", "8088"))
        timeout = float(_get(env, "TELEGRAM_RASA_TIMEOUT", "60"))
    except ValueError as error:
        raise SettingsError(
            f"TELEGRAM_WEBHOOK_PORT and TELEGRAM_RASA_TIMEOUT must be numbers ({error})."
        ) from None
    return BridgeSettings(
        token=token,
        api_base_url=api,
        mode=mode,
        rasa_url=_get(env, "RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
        rasa_timeout=timeout,
        webhook_url=webhook_url,
        # Telegram echoes it in X-Telegram-Bot-Api-Secret-Token. setWebhook runs at every
        # start, so a fresh random one is as good as a configured one for a single process.
        webhook_secret=secret or secrets.token_urlsafe(32),
        webhook_listen=_get(env, "TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"),
        webhook_port=port,
        log_level=_get(env, "TELEGRAM_LOG_LEVEL", "INFO").upper(),
    )


def telegram_secret() -> bytes:
    """The key of the sender-id hash, derived from the referral encryption key."""
    from chatbot.referrals.crypto import derived_secret, load_key

    return derived_secret(load_key(), "telegram")


# --- logging -------------------------------------------------------------------------


class _PrivateFormatter(logging.Formatter):
    """What the libraries log, without its data; and the bot token in no line at all.

    python-telegram-bot logs a whole update it cannot read (names, usernames, text) at
    CRITICAL, and tracebacks can quote values: from library loggers only the message's
    template, its numbers and the exception's class are kept.
    """

    def __init__(self, fmt: str, secrets_to_mask: Sequence[str]) -> None:
        super().__init__(fmt)
        self._masks = [s for s in secrets_to_mask if s]

    def format(self, record: logging.LogRecord) -> str:
        if record.name.split(".")[0] in QUIET_LOGGERS:
            record = logging.makeLogRecord(record.__dict__)
            error = record.exc_info[1] if record.exc_info else None
            record.msg = str(record.msg) + (f" [{type(error).__name__}]" if error else "")
            record.args = tuple(_safe_arg(a) for a in _args_of(record))
            record.exc_info = record.exc_text = record.stack_info = None
        try:
            text = super().format(record)
        except (TypeError, ValueError):  # the template wanted what was left out
            record = logging.makeLogRecord({**record.__dict__, "args": None})
            text = super().format(record)
        for secret in self._masks:
            text = text.replace(secret, "[secret]")
        return text


def _args_of(record: logging.LogRecord) -> tuple:
    if isinstance(record.args, tuple):
        return record.args
    return (record.args,) if record.args else ()


class _LeftOut:
    def __repr__(self) -> str:
        return "…"

    __str__ = __repr__


def _safe_arg(value: object) -> object:
    """Numbers stay; an exception becomes its class; anything else (text, updates) is left out."""
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, BaseException):
        return type(value).__name__
    return _LeftOut()


def configure_logging(settings: BridgeSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _PrivateFormatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", [settings.token, settings.webhook_secret]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level if settings.log_level in LOG_LEVELS else "INFO")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# --- Rasa ----------------------------------------------------------------------------


class RasaUnavailable(RuntimeError):
    """Rasa did not answer, or answered with an error (the reason is the error's class only)."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float) -> None:
        # trust_env=False: Rasa is ours, never reached through a proxy from the environment.
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout, connect=5.0), trust_env=False
        )

    async def send(self, sender: str, message: str, metadata: dict[str, Any] | None = None) -> list[dict]:
        body: dict[str, Any] = {"sender": sender, "message": message, "input_channel": "telegram"}
        if metadata:
            body["metadata"] = metadata
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            replies = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise RasaUnavailable(type(error).__name__) from None
        if not isinstance(replies, list):
            raise RasaUnavailable("not a list")
        return [r for r in replies if isinstance(r, dict)]

    async def close(self) -> None:
        await self._client.aclose()


# --- one update at a time per chat ----------------------------------------------------


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat one after another, in order.

    Tasks start in the order updates arrive, and asyncio's Lock wakes waiters first in,
    first out, so a button pressed right after a typed message is handled after it.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


# --- the bridge ----------------------------------------------------------------------


class SaidInChats:
    """The ids of recent messages in each chat (the person's and ours), so "delete my data"
    can delete them. Kept in this process's memory only, for at most DELETABLE_HOURS, and at
    most MAX_REMEMBERED a chat: a restart forgets them, and then the reply says to delete the
    chat in the app."""

    def __init__(self) -> None:
        self._ids: dict[int, collections.deque] = {}

    def remember(self, chat_id: int, message_id: int) -> None:
        now = time.time()
        ids = self._ids.setdefault(chat_id, collections.deque(maxlen=MAX_REMEMBERED))
        ids.append((message_id, now))
        while ids and now - ids[0][1] > DELETABLE_HOURS * 3600:
            ids.popleft()

    def take(self, chat_id: int) -> list[int]:
        now = time.time()
        ids = self._ids.pop(chat_id, collections.deque())
        return [message_id for message_id, at in ids if now - at < DELETABLE_HOURS * 3600]


DELETABLE_HOURS = 47  # the Bot API deletes messages under 48 hours old; an hour's margin
MAX_REMEMBERED = 500


class TelegramBridge:
    def __init__(self, settings: BridgeSettings, secret: bytes) -> None:
        self.settings = settings
        self._secret = secret
        self.payloads = ButtonPayloads()
        self.rasa = RasaClient(settings.rasa_url, settings.rasa_timeout)
        # (chat, message) whose keyboard was used: a second quick press is not sent again.
        self._pressed: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._said = SaidInChats()  # for "delete my data": which messages to delete
        # Each chat's message whose keyboard is still live: any answer, typed or tapped, closes it.
        self._open_keyboard: dict[int, int] = {}

    # -- wiring --

    def build_application(self) -> Application:
        api = self.settings.api_base_url
        application = (
            Application.builder()
            .token(self.settings.token)
            .base_url(f"{api}/bot")
            .base_file_url(f"{api}/file/bot")
            .defaults(
                Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
            )
            .concurrent_updates(PerChatUpdateProcessor())
            .job_queue(None)
            .post_init(self._post_init)
            .post_shutdown(self._post_shutdown)
            .build()
        )
        private = filters.ChatType.PRIVATE
        new = filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler("start", self.on_start, filters=private & new))
        application.add_handler(CommandHandler("restart", self.on_restart, filters=private & new))
        application.add_handler(CommandHandler("delete", self.on_delete, filters=private & new))
        application.add_handler(CommandHandler("help", self.on_help, filters=private & new))
        application.add_handler(CommandHandler("summary", self.on_summary, filters=private & new))
        application.add_handler(CallbackQueryHandler(self.on_button))
        application.add_handler(MessageHandler(private & new & filters.COMMAND, self.on_unknown_command))
        application.add_handler(MessageHandler(private & new & filters.TEXT, self.on_text))
        application.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, self.on_edited))
        application.add_handler(
            MessageHandler(private & new & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_not_text)
        )
        application.add_handler(
            MessageHandler(filters.ChatType.GROUPS & new & filters.COMMAND, self.on_group)
        )
        application.add_error_handler(self.on_error)
        return application

    async def _post_init(self, application: Application) -> None:
        try:
            await application.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        except TelegramError as error:
            logger.warning("could not set the command menu: %s", type(error).__name__)

    async def _post_shutdown(self, application: Application) -> None:
        await self.rasa.close()

    # -- handlers --

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        source = start_source(context.args or [])
        # With the channel: on a new conversation Rasa's tracker does not know it yet
        # when action_session_start counts the arrival (actions/session.py).
        metadata = {"source": source, "channel": "telegram"} if source else None
        await self.converse(update, context, GREETING, metadata, kind="start")

    async def on_restart(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.converse(update, context, RESTART, kind="restart")

    async def on_delete(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.converse(update, context, DELETE, kind="delete")

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.converse(update, context, HELP, kind="help")

    async def on_summary(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.converse(update, context, SUMMARY, kind="summary")

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        text = typed_text(update.effective_message.text or "")
        if not text:
            await self.say(context, update.effective_chat.id, escape(NO_WORDS))
            logger.info("update: empty text")
            return
        await self._close_keyboard(context, update.effective_chat.id)
        await self.converse(update, context, text, kind="text")

    async def _close_keyboard(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """A typed answer closes the last keyboard, so a stale tap cannot answer a later question."""
        message_id = self._open_keyboard.pop(chat_id, None)
        if message_id is None:
            return
        self._pressed[(chat_id, message_id)] = None  # a tap on it now gets "already chosen"
        try:
            await context.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
        except TelegramError as error:
            logger.info("could not close a keyboard: %s", type(error).__name__)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        message = query.message if isinstance(query.message, Message) else None
        chat_id = update.effective_chat.id if update.effective_chat else None
        if chat_id is None:
            await self._answer(query)
            return
        key = (chat_id, message.message_id) if message else None
        if key and key in self._pressed:
            await self._answer(query, ALREADY_CHOSEN)
            return
        title = self._pressed_title(message, query.data)
        payload = self.payloads.payload_for(query.data)
        if payload is None and title:
            # A button from before a restart whose payload is forgotten: its words, as if typed.
            payload = typed_text(title)
        if not payload:
            await self._answer(query)
            await self.say(context, chat_id, escape(EXPIRED_BUTTON))
            logger.info("update: button (expired)")
            return
        await self._answer(query)
        if key:
            if self._open_keyboard.get(chat_id) == key[1]:
                del self._open_keyboard[chat_id]
            self._pressed[key] = None
            while len(self._pressed) > 10_000:
                self._pressed.popitem(last=False)
            await self._show_choice(message, title)
        await self.converse(update, context, payload, kind="button")

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.say(context, update.effective_chat.id, escape(UNKNOWN_COMMAND))
        logger.info("update: unknown command")

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.say(context, update.effective_chat.id, escape(EDITED))
        logger.info("update: edited message")

    async def on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Photos, stickers, voice, files, contacts, locations: never forwarded anywhere.
        await self.say(context, update.effective_chat.id, escape(ONLY_TEXT))
        logger.info("update: not text")

    async def on_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.say(context, update.effective_chat.id, escape(GROUP))
        logger.info("update: group command")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The class only: an exception's text can carry what someone wrote.
        error = context.error
        logger.error("update failed: %s", type(error).__name__ if error else "unknown")

    # -- talking to Rasa and to the person --

    async def converse(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        message: str,
        metadata: dict[str, Any] | None = None,
        *,
        kind: str,
    ) -> None:
        chat_id = update.effective_chat.id
        started = time.monotonic()
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError:
            pass
        try:
            replies = await self.rasa.send(sender_id(self._secret, chat_id), message, metadata)
        except RasaUnavailable as error:
            logger.warning("update: %s; Rasa unavailable (%s)", kind, error)
            await self.say(context, chat_id, escape(RASA_DOWN))
            return
        if update.effective_message is not None:
            self._said.remember(chat_id, update.effective_message.message_id)
        if any(isinstance(r, dict) and (r.get("custom") or {}).get("erased") for r in replies):
            await self._delete_what_was_said(context, chat_id)
        messages = render(replies)
        for outgoing in messages:
            await self.send(context, chat_id, outgoing)
        logger.info(
            "update: %s -> %d messages in %.0f ms", kind, len(messages), (time.monotonic() - started) * 1000
        )

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, outgoing: Outgoing) -> None:
        markup = None
        if outgoing.buttons:
            markup = InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(title, callback_data=self.payloads.token_for(payload))]
                    for title, payload in outgoing.buttons
                ]
            )
        await self.say(context, chat_id, outgoing.html, markup)

    async def say(
        self,
        context: ContextTypes.DEFAULT_TYPE,
        chat_id: int,
        html: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        for attempt in range(3):
            try:
                sent = await context.bot.send_message(chat_id, html, reply_markup=markup)
                self._said.remember(chat_id, sent.message_id)
                if markup is not None:
                    self._open_keyboard[chat_id] = sent.message_id
                return
            except RetryAfter as error:  # Telegram's flood control: wait as told, then again
                delay = error.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                await asyncio.sleep(min(seconds, 30.0))
            except NetworkError as error:
                if attempt == 2:
                    logger.error("could not send a message: %s", type(error).__name__)
                    return
                await asyncio.sleep(0.5 * (attempt + 1))
            except TelegramError as error:
                logger.error("could not send a message: %s", type(error).__name__)
                return
        logger.error("could not send a message: flood control")

    async def _delete_what_was_said(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        """After "delete my data": delete this chat's messages, ours and the person's, where the
        Bot API allows it (private chats, under 48 hours old); the final reply says what stays."""
        deleted = 0
        for message_id in self._said.take(chat_id):
            try:
                if await context.bot.delete_message(chat_id, message_id):
                    deleted += 1
            except TelegramError:
                continue  # too old, or already gone: Telegram keeps it, and the reply says so
        logger.info("erasure: %d chat messages deleted", deleted)

    @staticmethod
    def _pressed_title(message: Message | None, data: str | None) -> str:
        if message is None or message.reply_markup is None:
            return ""
        for row in message.reply_markup.inline_keyboard:
            for button in row:
                if button.callback_data == data:
                    return button.text
        return ""

    @staticmethod
    async def _answer(query: Any, text: str | None = None) -> None:
        try:
            await query.answer(text)
        except TelegramError:
            pass  # too late to answer (over 15 s): the spinner stops by itself

    @staticmethod
    async def _show_choice(message: Message, title: str) -> None:
        """The question stays, its buttons go, and the choice shows under it."""
        try:
            text = message.text_html if message.text else ""
            choice = f"\n\n→ <i>{escape(title)}</i>" if title else ""
            if text and len(message.text) + len(title) + 4 <= MESSAGE_LIMIT:
                await message.edit_text(text + choice, reply_markup=None)
            else:
                await message.edit_reply_markup(reply_markup=None)
        except TelegramError as error:
            logger.info("could not show the choice: %s", type(error).__name__)


# --- running -------------------------------------------------------------------------


def run_bridge(settings: BridgeSettings, secret: bytes | None = None) -> None:
    """Serve until SIGINT or SIGTERM, by long polling or by a webhook (docs/telegram.md)."""
    bridge = TelegramBridge(settings, secret if secret is not None else telegram_secret())
    application = bridge.build_application()
    logger.info(
        "Telegram bridge starting (%s mode); Telegram API at %s; Rasa at %s",
        settings.mode,
        settings.api_base_url,
        settings.rasa_url,
    )
    if settings.mode == "webhook":
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=3,
        )
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)
    logger.info("Telegram bridge stopped")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chatbot.channels.telegram",
        description="The Telegram bridge to the Rasa server (settings: environment, docs/telegram.md).",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve (the default)")
    lookup = sub.add_parser("sender-id", help="print the Rasa sender id of a Telegram chat id (for erasure)")
    lookup.add_argument("chat_id", type=int)
    args = parser.parse_args(argv)

    if args.command == "sender-id":
        print(sender_id(telegram_secret(), args.chat_id))
        return 0
    try:
        settings = load_bridge_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        run_bridge(settings)
    except InvalidToken:
        logger.error("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather.")
        return 2
    except NetworkError as error:
        logger.error("could not reach Telegram at %s: %s", settings.api_base_url, type(error).__name__)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
