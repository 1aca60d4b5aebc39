"""How a service proves a status update is theirs: a signed link, or a signed webhook call.

Links
-----
Each referral email carries one link per status the service may set::

    {PUBLIC_BASE_URL}/webhooks/referral-status/{token}
    token = {reference}.{status}.{expires, Unix seconds}.{nonce}.{MAC}

The MAC is HMAC-SHA256 over everything before it, keyed by a secret derived
from the referral key (crypto.derived_secret, purpose "referral-status-link"),
so nobody without the key can make or change a link. The nonce lets the
status-update channel refuse a link used once already.

Webhook
-------
A service with its own system POSTs JSON signed as our outgoing webhooks are
(senders.signature_header: ``X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t." + body>``),
with a secret of its own (service_webhook_secret), which staff print with
``python -m chatbot referrals webhook-secret SERVICE_ID``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from chatbot.referrals import models as m
from chatbot.referrals.crypto import derived_secret
from chatbot.referrals.reference import normalise_reference
from chatbot.referrals.status import SERVICE_STATUSES

PATH = "/webhooks/referral-status/"
SIGNATURE_TOLERANCE_S = 300  # a signed webhook call older (or newer) than this is refused

# The wording of each link in the email, and of the button on its page.
LINK_LABELS = {
    m.ACKNOWLEDGED: "We have received this referral",
    m.CONTACTED: "We have contacted the person",
    m.SUPPORT_STARTED: "Support has started",
    m.DECLINED: "We cannot offer support (or the person said no)",
    m.COULD_NOT_CONTACT: "We could not contact the person",
}

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16}$")

# Why a link was refused.
MALFORMED = "malformed"
FORGED = "forged"
EXPIRED = "expired"


class BadLink(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaim:
    """What a genuine link says: set this referral to this status, once, before it expires."""

    reference: str
    status: str
    expires_at: dt.datetime
    nonce: str


class StatusLinks:
    """Makes and checks status links. One per process, from the key and the settings."""

    def __init__(self, key: bytes, base_url: str, valid_days: int = 60):
        self._secret = derived_secret(key, "referral-status-link")
        self.base_url = base_url.rstrip("/")
        self.valid_for = dt.timedelta(days=valid_days)

    def token(self, reference: str, status: str, now: dt.datetime) -> str:
        expires = int((now + self.valid_for).timestamp())
        payload = f"{reference}.{status}.{expires}.{secrets.token_urlsafe(12)}"
        return f"{payload}.{self._mac(payload)}"

    def url(self, reference: str, status: str, now: dt.datetime) -> str:
        return self.base_url + PATH + self.token(reference, status, now)

    def links(self, reference: str, now: dt.datetime) -> dict[str, str]:
        """One fresh link per status a service may set, in the order of LINK_LABELS."""
        return {status: self.url(reference, status, now) for status in SERVICE_STATUSES}

    def read(self, token: str, now: dt.datetime) -> LinkClaim:
        """The claim a token makes, or BadLink(MALFORMED | FORGED | EXPIRED)."""
        payload, _, mac = token.rpartition(".")
        parts = payload.split(".")
        if len(parts) != 4 or not mac:
            raise BadLink(MALFORMED)
        # MAC first: nothing about an unsigned token is believed, not even its expiry.
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise BadLink(FORGED)
        reference, status, expires, nonce = parts
        if (
            normalise_reference(reference) != reference
            or status not in SERVICE_STATUSES
            or not expires.isdigit()
            or not _NONCE.match(nonce)
        ):
            raise BadLink(MALFORMED)
        expires_at = dt.datetime.fromtimestamp(int(expires), dt.timezone.utc)
        if now >= expires_at:
            raise BadLink(EXPIRED)
        return LinkClaim(reference, status, expires_at, nonce)

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._secret, b"status-link:" + payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# --- the webhook ----------------------------------------------------------------

# Why a signed call was refused.
NO_SIGNATURE = "no_signature"
BAD_SIGNATURE = "bad_signature"
STALE = "stale"  # its timestamp is more than SIGNATURE_TOLERANCE_S away from ours


class BadSignature(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def service_webhook_secret(key: bytes, service_id: str) -> bytes:
    """The secret one service signs its status calls with: hex text, its UTF-8 bytes the HMAC key.

    Derived from the key and the service id, so each service has its own and none is stored;
    a service cannot sign for another.
    """
    return derived_secret(key, f"referral-status-webhook:{service_id}").hex().encode("ascii")


def verify_signature(
    secret: bytes, header: str, body: bytes, now_s: float, tolerance_s: int = SIGNATURE_TOLERANCE_S
) -> str:
    """Check `X-Signature: t=<unix>,v1=<hex>`; return the v1 digest (unique to this call)."""
    fields = dict(part.strip().partition("=")[::2] for part in header.split(",") if "=" in part)
    timestamp, given = fields.get("t", ""), fields.get("v1", "")
    if not timestamp or not given:
        raise BadSignature(NO_SIGNATURE)
    if not timestamp.isdigit():
        raise BadSignature(BAD_SIGNATURE)
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise BadSignature(BAD_SIGNATURE)
    if abs(now_s - int(timestamp)) > tolerance_s:
        raise BadSignature(STALE)
    return expected
