"""The background worker `make run` starts beside the servers.

It delivers referrals from the outbox every few seconds, and runs the
retention purge once an hour. Both jobs are safe to run in several workers at
once (the outbox leases each message), so production may run two.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from dataclasses import dataclass

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


def _service_name(service_id: str) -> str:
    service = current_catalogue().services.get(service_id)
    return service.name if service else service_id


def run_worker(settings: Settings, stop: threading.Event) -> None:
    engine = make_engine(settings.database_url)
    create_schema(engine)  # the worker may start before anything else has made the tables
    cipher = ContactCipher(load_key(settings.var_dir))
    dispatcher = dispatcher_from_settings(settings, engine, cipher, _service_name)
    next_purge = time.monotonic()
    while not stop.is_set():
        now = dt.datetime.now(dt.timezone.utc)
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
