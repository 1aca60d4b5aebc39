"""Referral references: short enough to read out, far too many to guess."""

from __future__ import annotations

import secrets

# Crockford's base 32: no I, L, O or U, so nothing is misread on the phone.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10  # 50 bits: a guesser needs about 10^15 tries for each real reference
PREFIX = "HW"


def new_reference() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{PREFIX}-{body[:5]}-{body[5:]}"


def normalise_reference(text: str) -> str | None:
    """A reference as typed ("hw 7k3mq 9pxa1", "HW-7K3MQ-9PXAI") in its one true form."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    raw = raw.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if raw.startswith(PREFIX):
        raw = raw[len(PREFIX) :]
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return f"{PREFIX}-{raw[:5]}-{raw[5:]}"
