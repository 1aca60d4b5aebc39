"""Contact details are encrypted at rest (Fernet: AES-128-CBC with an HMAC).

The key comes from REFERRAL_ENCRYPTION_KEY in production. The embedded default
generates one into var/referral.key, readable by its owner only, so a fresh
clone works with no set-up and no key ever sits in the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from chatbot.config import load_settings

KEY_ENV = "REFERRAL_ENCRYPTION_KEY"
KEY_FILE = "referral.key"


class ContactCipher:
    def __init__(self, key: bytes):
        self._fernet = Fernet(key)

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as error:
            raise ValueError(
                f"contact details cannot be decrypted: is {KEY_ENV} the key they were stored with?"
            ) from error


def load_key(var_dir: Path | None = None) -> bytes:
    """The key from the environment, else var/referral.key (made once, mode 600)."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env.encode()
    path = (var_dir or load_settings().var_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once cannot both write a key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(descriptor, "wb") as file:
            file.write(Fernet.generate_key())
    return path.read_bytes().strip()


def derived_secret(key: bytes, purpose: str) -> bytes:
    """A separate secret for each use (keyed hashes, webhook signatures), from the one key."""
    return hmac.new(key, b"chatbot-derived:" + purpose.encode(), hashlib.sha256).digest()
