"""Share-link sources (peer mentors, GP surgeries, councils) and the reach they bring.

`knowledge/sources.yaml` lists who hands out links to the assistant. A link carries
the source's id (`?ref=<id>` on the web, `/start <id>` on Telegram); the channel
passes it on as message metadata (`{"source": "<id>"}`), and `action_session_start`
(actions/session.py) records one row per conversation that arrived through a link.

A row says which source, which channel and on which day: nothing about the person
(no sender id, no text, not even the time of day), so reach can be reported to a
scheme or a surgery without identifying anyone.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from chatbot.config import load_settings
from chatbot.db import Base, create_schema, make_engine, session_scope
from chatbot.knowledge.errors import KnowledgeError, Problem
from chatbot.knowledge.schema import _Reader

logger = logging.getLogger(__name__)

FILE_NAME = "sources.yaml"
# Telegram's /start payload allows only A-Z, a-z, 0-9, _ and -, up to 64 characters.
SOURCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KINDS = ("peer_mentor_scheme", "gp_surgery", "council", "other")
# The channels a conversation can arrive on. Anything else a client sends is stored
# as "unknown": a free-text field from a client must never reach the database.
CHANNELS = ("web", "telegram", "socketio", "rest")
UNKNOWN_CHANNEL = "unknown"


@dataclass(frozen=True)
class ShareSource:
    id: str
    name: str
    kind: str
    professional: bool  # a staff link: the conversation starts in professional mode
    last_reviewed: dt.date
    area_id: str = ""
    gp_surgery_id: str = ""


# --- the reviewed list -------------------------------------------------------------


def _ids_in(path: Path, key: str) -> dict[str, dict]:
    """id -> entry of a knowledge file, for cross-checks (the file itself is validated by kb validate)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    items = data.get(key) if isinstance(data, dict) else None
    return {str(i["id"]): i for i in items or [] if isinstance(i, dict) and "id" in i}


def _parse_source(data: Any, file: str, problems: list[Problem]) -> ShareSource:
    entry = str(data.get("id") or "?") if isinstance(data, dict) else "?"
    r = _Reader(data, file, entry, problems)
    r.unknown_fields(
        {"id", "name", "kind", "area_id", "gp_surgery_id", "professional", "last_reviewed", "note"}
    )
    source_id = r.data.get("id")
    if source_id is None or source_id == "":
        r.fail("id", "is required")
        source_id = ""
    elif not isinstance(source_id, str) or not SOURCE_ID.match(source_id):
        r.fail(
            "id",
            f"'{source_id}' cannot go in a link: use only letters, digits, '_' or '-', "
            "at most 64 characters (Telegram's limit for /start)",
        )
        source_id = str(source_id)
    professional = r.data.get("professional")
    if not isinstance(professional, bool):
        r.fail("professional", "must be true (a staff link: professional mode) or false")
        professional = False
    return ShareSource(
        id=source_id,
        name=r.text("name"),
        kind=r.choice("kind", KINDS),
        professional=professional,
        last_reviewed=r.date("last_reviewed") or dt.date.min,
        area_id=r.text("area_id", required=False),
        gp_surgery_id=r.text("gp_surgery_id", required=False),
    )


def load_sources(knowledge_dir: Path | None = None) -> dict[str, ShareSource]:
    """Read and check knowledge/sources.yaml; raise KnowledgeError listing every problem."""
    root = Path(knowledge_dir or load_settings().knowledge_dir)
    path = root / FILE_NAME
    if not path.is_file():
        raise KnowledgeError([Problem(FILE_NAME, "", "", "file is missing")])
    problems: list[Problem] = []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise KnowledgeError([Problem(FILE_NAME, "", "", f"is not valid YAML: {error}")]) from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise KnowledgeError(
            [Problem(FILE_NAME, "", "sources", "the file must be a mapping with a 'sources' list")]
        )
    areas = _ids_in(root / "areas.yaml", "areas")
    surgeries = _ids_in(root / "gp_surgeries.yaml", "gp_surgeries")
    sources: dict[str, ShareSource] = {}
    seen: dict[str, str] = {}  # lower-case id -> id, so 'Amwell' and 'amwell' cannot both be links
    for item in data["sources"]:
        source = _parse_source(item, FILE_NAME, problems)

        def fail(field: str, message: str, source: ShareSource = source) -> None:
            problems.append(Problem(FILE_NAME, source.id or "?", field, message))

        if source.area_id and source.area_id not in areas:
            fail("area_id", f"unknown area '{source.area_id}' (see areas.yaml)")
        if source.gp_surgery_id:
            surgery = surgeries.get(source.gp_surgery_id)
            if surgery is None:
                fail("gp_surgery_id", f"unknown GP surgery '{source.gp_surgery_id}' (see gp_surgeries.yaml)")
            elif source.area_id and surgery.get("area") != source.area_id:
                fail(
                    "area_id",
                    f"'{source.gp_surgery_id}' is in '{surgery.get('area')}', not '{source.area_id}'",
                )
        if not source.id:
            continue
        key = source.id.lower()
        if key in seen:
            also = "" if seen[key] == source.id else f" as '{seen[key]}' (ids differing only in case)"
            fail("id", f"duplicate id{also}: every link must name one source")
            continue
        seen[key] = source.id
        sources[source.id] = source
    if problems:
        raise KnowledgeError(problems)
    return sources


_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "sources": {}}


def known_sources() -> dict[str, ShareSource]:
    """The current list for a running process: re-read when the file changes.

    An invalid file is logged once and the last good list kept, so a typo made while
    editing never breaks a conversation.
    """
    path = load_settings().knowledge_dir / FILE_NAME
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (str(path), None, None)
    with _cache_lock:
        if key != _cache["key"]:
            _cache["key"] = key
            try:
                _cache["sources"] = load_sources(path.parent)
            except KnowledgeError as error:
                logger.error(
                    "%s is invalid (%d problems); keeping the last good list", FILE_NAME, len(error.problems)
                )
        return _cache["sources"]


def source_for(value: Any) -> ShareSource | None:
    """The known source a metadata value names, or None (unknown or malformed: ignored)."""
    if not isinstance(value, str) or not SOURCE_ID.match(value):
        return None
    return known_sources().get(value)


def channel_name(value: Any) -> str:
    return value if isinstance(value, str) and value in CHANNELS else UNKNOWN_CHANNEL


# --- the reach table ------------------------------------------------------------------


class ConversationSourceRow(Base):
    """One conversation that arrived through a share link. Nothing about the person."""

    __tablename__ = "conversation_sources"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    source_id = sa.Column(sa.String(64), nullable=False, index=True)
    channel = sa.Column(sa.String(20), nullable=False)
    # A date, not a time: a time next to a channel could pick a person out of a log.
    started_on = sa.Column(sa.Date, nullable=False, index=True)


def record_arrival(session: Session, source_id: str, channel: str, started_on: dt.date) -> None:
    session.add(
        ConversationSourceRow(source_id=source_id, channel=channel_name(channel), started_on=started_on)
    )


def reach_by_source(session: Session, date_from: dt.date, date_to: dt.date) -> dict[str, int]:
    """Conversations per source that started between the two dates, both included."""
    rows = session.execute(
        sa.select(ConversationSourceRow.source_id, sa.func.count())
        .where(ConversationSourceRow.started_on >= date_from, ConversationSourceRow.started_on <= date_to)
        .group_by(ConversationSourceRow.source_id)
        .order_by(ConversationSourceRow.source_id)
    ).all()
    return {source_id: count for source_id, count in rows}


_engine_lock = threading.Lock()
_engine: dict[str, Engine] = {}


def sources_engine() -> Engine:
    """One engine per process (DATABASE_URL), with the schema in place."""
    with _engine_lock:
        if "engine" not in _engine:
            engine = make_engine(load_settings().database_url)
            create_schema(engine)  # this module is imported, so its table is registered on Base
            _engine["engine"] = engine
        return _engine["engine"]


def record_conversation_source(source_id: str, channel: str, started_on: dt.date) -> bool:
    """Store one arrival; False (and the error's class in the log) if the database failed."""
    try:
        with session_scope(sources_engine()) as session:
            record_arrival(session, source_id, channel, started_on)
    except Exception as error:  # noqa: BLE001 - a reach count must never break a conversation
        logger.error("could not record a share-link arrival: %s", type(error).__name__)
        return False
    return True
