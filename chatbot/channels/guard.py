"""What every front door checks before a message reaches Rasa (issue 7; docs/bad-input.md).

Pure functions and one small class, shared by the REST channel (chatbot/channels/rest.py) and the
socket.io channel (chatbot/channels/socketio_guarded.py):

- `clean_text`: NFC, line breaks as "\\n", no control characters (newline and tab stay), no lone
  surrogates, no byte-order mark and no bidirectional embedding/override/isolate characters.
- `prepare_message`: `clean_text`, then a cap of MAX_MESSAGE_CHARS. Longer text is truncated (at a
  word boundary when one is near) and the person is told. Truncation never hides risk: the whole
  message is searched with the same risk check the NLU runs, and when it carries a risk category
  the kept part does not, short passages carrying the risk are appended to the text Rasa reads, so
  a crisis phrase late in a long message still gets the urgent-help answer.
- `parse_rest_body`: the REST body, checked field by field, with errors in plain words.
- `RateLimiter`: a token bucket per sender (CHAT_RATE_BURST, CHAT_RATE_PER_SECOND), in memory,
  for at most `max_senders` senders (least recently seen forgotten first).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# --- limits ------------------------------------------------------------------------------------

MAX_MESSAGE_CHARS = 2_000  # what Rasa reads of one message (about a page of text)
MAX_BODY_BYTES = 64 * 1024  # a REST request body, or a socket.io polling POST, larger is refused
MAX_METADATA_BYTES = 4 * 1024  # metadata is stored in the tracker with the message
MAX_METADATA_DEPTH = 8
MAX_SENDER_CHARS = 128
# A message longer than MAX_MESSAGE_CHARS is searched for risk whole, in overlapping pieces (the risk
# check itself reads only the start and the end of a text over 20,000 characters). It costs about
# 6 µs a character: 0.4 s for the longest message a 64 KB body can carry, which is why it runs off
# the event loop (prepare_message_off_loop). Beyond MAX_RISK_SCAN_CHARS only the start and the end.
RISK_CHUNK_CHARS = 16_000
RISK_CHUNK_OVERLAP = 500
MAX_RISK_SCAN_CHARS = 100_000
RISK_PASSAGE_CHARS = 240  # a passage kept for the risk check (+ up to 20 each side, to whole words)

DEFAULT_BURST = 20
DEFAULT_PER_SECOND = 1.0
DEFAULT_MAX_SENDERS = 10_000
BURST_ENV = "CHAT_RATE_BURST"
PER_SECOND_ENV = "CHAT_RATE_PER_SECOND"

# --- what the person reads ---------------------------------------------------------------------

NO_WORDS = "I did not find any words in that. Please type your message."
TRUNCATED = (
    "Your message was long, so I read only the first {limit:,} characters of it. If there was "
    "more you wanted me to know, please send it in a shorter message."
)
TOO_FAST = (
    "You are sending messages faster than I can read them. Please wait {seconds} "
    "{unit}, then send your message again."
)
TOO_LARGE = "That message is too large for me to read (the limit is 64 KB). Please send a shorter message."
UNREADABLE = "Sorry, I could not read that message. Please type it again."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please send your message again."

BODY_EXAMPLE = '{"sender": "me", "message": "hi"}'

# --- cleaning ------------------------------------------------------------------------------------

# C0 and C1 controls except tab and newline; lone surrogates (JSON "\ud800" decodes to one);
# the byte-order mark; bidirectional embeddings, overrides and isolates (they can make stored text
# read differently from what it is). Joiners (U+200C, U+200D: emoji, Persian) and the
# left-to-right / right-to-left marks stay.
_DROP = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029]")
# Characters that belong to the one before them: a cut is never made just before one of these.
_JOINED = frozenset("\u200d\ufe0e\ufe0f\u20e3")


def clean_text(text: str) -> str:
    """Line breaks as "\\n", no control characters (but newline and tab), NFC, no outer whitespace."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _DROP.sub("", text)
    return unicodedata.normalize("NFC", text).strip()


def _belongs_to_previous(text: str, index: int) -> bool:
    char = text[index]
    return (
        char in _JOINED
        or unicodedata.category(char) in ("Mn", "Mc", "Me")
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tones
        or "\U000e0020" <= char <= "\U000e007f"  # emoji tag sequences
        or text[index - 1] == "\u200d"
    )


def cap_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """At most `limit` characters: cut at a word boundary when one is near, never inside a character
    made of several code points (accents, emoji sequences)."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > 0 and limit - cut < 32 and _belongs_to_previous(text, cut):
        cut -= 1
    if cut == 0 or limit - cut >= 32:
        cut = limit  # a pathological run of marks: a plain cut, still within the limit
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1))
    if space >= cut - 100 and space > 0:
        cut = space
    return clean_text(text[:cut])


# --- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedMessage:
    text: str  # what Rasa reads: clean, at most MAX_MESSAGE_CHARS
    truncated: bool  # the person wrote more than Rasa reads: tell them
    original_chars: int  # length after cleaning, before the cap
    risk_passages: int = 0  # passages appended so that the NLU's risk check still sees the risk

    @property
    def empty(self) -> bool:
        return not self.text


RiskCheck = Callable[[str], Iterable[str]]  # text -> the risk categories it carries


def risk_categories(text: str) -> tuple[str, ...]:
    """The risk chatbot/safety sees in `text` (the same check the NLU pipeline runs), as
    "level:category": a passage kept for it must keep its level too, not only its kind."""
    from chatbot.safety import assess_risk

    found = assess_risk(text)
    return tuple(f"{found.level}:{category}" for category in found.categories)


def prepare_message(
    text: str, limit: int = MAX_MESSAGE_CHARS, risk: RiskCheck | None = risk_categories
) -> PreparedMessage:
    """Clean the text and cap it; passages carrying risk the kept part would lose are kept too."""
    cleaned = clean_text(text)
    if len(cleaned) <= limit:
        return PreparedMessage(cleaned, truncated=False, original_chars=len(cleaned))
    head = cap_text(cleaned, limit)
    passages = _risk_passages(cleaned, head, risk) if risk else []
    kept = head
    if passages:
        tail = " … " + " … ".join(passages)
        kept = clean_text(cap_text(cleaned, max(limit - len(tail), 0)) + tail)
        # The passages are at most 5 x 280 characters, so this holds unless `limit` is tiny.
        kept = kept if len(kept) <= limit else cap_text(kept, limit)
    return PreparedMessage(kept, truncated=True, original_chars=len(cleaned), risk_passages=len(passages))


def _scan_regions(text: str) -> list[tuple[int, int]]:
    """Overlapping pieces of `text` that the risk check reads whole: all of it up to MAX_RISK_SCAN_CHARS
    (then the last piece too)."""
    step = RISK_CHUNK_CHARS - RISK_CHUNK_OVERLAP
    end = min(len(text), MAX_RISK_SCAN_CHARS)
    regions = [
        (start, min(start + RISK_CHUNK_CHARS, end))
        for start in range(0, max(end - RISK_CHUNK_OVERLAP, 1), step)
    ]
    if len(text) > end:
        regions.append((len(text) - RISK_CHUNK_CHARS, len(text)))
    return regions


def _risk_passages(text: str, head: str, risk: RiskCheck) -> list[str]:
    """Short passages of `text` that together carry every risk category seen in it, when the kept
    `head` does not already carry them all (none otherwise)."""
    seen = {(start, end): set(risk(text[start:end])) for start, end in _scan_regions(text)}
    wanted = set().union(*seen.values())
    if not wanted or wanted <= set(risk(head)):
        return []
    passages: list[str] = []
    covered: set[str] = set()
    for (start, end), categories in seen.items():
        for category in sorted(categories - covered):
            if category in covered:
                continue  # an earlier passage carried it too
            found = _narrow(text, start, end, category, risk)
            if found is not None:
                passage = clean_text(text[slice(*_whole_words(text, *found))])
                passages.append(passage)
                covered.update(risk(passage))
    return passages


def _whole_words(text: str, start: int, end: int, reach: int = 20) -> tuple[int, int]:
    """[start, end) widened to the nearest spaces, by at most `reach` characters each side."""
    first, last = max(start - reach, 0), min(end + reach, len(text))
    while start > first and not text[start - 1].isspace():
        start -= 1
    while end < last and not text[end].isspace():
        end += 1
    return start, end


def _narrow(text: str, start: int, end: int, category: str, risk: RiskCheck) -> tuple[int, int] | None:
    """A region of at most RISK_PASSAGE_CHARS inside [start, end) where `category` is seen (bisection:
    the halves overlap by 100 characters, so a phrase across the middle is wholly in one of them; each
    step shrinks the region, as ceil(n / 2) + 100 < n for n > 240)."""
    overlap = 100
    while end - start > RISK_PASSAGE_CHARS:
        middle = (start + end) // 2
        if category in risk(text[start : middle + overlap]):
            end = middle + overlap
        elif category in risk(text[middle - overlap : end]):
            start = middle - overlap
        else:
            return None  # seen only across a longer stretch: the rest of the message must carry it
    return (start, end)


async def prepare_message_off_loop(text: str) -> PreparedMessage:
    """prepare_message, in a worker thread when the text is long enough to need the risk scan (the
    scan is many short regex searches, so the event loop keeps answering other people meanwhile)."""
    if len(text) <= MAX_MESSAGE_CHARS:
        return prepare_message(text)
    return await asyncio.to_thread(prepare_message, text)


# --- the REST body -------------------------------------------------------------------------------


class BadInput(ValueError):
    """A request that cannot be read: `status` (400 or 413) and a message in plain words."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RestMessage:
    sender: str
    text: str  # as sent (not yet cleaned or capped: prepare_message does that)
    metadata: dict[str, Any] | None
    input_channel: str | None


_SENDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]*")
_CHANNEL = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def describe(value: Any) -> str:
    """What a JSON value is, in plain words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "something else"


def check_sender(sender: Any) -> str:
    if sender is None:
        raise BadInput(f"Please say who is writing: 'sender' is missing. Send {BODY_EXAMPLE}.")
    if not isinstance(sender, str):
        raise BadInput(f"'sender' must be text (a JSON string), not {describe(sender)}.")
    if not (0 < len(sender) <= MAX_SENDER_CHARS and _SENDER.fullmatch(sender)):
        raise BadInput(
            f"'sender' must be 1 to {MAX_SENDER_CHARS} letters, digits and the signs . _ : @ + = -, "
            "starting with a letter or digit."
        )
    return sender


def check_metadata(metadata: Any) -> dict[str, Any] | None:
    """None, or a small JSON object whose texts are cleaned (it is stored with the message)."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise BadInput(f"'metadata' must be a JSON object, not {describe(metadata)}.")
    cleaned = _clean_json(metadata, 0)
    if len(json.dumps(cleaned, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise BadInput(f"'metadata' is too large: at most {MAX_METADATA_BYTES // 1024} KB, please.")
    return cleaned


def _clean_json(value: Any, depth: int) -> Any:
    if depth > MAX_METADATA_DEPTH:
        raise BadInput(f"'metadata' is nested too deeply (at most {MAX_METADATA_DEPTH} levels).")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_rest_body(body: bytes) -> RestMessage:
    """The REST channel's request body, checked: raises BadInput (400, or 413 when too large)."""
    if len(body) > MAX_BODY_BYTES:
        raise BadInput(TOO_LARGE, status=413, code="too_large")
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("The request body must be UTF-8 text; this one is not.") from None
    if not decoded.strip():
        raise BadInput(f"The request body is empty: please send JSON like {BODY_EXAMPLE}.")
    try:
        data = json.loads(decoded)
    except (ValueError, RecursionError):
        raise BadInput(f"The request body must be JSON, like {BODY_EXAMPLE}.") from None
    if not isinstance(data, dict):
        raise BadInput(f"The request body must be a JSON object like {BODY_EXAMPLE}, not {describe(data)}.")
    sender = check_sender(data.get("sender"))
    if "message" not in data:
        raise BadInput("'message' is missing: please send the text to read, as in " + BODY_EXAMPLE + ".")
    text = data["message"]
    if not isinstance(text, str):
        raise BadInput(f"'message' must be text (a JSON string), not {describe(text)}.")
    channel = data.get("input_channel")
    if channel is not None and not (isinstance(channel, str) and _CHANNEL.fullmatch(channel)):
        raise BadInput("'input_channel' must be a short lower-case name such as \"telegram\".")
    return RestMessage(sender, text, check_metadata(data.get("metadata")), channel)


# --- the rate limit ------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per sender: `burst` messages at once, then `per_second` messages a second.

    In memory, per process, for at most `max_senders` senders: the one seen least recently is
    forgotten first (and starts again with a full bucket). Several processes each keep their own
    buckets, so the proxy in front also limits by IP address (docs/bad-input.md). burst 0 turns the
    limit off.
    """

    def __init__(
        self,
        burst: int = DEFAULT_BURST,
        per_second: float = DEFAULT_PER_SECOND,
        max_senders: int = DEFAULT_MAX_SENDERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 0 or not (per_second > 0 and math.isfinite(per_second)) or max_senders < 1:
            raise ValueError("burst must be 0 or more, per_second more than 0, max_senders at least 1")
        self.burst = burst
        self.per_second = per_second
        self.max_senders = max_senders
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # sender -> (tokens, when)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, sender: str) -> float:
        """0.0 when the message may go through (it is counted), else the seconds to wait."""
        if self.burst == 0:
            return 0.0
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.pop(sender, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.per_second
            self._buckets[sender] = (tokens, now)  # most recently seen last
            while len(self._buckets) > self.max_senders:
                self._buckets.popitem(last=False)
            return wait


def limiter_from_env(env: Mapping[str, str] | None = None) -> RateLimiter:
    """CHAT_RATE_BURST (default 20, 0 = off) and CHAT_RATE_PER_SECOND (default 1)."""
    env = os.environ if env is None else env
    burst_text = (env.get(BURST_ENV) or "").strip() or str(DEFAULT_BURST)
    rate_text = (env.get(PER_SECOND_ENV) or "").strip() or str(DEFAULT_PER_SECOND)
    try:
        burst, per_second = int(burst_text), float(rate_text)
        return RateLimiter(burst, per_second)
    except ValueError:
        raise ValueError(
            f"{BURST_ENV} must be a whole number (0 turns the limit off) and {PER_SECOND_ENV} a number "
            f"above 0; they are {burst_text!r} and {rate_text!r}."
        ) from None


_shared: RateLimiter | None = None
_shared_lock = threading.Lock()


def shared_limiter() -> RateLimiter:
    """The one limiter of this process, shared by the REST and socket.io channels."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = limiter_from_env()
        return _shared


def too_fast_message(wait: float) -> str:
    seconds = max(1, math.ceil(wait))
    return TOO_FAST.format(seconds=seconds, unit="second" if seconds == 1 else "seconds")


def retry_after(wait: float) -> int:
    return max(1, math.ceil(wait))
