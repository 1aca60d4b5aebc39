"""Check the few contact details a referral needs, with kind messages when they are wrong.

Well-kept libraries do the hard part: `phonenumbers` (Google's libphonenumber
metadata) for UK numbers, `email-validator` for addresses. We never look the
address up on the internet (no deliverability check): it would leak it and
make the answer depend on the network.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_NAME_LENGTH = 80
BEST_TIMES = ("morning", "afternoon", "evening", "any")


@dataclass(frozen=True)
class Checked:
    """A value ready to store (`value`), or what to tell the person (`problem`)."""

    value: str | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def check_name(text: str) -> Checked:
    name = " ".join(unicodedata.normalize("NFC", text or "").split())
    if not name:
        return Checked(problem="Please tell me a name the service can use for you.")
    if len(name) > MAX_NAME_LENGTH:
        return Checked(problem=f"That is a bit long. Please use {MAX_NAME_LENGTH} characters or fewer.")
    if not any(ch.isalpha() for ch in name) or re.search(r"[<>{}\[\]@\\/|]", name):
        return Checked(problem="That does not look like a name. Please type just the name to use.")
    return Checked(value=name)


def check_uk_phone(text: str) -> Checked:
    """A real UK number, stored as +44… (E.164)."""
    problem = (
        "That does not look like a UK phone number. "
        "Please check it: a mobile number has 11 digits and starts 07."
    )
    try:
        number = phonenumbers.parse(text or "", "GB")
    except phonenumbers.NumberParseException:
        return Checked(problem=problem)
    if number.country_code != 44 or not phonenumbers.is_valid_number(number):
        return Checked(problem=problem)
    return Checked(value=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def check_email(text: str) -> Checked:
    try:
        result = validate_email((text or "").strip(), check_deliverability=False)
    except EmailNotValidError:
        return Checked(
            problem="That email address does not look right. Please check it, like name@example.com."
        )
    return Checked(value=result.normalized)


def check_best_time(text: str) -> Checked:
    choice = (text or "").strip().lower()
    if choice in BEST_TIMES:
        return Checked(value=choice)
    return Checked(problem="Please choose morning, afternoon, evening or any time.")


def readable_phone(e164: str) -> str:
    """+447700900123 as people write it: 07700 900123."""
    try:
        number = phonenumbers.parse(e164, "GB")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


_EMAIL_LIKE = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
_PHONE_LIKE = re.compile(r"\+?[\d(][\d\s()\-.]{7,}\d")


def email_in(text: str) -> str:
    """The address in "it's sam@example.com, thanks", or the text as typed if none stands out."""
    found = _EMAIL_LIKE.search(text or "")
    return found.group(0).rstrip(".!?") if found else (text or "")


def phone_in(text: str) -> str:
    """The number in "my mobile is 07911 123456", or the text as typed if none stands out."""
    found = _PHONE_LIKE.search(text or "")
    return found.group(0) if found else (text or "")
