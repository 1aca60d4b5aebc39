"""The background worker `make run` starts beside the servers.

It delivers referrals from the outbox every few seconds, queues the one
reminder a service gets when it has not answered a delivered referral (every
minute), and runs the retention purge once an hour. All three are safe to run
in several workers at once (the outbox leases each message, and a reminder's
message key is unique per referral), so production may run two.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from chatbot.config import Settings
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.knowledge.runtime import current_catalogue
from chatbot.privacy.tracker_store import purge_conversations
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher, load_key
from chatbot.referrals.delivery import dispatcher_from_settings

logger = logging.getLogger(__name__)

DISPATCH_EVERY_SECONDS = float(os.environ.get("REFERRAL_DISPATCH_SECONDS", "5"))
PURGE_EVERY_SECONDS = 3600.0
REMINDERS_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class RetentionReport:
    conversations: int
    events: int
    referrals: int


def run_retention(settings: Settings, now: dt.datetime) -> RetentionReport:
    """Delete conversations and referral personal data older than their retention periods."""
    conversations = purge_conversations(
        settings.tracker_store_url, dt.timedelta(days=settings.conversation_retention_days), now
    )
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            referrals = store.purge_expired(session, dt.timedelta(days=settings.referral_retention_days), now)
    finally:
        engine.dispose()
    return RetentionReport(conversations.conversations, conversations.events, referrals)


def queue_due_reminders(settings: Settings, engine: Engine, now: dt.datetime) -> int:
    """Reminders for referrals delivered REFERRAL_REMINDER_DAYS working days ago with no answer."""
    with session_scope(engine) as session:
        return store.queue_reminders(session, now, settings.referral_reminder_days)


def _service_name(service_id: str) -> str:
    service = current_catalogue().services.get(service_id)
    return service.name if service else service_id


def run_worker(settings: Settings, stop: threading.Event) -> None:
    engine = make_engine(settings.database_url)
    create_schema(engine)  # the worker may start before anything else has made the tables
    cipher = ContactCipher(load_key(settings.var_dir))
    dispatcher = dispatcher_from_settings(settings, engine, cipher, _service_name)
    next_purge = next_reminders = time.monotonic()
    while not stop.is_set():
        now = dt.datetime.now(dt.timezone.utc)
        if time.monotonic() >= next_reminders:
            next_reminders = time.monotonic() + REMINDERS_EVERY_SECONDS
            try:
                queued = queue_due_reminders(settings, engine, now)
                if queued:
                    logger.info("queued %d reminders to services", queued)
            except Exception as error:  # the next round tries again
                logger.error("queueing reminders failed (%s)", type(error).__name__)
        try:
            dispatcher.run_once(now)
        except Exception as error:  # the worker must outlive a database restart
            # The class only: database errors can quote statement parameters.
            logger.error("delivery round failed (%s); trying again shortly", type(error).__name__)
        if time.monotonic() >= next_purge:
            try:
                report = run_retention(settings, now)
                logger.info(
                    "retention purge: %d conversations (%d events), %d referrals",
                    report.conversations,
                    report.events,
                    report.referrals,
                )
                next_purge = time.monotonic() + PURGE_EVERY_SECONDS
            except Exception as error:
                logger.error("retention purge failed (%s); trying again in a minute", type(error).__name__)
                next_purge = time.monotonic() + 60.0
        stop.wait(DISPATCH_EVERY_SECONDS)
    engine.dispose()
