"""Services tell us how a referral is going, served by the Rasa server under /webhooks/referral-status/.

    GET  /webhooks/referral-status/<token>   a page: "Confirm: <status>", with a button
    POST /webhooks/referral-status/<token>   the button: records the status, once
    POST /webhooks/referral-status/api       JSON for services with their own systems

A GET never changes anything: mail scanners and link previews open links before
any person does. The tokens are made by chatbot/referrals/status_links.py; the
rules about which status may follow which live in chatbot/referrals/status.py.
Everything refused (forged, expired, used, unknown, out of order) changes nothing
and answers with a 4xx: a page for the links, JSON for the API. docs/referral-status.md
is the service's guide.

Logs name the route, the outcome and the status only: never references, tokens or bodies.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import html
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chatbot.config import Settings, load_settings, public_base_url
from chatbot.db import session_scope
from chatbot.referrals import models as m
from chatbot.referrals import status as st
from chatbot.referrals.status_links import (
    EXPIRED,
    LINK_LABELS,
    BadLink,
    BadSignature,
    StatusLinks,
    service_webhook_secret,
    verify_signature,
)

logger = logging.getLogger(__name__)

MAX_API_BODY = 4096  # {"reference", "service_id", "status"} needs about 100 bytes

# Plain words for a status the service sees on a page.
STATUS_WORDS = {
    m.SUBMITTED: "waiting to be sent",
    m.DELIVERED: "sent to you",
    m.ACKNOWLEDGED: "received by you",
    m.CONTACTED: "the person has been contacted",
    m.SUPPORT_STARTED: "support has started",
    m.DECLINED: "support not offered, or declined",
    m.COULD_NOT_CONTACT: "the person could not be contacted",
    m.WITHDRAWN: "withdrawn by the person",
}

# --- pages -----------------------------------------------------------------------

STYLE = (
    "body{font-family:system-ui,sans-serif;font-size:1.125rem;line-height:1.5;color:#0b0c0c;"
    "background:#fff;margin:0}main{max-width:36rem;margin:2rem auto;padding:0 1rem}"
    "h1{font-size:1.75rem;line-height:1.2}"
    "button{font:inherit;font-weight:600;color:#fff;background:#00703c;border:0;border-radius:4px;"
    "padding:.6rem 1.2rem;cursor:pointer}"
    "button:focus-visible{outline:3px solid #fd0;outline-offset:2px;box-shadow:0 0 0 6px #0b0c0c}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
# The page's one inline style block and nothing else: no scripts, images or other origins.
PAGE_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    # The token is in the address: no other site may see it in a Referer header.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    paragraphs: tuple[str, ...]
    button: str | None = None  # a confirmation form that POSTs back to the same address

    def render(self) -> str:
        parts = [
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="robots" content="noindex">',
            f"<title>{html.escape(self.title)}: referral status</title>",
            f"<style>{STYLE}</style>\n</head>\n<body>\n<main>",
            f"<h1>{html.escape(self.title)}</h1>",
            *(f"<p>{html.escape(text)}</p>" for text in self.paragraphs),
        ]
        if self.button:
            parts.append(
                f'<form method="post"><button type="submit">{html.escape(self.button)}</button></form>'
            )
        parts.append("</main>\n</body>\n</html>\n")
        return "\n".join(parts)


INVALID = Page(
    400,
    "This link is not valid",
    (
        "It may have been changed, or cut short when it was copied.",
        "Open it again from the referral email, or reply to that email to tell us instead.",
    ),
)
EXPIRED_PAGE = Page(
    410,
    "This link has expired",
    ("Reply to the referral email, quoting its reference, to tell us how the referral is going.",),
)


def _label(status: str) -> str:
    return LINK_LABELS.get(status, status)


def link_page(change: st.StatusChange, reference: str, confirmed: bool) -> Page:
    """The page for a genuine link, by what happened (POST) or would happen (GET)."""
    ref = f"Referral {reference}."
    label = _label(change.requested)
    current = STATUS_WORDS.get(change.status or "", change.status or "")
    outcome = change.outcome
    if outcome == st.APPLIED and not confirmed:
        return Page(
            200,
            f"Confirm: {label}",
            (ref, "Nothing is recorded until you press the button."),
            button=f"Yes, record: {label}",
        )
    if outcome == st.APPLIED:
        return Page(
            200, "Thank you, recorded", (ref, f"We have recorded: {label}.", "You can close this page.")
        )
    if outcome == st.SAME:
        return Page(200, "Already recorded", (ref, f"We already have: {label}. Nothing has changed."))
    if outcome == st.REPLAYED:
        return Page(
            409,
            "This link has already been used",
            (ref, "Each link works once. To tell us something else, use another link from the email."),
        )
    if outcome == st.NOT_FOUND:
        return Page(
            404, "We cannot find this referral", (ref, "Reply to the referral email to tell us instead.")
        )
    if change.status == m.WITHDRAWN:
        return Page(
            409,
            "The person has withdrawn their consent",
            (ref, "Please do not contact them about this referral, and delete their details."),
        )
    if outcome == st.FINISHED:
        return Page(409, "This referral is closed", (ref, f"We already have its final status: {current}."))
    if outcome == st.NOT_DELIVERED:
        return Page(409, "This referral has not reached you yet", (ref, "Please try again in a few minutes."))
    return Page(
        409,
        "This update does not fit",
        (ref, f"We already have: {current}. A referral's status only moves forward.", "Nothing has changed."),
    )


# --- the work, in plain functions (run in a thread: the database is synchronous) ----------


class StatusUpdates:
    """Checks links and signed calls against the database. One per Rasa process."""

    def __init__(self, engine: Engine, key: bytes, links: StatusLinks):
        self.engine = engine
        self.key = key
        self.links = links

    def show_link(self, token: str, now: dt.datetime) -> Page:
        try:
            claim = self.links.read(token, now)
        except BadLink as bad:
            return EXPIRED_PAGE if bad.reason == EXPIRED else INVALID
        with Session(self.engine, future=True) as session:  # read only: closed without a commit
            change = st.preview_service_update(
                session, claim.reference, claim.status, receipt_key=_link_key(claim.nonce)
            )
        return link_page(change, claim.reference, confirmed=False)

    def confirm_link(self, token: str, now: dt.datetime) -> Page:
        try:
            claim = self.links.read(token, now)
        except BadLink as bad:
            return EXPIRED_PAGE if bad.reason == EXPIRED else INVALID
        with session_scope(self.engine) as session:
            change = st.record_service_update(
                session, claim.reference, claim.status, now, receipt_key=_link_key(claim.nonce)
            )
        _log("link", change)
        return link_page(change, claim.reference, confirmed=True)

    def api_update(self, body: bytes, signature: str, now: dt.datetime) -> tuple[int, dict]:
        """The JSON webhook: (HTTP status, JSON answer)."""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: JSON nested too deep
            return 400, _error("bad_request", "the body must be JSON, nested at most a few levels")
        if not isinstance(data, dict) or not all(
            isinstance(data.get(name), str) and data.get(name)
            for name in ("reference", "service_id", "status")
        ):
            return 400, _error("bad_request", 'give "reference", "service_id" and "status", each a string')
        secret = service_webhook_secret(self.key, data["service_id"])
        try:
            digest = verify_signature(secret, signature, body, now.timestamp())
        except BadSignature as bad:
            return 401, _error(bad.reason, SIGNATURE_HELP[bad.reason])
        if data["status"] not in st.SERVICE_STATUSES:
            return 422, _error("unknown_status", "status must be one of: " + ", ".join(st.SERVICE_STATUSES))
        with session_scope(self.engine) as session:
            change = st.record_service_update(
                session,
                data["reference"],
                data["status"],
                now,
                receipt_key="api:" + digest,
                service_id=data["service_id"],
            )
        _log("api", change)
        return _api_answer(change, data["reference"])


SIGNATURE_HELP = {
    "no_signature": "sign the request: X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of t.body>",
    "bad_signature": "the signature does not match this body and this service's secret",
    "stale": "the signature's timestamp is more than 5 minutes from our clock: sign each request afresh",
}


def _api_answer(change: st.StatusChange, reference: str) -> tuple[int, dict]:
    if change.outcome in (st.APPLIED, st.SAME):
        return 200, {"reference": reference, "status": change.status, "changed": change.applied}
    if change.outcome == st.NOT_FOUND:
        return 422, _error("unknown_reference", "no referral with this reference for this service")
    if change.outcome == st.REPLAYED:
        return 409, _error("replayed", "this signed request was received before; sign a new one")
    answer = _error(change.outcome, f"the referral's status is {change.status}; it only moves forward")
    return 409, {**answer, "status": change.status}


def _error(code: str, message: str) -> dict:
    return {"error": code, "message": message}


def _link_key(nonce: str) -> str:
    return "link:" + nonce


def _log(route: str, change: st.StatusChange) -> None:
    logger.info("referral status update by %s: %s (%s)", route, change.outcome, change.requested)


# --- the Rasa channel ----------------------------------------------------------------


class StatusUpdateChannel(InputChannel):
    """Not a conversation channel: Rasa serves it because services reach us at the same address."""

    def __init__(self, updates: StatusUpdates | None = None):
        self._updates = updates

    @classmethod
    def name(cls) -> str:
        return "referral-status"

    def updates(self) -> StatusUpdates:
        if self._updates is None:
            self._updates = updates_from_settings(load_settings())
        return self._updates

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("referral_status_updates", __name__)

        @blueprint.route("/api", methods=["POST"])
        async def api(request: Request) -> response.HTTPResponse:
            body = request.body or b""
            if len(body) > MAX_API_BODY:
                status, answer = 413, _error("too_large", f"at most {MAX_API_BODY} bytes")
            else:
                signature = request.headers.get("x-signature", "")
                status, answer = await asyncio.to_thread(self.updates().api_update, body, signature, _now())
            return response.json(answer, status=status, headers={"Cache-Control": "no-store"})

        @blueprint.route("/<token>", methods=["GET", "HEAD"])
        async def show(request: Request, token: str) -> response.HTTPResponse:
            return _html(await asyncio.to_thread(self.updates().show_link, token, _now()))

        @blueprint.route("/<token>", methods=["POST"])
        async def confirm(request: Request, token: str) -> response.HTTPResponse:
            return _html(await asyncio.to_thread(self.updates().confirm_link, token, _now()))

        return blueprint


def updates_from_settings(settings: Settings) -> StatusUpdates:
    # Imported here: runtime makes the engine and the schema, which only a running server needs.
    from chatbot.referrals.crypto import load_key
    from chatbot.referrals.runtime import referral_engine

    key = load_key(settings.var_dir)
    links = StatusLinks(key, public_base_url(settings), settings.referral_link_days)
    return StatusUpdates(referral_engine(), key, links)


def _now() -> dt.datetime:
    return dt.datetime.fromtimestamp(time.time(), dt.timezone.utc)


def _html(page: Page) -> response.HTTPResponse:
    return response.html(page.render(), status=page.status, headers=PAGE_HEADERS)
