"""PrivateSQLTrackerStore on real SQLite and PostgreSQL: redaction at rest, erasure, purge.

Rasa 3.6 tracker store methods are coroutines; each test drives them with asyncio.run.
PostgreSQL tests run in a throwaway schema of the shared `test` database, so a
purge there can only ever see this test's rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from chatbot.privacy.tracker_store import (
    ERASE_ACTION,
    REDACTED,
    PrivateSQLTrackerStore,
    PurgeReport,
    erase_conversation,
    purge_conversations,
    readable_text,
    redacted_for_storage,
)
from chatbot.referrals.crypto import ContactCipher, load_key
from tests.databases import KINDS, POSTGRES_URL, throwaway_database_url

DOMAIN_YAML = """
version: "3.1"
intents: [inform, ask, request_referral, erase_my_data]
entities: [email]
slots:
  contact_name:
    type: text
    influence_conversation: false
    mappings:
      - type: from_text
        conditions:
          - active_loop: referral_form
            requested_slot: contact_name
  contact_phone:
    type: text
    influence_conversation: false
    mappings:
      - type: from_text
        conditions:
          - active_loop: referral_form
            requested_slot: contact_phone
  contact_email:
    type: text
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: email
  contact_route:
    type: text
    influence_conversation: false
    mappings:
      - type: custom
forms:
  referral_form:
    required_slots: [contact_name, contact_phone]
actions: [action_erase_my_data]
responses:
  utter_ask_contact_name:
    - text: "What name should the service use?"
  utter_ask_contact_phone:
    - text: "What phone number or email?"
"""

# What a person types into the referral form: none of it may reach the database.
NAME = "Jane Doe-Example"
PHONE = "07700 900123"
EMAIL = "jane.doe@example.org"
NAME_TOKEN = "enc:gAAAAABnameTOKEN-round-trips=="
PHONE_TOKEN = "enc:gAAAAABphoneTOKEN-round-trips=="
# Said outside the form: kept, sealed with the referral key (never plain at rest).
BEFORE_FORM = "I am off sick with back pain"
ASKS_FOR_FORM = "Can someone call me back?"
AFTER_FORM = "Is there support for back pain at work?"


# --- Fixtures ---


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.from_yaml(DOMAIN_YAML)


@pytest.fixture(params=KINDS)
def db_url(request, tmp_path) -> Iterator[str]:
    # search_path: Rasa creates and finds its `events` table in the test's own schema.
    with throwaway_database_url(request.param, tmp_path, "tracker") as url:
        yield url


@pytest.fixture
def open_store(db_url, domain):
    """Makes stores on the test database; their connections are closed afterwards."""
    stores: list[PrivateSQLTrackerStore] = []

    def make() -> PrivateSQLTrackerStore:
        store = PrivateSQLTrackerStore(host=db_url, domain=domain)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.engine.dispose()


# --- A conversation, with Rasa's real events ---


def user(text: str, intent: str, entities: list[dict] | None = None, metadata: dict | None = None):
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.98},
        entities=entities,
        message_id=uuid.uuid4().hex,
        input_channel="rest",
        metadata=metadata,
    )


def bot(text: str, response: str, buttons: list[dict] | None = None) -> BotUttered:
    return BotUttered(
        text, data={"buttons": buttons} if buttons else None, metadata={"utter_action": response}
    )


def listen() -> ActionExecuted:
    return ActionExecuted("action_listen")


def session_start(*carried_over: Event) -> list[Event]:
    return [ActionExecuted("action_session_start"), SessionStarted(), *carried_over, listen()]


def referral_turns() -> list[list[Event]]:
    """Five turns: small talk, the form asks for a name, then a phone and email, then small talk."""
    email_entity = {"entity": "email", "value": EMAIL, "start": 16, "end": 16 + len(EMAIL)}
    return [
        [*session_start(), user(BEFORE_FORM, "inform"), bot("Sorry to hear that.", "utter_sorry"), listen()],
        [
            user(ASKS_FOR_FORM, "request_referral"),
            ActionExecuted("referral_form"),
            ActiveLoop("referral_form"),
            SlotSet("requested_slot", "contact_name"),
            bot("What name should the service use?", "utter_ask_contact_name"),
            listen(),
        ],
        [
            user(NAME, "inform"),
            SlotSet("contact_name", NAME),  # Rasa's slot mapping: plain text, before validation
            ActionExecuted("referral_form"),
            SlotSet("contact_name", NAME_TOKEN),  # the action server's validation: ciphertext
            SlotSet("requested_slot", "contact_phone"),
            bot(f"Thanks {NAME}. What phone number or email?", "utter_ask_contact_phone", [_button(NAME)]),
            listen(),
        ],
        [
            user(f"{PHONE} or {EMAIL}", "inform", [email_entity], metadata={"caller": PHONE}),
            SlotSet("contact_phone", f"{PHONE} or {EMAIL}"),
            SlotSet("contact_email", EMAIL),
            ActionExecuted("referral_form"),
            SlotSet("contact_phone", PHONE_TOKEN),
            SlotSet("contact_email", None),
            SlotSet("requested_slot", None),
            ActiveLoop(None),
            bot("Your referral is ready to send.", "utter_referral_ready"),
            listen(),
        ],
        [user(AFTER_FORM, "ask"), bot("Yes: a physiotherapy service near you.", "utter_answer"), listen()],
    ]


def second_session() -> list[Event]:
    """A later session: Rasa carries the slots over, then the person asks something else."""
    carried_over = [SlotSet("contact_name", NAME_TOKEN), SlotSet("contact_phone", PHONE)]
    return [*session_start(*carried_over), user(AFTER_FORM, "ask"), listen()]


def _button(name: str) -> dict:
    return {"title": f"Yes, I am {name}", "payload": "/affirm"}


def with_timestamps(turns: list[list[Event]], start: float) -> list[list[Event]]:
    """Strictly increasing timestamps: Rasa finds the current session by timestamp,
    and two events made in the same microsecond would blur a session's start."""
    for index, event in enumerate(event for turn in turns for event in turn):
        event.timestamp = start + index
    return turns


def recent(turns: list[list[Event]]) -> list[list[Event]]:
    return with_timestamps(turns, dt.datetime.now(dt.timezone.utc).timestamp() - 3600)


def recent_turns() -> list[list[Event]]:
    return recent(referral_turns())


def new_sender(label: str) -> str:
    return f"privacy-test-{label}-{uuid.uuid4().hex[:8]}"


# --- Reading what is really in the database ---


def stored_data(url: str, sender_id: str) -> list[str]:
    """The raw `data` column, as a person with database access would read it."""
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
                    {"sender": sender_id},
                ).scalars()
            )
    finally:
        engine.dispose()


def count_rows(url: str, sender_id: str) -> int:
    return len(stored_data(url, sender_id))


def save_turns(store: PrivateSQLTrackerStore, sender_id: str, turns: list[list[Event]]) -> None:
    """Like Rasa: each turn fetches the tracker, adds the turn's events and saves."""
    for turn in turns:
        tracker = asyncio.run(store.get_or_create_tracker(sender_id, append_action_listen=False))
        for event in turn:
            tracker.update(event)
        asyncio.run(store.save(tracker))


# --- Redaction at rest ---


def test_referral_form_text_is_not_stored_and_the_rest_is_kept_sealed(open_store, db_url, domain):
    store = open_store()
    sender = new_sender("redact")
    tracker = DialogueStateTracker(sender, domain.slots)

    # The same tracker saved again each turn, across two sessions: one row per event, none twice.
    for turn in recent([*referral_turns(), second_session()]):
        for event in turn:
            tracker.update(event)
        asyncio.run(store.save(tracker))
        assert count_rows(db_url, sender) == len(tracker.events)

    everything_stored = "\n".join(stored_data(db_url, sender))
    for typed in (NAME, PHONE, EMAIL, "Jane"):
        assert typed not in everything_stored
    for sealed in (BEFORE_FORM, ASKS_FOR_FORM, AFTER_FORM, "back pain"):
        assert sealed not in everything_stored
    assert "Your referral is ready to send." in everything_stored  # the bot's words are its own
    assert NAME_TOKEN in everything_stored and PHONE_TOKEN in everything_stored
    cipher = ContactCipher(load_key())
    opened = [
        readable_text(e["text"], cipher)
        for e in map(json.loads, stored_data(db_url, sender))
        if e["event"] == "user"
    ]
    assert {BEFORE_FORM, ASKS_FOR_FORM, AFTER_FORM} <= set(opened) and NAME not in opened


def test_messages_in_the_form_keep_their_shape_but_not_their_content(open_store, db_url, domain):
    store = open_store()
    sender = new_sender("shape")
    save_turns(store, sender, recent_turns())

    stored = [json.loads(data) for data in stored_data(db_url, sender)]
    in_form_user = [e for e in stored if e["event"] == "user" and e["text"] == REDACTED]
    assert len(in_form_user) == 2  # the name, then the phone and email
    for event in in_form_user:
        assert event["parse_data"]["text"] == REDACTED
        assert event["parse_data"]["entities"] == []
        assert event["parse_data"]["intent"]["name"] == "inform"  # Rasa's policies read it back
        assert "metadata" not in event and "metadata" not in event["parse_data"]
    in_form_bot = [e for e in stored if e["event"] == "bot" and e["text"] == REDACTED]
    assert [e["metadata"] for e in in_form_bot] == [
        {"utter_action": "utter_ask_contact_name"},
        {"utter_action": "utter_ask_contact_phone"},
    ]
    assert all(e["data"] == {} for e in in_form_bot)


def test_the_tracker_rasa_holds_during_the_turn_is_not_redacted(open_store, domain):
    store = open_store()
    tracker = DialogueStateTracker(new_sender("memory"), domain.slots)
    for turn in recent_turns()[:4]:
        for event in turn:
            tracker.update(event)
    asyncio.run(store.save(tracker))

    user_texts = [event.text for event in tracker.events if isinstance(event, UserUttered)]
    assert NAME in user_texts and f"{PHONE} or {EMAIL}" in user_texts
    typed_contact = next(e for e in tracker.events if isinstance(e, UserUttered) and EMAIL in e.text)
    assert typed_contact.parse_data["entities"][0]["value"] == EMAIL
    assert typed_contact.metadata == {"caller": PHONE}
    assert tracker.get_slot("contact_phone") == PHONE_TOKEN


def test_rasa_carries_on_from_a_redacted_tracker(open_store, db_url):
    store = open_store()
    sender = new_sender("carry-on")
    turns = recent_turns()

    save_turns(store, sender, turns[:3])
    mid_form = asyncio.run(store.retrieve(sender))
    assert mid_form.active_loop_name == "referral_form"
    assert mid_form.get_slot("requested_slot") == "contact_phone"
    assert mid_form.get_slot("contact_name") == NAME_TOKEN
    assert mid_form.latest_message.text == REDACTED
    assert mid_form.latest_message.intent["name"] == "inform"

    save_turns(store, sender, turns[3:])
    after_form = asyncio.run(store.retrieve(sender))
    assert after_form.active_loop_name is None
    assert after_form.get_slot("contact_phone") == PHONE_TOKEN
    assert after_form.get_slot("contact_email") is None
    assert count_rows(db_url, sender) == sum(len(turn) for turn in turns)


def test_a_new_session_stores_each_event_once(open_store, db_url):
    """SQLTrackerStore counts only the rows since the latest session start; redaction keeps that count."""
    store = open_store()
    sender = new_sender("sessions")
    turns = recent([*referral_turns(), second_session()])

    save_turns(store, sender, turns)

    total = sum(len(turn) for turn in turns)
    assert count_rows(db_url, sender) == total
    latest = asyncio.run(store.retrieve(sender))
    # Rasa's retrieve starts at the latest SessionStarted, after the action_session_start stamped before it.
    assert [event.type_name for event in latest.events] == [event.type_name for event in turns[-1][1:]]
    assert latest.get_slot("contact_name") == NAME_TOKEN
    assert latest.get_slot("contact_phone") == REDACTED
    assert len(asyncio.run(store.retrieve_full_tracker(sender)).events) == total


def test_retrieve_reads_what_rasas_own_retrieve_reads(open_store):
    """The prepared query gives Rasa's SQLTrackerStore._retrieve's events, for one session and for all."""
    store = open_store()
    sender = new_sender("same-as-rasa")
    save_turns(store, sender, recent([*referral_turns(), second_session()]))

    for all_sessions in (False, True):
        ours = asyncio.run(store._retrieve(sender, fetch_events_from_all_sessions=all_sessions))
        rasas = asyncio.run(
            SQLTrackerStore._retrieve(store, sender, fetch_events_from_all_sessions=all_sessions)
        )
        assert [event.as_dict() for event in ours.events] == [event.as_dict() for event in rasas.events]
    assert asyncio.run(store.retrieve(new_sender("nobody"))) is None


def statements_run(store: PrivateSQLTrackerStore) -> list[str]:
    """The SQL statements the store sends from now on (a listener on its engine)."""
    seen: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: seen.append(args[2].lower()))
    return seen


def test_a_turn_on_a_retrieved_tracker_needs_no_count(open_store, db_url):
    """A tracker the store read knows how many of its events are stored: one read, one insert."""
    store = open_store()
    sender = new_sender("no-count")
    turns = recent_turns()
    save_turns(store, sender, turns[:2])

    seen = statements_run(store)
    save_turns(store, sender, turns[2:3])

    assert [statement.split()[0] for statement in seen] == ["select", "insert"]
    assert count_rows(db_url, sender) == sum(len(turn) for turn in turns[:3])


def test_a_tracker_saved_twice_in_one_turn_stores_each_event_once(open_store, db_url):
    """Rasa saves again after starting a session; the second save adds only what is new."""
    store = open_store()
    sender = new_sender("twice")
    first, second = recent_turns()[:2]
    tracker = asyncio.run(store.get_or_create_tracker(sender, append_action_listen=False))
    for event in first:
        tracker.update(event)
    asyncio.run(store.save(tracker))
    for event in second:
        tracker.update(event)
    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))  # nothing new

    assert count_rows(db_url, sender) == len(first) + len(second)


def test_a_tracker_from_elsewhere_is_counted_in_the_database(open_store, db_url, domain):
    """Built from events (as Rasa's HTTP API does): its stored events are found by counting."""
    store = open_store()
    sender = new_sender("elsewhere")
    turns = recent_turns()
    save_turns(store, sender, turns[:2])
    stored = asyncio.run(store.retrieve(sender))

    rebuilt = DialogueStateTracker.from_events(sender, list(stored.events), domain.slots)
    for event in turns[2]:
        rebuilt.update(event)
    asyncio.run(store.save(rebuilt))

    assert count_rows(db_url, sender) == sum(len(turn) for turn in turns[:3])


def cut_pooled_connections(store: PrivateSQLTrackerStore) -> None:
    """As a PostgreSQL restart does: the server ends the store's pooled connection under it."""
    with store.engine.connect() as connection:
        backend = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    admin = sa.create_engine(POSTGRES_URL, future=True)
    try:
        with admin.begin() as connection:
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
    finally:
        admin.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lost_connection_is_tried_once_more_and_nothing_is_lost_or_doubled(open_store, db_url, caplog):
    store = open_store()
    sender = new_sender("lost-connection")
    turns = recent_turns()
    save_turns(store, sender, turns[:2])
    before = [event.as_dict() for event in asyncio.run(store.retrieve(sender)).events]

    cut_pooled_connections(store)
    tracker = asyncio.run(store.retrieve(sender))  # the read finds its connection gone, then reads
    assert [event.as_dict() for event in tracker.events] == before

    for event in turns[2]:
        tracker.update(event)
    cut_pooled_connections(store)
    asyncio.run(store.save(tracker))  # so does the save

    assert count_rows(db_url, sender) == sum(len(turn) for turn in turns[:3])
    lost = [r for r in caplog.records if "connection was lost" in r.getMessage()]
    assert len(lost) == 2


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_conversation_commits_do_not_wait_for_the_disk_and_the_apps_still_do(open_store, db_url):
    """synchronous_commit off on the store's connections only, and it outlives the pool's rollbacks."""
    from chatbot.db import make_engine

    store = open_store()
    for _ in range(2):  # the second time on the pooled connection, after the pool's reset
        with store.engine.connect() as connection:
            assert connection.execute(sa.text("SHOW synchronous_commit")).scalar_one() == "off"
    app = make_engine(db_url)
    try:
        with app.connect() as connection:
            assert connection.execute(sa.text("SHOW synchronous_commit")).scalar_one() == "on"
    finally:
        app.dispose()


def test_contact_ciphertext_round_trips_and_plain_contact_values_are_not_stored(open_store, db_url, domain):
    store = open_store()
    sender = new_sender("slots")
    tracker = DialogueStateTracker(sender, domain.slots)
    for event in [
        *session_start(),
        SlotSet("contact_name", NAME_TOKEN),
        SlotSet("contact_phone", PHONE),  # never encrypted: must not be kept
        SlotSet("contact_email", None),
        SlotSet("contact_route", "email"),  # a choice the form reads back, not a detail
    ]:
        tracker.update(event)
    asyncio.run(store.save(tracker))

    retrieved = asyncio.run(store.retrieve(sender))
    assert retrieved.get_slot("contact_name") == NAME_TOKEN
    assert retrieved.get_slot("contact_phone") == REDACTED
    assert retrieved.get_slot("contact_email") is None
    assert retrieved.get_slot("contact_route") == "email"
    assert PHONE not in "\n".join(stored_data(db_url, sender))
    assert tracker.get_slot("contact_phone") == PHONE  # Rasa's own copy is untouched


@pytest.mark.parametrize(
    "slot, value, stored",
    [
        ("contact_name", NAME, REDACTED),
        ("contact_name", NAME_TOKEN, NAME_TOKEN),
        ("contact_phone", None, None),  # cleared stays cleared, or the form would skip the question
        ("contact_route", "phone", "phone"),
        ("contact_route", EMAIL, REDACTED),  # only the two choices are kept
        ("referral_consent", "given", "given"),
    ],
)
@pytest.mark.parametrize("said_in_form", [True, False])
def test_which_slot_values_are_kept(slot, value, stored, said_in_form):
    serialised = SlotSet(slot, value).as_dict()
    assert redacted_for_storage(serialised, said_in_form)["value"] == stored
    assert serialised["value"] == value


# --- Erasure on request ---


def test_asking_for_erasure_forgets_that_conversation_only(open_store, db_url):
    store = open_store()
    forgotten, other = new_sender("forget"), new_sender("other")
    save_turns(store, forgotten, recent_turns())
    save_turns(store, other, recent_turns())
    others_rows = stored_data(db_url, other)

    erase_turn = [
        user("Please delete what I told you", "erase_my_data"),
        ActionExecuted(ERASE_ACTION),
        bot("Done: this conversation is forgotten.", "utter_erased"),
        listen(),
    ]
    save_turns(store, forgotten, [erase_turn])

    assert count_rows(db_url, forgotten) == 0
    assert stored_data(db_url, other) == others_rows
    assert asyncio.run(store.retrieve(forgotten)) is None  # so Rasa starts a new conversation

    # The next message is a fresh conversation, stored once.
    next_turns = recent_turns()[:2]
    save_turns(store, forgotten, next_turns)
    fresh = asyncio.run(store.retrieve_full_tracker(forgotten))
    assert len(fresh.events) == count_rows(db_url, forgotten) == sum(len(turn) for turn in next_turns)
    assert "delete what I told you" not in "\n".join(stored_data(db_url, forgotten))


def test_erase_conversation_from_the_cli(open_store, db_url):
    store = open_store()
    forgotten, other = new_sender("cli-erase"), new_sender("cli-keep")
    save_turns(store, forgotten, recent_turns())
    save_turns(store, other, recent_turns())
    rows = count_rows(db_url, forgotten)

    assert erase_conversation(db_url, forgotten) == rows > 0
    assert count_rows(db_url, forgotten) == 0
    assert count_rows(db_url, other) == rows
    assert erase_conversation(db_url, forgotten) == 0


# --- Retention purge ---


def test_purge_removes_conversations_whose_latest_event_is_old(open_store, db_url):
    store = open_store()
    now = dt.datetime.now(dt.timezone.utc)
    days_ago = lambda days: (now - dt.timedelta(days=days)).timestamp()  # noqa: E731
    stale = [new_sender(f"stale-{n}") for n in range(5)]
    recent = new_sender("recent")
    long_running = new_sender("long-running")
    for sender in stale:
        save_turns(store, sender, with_timestamps(referral_turns(), days_ago(40)))
    save_turns(store, recent, with_timestamps(referral_turns(), days_ago(1)))
    # Started long ago, still in use: its latest event is what counts.
    save_turns(store, long_running, with_timestamps(referral_turns()[:4], days_ago(90)))
    save_turns(store, long_running, with_timestamps([[user(AFTER_FORM, "ask"), listen()]], days_ago(2)))
    rows_per_stale = count_rows(db_url, stale[0])
    long_running_rows = count_rows(db_url, long_running)

    # batch_size 2: five stale conversations take three transactions.
    report = purge_conversations(db_url, older_than=dt.timedelta(days=30), now=now, batch_size=2)

    assert report == PurgeReport(conversations=5, events=5 * rows_per_stale)
    assert all(count_rows(db_url, sender) == 0 for sender in stale)
    assert count_rows(db_url, recent) == rows_per_stale
    assert count_rows(db_url, long_running) == long_running_rows
    assert purge_conversations(db_url, dt.timedelta(days=30), now) == PurgeReport(0, 0)


def test_erase_and_purge_before_rasa_has_made_its_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'never-started.db'}"
    assert erase_conversation(url, "anyone") == 0
    assert purge_conversations(url, dt.timedelta(days=30), dt.datetime.now()) == PurgeReport(0, 0)


# --- Wiring: Rasa's own factory, from endpoints.yml ---


def test_rasa_builds_the_private_store_from_endpoints_yml(db_url, domain, tmp_path, monkeypatch):
    endpoints_file = tmp_path / "endpoints.yml"
    endpoints_file.write_text(
        "tracker_store:\n"
        "  type: chatbot.privacy.tracker_store.PrivateSQLTrackerStore\n"
        "  url: ${TRACKER_STORE_URL}\n"
    )
    monkeypatch.setenv("TRACKER_STORE_URL", db_url)
    endpoint = AvailableEndpoints.read_endpoints(str(endpoints_file)).tracker_store
    assert endpoint == EndpointConfig(type="chatbot.privacy.tracker_store.PrivateSQLTrackerStore", url=db_url)

    # Rasa falls back to InMemoryTrackerStore, with only a warning, if the class fails to load.
    store = TrackerStore.create(endpoint, domain)
    try:
        assert type(store) is PrivateSQLTrackerStore
        sender = new_sender("factory")
        save_turns(store, sender, recent_turns())
        assert NAME not in "\n".join(stored_data(db_url, sender))
        assert asyncio.run(store.retrieve(sender)).get_slot("contact_name") == NAME_TOKEN
    finally:
        store.engine.dispose()


def test_withdrawing_consent_empties_every_stored_contact_value(open_store, db_url):
    from chatbot.privacy.tracker_store import WITHDRAW_ACTION

    store = open_store()
    sender, other = new_sender("withdraw"), new_sender("other")
    save_turns(store, sender, recent_turns())
    save_turns(store, other, recent_turns())
    assert NAME_TOKEN in "\n".join(stored_data(db_url, sender))
    others_rows = stored_data(db_url, other)
    save_turns(store, sender, [[user("withdraw consent HW-AAAAA-BBBBB", "ask_data_withdraw_consent"),
                                ActionExecuted(WITHDRAW_ACTION), bot("Done.", "utter_done"), listen()]])  # noqa: E501  # fmt: skip
    everything = "\n".join(stored_data(db_url, sender))
    assert NAME_TOKEN not in everything and PHONE_TOKEN not in everything
    assert stored_data(db_url, other) == others_rows  # someone else's conversation is untouched


def test_a_withdrawal_made_elsewhere_empties_the_contact_values_of_the_conversation_that_made_it(
    open_store, db_url
):
    from chatbot.privacy.tracker_store import scrub_contact_slots_of

    store = open_store()
    maker, other = new_sender("made-it"), new_sender("someone-else")
    save_turns(store, maker, recent_turns())
    save_turns(store, other, recent_turns())
    others_rows = stored_data(db_url, other)
    key_of = lambda sender: f"key:{sender}"  # noqa: E731 (stands in for the HMAC the action uses)
    assert scrub_contact_slots_of(db_url, "key:nobody", key_of) == 0
    assert scrub_contact_slots_of(db_url, f"key:{maker}", key_of) >= 2
    everything = "\n".join(stored_data(db_url, maker))
    assert NAME_TOKEN not in everything and PHONE_TOKEN not in everything
    assert stored_data(db_url, other) == others_rows
