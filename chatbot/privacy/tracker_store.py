"""Rasa's SQL tracker store, minus what people type into the referral form.

Rasa keeps every event as plain JSON and has no way to delete a conversation.
PrivateSQLTrackerStore writes the same rows (one per event, same table, same
columns) with three differences:

- user and bot messages said while `referral_form` is the active loop are
  stored as "[redacted]", without entities, metadata or buttons;
- every other user message is stored encrypted with the referral key ("enc:" and a
  Fernet token; `readable_text()` opens one), with metadata only of where it came
  from (source, channel): what people say about their health is never plain at rest.
  Nothing in a conversation reads earlier messages' text back (policies read intents
  and slots), so Rasa never needs it; it is kept, sealed, for the retention period
  only so that a clinical safety review of a conversation stays possible for whoever
  holds the key;
- `contact_*` slot values are stored as "[redacted]" unless they are already
  "enc:<fernet token>" ciphertext, which must round-trip for the next turn
  (or contact_route's "phone"/"email", a choice the form reads back);
- a turn that runs `action_erase_my_data` deletes the whole conversation and
  stores nothing, so the next message starts a new one;
- a turn that runs `action_withdraw_consent` empties every stored `contact_*` value of
  the conversation, ciphertext included.

The tracker Rasa holds in memory during a turn is never changed.

erase_conversation() and purge_conversations() do the same deletions from a CLI,
with no Rasa server running. Nothing here logs message text, slot values or
sender ids (on some channels the sender id is a phone number).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    EntitiesAdded,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from chatbot.referrals.crypto import ContactCipher, load_key

logger = logging.getLogger(__name__)

REDACTED = "[redacted]"
REFERRAL_FORM = "referral_form"
ERASE_ACTION = "action_erase_my_data"
WITHDRAW_ACTION = "action_withdraw_consent"
KEPT_METADATA = frozenset({"source", "channel"})
CONTACT_SLOT_PREFIX = "contact_"
CIPHERTEXT_PREFIX = "enc:"
# contact_* slots holding a choice, not a detail: the form reads them back to pick its next
# question, so these values are kept. Anything else in them is redacted like any contact value.
CONTACT_CHOICES = {"contact_route": frozenset({"phone", "email"})}
# Conversations deleted per transaction by the purge: a big purge never holds one giant transaction.
PURGE_BATCH_SIZE = 200

# Rasa's own table definition, so the CLI functions can never drift from what Rasa writes.
EVENTS: sa.Table = SQLTrackerStore.SQLEvent.__table__
# Set on a tracker this store read or wrote: how many of its events are stored.
STORED_EVENTS = "_private_store_stored_events"


def _prepared_queries() -> dict[str, sa.sql.Select]:
    """Rasa's `_event_query` and `_additional_events` queries as Core, built once.

    The latest session starts at the latest SessionStarted by timestamp; a
    conversation without one has every row in its latest session.
    """
    sender = sa.bindparam("sender_id")
    of_sender = EVENTS.c.sender_id == sender
    latest_start = (
        sa.select(sa.func.max(EVENTS.c.timestamp))
        .where(of_sender, EVENTS.c.type_name == SessionStarted.type_name)
        .scalar_subquery()
    )
    in_latest_session = sa.or_(EVENTS.c.timestamp >= latest_start, latest_start.is_(None))
    return {
        "all_rows": sa.select(EVENTS.c.data).where(of_sender).order_by(EVENTS.c.id),
        "latest_session_rows": sa.select(EVENTS.c.data)
        .where(of_sender, in_latest_session)
        .order_by(EVENTS.c.id),
        "latest_session_count": sa.select(sa.func.count())
        .select_from(EVENTS)
        .where(of_sender, in_latest_session),
        "latest_session_start": sa.select(latest_start),
    }


# Built once: they depend only on Rasa's table; each run binds its sender_id.
QUERIES = _prepared_queries()


def _fast_sqlite_writes(dbapi_connection: Any, _record: Any) -> None:
    """WAL and synchronous=NORMAL: a save no longer waits for an fsync (the embedded default only).

    Rasa saves on its event loop, so each fsync held up every conversation. With WAL a
    commit survives a crash of the process; only a power cut can lose the last turns.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _commit_without_waiting_for_the_disk(dbapi_connection: Any, _record: Any) -> None:
    """PostgreSQL: `synchronous_commit = off` for this store's connections only.

    A commit then returns before PostgreSQL has flushed it to disk. Rasa saves on its
    event loop, so every conversation of the process waited for each flush; under load
    the flushes queued (COMMITs waiting on WALSync in pg_stat_activity). A crash of the
    database server can lose the last moments of conversations (at most three times
    `wal_writer_delay`: 600 ms by default) and never corrupts them; a crash of Rasa loses
    nothing. Referrals, consent and outcomes go through the app's own engine, which waits.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO OFF")
    cursor.close()
    dbapi_connection.commit()  # psycopg2 opened a transaction for the SET; a rollback would undo it


class PrivateSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that redacts the referral form at rest and forgets a conversation on request.

    endpoints.yml: `type: chatbot.privacy.tracker_store.PrivateSQLTrackerStore` and
    `url: <SQLAlchemy URL>`; Rasa passes the url as `host`, which SQLTrackerStore
    accepts as a complete URL.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rasa's engine keeps dead pooled connections after a database restart, so the
        # first message on each process afterwards was read as a new conversation and
        # lost. Same URL and options; a read or save that finds its connection gone is
        # tried once more (`_once_more_if_the_connection_was_lost`). That costs nothing
        # per message, where a ping before each use was two round trips per message.
        url = self.engine.url.render_as_string(hide_password=False)
        self.engine.dispose()
        options = create_engine_kwargs(url)
        if url.startswith("sqlite"):
            # SQLAlchemy 1.4 gives file SQLite a NullPool: a new connection per message,
            # whose close flushes the WAL. A kept pool cut store time by a fifth (bench).
            options.update(poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
        self.engine = sa.create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _fast_sqlite_writes)
        elif self.engine.dialect.name == "postgresql":
            sa.event.listen(self.engine, "connect", _commit_without_waiting_for_the_disk)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        cipher = ContactCipher(load_key())
        self._seal = lambda text: CIPHERTEXT_PREFIX + cipher.encrypt(text).decode("ascii")

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """SQLTrackerStore._retrieve with one prepared statement, and the stored count remembered.

        Same rows in the same order (`latest_session_rows` is Rasa's `_event_query`), but
        only the `data` column, as Core: building Rasa's ORM query and an object per row
        took about a tenth of a message's time (bench, py-spy).
        """
        statement = QUERIES["all_rows" if fetch_events_from_all_sessions else "latest_session_rows"]

        def read() -> list[str]:
            with self.engine.connect() as connection:
                return connection.execute(statement, {"sender_id": sender_id}).scalars().all()

        rows = _once_more_if_the_connection_was_lost(read)
        if not (self.domain and rows):
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in rows], self.domain.slots
        )
        if not fetch_events_from_all_sessions:
            _remember_stored(tracker, len(rows))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """SQLTrackerStore.save, with each new row redacted, or the conversation erased."""
        await self.stream_events(tracker)
        _once_more_if_the_connection_was_lost(
            lambda: self._write(tracker),
            # The lost transaction may yet have committed: count what is stored, do not assume.
            forget=lambda: tracker.__dict__.pop(STORED_EVENTS, None),
        )

    def _write(self, tracker: DialogueStateTracker) -> None:
        with self.engine.begin() as connection:
            new_events = self._unsaved_events(connection, tracker)
            if any(_asks_for_erasure(event) for event in new_events):
                deleted = _delete_conversation(connection, tracker.sender_id)
                # Forget the count too: if this tracker is saved again, it is counted afresh.
                tracker.__dict__.pop(STORED_EVENTS, None)
                logger.info("Erased a conversation on request: %d stored events deleted.", deleted)
                return

            in_form = referral_form_active_at_each_event(tracker.events)
            first_new = len(tracker.events) - len(new_events)
            rows = [
                self._row(tracker.sender_id, event, said_in_form)
                for event, said_in_form in zip(new_events, in_form[first_new:], strict=True)
            ]
            if rows:
                connection.execute(EVENTS.insert(), rows)
            if any(_withdraws_consent(event) for event in new_events):
                scrubbed = _scrub_contact_slots(connection, tracker.sender_id)
                logger.info("Consent withdrawn: %d stored contact slot values emptied.", scrubbed)
        _remember_stored(tracker, len(tracker.events))

    def _unsaved_events(self, connection: Connection, tracker: DialogueStateTracker) -> list[Event]:
        """The tracker's events not stored yet.

        A tracker this store read or wrote remembers how many of its events are
        stored, and only one process handles a conversation at a time (Rasa's lock
        store), so no query is needed. Any other tracker is counted in the database.
        """
        stored = tracker.__dict__.get(STORED_EVENTS)
        if stored is not None and stored <= len(tracker.events):
            return list(tracker.events)[stored:]
        return self._additional_events(connection, tracker)

    def _additional_events(self, connection: Connection, tracker: DialogueStateTracker) -> list[Event]:
        """The tracker's events not stored yet: SQLTrackerStore's count, anchored at the session start.

        Rasa counts the rows stored since the latest SessionStarted (by timestamp)
        and skips that many events from the start of the tracker. That is right
        for a tracker Rasa has just retrieved, which begins at that SessionStarted,
        but the same tracker saved again still begins with `action_session_start`
        (stamped just before SessionStarted, so not counted) and Rasa stores its
        last event twice. Counting from where the tracker holds that SessionStarted
        gives Rasa's answer for a retrieved tracker, and the right one for this.
        """
        parameters = {"sender_id": tracker.sender_id}
        stored_since_start = connection.execute(QUERIES["latest_session_count"], parameters).scalar_one()
        latest_start = connection.execute(QUERIES["latest_session_start"], parameters).scalar()
        events = list(tracker.events)
        return events[_index_of_session_start(events, latest_start) + stored_since_start :]

    def _row(self, sender_id: str, event: Event, said_in_form: bool) -> dict[str, Any]:
        """The row SQLTrackerStore.save would write, with `data` redacted."""
        data = event.as_dict()
        intent = (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY)
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": intent,
            "action_name": data.get("name"),
            "data": json.dumps(redacted_for_storage(data, said_in_form, self._seal)),
        }


def _once_more_if_the_connection_was_lost(
    attempt: Callable[[], Any], forget: Callable[[], Any] = lambda: None
) -> Any:
    """attempt(), and once more if its database connection had gone (a database restart).

    SQLAlchemy has then invalidated the pool, so the second try gets a new connection.
    `forget` runs before it: whatever the first try may have left out of date.
    Any other error, or a second loss, is raised as it is.
    """
    try:
        return attempt()
    except sa.exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
    logger.warning("The tracker store's database connection was lost; trying once more.")
    forget()
    return attempt()


def _remember_stored(tracker: DialogueStateTracker, count: int) -> None:
    # A tracker with a maximum history drops old events, so a count of them would mislead.
    if tracker.events.maxlen is None:
        tracker.__dict__[STORED_EVENTS] = count


def _index_of_session_start(events: Sequence[Event], started_at: float | None) -> int:
    """Where the tracker holds the SessionStarted the database counts from; 0 if it does not."""
    positions = [
        index
        for index, event in enumerate(events)
        if isinstance(event, SessionStarted) and event.timestamp == started_at
    ]
    return positions[-1] if positions else 0


def referral_form_active_at_each_event(events: Iterable[Event]) -> list[bool]:
    """For each event, in order: was `referral_form` the active loop when it happened?

    Replays the events on a scratch tracker so Rasa's own rules decide (a form
    ends on ActiveLoop(None), a restart or a new session; rewinds are undone).
    """
    # No slots: a tracker without a domain accepts any slot, and only the active loop matters here.
    replay = DialogueStateTracker("replay", slots=None)
    flags = []
    for event in events:
        replay.update(event)
        flags.append(replay.active_loop_name == REFERRAL_FORM)
    return flags


def redacted_for_storage(
    data: dict[str, Any], said_in_form: bool, seal: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """A copy of a serialised event that is safe to keep. `data` itself is left alone:
    it shares dicts with the event Rasa is still using. `seal` encrypts a user message's
    text said outside the referral form (without it, that text is redacted too)."""
    event_type = data.get("event")
    if event_type == SlotSet.type_name and _is_plain_contact_detail(data):
        return {**data, "value": REDACTED}
    if not said_in_form:
        return _sealed_user_message(data, seal) if event_type == UserUttered.type_name else data
    if event_type == UserUttered.type_name:
        return _redacted_user_message(data)
    if event_type == BotUttered.type_name:
        return _redacted_bot_message(data)
    if event_type == EntitiesAdded.type_name:
        return {**data, "entities": []}
    return data


def _is_plain_contact_detail(slot_event: dict[str, Any]) -> bool:
    name = slot_event.get("name") or ""
    value = slot_event.get("value")
    if not name.startswith(CONTACT_SLOT_PREFIX) or value is None:
        # None keeps a cleared slot empty; "[redacted]" would make the form think it was answered.
        return False
    if not isinstance(value, str):
        return True
    return not (value.startswith(CIPHERTEXT_PREFIX) or value in CONTACT_CHOICES.get(name, ()))


def _redacted_user_message(data: dict[str, Any]) -> dict[str, Any]:
    # The intent stays: it is not what the person typed, and Rasa's policies read it back.
    parse_data = {**(data.get("parse_data") or {}), "text": REDACTED, "entities": []}
    parse_data.pop("metadata", None)
    parse_data.pop("held_facts", None)  # chatbot/nlu/risk_detector.py HELD_KEY: facts too
    redacted = {**data, "text": REDACTED, "parse_data": parse_data}
    redacted.pop("metadata", None)
    return redacted


def _sealed_user_message(data: dict[str, Any], seal: Callable[[str], str] | None) -> dict[str, Any]:
    if seal is None:
        return _redacted_user_message(data)
    text = data.get("text")
    sealed = seal(text) if isinstance(text, str) and text else text
    # Entities keep what the conversation uses (which fact, its minimised value), not the words.
    entities = [
        {k: v for k, v in e.items() if k in ("entity", "value", "extractor", "role", "group")}
        for e in (data.get("parse_data") or {}).get("entities") or []
    ]
    parse_data = {**(data.get("parse_data") or {}), "text": sealed, "entities": entities}
    parse_data.pop("metadata", None)
    stored = {**data, "text": sealed, "parse_data": parse_data}
    # Metadata keeps only what says where a visit came from (a share link's source, the channel).
    kept = {k: v for k, v in (data.get("metadata") or {}).items() if k in KEPT_METADATA}
    if kept:
        stored["metadata"] = kept
    else:
        stored.pop("metadata", None)
    return stored


def readable_text(stored: str, cipher: ContactCipher) -> str:
    """The words of a stored user message, for someone holding the referral key."""
    if isinstance(stored, str) and stored.startswith(CIPHERTEXT_PREFIX):
        return cipher.decrypt(stored[len(CIPHERTEXT_PREFIX) :].encode("ascii"))
    return stored


def _redacted_bot_message(data: dict[str, Any]) -> dict[str, Any]:
    # Buttons and custom payloads can repeat what was typed; which response was sent cannot.
    utter_action = (data.get("metadata") or {}).get("utter_action")
    redacted = {**data, "text": REDACTED, "data": {}}
    redacted["metadata"] = {"utter_action": utter_action} if utter_action else {}
    return redacted


def _withdraws_consent(event: Event) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name == WITHDRAW_ACTION


def _scrub_contact_slots(connection: Connection, sender_id: str) -> int:
    """Empty every stored contact_* slot value of this conversation (even encrypted ones):
    after a withdrawal nothing may lead back to the person's details."""
    rows = connection.execute(
        sa.select(EVENTS.c.id, EVENTS.c.data).where(
            EVENTS.c.sender_id == sender_id, EVENTS.c.type_name == SlotSet.type_name
        )
    ).all()
    scrubbed = 0
    for row_id, data in rows:
        event = json.loads(data)
        if str(event.get("name", "")).startswith(CONTACT_SLOT_PREFIX) and event.get("value") is not None:
            event["value"] = None
            connection.execute(EVENTS.update().where(EVENTS.c.id == row_id).values(data=json.dumps(event)))
            scrubbed += 1
    return scrubbed


def _asks_for_erasure(event: Event) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name == ERASE_ACTION


def _delete_conversation(executor: Session | Connection, sender_id: str) -> int:
    """Every stored event of one sender, all sessions, in the caller's transaction."""
    return executor.execute(EVENTS.delete().where(EVENTS.c.sender_id == sender_id)).rowcount


# --- Used from the CLI, with no Rasa server running ---


@dataclass(frozen=True)
class PurgeReport:
    conversations: int
    events: int


def scrub_contact_slots_of(url: str, person_key: str, key_of: Callable[[str], str]) -> int:
    """After a withdrawal made from another conversation (with the reference and a proof),
    empty the contact_* slots of the conversation that made the referral too. Only the keyed
    hash of its sender id is on the referral, so each stored conversation's key is compared.
    Returns how many slot values were emptied."""
    with _engine(url) as engine:
        if not _has_events_table(engine):
            return 0
        with engine.begin() as connection:
            senders = connection.execute(sa.select(EVENTS.c.sender_id).distinct()).scalars().all()
            scrubbed = sum(
                _scrub_contact_slots(connection, sender)
                for sender in senders
                if hmac.compare_digest(key_of(sender), person_key)
            )
    logger.info("Consent withdrawn elsewhere: %d stored contact slot values emptied.", scrubbed)
    return scrubbed


def erase_conversation(url: str, sender_id: str) -> int:
    """Delete every stored event of `sender_id`; returns how many rows went.

    One transaction: the conversation is either forgotten or untouched.
    """
    with _engine(url) as engine:
        if not _has_events_table(engine):
            return 0
        with engine.begin() as connection:
            deleted = _delete_conversation(connection, sender_id)
    logger.info("Erased a conversation: %d stored events deleted.", deleted)
    return deleted


def purge_conversations(
    url: str, older_than: dt.timedelta, now: dt.datetime, batch_size: int = PURGE_BATCH_SIZE
) -> PurgeReport:
    """Delete every conversation whose latest event is older than `now - older_than`.

    Whole conversations go, `batch_size` at a time, each batch in its own
    transaction. A conversation that gets a new event while the purge runs is
    kept. `now` may be aware or naive local time (as datetime.now() gives).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = (now - older_than).timestamp()  # Rasa stores time.time(): seconds since the epoch
    conversations = events = 0
    with _engine(url) as engine:
        if not _has_events_table(engine):
            return PurgeReport(conversations=0, events=0)
        with engine.connect() as connection:
            stale = list(connection.execute(_stale_senders(cutoff)).scalars())
        for batch in _batches(stale, batch_size):
            with engine.begin() as connection:
                deleted_events, deleted_conversations = _delete_stale(connection, batch, cutoff)
            events += deleted_events
            conversations += deleted_conversations
    logger.info("Purged %d conversations (%d stored events).", conversations, events)
    return PurgeReport(conversations=conversations, events=events)


def _stale_senders(cutoff: float) -> sa.sql.Select:
    return (
        sa.select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
    )


def _delete_stale(connection: Connection, senders: Sequence[str], cutoff: float) -> tuple[int, int]:
    """Delete these conversations unless one has had a new event since the purge looked.

    Returns (events deleted, conversations deleted).
    """
    # An alias, or SQLAlchemy would correlate the subquery with the table being deleted from.
    recent = EVENTS.alias("recent")
    has_recent_event = sa.select(recent.c.sender_id).where(
        recent.c.sender_id.in_(senders), recent.c.timestamp >= cutoff
    )
    deleted = connection.execute(
        EVENTS.delete().where(EVENTS.c.sender_id.in_(senders), EVENTS.c.sender_id.not_in(has_recent_event))
    ).rowcount
    kept = connection.execute(
        sa.select(sa.func.count(sa.distinct(EVENTS.c.sender_id))).where(EVENTS.c.sender_id.in_(senders))
    ).scalar_one()
    return deleted, len(senders) - kept


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    # Rasa's engine options, so POSTGRESQL_SCHEMA picks the same schema Rasa writes to.
    engine = sa.create_engine(url, future=True, **create_engine_kwargs(url))
    try:
        yield engine
    finally:
        engine.dispose()


def _has_events_table(engine: Engine) -> bool:
    # Rasa creates the table on first start; before that there is nothing to delete.
    return sa.inspect(engine).has_table(EVENTS.name)
