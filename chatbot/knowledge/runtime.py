"""The catalogue the running assistant uses: loaded from the database, kept fresh.

A council edits knowledge/ and runs `python -m chatbot kb load`; running action
servers see the change within RELOAD_SECONDS, with no restart or retraining.
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from chatbot.config import load_settings
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.triage.catalogue import Catalogue

from .loader import read_knowledge
from .models import KnowledgeLoadRow
from .store import read_knowledge_from_db, save_knowledge

RELOAD_SECONDS = 30.0

_lock = threading.Lock()
_state: dict = {"catalogue": None, "checksum": None, "checked_at": 0.0, "engine": None}


def load_files_into_database(database_url: str | None = None) -> dict[str, int]:
    """Validate knowledge/ and upsert it in one transaction (used by `kb load` and `run`)."""
    settings = load_settings()
    knowledge = read_knowledge(settings.knowledge_dir)
    engine = make_engine(database_url or settings.database_url)
    create_schema(engine)
    with session_scope(engine) as session:
        counts = save_knowledge(session, knowledge)
    engine.dispose()
    return counts


def current_catalogue() -> Catalogue:
    """The latest loaded catalogue; loads knowledge/ first if the database is empty."""
    now = time.monotonic()
    with _lock:
        cached = _state["catalogue"]
        if cached is not None and now - _state["checked_at"] < RELOAD_SECONDS:
            return cached
        if _state["engine"] is None:
            _state["engine"] = make_engine(load_settings().database_url)
            create_schema(_state["engine"])
        engine = _state["engine"]
        with session_scope(engine) as session:
            checksum = session.execute(
                sa.select(KnowledgeLoadRow.checksum).order_by(KnowledgeLoadRow.id.desc()).limit(1)
            ).scalar_one_or_none()
            if checksum is None:
                save_knowledge(session, read_knowledge(load_settings().knowledge_dir))
                checksum = "new"
        if cached is None or checksum != _state["checksum"]:
            with session_scope(engine) as session:
                knowledge = read_knowledge_from_db(session)
            _state["catalogue"] = Catalogue(knowledge)
            _state["checksum"] = knowledge.checksum
        _state["checked_at"] = now
        return _state["catalogue"]
