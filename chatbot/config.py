"""Settings from the environment, with embedded defaults that need no server.

Every setting has a default that works on a fresh clone (SQLite under var/,
local processes); production overrides them with environment variables only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The Rasa HTTP API token travels in this variable, never on a command line (see rasa_main.py).
RASA_TOKEN_ENV = "CHATBOT_RASA_AUTH_TOKEN"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    project_root: Path
    var_dir: Path
    knowledge_dir: Path
    database_url: str
    tracker_store_url: str
    lock_store_type: str
    redis_host: str
    redis_port: int
    action_endpoint_url: str
    rasa_host: str
    rasa_port: int
    action_port: int
    # Referral delivery. No SMTP_HOST: emails are written to var/mail/ (the demo).
    smtp_host: str
    smtp_port: int
    smtp_from: str
    smtp_starttls: bool
    smtp_username: str
    smtp_password: str
    # Retention: conversations in the tracker store, and referral personal data.
    conversation_retention_days: int
    referral_retention_days: int
    # Where services reach this server from outside, for the status links in referral emails;
    # empty: http://localhost:<rasa_port> (see public_base_url()).
    public_base_url: str
    # Referral status: how long a status link works, and the working days (Mon-Fri) after
    # delivery before the service gets one reminder, and before the person is told it is overdue.
    referral_link_days: int
    referral_reminder_days: int
    referral_response_days: int


def load_settings() -> Settings:
    var_dir = Path(_env("CHATBOT_VAR_DIR", str(PROJECT_ROOT / "var")))
    action_port = int(_env("ACTION_PORT", "5055"))
    return Settings(
        project_root=PROJECT_ROOT,
        var_dir=var_dir,
        knowledge_dir=Path(_env("KNOWLEDGE_DIR", str(PROJECT_ROOT / "knowledge"))),
        # Knowledge base, referrals and outcomes.
        database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'chatbot.db'}"),
        # Rasa's conversations; kept apart so erasure and retention can treat them alone.
        tracker_store_url=_env("TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.db'}"),
        # in_memory suits one Rasa process; several processes need "redis".
        lock_store_type=_env("LOCK_STORE_TYPE", "in_memory"),
        redis_host=_env("REDIS_HOST", "127.0.0.1"),
        redis_port=int(_env("REDIS_PORT", "6379")),
        action_endpoint_url=_env("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{action_port}/webhook"),
        rasa_host=_env("RASA_HOST", "127.0.0.1"),
        rasa_port=int(_env("RASA_PORT", "5005")),
        action_port=action_port,
        smtp_host=_env("SMTP_HOST", ""),
        smtp_port=int(_env("SMTP_PORT", "587")),
        smtp_from=_env("SMTP_FROM", "referrals@localhost"),
        smtp_starttls=_env("SMTP_STARTTLS", "true").lower() in ("1", "true", "yes"),
        smtp_username=_env("SMTP_USERNAME", ""),
        smtp_password=_env("SMTP_PASSWORD", ""),
        conversation_retention_days=int(_env("CONVERSATION_RETENTION_DAYS", "30")),
        referral_retention_days=int(_env("REFERRAL_RETENTION_DAYS", "90")),
        public_base_url=_env("PUBLIC_BASE_URL", "").rstrip("/"),
        referral_link_days=int(_env("REFERRAL_LINK_DAYS", "60")),
        referral_reminder_days=int(_env("REFERRAL_REMINDER_DAYS", "3")),
        referral_response_days=int(_env("REFERRAL_RESPONSE_DAYS", "5")),
    )


def public_base_url(settings: Settings) -> str:
    """Where people and services reach this server: PUBLIC_BASE_URL, else this machine's Rasa port."""
    return settings.public_base_url or f"http://localhost:{settings.rasa_port}"


# LOCK_STORE_TYPE=redis means our Redis ticket lock: Rasa's rules in 2 round trips a message, not 7.
RASA_LOCK_STORES = {"redis": "chatbot.production.lock_store.RedisTicketLockStore"}


def rasa_environment(settings: Settings) -> dict[str, str]:
    """Environment for the Rasa processes: ours plus privacy-safe defaults."""
    env = dict(os.environ)
    env.update(
        TRACKER_STORE_URL=settings.tracker_store_url,
        LOCK_STORE_TYPE=RASA_LOCK_STORES.get(settings.lock_store_type, settings.lock_store_type),
        REDIS_HOST=settings.redis_host,
        REDIS_PORT=str(settings.redis_port),
        REDIS_LOCK_DB=env.get("REDIS_LOCK_DB", "1"),
        ACTION_ENDPOINT_URL=settings.action_endpoint_url,
        DATABASE_URL=settings.database_url,
        CHATBOT_VAR_DIR=str(settings.var_dir),
        # Connections waiting for a busy Rasa process to accept them. Rasa's default, 100, filled
        # when many people wrote at once: nginx then timed out connecting and left the process
        # out (502s; bench/capacity.py at 1,000 people). The kernel caps it (net.core.somaxconn).
        SANIC_BACKLOG=env.get("SANIC_BACKLOG", "1024"),
        # Rasa would otherwise send telemetry and crash reports off the server.
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        SMTP_HOST=settings.smtp_host,
        SMTP_PORT=str(settings.smtp_port),
        SMTP_FROM=settings.smtp_from,
        SMTP_STARTTLS="true" if settings.smtp_starttls else "false",
        CONVERSATION_RETENTION_DAYS=str(settings.conversation_retention_days),
        REFERRAL_RETENTION_DAYS=str(settings.referral_retention_days),
        # The status-update channel checks links and webhooks with these and the key (from
        # REFERRAL_ENCRYPTION_KEY, or var/referral.key under CHATBOT_VAR_DIR). PUBLIC_BASE_URL
        # passes through as it is: set here, it would also change the web widget's embed snippet.
        # The worker's status links default to this port when PUBLIC_BASE_URL is not set.
        RASA_PORT=str(settings.rasa_port),
        REFERRAL_LINK_DAYS=str(settings.referral_link_days),
        REFERRAL_REMINDER_DAYS=str(settings.referral_reminder_days),
        REFERRAL_RESPONSE_DAYS=str(settings.referral_response_days),
    )
    return env
