"""How a recommendation is worded for who is asking, and how honest its card is.

Knowledge is written to the person ("you"), with a professional version ("the
patient"); a helper hears the professional one said of "them", never an offer to send
the person's details. A card says where its facts come from.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from chatbot.knowledge.schema import Service

if TYPE_CHECKING:
    from .recommend import Match

# A helper can never agree for the person: the professional wording, said of "them", with
# any offer to send details turned into the person's own choice.
_SEND_DETAILS = re.compile(
    r"With the patient's agreement, we can send their details to ([^.]+?)(?: and [^.]*)?\."
)
_THE_PATIENT = [
    ("The patient's", "Their"), ("the patient's", "their"), ("The patient is", "They are"),
    ("the patient is", "they are"), ("The patient has", "They have"), ("the patient has", "they have"),
    ("If the patient", "If they"), ("if the patient", "if they"), ("The patient", "They"),
    ("the patient", "them"),
]  # fmt: skip


def next_step_for(service: Service, role: str) -> str:
    """The next step worded for who is asking: the person, a professional, or a helper."""
    if role == "self" or not service.next_step_for_professional:
        return service.next_step
    text = service.next_step_for_professional
    if role == "helper":
        text = _SEND_DETAILS.sub(
            r"If they want a referral to \1, they can chat with me themselves and agree to it.",
            text,
        )
        for old, new in _THE_PATIENT:
            text = text.replace(old, new)
    return text


# Caveats are written to the person ("It may not be in your area yet"); a professional or
# helper reads them said of the person.
_YOU = [
    (r"\byourself\b", "themselves"), (r"\byour\b", "their"), (r"\byou are\b", "they are"),
    (r"\byou were\b", "they were"), (r"\byou have\b", "they have"),
    (r"\b(let|help|tell|ask|refer|give|contact|support|send|offer) you\b", r"\1 them"),
    (r"\b(to|for|with|from) you\b", r"\1 them"), (r"\byou\b", "they"),
]  # fmt: skip


def about_them(text: str) -> str:
    text = _capitals(text)
    for pattern, replacement in _YOU:
        text = re.sub(pattern, replacement, text)
    return text


def _capitals(text: str) -> str:
    """'You' and 'Your' at the start of a sentence, then the lower-case rules."""
    text = re.sub(r"\bYourself\b", "Themselves", text)
    text = re.sub(r"\bYour\b", "Their", text)
    text = re.sub(r"\bYou are\b", "They are", text)
    return re.sub(r"\bYou\b", "They", text)


OLD_SOURCE_YEARS = 3  # facts from a report older than this carry a warning on the card


def facts_line(match: Match, today: dt.date) -> str:
    """When the facts were checked, and where they come from when that is an old report."""
    checked = match.last_verified.strftime("%-d %B %Y")
    old = match.facts_from and (today - match.facts_from).days > OLD_SOURCE_YEARS * 365
    if old:
        return (
            f"Facts from a report of {match.facts_from:%B %Y}, last checked {checked}. "
            "They may have changed: check with the service."
        )
    return f"Facts last checked {checked}."
