"""Shared fixtures. Servers start once per test run (they take 10-30 s)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace

import pytest

from chatbot.config import PROJECT_ROOT, load_settings
from chatbot.knowledge.loader import read_knowledge
from chatbot.triage import Catalogue

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# Tests never touch the developer's var/: every run gets its own databases.
os.environ["CHATBOT_VAR_DIR"] = tempfile.mkdtemp(prefix="chatbot-test-")
for _name in ("DATABASE_URL", "TRACKER_STORE_URL"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def knowledge():
    return read_knowledge(PROJECT_ROOT / "knowledge")


@pytest.fixture(scope="session")
def catalogue(knowledge):
    return Catalogue(knowledge)


class Mailbox:
    """What a real SMTP server on loopback received (aiosmtpd)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 (aiosmtpd's name)
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    from chatbot.runner import free_port

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def start_test_servers(var, smtp_port: int):
    """The real servers and worker, on free ports, with their own databases, mailing smtp_port."""
    from chatbot.runner import free_port, start_servers

    os.environ["REFERRAL_DISPATCH_SECONDS"] = "0.5"
    action_port = free_port()
    settings = replace(
        load_settings(),
        var_dir=var,
        database_url=f"sqlite:///{var / 'chatbot.db'}",
        tracker_store_url=f"sqlite:///{var / 'tracker.db'}",
        rasa_port=free_port(),
        action_port=action_port,
        action_endpoint_url=f"http://127.0.0.1:{action_port}/webhook",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
    )
    return start_servers(settings, log_dir=var / "logs")


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory, smtp_server):
    """Shared by every test that only talks to the servers (they take 10-30 s to start)."""
    controller, _ = smtp_server
    servers = start_test_servers(tmp_path_factory.mktemp("var"), controller.port)
    yield servers
    servers.stop()
