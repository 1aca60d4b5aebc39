"""Fixtures for the production-profile tests: private PostgreSQL and Redis, and the whole stack.

These tests start two Rasa servers, two action servers, the worker and nginx, and stop and
restart the databases under them (about 2-3 minutes). They run only when asked for by path
(`python -m pytest tests/production`, the lead's `make test-production`) or with
CHATBOT_PRODUCTION_TESTS=1; a plain `pytest` (make test) leaves them out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chatbot.config import PROJECT_ROOT
from chatbot.runner import free_port
from tests.production.services import PrivatePostgres, PrivateRedis, PrivateSMTP, clean_environment

HERE = Path(__file__).resolve().parent
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


def _asked_for(config: pytest.Config) -> bool:
    if os.environ.get("CHATBOT_PRODUCTION_TESTS") == "1":
        return True
    for arg in config.args:
        path = Path(arg.split("::")[0])
        path = (path if path.is_absolute() else Path(str(config.invocation_params.dir)) / path).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        if HERE in collection_path.resolve().parents and not _asked_for(config):
            return True
    return None


@pytest.fixture(scope="session")
def private_postgres():
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def private_redis():
    redis = PrivateRedis()
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()


@pytest.fixture(scope="session")
def private_smtp():
    smtp = PrivateSMTP()
    try:
        yield smtp.start()
    finally:
        smtp.stop()


@dataclass
class Stack:
    """The production profile as `production up --detach` started it."""

    env: dict[str, str]
    var_dir: Path
    public_url: str
    rasa_ports: tuple[int, ...]
    up_seconds: float = 0.0
    up_output: str = ""
    notes: list[str] = field(default_factory=list)

    def cli(self, *args: str, timeout: float = 400) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "chatbot", "production", *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def state(self) -> dict:
        return json.loads((self.var_dir / "production" / "state.json").read_text())

    def status(self) -> dict:
        return json.loads(self.cli("status", "--json", timeout=60).stdout)

    @property
    def token(self) -> str:
        return (self.var_dir / "rasa_api_token").read_text().strip()

    def log(self, name: str) -> str:
        return (self.var_dir / "production" / "logs" / name).read_text(errors="replace")


def _read_state(var_dir: Path) -> dict:
    try:
        return json.loads((var_dir / "production" / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def _kill_leftovers(state: dict) -> list[str]:
    """Anything `down` left running (it should be nothing): SIGKILL it, and say what it was."""
    from chatbot.production.stack import process_alive, start_ticks

    left = []
    records = dict(state.get("processes", {}))
    records["supervisor"] = {"pid": state.get("supervisor"), "started": None}
    for name, record in records.items():
        pid = record.get("pid")
        if name == "supervisor":
            # A zombie has stopped (its parent, `up --detach`, is gone and pid 1 reaps it).
            alive = isinstance(pid, int) and start_ticks(pid) is not None
        else:
            alive = process_alive(record)
        if alive:
            left.append(name)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return left


@pytest.fixture(scope="session")
def production_stack(private_postgres, private_redis, private_smtp):
    var_dir = Path(tempfile.mkdtemp(prefix="chatbot-production-"))
    rasa_ports = (free_port(), free_port())
    public_port = free_port()
    env = clean_environment(
        CHATBOT_VAR_DIR=str(var_dir),
        DATABASE_URL=private_postgres.database_url("chatbot"),
        REDIS_HOST="127.0.0.1",
        REDIS_PORT=str(private_redis.port),
        PUBLIC_HOST="127.0.0.1",
        PUBLIC_PORT=str(public_port),
        RASA_PORTS=",".join(map(str, rasa_ports)),
        ACTION_PORTS=f"{free_port()},{free_port()}",
        ACTION_PROXY_PORT=str(free_port()),
        REFERRAL_DISPATCH_SECONDS="1",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(private_smtp.port),
        SMTP_STARTTLS="false",
    )
    stack = Stack(
        env=env, var_dir=var_dir, public_url=f"http://127.0.0.1:{public_port}", rasa_ports=rasa_ports
    )
    try:
        started = time.monotonic()
        result = stack.cli("up", "--detach")
        stack.up_seconds = time.monotonic() - started
        stack.up_output = result.stdout + result.stderr
        if result.returncode != 0:
            pytest.fail(f"`production up --detach` failed ({result.returncode}):\n{stack.up_output}")
        yield stack
    finally:
        state = _read_state(var_dir)  # what runs now, to check that `down` stops all of it
        try:
            stack.cli("down", timeout=120)
        finally:
            left = _kill_leftovers({**state, **_read_state(var_dir)})
            shutil.rmtree(var_dir, ignore_errors=True)
            if left:
                pytest.fail(f"`production down` left these running (killed now): {left}")
