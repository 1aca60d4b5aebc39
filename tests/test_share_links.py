"""`python -m chatbot share-link`: links for the web and Telegram, and a printable QR code.

Each test runs the command as a real subprocess, like a council officer at a shell.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import segno
from PIL import Image

from chatbot.config import PROJECT_ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def share_link(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PUBLIC_BASE_URL", "TELEGRAM_BOT_USERNAME", "RASA_PORT", "KNOWLEDGE_DIR")
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "chatbot", "share-link", *args],
        cwd=PROJECT_ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_web_link_uses_the_local_server_by_default():
    result = share_link("--source", "islington-peer-mentors")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://localhost:5005/webhooks/web/?ref=islington-peer-mentors"


def test_web_link_follows_rasa_port_then_public_base_url_then_the_option():
    on_port = share_link("--source", "amwell-staff", RASA_PORT="5123")
    assert on_port.stdout.strip() == "http://localhost:5123/webhooks/web/?ref=amwell-staff"
    public = share_link("--source", "amwell-staff", PUBLIC_BASE_URL="https://chat.example.org/")
    assert public.stdout.strip() == "https://chat.example.org/webhooks/web/?ref=amwell-staff"
    option = share_link(
        "--source",
        "amwell-staff",
        "--base-url",
        "https://help.example.gov.uk",
        PUBLIC_BASE_URL="https://x.org",
    )
    assert option.stdout.strip() == "https://help.example.gov.uk/webhooks/web/?ref=amwell-staff"
    assert "professional mode" in option.stderr


def test_a_base_url_that_is_not_an_address_is_refused_kindly():
    result = share_link("--source", "amwell-staff", "--base-url", "chat.example.org")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "is not a base address" in result.stderr
    assert "Traceback" not in result.stderr


def test_telegram_link_from_the_option_or_the_environment():
    option = share_link(
        "--source", "manchester-council-web", "--channel", "telegram", "--bot-username", "@hw_bot"
    )
    assert option.returncode == 0, option.stderr
    assert option.stdout.strip() == "https://t.me/hw_bot?start=manchester-council-web"
    env = share_link(
        "--source", "amwell-staff", "--channel", "telegram", TELEGRAM_BOT_USERNAME="islington_hw_bot"
    )
    assert env.stdout.strip() == "https://t.me/islington_hw_bot?start=amwell-staff"


def test_telegram_link_without_a_bot_username_says_how_to_give_one():
    result = share_link("--source", "amwell-staff", "--channel", "telegram")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "--bot-username" in result.stderr and "TELEGRAM_BOT_USERNAME" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_bot_username_is_refused():
    result = share_link("--source", "amwell-staff", "--channel", "telegram", "--bot-username", "no way")
    assert result.returncode == 1
    assert "is not a Telegram username" in result.stderr


def test_an_unknown_source_lists_the_known_ids():
    result = share_link("--source", "no-such-scheme")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no share-link source has the id 'no-such-scheme'" in result.stderr
    for known in ("islington-peer-mentors", "amwell-staff", "manchester-council-web"):
        assert known in result.stderr
    assert "Traceback" not in result.stderr


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk of a PNG, each CRC checked: a truncated or corrupt file fails here."""
    assert data[:8] == PNG_SIGNATURE
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    return chunks


def test_qr_code_is_a_printable_png_of_the_link(tmp_path: Path):
    poster = tmp_path / "amwell-poster.png"
    result = share_link(
        "--source", "amwell-waiting-room", "--base-url", "https://chat.example.org", "--qr", str(poster)
    )
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip()
    assert link == "https://chat.example.org/webhooks/web/?ref=amwell-waiting-room"

    chunks = _png_chunks(poster.read_bytes())
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert width == height >= 1000  # sharp on an A4 poster
    assert str(poster) in result.stderr

    # The picture is the QR code of the link, with error correction M or better and a quiet zone.
    expected = segno.make(link, error="q", micro=False, boost_error=True)
    assert expected.error in ("M", "Q", "H")
    border = 4
    modules = expected.symbol_size(scale=1, border=border)[0]
    scale = width // modules
    assert width == modules * scale
    image = Image.open(poster).convert("L")
    rows = [list(row) for row in expected.matrix]

    def dark(x: int, y: int) -> bool:
        return image.getpixel((x * scale + scale // 2, y * scale + scale // 2)) < 128

    for y in range(modules):
        for x in range(modules):
            inside = border <= x < modules - border and border <= y < modules - border
            want = bool(rows[y - border][x - border]) if inside else False
            assert dark(x, y) == want, (x, y)


def test_qr_code_into_a_missing_folder_is_refused_kindly(tmp_path: Path):
    result = share_link("--source", "amwell-staff", "--qr", str(tmp_path / "nope" / "qr.png"))
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
