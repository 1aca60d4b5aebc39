"""How recommendations are worded: short cards in the recommendation turn, the details on request.

On a phone the recommendation turn must fit about one screen before the question the person
has to answer (issue 19: at most three messages, under about 900 characters). So each card
there is four short lines: the name, the one reason that is most about this person, the first
step, and when the facts were checked. Everything else (every reason, the whole next step,
the caveats, where the facts come from) is one tap away, in `details_text`.
"""

from __future__ import annotations

import datetime as dt
import re

from .recommend import Match
from .wording import OLD_SOURCE_YEARS, facts_line

LINE_LIMIT = 110  # characters in a card's "Why" or "Next" line before it is cut at a word
_SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)])\.\s")


def one_reason(match: Match) -> str:
    """The reason most about this person. The first reason is always the place (the same for
    every card of an area), so the last of the others: criteria are checked general-first."""
    personal = match.reasons[1:]
    return (personal or match.reasons or ("",))[-1]


def first_step(next_step: str) -> str:
    """The first sentence of a next step."""
    text = " ".join(next_step.split())
    found = _SENTENCE_END.search(text)
    return text[: found.start() + 1] if found else text


def _cut(text: str, limit: int = LINE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: text.rfind(" ", 0, limit - 1)].rstrip(",;:") + "…"


def checked_line(match: Match, today: dt.date) -> str:
    checked = match.last_verified.strftime("%-d %b %Y")
    old = match.facts_from and (today - match.facts_from).days > OLD_SOURCE_YEARS * 365
    if old:
        return f"From a {match.facts_from:%Y} report, checked {checked}."
    return f"Checked {checked}."


def compact_card(match: Match, today: dt.date) -> str:
    card = card_payload(match, today)
    lines = [match.name]
    if card["why"]:
        lines.append(f"Why: {card['why']}")
    lines.append(f"Next: {card['first_step']}")
    lines.append(card["checked"])
    return "\n".join(lines)


def compact_cards_text(matches: tuple[Match, ...] | list[Match], today: dt.date) -> str:
    """All the cards as one message, for channels that cannot show the payload's cards: numbered
    and without blank lines (Rasa's channels split a text into messages at a blank line). The
    web widget knows to show cards instead because a card's name is on the first line."""
    cards = [compact_card(m, today) for m in matches]
    if len(cards) == 1:
        return cards[0]
    return "\n".join(f"{i}. {card}" for i, card in enumerate(cards, start=1))


def details_text(match: Match, today: dt.date, role: str = "self") -> str:
    """Everything the cards leave out, for "More about these services"."""
    lines = [match.name, f"Why it fits: {'; '.join(match.reasons)}."]
    label = "What happens next for the patient" if role == "patient" else "What happens next"
    lines.append(f"{label}: {match.next_step.strip()}")
    lines.extend(f"Good to know: {c}" for c in match.caveats)
    lines.append(f"({facts_line(match, today)})")
    return "\n".join(lines)


def card_payload(match: Match, today: dt.date) -> dict:
    """A card of the `recommendations` payload: the full facts, and the short lines to show."""
    why = one_reason(match)
    return {
        **match.as_payload(today),
        "why": f"{why[:1].upper()}{why[1:]}." if why else "",
        "first_step": _cut(first_step(match.next_step)),
        "checked": checked_line(match, today),
    }
