"""The status-update channel over real HTTP: a Sanic server on loopback with the channel
mounted by Rasa's own `register`, as `rasa run` mounts it from credentials.yml.

Links: a GET shows a page and changes nothing; a POST records once. Forged, expired, used,
unknown and out-of-order links get a 4xx page and change nothing. The JSON webhook: signed
calls work; bad signatures, stale timestamps, replays, unknown references and other
services' referrals are refused, and change nothing. Every refusal is checked in the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from rasa.core.channels.channel import register
from sanic import Sanic

from chatbot.channels.status_updates import StatusUpdateChannel, StatusUpdates
from chatbot.config import load_settings, rasa_environment
from chatbot.db import session_scope
from chatbot.referrals import models as m
from chatbot.referrals.senders import signature_header
from chatbot.referrals.status_links import LINK_LABELS, StatusLinks, service_webhook_secret
from tests.test_referral_status import KEY, LINKS, SERVICE_ID, delivered_referral, open_engine, submit

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    with open_engine(request.param, tmp_path) as engine:
        yield engine


class Server:
    """One per module: Sanic 21.12 cannot start a second app in one process (its "touchup"
    rewrites the class once). Each test points the channel at its own database."""

    def __init__(self):
        self.updates = StatusUpdates(None, KEY, LINKS)
        self.app = Sanic(f"status_updates_test_{uuid.uuid4().hex}")
        register([StatusUpdateChannel(self.updates)], self.app, route="/webhooks/")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(self._start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _start(self):
        server = await self.app.create_server(
            host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
        )
        await server.startup()
        return server

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/referral-status/{path}"

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        request = urllib.request.Request(self.url(path), data=body, method=method, headers=headers or {})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read().decode()


@pytest.fixture(scope="module")
def running_server():
    server = Server()
    yield server
    server.stop()


@pytest.fixture
def server(running_server, engine):
    running_server.engine = running_server.updates.engine = engine
    yield running_server
    running_server.engine = running_server.updates.engine = None


def token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def link(reference: str, status: str, at: dt.datetime = NOW) -> str:
    return token(LINKS.url(reference, status, at))


def snapshot(engine) -> dict:
    """Everything a status update could change."""
    with session_scope(engine) as session:
        return {
            "referrals": sorted(
                (r.reference, r.status, str(r.status_changed_at))
                for r in session.scalars(sa.select(m.ReferralRow))
            ),
            "history": session.scalar(sa.select(sa.func.count()).select_from(m.StatusChangeRow)),
            "receipts": session.scalar(sa.select(sa.func.count()).select_from(m.StatusReceiptRow)),
        }


def status_of(engine, reference) -> str:
    with session_scope(engine) as session:
        return session.scalar(sa.select(m.ReferralRow.status).where(m.ReferralRow.reference == reference))


def heading(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page).group(1)


# --- links ---------------------------------------------------------------------------------


def test_a_get_shows_a_confirmation_page_and_changes_nothing(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)
    before = snapshot(server.engine)
    path = link(reference, m.CONTACTED)
    for _ in range(3):  # a mail scanner, a link preview, then the person
        status, headers, page = server.request("GET", path)
        assert status == 200
        assert heading(page) == f"Confirm: {LINK_LABELS[m.CONTACTED]}"
        assert reference in page and '<form method="post">' in page and "<button" in page
    assert server.request("HEAD", path)[0] == 200
    assert snapshot(server.engine) == before
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    assert not re.search(r"<script|<img|<link|https?://", page)  # nothing from anywhere else
    assert '<html lang="en">' in page


def test_the_button_records_the_status_once(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)
    path = link(reference, m.ACKNOWLEDGED)
    status, _, page = server.request("POST", path, b"")
    assert (status, heading(page)) == (200, "Thank you, recorded")
    assert status_of(server.engine, reference) == m.ACKNOWLEDGED
    after = snapshot(server.engine)
    assert after["receipts"] == 1
    for method in ("POST", "GET"):  # the same link again: refused, and says why
        status, _, page = server.request(method, path, b"" if method == "POST" else None)
        assert (status, heading(page)) == (409, "This link has already been used")
    assert snapshot(server.engine) == after
    with session_scope(server.engine) as session:
        last = session.scalars(sa.select(m.StatusChangeRow).order_by(m.StatusChangeRow.id.desc())).first()
        assert (last.status, last.changed_by) == (m.ACKNOWLEDGED, m.BY_SERVICE)


def test_forged_and_expired_links_are_refused_and_change_nothing(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)
    before = snapshot(server.engine)
    genuine = link(reference, m.ACKNOWLEDGED)
    forged = [
        genuine.replace(f".{m.ACKNOWLEDGED}.", f".{m.SUPPORT_STARTED}."),  # another status, same MAC
        link(reference, m.ACKNOWLEDGED).rsplit(".", 1)[0] + "." + genuine.rsplit(".", 1)[1],  # another nonce
        token(StatusLinks(Fernet.generate_key(), "https://x").url(reference, m.DECLINED, NOW)),  # another key
        genuine[:-5],
        "not-a-token",
        "HW-00000-00000.acknowledged.9999999999.AAAAAAAAAAAAAAAA.AAAA",
    ]
    expired = link(reference, m.ACKNOWLEDGED, at=NOW - dt.timedelta(days=61))
    for method in ("GET", "POST"):
        for path in forged:
            status, _, page = server.request(method, path, b"" if method == "POST" else None)
            assert (status, heading(page)) == (400, "This link is not valid"), path
        status, _, page = server.request(method, expired, b"" if method == "POST" else None)
        assert (status, heading(page)) == (410, "This link has expired")
    assert snapshot(server.engine) == before


def test_out_of_order_and_closed_referrals_are_refused_and_change_nothing(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)
    assert server.request("POST", link(reference, m.CONTACTED), b"")[0] == 200
    before = snapshot(server.engine)
    backwards = link(reference, m.ACKNOWLEDGED)
    for method in ("GET", "POST"):
        status, _, page = server.request(method, backwards, b"" if method == "POST" else None)
        assert (status, heading(page)) == (409, "This update does not fit")
        assert "the person has been contacted" in page
    assert snapshot(server.engine) == before  # and the refused link's nonce was not used up
    assert server.request("POST", link(reference, m.COULD_NOT_CONTACT), b"")[0] == 200
    closed = snapshot(server.engine)
    status, _, page = server.request("POST", link(reference, m.SUPPORT_STARTED), b"")
    assert (status, heading(page)) == (409, "This referral is closed")
    assert snapshot(server.engine) == closed


def test_links_for_withdrawn_unknown_and_undelivered_referrals(server, tmp_path):
    withdrawn = delivered_referral(server.engine, tmp_path, at=NOW)
    with session_scope(server.engine) as session:
        from chatbot.referrals import store

        store.withdraw(session, withdrawn, NOW)
    waiting = submit(server.engine, at=NOW)
    before = snapshot(server.engine)
    cases = [
        (withdrawn, 409, "The person has withdrawn their consent"),
        ("HW-00000-00000", 404, "We cannot find this referral"),
        (waiting, 409, "This referral has not reached you yet"),
    ]
    for reference, expected_status, expected_heading in cases:
        for method in ("GET", "POST"):
            status, _, page = server.request(
                method, link(reference, m.ACKNOWLEDGED), b"" if method == "POST" else None
            )
            assert (status, heading(page)) == (expected_status, expected_heading)
    assert snapshot(server.engine) == before


# --- the JSON webhook ----------------------------------------------------------------------


def signed(server, payload: dict, *, service_id: str = SERVICE_ID, at: float | None = None, secret=None):
    body = json.dumps(payload).encode()
    secret = secret or service_webhook_secret(KEY, service_id)
    headers = {
        "Content-Type": "application/json",
        "X-Signature": signature_header(secret, body, int(at if at is not None else time.time())),
    }
    return body, headers


def call(server, body: bytes, headers: dict) -> tuple[int, dict]:
    status, _, text = server.request("POST", "api", body, headers)
    return status, json.loads(text)


def test_a_signed_call_records_the_status(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)
    payload = {"reference": reference, "service_id": SERVICE_ID, "status": m.CONTACTED}
    status, answer = call(server, *signed(server, payload))
    assert (status, answer) == (200, {"reference": reference, "status": m.CONTACTED, "changed": True})
    assert status_of(server.engine, reference) == m.CONTACTED
    # The same status again, freshly signed (a retry after a timeout): fine, and nothing changes.
    before = snapshot(server.engine)
    status, answer = call(server, *signed(server, payload, at=time.time() + 1))
    assert (status, answer["changed"]) == (200, False)
    assert snapshot(server.engine) == before


def test_bad_signatures_stale_calls_and_replays_are_refused_and_change_nothing(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)
    payload = {"reference": reference, "service_id": SERVICE_ID, "status": m.ACKNOWLEDGED}
    before = snapshot(server.engine)
    body, headers = signed(server, payload)
    tampered = body.replace(m.ACKNOWLEDGED.encode(), m.DECLINED.encode())
    other_service = signed(server, payload, service_id="another-service")[1]  # its own secret, our id
    cases = [
        ((tampered, headers), 401, "bad_signature"),
        ((body, other_service), 401, "bad_signature"),
        ((body, {"Content-Type": "application/json"}), 401, "no_signature"),
        (signed(server, payload, at=time.time() - 600), 401, "stale"),
        (signed(server, payload, at=time.time() + 600), 401, "stale"),
        (signed(server, payload, secret=b"a guess"), 401, "bad_signature"),
    ]
    for (case_body, case_headers), expected_status, expected_error in cases:
        status, answer = call(server, case_body, case_headers)
        assert (status, answer["error"]) == (expected_status, expected_error)
    assert snapshot(server.engine) == before

    assert call(server, body, headers)[0] == 200
    applied = snapshot(server.engine)
    status, answer = call(server, body, headers)  # the very same request, captured and sent again
    assert (status, answer["error"]) == (409, "replayed")
    assert snapshot(server.engine) == applied


def test_unknown_references_other_services_and_bad_requests_are_refused(server, tmp_path):
    reference = delivered_referral(server.engine, tmp_path, at=NOW)

    def update(status: str, ref: str = reference, service_id: str = SERVICE_ID) -> tuple[int, dict]:
        payload = {"reference": ref, "service_id": service_id, "status": status}
        return call(server, *signed(server, payload, service_id=service_id))

    assert update(m.CONTACTED)[0] == 200
    before = snapshot(server.engine)
    cases = [
        (update(m.SUPPORT_STARTED, ref="HW-00000-00000"), 422, "unknown_reference"),
        (update(m.SUPPORT_STARTED, service_id="another-service"), 422, "unknown_reference"),
        (update(m.ACKNOWLEDGED), 409, "out_of_order"),
        (update(m.WITHDRAWN), 422, "unknown_status"),  # only the person withdraws
        (update("finished"), 422, "unknown_status"),
        (call(server, *signed(server, {"reference": reference, "status": m.DECLINED})), 400, "bad_request"),
        (call(server, b"{not json", {"X-Signature": "t=1,v1=00"}), 400, "bad_request"),
        (
            call(server, b"[" * 1500 + b"]" * 1500, {"X-Signature": "t=1,v1=00"}),
            400,
            "bad_request",
        ),  # 3 KB deep
    ]
    for (status, answer), expected_status, expected_error in cases:
        assert (status, answer["error"]) == (expected_status, expected_error), answer
    assert update(m.ACKNOWLEDGED)[1]["status"] == m.CONTACTED  # the refusal says where it is
    assert server.request("POST", "api", b"x" * 5000, {})[0] == 413
    assert snapshot(server.engine) == before


# --- how Rasa finds the channel ------------------------------------------------------------


def test_rasa_finds_the_channel_in_credentials_and_gives_it_what_it_needs():
    import yaml
    from rasa.shared.utils.common import class_from_module_path

    from chatbot.config import PROJECT_ROOT

    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    channels = [class_from_module_path(path) for path in credentials]
    assert StatusUpdateChannel in channels
    assert StatusUpdateChannel.from_credentials(None).url_prefix() == "referral-status"
    env = rasa_environment(load_settings())
    assert {"DATABASE_URL", "CHATBOT_VAR_DIR", "REFERRAL_LINK_DAYS"} <= set(env)
