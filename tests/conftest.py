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


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory):
    """The real action server and Rasa server, on free ports, with their own databases."""
    from chatbot.runner import free_port, start_servers

    var = tmp_path_factory.mktemp("var")
    action_port = free_port()
    settings = replace(
        load_settings(),
        var_dir=var,
        database_url=f"sqlite:///{var / 'chatbot.db'}",
        tracker_store_url=f"sqlite:///{var / 'tracker.db'}",
        rasa_port=free_port(),
        action_port=action_port,
        action_endpoint_url=f"http://127.0.0.1:{action_port}/webhook",
    )
    servers = start_servers(settings, log_dir=var / "logs")
    yield servers
    servers.stop()
