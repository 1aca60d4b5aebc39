"""Private PostgreSQL and Redis servers for the production tests, and a clean environment.

The destructive tests stop and restart these, so they never touch the machine's shared
PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379). Each lives in its own temporary
directory on a free port, and `stop()` removes the directory.

PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user
(Debian's package makes it) on a directory that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from chatbot.runner import free_port


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with code {process.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} was not found (Debian: apt-get install postgresql)")
    return path


class PrivatePostgres:
    """initdb + pg_ctl on a free port in a temporary directory; trust auth for `postgres`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chatbot-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._user: dict = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._user = {"user": entry.pw_uid, "group": entry.pw_gid}

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, cwd=self.root, **self._user
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {result.stderr or result.stdout}\n{log}")

    def start(self) -> PrivatePostgres:
        self._run(
            postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        self.start_server()
        return self

    @property
    def _options(self) -> str:
        return (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )

    def stop_server(self) -> None:
        """Fast shutdown: open connections are cut, as in a real restart."""
        self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def start_server(self) -> None:
        self._run(
            postgres_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            self._options,
            "-l",
            str(self.log),
            "-w",
            "start",
        )

    def restart(self) -> None:
        """`pg_ctl restart`: stop (fast: connections are cut) and start with the same options."""
        self._run(
            postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart"
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """redis-server on a free port, keeping nothing on disk; stop and start it at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chatbot-redis-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
                "--logfile", str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        _wait_for_port(self.port, 20, self.process)
        return self

    def stop_server(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        try:
            self.stop_server()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# Variables a developer's shell might hold that would point the stack somewhere else.
_CLEARED = (
    "DATABASE_URL", "TRACKER_STORE_URL", "LOCK_STORE_TYPE", "REDIS_HOST", "REDIS_PORT", "REDIS_LOCK_DB",
    "ACTION_ENDPOINT_URL", "ACTION_PORT", "RASA_PORT", "RASA_HOST", "PUBLIC_BASE_URL", "CORS_ORIGINS",
    "PUBLIC_HOST", "PUBLIC_PORT", "RASA_PORTS", "ACTION_PORTS", "ACTION_PROXY_PORT", "WORKER_PROCESSES",
    "REAL_IP_FROM", "RASA_API_TOKEN", "REFERRAL_ENCRYPTION_KEY", "WEBHOOK_SIGNING_SECRET", "SMTP_HOST",
    "SMTP_USERNAME", "SMTP_PASSWORD", "TELEGRAM_BOT_TOKEN", "TELEGRAM_MODE", "SQL_POOL_SIZE",
    "SQL_MAX_OVERFLOW", "SANIC_HOST", "TELEGRAM_WEBHOOK_URL",
)  # fmt: skip


def clean_environment(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(RASA_TELEMETRY_ENABLED="false", SQLALCHEMY_SILENCE_UBER_WARNING="1", **overrides)
    return env


class PrivateSMTP:
    """An SMTP server on loopback (aiosmtpd) that can be stopped and started again on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[bytes] = []
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 (aiosmtpd's name)
        self.messages.append(envelope.content)
        return "250 OK"

    def start(self) -> PrivateSMTP:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
