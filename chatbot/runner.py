"""Start and stop the action server and the Rasa server as child processes.

Used by `python -m chatbot run` (`make run`) and by the integration tests, so
the tests exercise exactly the start-up that people use.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chatbot.config import RASA_TOKEN_ENV, Settings, rasa_environment
from chatbot.json_logs import LOG_SOURCE_ENV
from chatbot.privacy.files import PRIVATE_UMASK, keep_private


class StartError(RuntimeError):
    """A server did not come up; the message says what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latest_model(project_root: Path) -> Path:
    models = sorted((project_root / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise StartError("No trained model in models/. Run `make train` (or `make run`, which trains).")
    return models[-1]


def api_token(settings: Settings) -> str:
    """The token for Rasa's HTTP API: from RASA_API_TOKEN, or generated once into var/."""
    if token := os.environ.get("RASA_API_TOKEN"):
        return token
    path = settings.var_dir / "rasa_api_token"
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


@dataclass
class Servers:
    settings: Settings
    rasa_url: str
    action_url: str
    token: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    log_dir: Path | None = None
    commands: dict[str, list[str]] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    # Secrets one process needs and the others must not see (the API token).
    private_environment: dict[str, dict[str, str]] = field(default_factory=dict)
    _restarts: dict[str, dict] = field(default_factory=dict)  # restart_crashed()'s back-off state

    def launch(self, name: str) -> None:
        """Start one process (again): used at start-up, and by fault tests after a kill."""
        out = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = self.log_dir / (name.replace(" ", "_") + ".log")
            out = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        self.processes[name] = subprocess.Popen(
            self.commands[name],
            cwd=self.settings.project_root,
            env={**self.environment, **self.private_environment.get(name, {})},
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # we deliver Ctrl-C ourselves, in order
            umask=PRIVATE_UMASK,  # databases, logs and mail they write are the owner's alone
        )

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no clean-up runs."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask each process to stop (SIGINT, like Ctrl-C); kill what does not."""
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise StartError(f"The {name} stopped (exit code {proc.returncode}). {self._log_hint(name)}")

    def restart_crashed(self, say: Callable[[str], None] = print) -> None:
        """`make run`'s supervision: a process that stopped is started again, after a back-off
        (1 s, doubling to 30 s) so a crash loop cannot spin; five crashes of one process within
        five minutes is a StartError (something is wrong that a restart will not fix)."""
        now = time.monotonic()
        for name, proc in list(self.processes.items()):
            if proc.poll() is None:
                continue
            state = self._restarts.setdefault(name, {"crashes": [], "due": None})
            if state["due"] is None:
                state["crashes"] = [t for t in state["crashes"] if now - t < RESTART_WINDOW_SECONDS] + [now]
                if len(state["crashes"]) >= RESTART_LIMIT:
                    raise StartError(
                        f"The {name} stopped {RESTART_LIMIT} times in {RESTART_WINDOW_SECONDS // 60} minutes "
                        f"(last exit code {proc.returncode}). {self._log_hint(name)}"
                    )
                delay = min(RESTART_FIRST_DELAY * 2 ** (len(state["crashes"]) - 1), RESTART_MAX_DELAY)
                state["due"] = now + delay
                say(
                    f"==> the {name} stopped (exit code {proc.returncode}); starting it again in {delay:.0f} s"  # noqa: E501
                )
            elif now >= state["due"]:
                state["due"] = None
                self.launch(name)
                say(f"==> the {name} started again")

    def _log_hint(self, name: str) -> str:
        if self.log_dir:
            return f"See {self.log_dir / (name.replace(' ', '_') + '.log')}."
        return "See its output above."


RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_LIMIT = 5
RESTART_WINDOW_SECONDS = 300


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def wait_until_answers(url: str, servers: Servers, name: str, timeout: float) -> None:
    """Wait for `url` to answer 200; StartError if it does not, or if any process of `servers` stops."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        servers.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise StartError(f"The {name} did not answer at {url} within {timeout:.0f} s. {servers._log_hint(name)}")


# rasa_sdk takes its interface only from this variable (its default is every interface).
ACTION_SERVER_HOST_ENV = "SANIC_HOST"


def action_server_command(port: int) -> list[str]:
    """The action server's command (one per port in the production profile).

    rasa_sdk itself, not `rasa run actions`: Rasa's command line imports Rasa and
    TensorFlow first (138 MB and 2.8 s to ready, against 73 MB and 1.6 s here).
    No --cors: rasa_sdk then sends no CORS headers, and browsers never call it.
    Through chatbot.json_logs, which changes only the log format (LOG_FORMAT=json).
    """
    return [
        sys.executable,
        "-m",
        "chatbot.json_logs",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        str(port),
    ]


def worker_command() -> list[str]:
    """The worker: delivers referrals from the outbox and runs the retention purge."""
    return [sys.executable, "-m", "chatbot.json_logs", "chatbot", "worker"]


def cors_arguments(origins: str) -> list[str]:
    """Rasa's --cors for CORS_ORIGINS ("https://a.gov.uk, https://b.gov.uk"); none when it is empty.

    Each origin is its own argument: one string with commas would be read as one origin.
    Without --cors Rasa sends no CORS headers, so only pages it serves itself can call it.
    """
    listed = [o for o in origins.replace(",", " ").split() if o]
    if "*" in listed:
        raise StartError(
            "CORS_ORIGINS=*: every website could talk to the assistant from a visitor's browser. "
            "List the council sites that embed the widget instead (comma-separated)."
        )
    return ["--cors", *listed] if listed else []


def rasa_server_command(
    model: Path, host: str, port: int, cors: str, rasa_args: tuple[str, ...] = ()
) -> list[str]:
    """The Rasa server's command (one per port in the production profile).

    The API token is not here: it goes in the process's environment (RASA_TOKEN_ENV).
    """
    return [
        sys.executable,
        "-m",
        "chatbot.rasa_main",  # Rasa's CLI, with logs kept free of people's words
        "run",
        "--model",
        str(model),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
        "--interface",
        host,
        "--port",
        str(port),
        "--enable-api",  # the token comes in the environment: see chatbot/rasa_main.py
        *cors_arguments(cors),
        *rasa_args,
    ]


def start_servers(
    settings: Settings,
    log_dir: Path | None = None,
    timeout: float = 180.0,
    rasa_args: tuple[str, ...] = (),
) -> Servers:
    """Start both servers and wait until they answer. Output goes to log_dir if given."""
    root = settings.project_root
    keep_private(settings.var_dir)  # and fix what an older version left readable
    model = latest_model(root)
    env = rasa_environment(settings)
    host = settings.rasa_host
    token = api_token(settings)
    servers = Servers(
        settings=settings,
        rasa_url=f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{settings.rasa_port}",
        action_url=f"http://127.0.0.1:{settings.action_port}",
        token=token,
        log_dir=log_dir,
    )
    commands = {
        "action server": action_server_command(settings.action_port),
        "Rasa server": rasa_server_command(
            model,
            host,
            settings.rasa_port,
            # By default the assistant's own public address (the demo page's origin).
            os.environ.get("CORS_ORIGINS", f"http://localhost:{settings.rasa_port}"),
            rasa_args,
        ),
    }
    commands["worker"] = worker_command()
    servers.commands = commands
    servers.environment = env
    servers.private_environment = {
        "Rasa server": {RASA_TOKEN_ENV: token, LOG_SOURCE_ENV: "rasa"},
        # The action server asks for no credentials: loopback only, whatever RASA_HOST says.
        "action server": {ACTION_SERVER_HOST_ENV: "127.0.0.1", LOG_SOURCE_ENV: "actions"},
        "worker": {LOG_SOURCE_ENV: "worker"},
    }
    try:
        for name in commands:
            servers.launch(name)
        wait_until_answers(f"{servers.action_url}/health", servers, "action server", timeout)
        wait_until_answers(f"{servers.rasa_url}/webhooks/rest/", servers, "Rasa server", timeout)
        if env.get("TELEGRAM_BOT_TOKEN"):
            # The Telegram bridge talks to Rasa's REST channel, so it starts once Rasa answers.
            commands["telegram bridge"] = [sys.executable, "-m", "chatbot.channels.telegram"]
            env["RASA_URL"] = servers.rasa_url
            servers.launch("telegram bridge")
    except BaseException:
        servers.stop()
        raise
    return servers
