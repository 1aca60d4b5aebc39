"""Turn the Rasa REST channel's replies into Telegram messages (no network here).

Kept apart from the bridge (chatbot/channels/telegram.py) so the rules are easy to read
and to test: what is shown, how long texts are split, how button payloads fit in
Telegram's 64-byte callback_data, and which /start payloads are accepted.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

# Telegram refuses a message longer than 4096 characters (counted after HTML parsing).
# Chunks are cut a little shorter so escaping and tags never push one over.
MESSAGE_LIMIT = 4096
CHUNK = 4000
# callback_data is at most 64 bytes.
CALLBACK_DATA_LIMIT = 64
# A /start payload from a share link https://t.me/<bot>?start=<source>.
START_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SENDER_PREFIX = "tg-"


def sender_id(secret: bytes, chat_id: int | str) -> str:
    """The Rasa sender id for a Telegram chat: a keyed hash, never the chat id itself.

    The same chat always gets the same id (so the conversation carries on), and the id
    cannot be turned back into the chat id without the key.
    """
    digest = hmac.new(secret, str(chat_id).encode(), hashlib.sha256).hexdigest()
    return SENDER_PREFIX + digest[:32]


def start_source(args: Iterable[str]) -> str | None:
    """The share-link source of `/start <payload>`, or None when absent or malformed."""
    args = list(args)
    if len(args) != 1:
        return None
    return args[0] if START_SOURCE.match(args[0]) else None


def typed_text(text: str) -> str:
    """What a person typed, as Rasa should read it.

    Rasa reads a message beginning with "/" as an intent with entities
    (`/inform{"user_role":"self"}`), skipping understanding, and with it the risk
    check. Only buttons may send intents, so leading slashes of typed text go.
    """
    return text.strip().lstrip("/").strip()


class ButtonPayloads:
    """Button payloads <-> callback_data that fits Telegram's 64 bytes.

    A short payload travels as itself ("=" + payload), so its buttons keep working after
    the bridge restarts. A longer one (`/request_referral{"service_id":"islington-mental-
    health-working"}`) travels as "#" + a hash of it, looked up here: a bounded map, oldest
    forgotten first. The hash is of the payload alone, so the same payload always gets the
    same token and showing a button again never grows the map.
    """

    DIRECT = "="
    HASHED = "#"

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._payloads)

    def token_for(self, payload: str) -> str:
        direct = self.DIRECT + payload
        if len(direct.encode()) <= CALLBACK_DATA_LIMIT:
            return direct
        digest = hashlib.sha256(payload.encode()).digest()[:15]
        token = self.HASHED + base64.urlsafe_b64encode(digest).decode()  # 21 characters
        self._payloads[token] = payload
        self._payloads.move_to_end(token)
        while len(self._payloads) > self.capacity:
            self._payloads.popitem(last=False)
        return token

    def payload_for(self, data: str | None) -> str | None:
        """The payload of a pressed button, or None when unknown (forgotten, or not ours)."""
        if not data:
            return None
        if data.startswith(self.DIRECT):
            return data[len(self.DIRECT) :] or None
        if data.startswith(self.HASHED):
            return self._payloads.get(data)
        return None


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: HTML-escaped text, and buttons as (title, payload), one per row."""

    html: str
    buttons: tuple[tuple[str, str], ...] = ()


def split_text(text: str, limit: int = CHUNK) -> list[str]:
    """Cut text into pieces of at most `limit` characters, at a paragraph, line or space if possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > limit // 2:
                cut = at
                break
        if cut == -1:
            pieces.append(window)
            rest = rest[limit:]
        else:
            pieces.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def _card_text(card: dict) -> str:
    """A card from the payload alone (no text came with it), worded like cards.details_text."""
    lines = [str(card.get("name", ""))]
    reasons = "; ".join(str(r) for r in card.get("reasons") or [])
    if reasons:
        lines.append(f"Why it fits: {reasons}.")
    if card.get("next_step"):
        lines.append(f"What happens next: {card['next_step']}")
    lines += [f"Good to know: {c}" for c in card.get("caveats") or []]
    checked = str(card.get("last_verified") or "")
    try:
        checked = dt.date.fromisoformat(checked).strftime("%-d %B %Y")
    except ValueError:
        pass
    if card.get("facts_note"):
        lines.append(f"({card['facts_note']})")
    elif checked:
        lines.append(f"(Facts last checked {checked}.)")
    return "\n".join(lines)


_NUMBERED = re.compile(r"^\d+\.\s+")


def _card_name(line: str) -> str:
    """A line as a card's name: without the number of a numbered list ("2. iWork")."""
    return _NUMBERED.sub("", line.strip())


def _text_html(text: str, card_names: set[str]) -> str:
    """Escaped text; each recommendation card's name line in bold."""
    lines = text.split("\n")
    return "\n".join(f"<b>{escape(x)}</b>" if _card_name(x) in card_names else escape(x) for x in lines)


def render(replies: list[dict]) -> list[Outgoing]:
    """The Telegram messages for one batch of Rasa replies, in order.

    - text: escaped (HTML parse mode shows it exactly as written), split under 4096;
      its buttons go on the last piece, one per row;
    - `{"recommendations": [...]}`: the bot already sends each card as text, so a card
      is shown from the payload only when its text did not come;
    - `{"referral": {...}}`: the text already gives the reference; a short line only if not;
    - image and attachment: their address as text; anything else custom: not shown.
    """
    texts = [str(r["text"]) for r in replies if isinstance(r, dict) and r.get("text")]
    card_names: set[str] = set()
    for reply in replies:
        custom = reply.get("custom") if isinstance(reply, dict) else None
        if isinstance(custom, dict) and isinstance(custom.get("recommendations"), list):
            card_names |= {str(c.get("name")) for c in custom["recommendations"] if isinstance(c, dict)}
    # The cards come as one text (a name line per card) before the payload.
    shown_lines = {_card_name(line) for t in texts for line in t.split("\n")}

    out: list[Outgoing] = []
    for reply in replies:
        if not isinstance(reply, dict):
            continue
        buttons = tuple(
            (str(b.get("title") or b.get("payload")), str(b["payload"]))
            for b in reply.get("buttons") or []
            if isinstance(b, dict) and b.get("payload")
        )
        if reply.get("text"):
            pieces = split_text(str(reply["text"]))
            for i, piece in enumerate(pieces):
                last = i == len(pieces) - 1
                out.append(Outgoing(_text_html(piece, card_names), buttons if last else ()))
            continue
        if buttons:
            out.append(Outgoing("Please choose:", buttons))
        for key in ("image", "attachment"):
            if isinstance(reply.get(key), str):
                out.append(Outgoing(escape(reply[key])))
        custom = reply.get("custom")
        if not isinstance(custom, dict):
            continue
        for card in custom.get("recommendations") or []:
            if isinstance(card, dict) and str(card.get("name")) not in shown_lines:
                out.extend(Outgoing(_text_html(p, card_names)) for p in split_text(_card_text(card)))
        referral = custom.get("referral")
        if isinstance(referral, dict) and referral.get("reference"):
            reference = str(referral["reference"])
            if not any(reference in t for t in texts):
                status = str(referral.get("status") or "received")
                out.append(Outgoing(escape(f"Referral {status}. Your reference is {reference}.")))
    return out
