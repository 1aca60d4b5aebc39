"""Share links and printable QR codes for the sources in knowledge/sources.yaml."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

# Telegram usernames: 5-32 characters, letters, digits and '_', starting with a letter.
TELEGRAM_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
# A4 at 300 dpi is 2480 px wide; 1000 px or more prints sharply at 8.5 cm and up.
QR_MIN_PIXELS = 1000
QR_DPI = 300
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules
QR_ERROR = "q"  # recovers from about 25% damage (a torn or scribbled-on poster)


class ShareError(ValueError):
    """A link cannot be made; the message says what to do."""


def default_base_url(rasa_port: int) -> str:
    return os.environ.get("PUBLIC_BASE_URL", "").strip() or f"http://localhost:{rasa_port}"


def web_link(base_url: str, source_id: str) -> str:
    base = base_url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ShareError(
            f"'{base_url}' is not a base address such as https://chat.example.org "
            "(http or https, no query or fragment)."
        )
    return f"{base}/webhooks/web/?ref={quote(source_id, safe='')}"


def telegram_link(bot_username: str, source_id: str) -> str:
    username = (bot_username or "").strip().removeprefix("@")
    if not username:
        raise ShareError(
            "A Telegram link needs the bot's username. Give --bot-username NAME "
            "or set TELEGRAM_BOT_USERNAME (BotFather shows it, e.g. islington_work_bot)."
        )
    if not TELEGRAM_USERNAME.match(username):
        raise ShareError(
            f"'{bot_username}' is not a Telegram username "
            "(5-32 letters, digits or '_', starting with a letter)."
        )
    return f"https://t.me/{username}?start={quote(source_id, safe='')}"


@dataclass(frozen=True)
class QrImage:
    path: Path
    pixels: int
    error: str


def write_qr_png(link: str, path: Path) -> QrImage:
    """A PNG QR code big enough for an A4 poster (at least QR_MIN_PIXELS square, with its quiet zone)."""
    import segno

    qr = segno.make(link, error=QR_ERROR, micro=False, boost_error=True)
    modules, _ = qr.symbol_size(scale=1, border=QR_BORDER)
    scale = math.ceil(QR_MIN_PIXELS / modules)
    path = Path(path)
    if not path.parent.is_dir():
        raise ShareError(f"the folder {path.parent} does not exist.")
    qr.save(str(path), kind="png", scale=scale, border=QR_BORDER, dpi=QR_DPI)
    return QrImage(path=path, pixels=modules * scale, error=qr.error)
