"""How a referral message reaches a service: by email (SMTP, or a pickup directory) or webhook.

A sender gets one `OutgoingMessage` and either returns (the service has it)
or raises (try again later). Senders never log: the dispatcher logs ids only.

Email
-----
Plain text. The Message-ID is `<{message_key}@{domain of the from address}>`,
the same on every retry, so a repeat can be recognised and dropped.

Webhook
-------
`POST` to the service's URL (https only; http only to a loopback host) with a
JSON body::

    {"kind": "referral", "reference": "HW-7K3MQ-9PXA1", "service_id": "...",
     "service_name": "...", "sent_at": "2026-11-25T10:00:00+00:00",
     "person": {"name": "...", "contact_route": "phone" | "email", "contact": "...", "best_time": "..."},
     "purpose": "referral" | "callback",
     "shared_facts": {"work_status": "off_sick", ...},
     "consent": {"decided_at": "...", "given_by": "person" | "professional", "how": "...",
                 "wording_version": "..."}}

A withdrawal carries only `kind` ("withdrawal"), `reference`, `service_id`,
`service_name`, `sent_at` and `withdrawn_at`: the person's details may already
be erased, and the service must delete its copy. A reminder (one, when a
delivered referral has had no answer: docs/referral-status.md) carries `kind`
("reminder"), `reference`, `service_id`, `service_name`, `sent_at` and
`delivered_at`, and nothing about the person.

Headers:

- `Idempotency-Key: <message_key>`: the same on every retry of one message.
  Answer a repeat with 2xx or 409; both count as received.
- `X-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
  HMAC-SHA256(secret, f"{t}." + raw request body), the secret being the
  shared signing secret (WEBHOOK_SIGNING_SECRET) as UTF-8 bytes.

To verify, a service recomputes the HMAC over the exact bytes it received,
compares with `hmac.compare_digest`, and rejects a `t` more than 5 minutes
from its own clock (a replayed request)::

    fields = dict(part.split("=", 1) for part in request.headers["X-Signature"].split(","))
    expected = hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) <= 300

Any status other than 2xx or 409, a redirect, or a timeout is a failure.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import re
import smtplib
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cached_property
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken

from chatbot.referrals import crypto
from chatbot.referrals import models as m
from chatbot.referrals.status_links import LINK_LABELS

SIGNING_SECRET_ENV = "WEBHOOK_SIGNING_SECRET"
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True, repr=False)
class Person:
    """The person's contact details, decrypted for one send. repr=False: never in a log."""

    name: str
    contact_route: str  # phone | email
    contact: str
    best_time: str


@dataclass(frozen=True)
class ConsentRecord:
    decided_at: dt.datetime
    given_by: str  # person | professional
    how: str
    wording_version: str


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything one send needs, composed by the dispatcher from the database rows."""

    outbox_id: int
    kind: str  # referral | withdrawal
    method: str  # email | webhook
    message_key: str
    reference: str
    service_id: str
    service_name: str
    destination: str
    sent_at: dt.datetime
    withdrawn_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None  # reminders: when the referral reached the service
    # Referral and reminder emails: status -> signed link (status_links.py), in display order.
    status_links: dict[str, str] | None = field(default=None, repr=False)
    # Referral messages only; a withdrawal carries nothing about the person.
    person: Person | None = field(default=None, repr=False)
    shared_facts: dict | None = field(default=None, repr=False)
    consent: ConsentRecord | None = None
    purpose: str = m.PURPOSE_REFERRAL  # a call-back request reads differently, nothing else changes


class Sender(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Deliver the message, or raise to have it tried again later."""


class DeliveryFailed(Exception):
    """A failure with a reason safe to store and log (no content, no addresses)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def describe_failure(error: BaseException) -> str:
    """The exception's class and a short reason that never quotes message content or addresses.

    Exception texts can quote recipients or URLs (SMTPRecipientsRefused, URLError),
    so only codes and OS error names are kept.
    """
    name = type(error).__name__
    reason = ""
    if isinstance(error, DeliveryFailed):
        reason = error.reason
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in error.recipients.values()})
        reason = "SMTP " + ",".join(codes)
    elif isinstance(error, smtplib.SMTPResponseException):
        reason = f"SMTP {error.smtp_code}"
    elif isinstance(error, urllib.error.HTTPError):
        reason = f"HTTP {error.code}"
    elif isinstance(error, urllib.error.URLError):
        cause = error.reason
        reason = describe_failure(cause) if isinstance(cause, BaseException) else ""
    elif isinstance(error, ssl.SSLError):
        reason = str(error.reason or "")
    elif isinstance(error, OSError):
        reason = error.strerror or ""
    return f"{name}: {reason}"[:300] if reason else name


# --- email ------------------------------------------------------------------

FACT_LABELS = {
    "work_status": "Work situation",
    "weeks_off_sick": "Time off sick",
    "condition_category": "Kind of health condition",
    "area_id": "Area",
}
GIVEN_BY = {
    "person": "the person themselves",
    "professional": "a health professional, confirming that the patient agreed",
}


def compose_email(message: OutgoingMessage, from_addr: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = from_addr
    email["To"] = message.destination
    email["Date"] = format_datetime(as_utc(message.sent_at))
    email["Message-ID"] = message_id(message.message_key, from_addr)
    if message.kind == m.KIND_WITHDRAWAL:
        email["Subject"] = f"Consent withdrawn: referral {message.reference}"
        email.set_content(_withdrawal_text(message, from_addr))
    elif message.kind == m.KIND_REMINDER:
        email["Subject"] = f"Reminder: referral {message.reference} is waiting for an update"
        email.set_content(_reminder_text(message, from_addr))
    else:
        email["Subject"] = f"{_what(message)} {message.reference} for {message.service_name}"
        email.set_content(_referral_text(message, from_addr))
    return email


def message_id(message_key: str, from_addr: str) -> str:
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or "localhost"
    return f"<{message_key}@{domain}>"


def _referral_text(message: OutgoingMessage, from_addr: str) -> str:
    person, consent = message.person, message.consent
    if person is None or consent is None:
        raise DeliveryFailed("referral has no personal data or consent record")
    route = "phone" if person.contact_route == "phone" else "email"
    asks = (
        "This person asked to talk to a real person about health and work. Please call or email them."
        if message.purpose == m.PURPOSE_CALLBACK
        else "This person would like you to contact them about your support."
    )
    lines = [
        f"{_what(message)} for {message.service_name}",
        f"Reference: {message.reference}",
        "",
        asks,
        "",
        f"Name: {person.name}",
        f"Contact by {route}: {person.contact}",
        f"Best time to get in touch: {person.best_time}",
        "",
        "What they told us:",
        *(f"- {line}" for line in _fact_lines(message.shared_facts or {})),
        "",
        "Consent to share these details with you:",
        f"- Given by: {GIVEN_BY.get(consent.given_by, consent.given_by)}",
        f"- When: {_readable_time(consent.decided_at)}",
        f"- How: {consent.how}",
        f"- Consent wording version: {consent.wording_version}",
        "",
        *_status_link_lines(message),
        _contact_us(message, from_addr),
    ]
    return "\n".join(lines) + "\n"


def _what(message: OutgoingMessage) -> str:
    return "Call-back request" if message.purpose == m.PURPOSE_CALLBACK else "New referral"


def _status_link_lines(message: OutgoingMessage) -> list[str]:
    """The signed links a service uses to tell us how the referral is going (one click, then confirm)."""
    if not message.status_links:
        return []
    lines = [
        "Please tell us how this referral is going. Open the link that fits, then press the "
        "button on the page to confirm. Each link works once.",
        "",
    ]
    for status, url in message.status_links.items():
        lines += [f"{LINK_LABELS.get(status, status)}:", url, ""]
    return lines


def _reminder_text(message: OutgoingMessage, from_addr: str) -> str:
    delivered = _readable_time(message.delivered_at) if message.delivered_at else "recently"
    lines = [
        f"Reminder: referral {message.reference} for {message.service_name}",
        "",
        f"We sent you this referral on {delivered} and have not yet heard that you received it.",
        "The person's details are in our first email, with the same reference.",
        "",
        *_status_link_lines(message),
        _contact_us(message, from_addr),
    ]
    return "\n".join(lines) + "\n"


def _fact_lines(facts: dict) -> list[str]:
    known = [key for key in FACT_LABELS if key in facts]
    others = sorted(key for key in facts if key not in FACT_LABELS)
    lines = []
    for key in known + others:
        value = facts[key]
        if value in (None, "", "unknown"):
            continue
        label = FACT_LABELS.get(key, key.replace("_", " ").capitalize())
        lines.append(f"{label}: {_fact_value(key, value)}")
    return lines or ["(nothing else was shared)"]


def _fact_value(key: str, value: object) -> str:
    if key == "weeks_off_sick" and isinstance(value, (int, float)):
        return f"{value:g} weeks"
    return str(value).replace("_", " ")


def _withdrawal_text(message: OutgoingMessage, from_addr: str) -> str:
    withdrawn_at = message.withdrawn_at or message.sent_at
    lines = [
        f"Consent withdrawn for referral {message.reference} ({message.service_name})",
        "",
        "The person has withdrawn consent; please do not contact them about this referral "
        "and delete their details.",
        "",
        f"Reference: {message.reference}",
        f"Withdrawn at: {_readable_time(withdrawn_at)}",
        "",
        _contact_us(message, from_addr),
    ]
    return "\n".join(lines) + "\n"


def _contact_us(message: OutgoingMessage, from_addr: str) -> str:
    address = parseaddr(from_addr)[1] or from_addr
    return (
        f"Questions about this referral? Reply to this email or write to {address}, "
        f"quoting the reference {message.reference}."
    )


def _readable_time(value: dt.datetime) -> str:
    return as_utc(value).strftime("%d %B %Y, %H:%M UTC")


def as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; everything is stored in UTC.
    return (
        value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    )


class SmtpSender:
    """Sends through an SMTP server: STARTTLS on request, implicit TLS on port 465."""

    def __init__(
        self,
        host: str,
        port: int,
        from_addr: str,
        starttls: bool = True,
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
    ):
        self.host, self.port, self.from_addr = host, port, from_addr
        self.starttls, self.username, self.password, self.timeout = starttls, username, password, timeout

    def send(self, message: OutgoingMessage) -> None:
        email = compose_email(message, self.from_addr)
        with self._connect() as smtp:
            smtp.send_message(email, from_addr=parseaddr(self.from_addr)[1], to_addrs=[message.destination])

    @property
    def implicit_tls(self) -> bool:
        return self.port == 465

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        # Made once: loading the system's certificates takes tens of milliseconds.
        return ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls and not self.implicit_tls:
                # Raises when the server does not offer it: never fall back to plain text.
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


class PickupDirectorySender:
    """The embedded default: each email is a file, for a person or a mail system to pick up.

    The file is named by the message key, so a retry overwrites it and never
    makes a second copy. Files are readable by their owner only. With a key (as
    the embedded default runs), each is sealed with it (`.eml.enc`, Fernet), because
    a referral holds a name, a number and a health condition: `python -m chatbot
    referrals mail` prints them for the person who picks them up. Without one, plain
    `.eml` files for a local mail system.
    """

    def __init__(self, directory: Path, from_addr: str = "referrals@localhost", key: bytes | None = None):
        self.directory = Path(directory)
        self.from_addr = from_addr
        self._fernet = Fernet(key) if key else None

    def path_for(self, message_key: str) -> Path:
        suffix = SEALED_SUFFIX if self._fernet else PLAIN_SUFFIX
        return self.directory / (_file_stem(message_key) + suffix)

    def send(self, message: OutgoingMessage) -> None:
        data = compose_email(message, self.from_addr).as_bytes()
        if self._fernet:
            data = self._fernet.encrypt(data)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Write aside, then rename: a reader never sees half a file.
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=".writing-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path_for(message.message_key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


PLAIN_SUFFIX, SEALED_SUFFIX = ".eml", ".eml.enc"


def _file_stem(message_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", message_key)


def pickup_files(directory: Path) -> list[Path]:
    """The outbox's emails, sealed or plain, oldest first."""
    if not Path(directory).is_dir():
        return []
    found = [p for p in Path(directory).iterdir() if p.name.endswith((PLAIN_SUFFIX, SEALED_SUFFIX))]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def read_pickup(path: Path, key: bytes | None) -> bytes:
    """One outbox email as RFC 5322 bytes, opened with the key if it was sealed."""
    data = Path(path).read_bytes()
    if not path.name.endswith(SEALED_SUFFIX):
        return data
    if not key:
        raise ValueError(f"{path.name} is sealed: the referral key is needed to read it")
    try:
        return Fernet(key).decrypt(data)
    except InvalidToken as error:
        raise ValueError(f"{path.name} cannot be opened with this key") from error


# --- webhook ----------------------------------------------------------------


def webhook_signing_secret(key: bytes) -> bytes:
    """WEBHOOK_SIGNING_SECRET if set, else one derived from the encryption key.

    The derived secret is hex text, so it can be given to a service as it is;
    either way the HMAC key is the secret's UTF-8 bytes.
    """
    from_env = os.environ.get(SIGNING_SECRET_ENV, "").strip()
    if from_env:
        return from_env.encode("utf-8")
    return crypto.derived_secret(key, "webhook").hex().encode("ascii")


def signature_header(secret: bytes, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_payload(message: OutgoingMessage) -> dict:
    payload: dict = {
        "kind": message.kind,
        "reference": message.reference,
        "service_id": message.service_id,
        "service_name": message.service_name,
        "sent_at": as_utc(message.sent_at).isoformat(),
    }
    if message.kind == m.KIND_WITHDRAWAL:
        payload["withdrawn_at"] = as_utc(message.withdrawn_at or message.sent_at).isoformat()
        return payload
    if message.kind == m.KIND_REMINDER:
        if message.delivered_at is not None:
            payload["delivered_at"] = as_utc(message.delivered_at).isoformat()
        return payload
    person, consent = message.person, message.consent
    if person is None or consent is None:
        raise DeliveryFailed("referral has no personal data or consent record")
    payload["person"] = {
        "name": person.name,
        "contact_route": person.contact_route,
        "contact": person.contact,
        "best_time": person.best_time,
    }
    payload["purpose"] = message.purpose  # referral | callback
    payload["shared_facts"] = message.shared_facts or {}
    payload["consent"] = {
        "decided_at": as_utc(consent.decided_at).isoformat(),
        "given_by": consent.given_by,
        "how": consent.how,
        "wording_version": consent.wording_version,
    }
    return payload


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead to plain http or another host: treat it as a failure.
    def redirect_request(self, *args, **kwargs):
        return None


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_webhook_url(url: str) -> None:
    """https only; plain http is allowed to this machine alone (tests, local receivers)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host and is_loopback(host):
        return
    raise DeliveryFailed("refused: webhook URL must use https")


class WebhookSender:
    def __init__(self, signing_secret: bytes, timeout: float = 30.0, clock: Callable[[], float] = time.time):
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.clock = clock
        context = ssl.create_default_context()
        self._opener = urllib.request.build_opener(
            _NoRedirects(), urllib.request.HTTPSHandler(context=context)
        )
        # No proxy for this machine: a proxy from the environment must not see local traffic.
        self._loopback_opener = urllib.request.build_opener(_NoRedirects(), urllib.request.ProxyHandler({}))

    def send(self, message: OutgoingMessage) -> None:
        check_webhook_url(message.destination)
        body = json.dumps(
            webhook_payload(message), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode("utf-8")
        request = urllib.request.Request(
            message.destination,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": message.message_key,
                "X-Signature": signature_header(self.signing_secret, body, int(self.clock())),
                "User-Agent": "chatbot-referrals/1",
            },
        )
        host = urlsplit(message.destination).hostname or ""
        opener = self._loopback_opener if is_loopback(host) else self._opener
        try:
            with opener.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
        if 200 <= status < 300 or status == 409:  # 409: the service already has this key
            return
        raise DeliveryFailed(f"HTTP {status}")


def remove_pickup_copies(directory: Path, reference: str) -> int:
    """Delete the embedded outbox's copies that carry a person's details (the referral and its
    reminder) once consent is withdrawn or the data erased. The withdrawal notice, which
    names only the reference, stays for the service. Returns how many files went."""
    removed = 0
    for kind in ("referral", "reminder"):
        for suffix in (PLAIN_SUFFIX, SEALED_SUFFIX):
            path = directory / (_file_stem(f"{kind}-{reference}") + suffix)
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
    return removed
