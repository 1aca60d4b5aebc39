"""What a running process needs for referrals: one engine, the cipher, the keyed-hash secret."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from chatbot.config import load_settings
from chatbot.db import create_schema, make_engine
from chatbot.referrals.crypto import ContactCipher, derived_secret, load_key

_lock = threading.Lock()
_state: dict = {}


def _load() -> dict:
    with _lock:
        if not _state:
            settings = load_settings()
            key = load_key(settings.var_dir)
            engine = make_engine(settings.database_url)
            create_schema(engine)
            _state.update(engine=engine, cipher=ContactCipher(key), secret=derived_secret(key, "person"))
        return _state


def referral_engine() -> Engine:
    return _load()["engine"]


def contact_cipher() -> ContactCipher:
    return _load()["cipher"]


def hashing_secret() -> bytes:
    return _load()["secret"]


def forget_local_copies(references) -> int:
    """Remove the embedded mail outbox's copies of these referrals (var/mail): after a
    withdrawal or an erasure no file may keep the person's details."""
    from chatbot.referrals.senders import remove_pickup_copies

    directory = load_settings().var_dir / "mail"
    return sum(remove_pickup_copies(directory, reference) for reference in references)
