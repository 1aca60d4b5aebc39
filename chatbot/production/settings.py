"""The production profile's settings: environment variables, with defaults for one machine.

`production_environment()` fills in only what is unset, so a council's hosting sets the
same variables (from its secret store and its own addresses) and changes no code. Every
process then reads them through chatbot.config.load_settings(), as under `make run`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from chatbot.config import Settings

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/chatbot"
DEFAULT_PUBLIC_PORT = "8080"
DEFAULT_RASA_PORTS = "5005,5006"
DEFAULT_ACTION_PORTS = "5055,5056"
DEFAULT_ACTION_PROXY_PORT = "5050"
DEFAULT_NGINX = "/usr/sbin/nginx"
# nginx's per-client limit on the chat endpoints (requests per second, and the burst above it).
# A flood shield per address, not the per-person limit (that is the channels' guard): people
# behind one council or surgery network share an address, and socket.io polls several times
# per message, so it is generous.
DEFAULT_CLIENT_RATE = "10"
DEFAULT_CLIENT_BURST = "60"


class ProductionConfigError(ValueError):
    """A setting is missing or wrong; the message names it and says what to set."""


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def production_environment(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the production defaults filled in wherever a variable is unset or empty."""
    out = dict(env)

    def default(name: str, value: str) -> None:
        if not _get(out, name):
            out[name] = value

    default("DATABASE_URL", DEFAULT_DATABASE_URL)
    # The tracker store's `events` table sits in the same database by default: one backup.
    default("TRACKER_STORE_URL", out["DATABASE_URL"])
    default("LOCK_STORE_TYPE", "redis")
    default("PUBLIC_HOST", "0.0.0.0")
    default("PUBLIC_PORT", DEFAULT_PUBLIC_PORT)
    default("RASA_PORTS", DEFAULT_RASA_PORTS)
    default("ACTION_PORTS", DEFAULT_ACTION_PORTS)
    default("ACTION_PROXY_PORT", DEFAULT_ACTION_PROXY_PORT)
    default("WORKER_PROCESSES", "1")
    default("CLIENT_RATE_PER_SECOND", DEFAULT_CLIENT_RATE)
    default("CLIENT_RATE_BURST", DEFAULT_CLIENT_BURST)
    # Each Rasa process calls its actions through nginx, which balances the action servers.
    default("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{out['ACTION_PROXY_PORT']}/webhook")
    default("PUBLIC_BASE_URL", f"http://localhost:{out['PUBLIC_PORT']}")
    parts = urlsplit(out["PUBLIC_BASE_URL"])
    default("CORS_ORIGINS", f"{parts.scheme}://{parts.netloc}")
    # Rasa's SQL tracker store would keep up to 50 + 100 connections per process.
    default("SQL_POOL_SIZE", "5")
    default("SQL_MAX_OVERFLOW", "10")
    default("RASA_TELEMETRY_ENABLED", "false")
    return out


def _ports(env: Mapping[str, str], name: str) -> tuple[int, ...]:
    raw = _get(env, name)
    try:
        ports = tuple(int(p) for p in raw.split(",") if p.strip())
    except ValueError:
        raise ProductionConfigError(f"{name}={raw!r}: give port numbers separated by commas") from None
    if not ports or any(not 0 < p < 65536 for p in ports):
        raise ProductionConfigError(f"{name}={raw!r}: give at least one port number (1-65535)")
    return ports


def _int(env: Mapping[str, str], name: str, minimum: int) -> int:
    raw = _get(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise ProductionConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ProductionConfigError(f"{name}={value}: at least {minimum}")
    return value


@dataclass(frozen=True)
class ProductionSettings:
    public_host: str
    public_port: int
    rasa_ports: tuple[int, ...]
    action_ports: tuple[int, ...]
    action_proxy_port: int
    worker_processes: int
    nginx: str
    real_ip_from: tuple[str, ...]
    run_dir: Path
    client_rate_per_second: int = int(DEFAULT_CLIENT_RATE)
    client_rate_burst: int = int(DEFAULT_CLIENT_BURST)  # var/production: state file, nginx's files, logs

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.run_dir / "state.json"

    @property
    def front_door(self) -> str:
        """The public port as this machine reaches it (for health checks and the bridge)."""
        host = "127.0.0.1" if self.public_host in ("0.0.0.0", "", "*", "::") else self.public_host
        return f"http://{host}:{self.public_port}"


def load_production_settings(env: Mapping[str, str], settings: Settings) -> ProductionSettings:
    """Read and check the production variables of `env` (already through production_environment)."""
    rasa_ports = _ports(env, "RASA_PORTS")
    action_ports = _ports(env, "ACTION_PORTS")
    public_port = _int(env, "PUBLIC_PORT", 1)
    action_proxy_port = _int(env, "ACTION_PROXY_PORT", 1)
    everything = [*rasa_ports, *action_ports, public_port, action_proxy_port]
    if len(set(everything)) != len(everything):
        raise ProductionConfigError(
            "RASA_PORTS, ACTION_PORTS, PUBLIC_PORT and ACTION_PROXY_PORT must all differ "
            f"(got {', '.join(map(str, everything))})"
        )
    for name in ("DATABASE_URL", "TRACKER_STORE_URL"):
        if not _get(env, name).startswith(("postgresql://", "postgresql+psycopg2://")):
            raise ProductionConfigError(
                f"{name} must be a postgresql:// URL in production (several processes share it); "
                "leave it unset for postgresql://postgres@127.0.0.1:5432/chatbot"
            )
    if settings.lock_store_type != "redis" and len(rasa_ports) > 1:
        raise ProductionConfigError(
            f"LOCK_STORE_TYPE={settings.lock_store_type}: with {len(rasa_ports)} Rasa processes the lock "
            "store must be redis, or two processes could answer one conversation at once"
        )
    nginx = _get(env, "NGINX") or DEFAULT_NGINX
    if not (Path(nginx).is_file() and os.access(nginx, os.X_OK)) and not shutil.which(nginx):
        raise ProductionConfigError(
            f"nginx is not installed at {nginx}. Run `bash scripts/setup_production.sh` "
            "(installs Debian's nginx), or set NGINX=/path/to/nginx."
        )
    return ProductionSettings(
        public_host=_get(env, "PUBLIC_HOST"),
        public_port=public_port,
        rasa_ports=rasa_ports,
        action_ports=action_ports,
        action_proxy_port=action_proxy_port,
        worker_processes=_int(env, "WORKER_PROCESSES", 0),
        nginx=nginx,
        real_ip_from=tuple(p.strip() for p in _get(env, "REAL_IP_FROM").split(",") if p.strip()),
        run_dir=settings.var_dir / "production",
        client_rate_per_second=_int(env, "CLIENT_RATE_PER_SECOND", 1),
        client_rate_burst=_int(env, "CLIENT_RATE_BURST", 0),
    )
