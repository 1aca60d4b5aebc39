"""Share-link sources: the reviewed list, and counting arrivals once per conversation.

The last tests hold real conversations through the REST channel of the live servers
and read the reach table in their database.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import sqlite3
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import session as session_action
from chatbot import sources
from chatbot.config import PROJECT_ROOT
from chatbot.db import Base, make_engine, session_scope
from chatbot.knowledge.errors import KnowledgeError

# --- the reviewed list ----------------------------------------------------------------


def test_the_demo_sources_are_valid():
    known = sources.load_sources(PROJECT_ROOT / "knowledge")
    assert {"islington-peer-mentors", "amwell-staff", "manchester-council-web"} <= set(known)
    assert all(sources.SOURCE_ID.match(source_id) for source_id in known)
    staff = known["amwell-staff"]
    assert (
        staff.professional and staff.kind == "gp_surgery" and staff.gp_surgery_id == "amwell-group-practice"
    )
    assert not known["islington-peer-mentors"].professional
    assert known["manchester-council-web"].area_id == "manchester"


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    root.mkdir()
    for name in ("areas.yaml", "gp_surgeries.yaml"):
        shutil.copy(PROJECT_ROOT / "knowledge" / name, root / name)
    return root


def _problems(kb: Path, text: str) -> list[str]:
    (kb / "sources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        sources.load_sources(kb)
    return [str(p) for p in caught.value.problems]


REST = "name: N, kind: other, professional: false, last_reviewed: 2026-11-01"
GOOD = """
  - id: ok-source
    name: A good one
    kind: other
    professional: false
    last_reviewed: 2026-11-01
"""


def test_a_good_file_loads(kb):
    (kb / "sources.yaml").write_text("sources:" + GOOD, encoding="utf-8")
    assert list(sources.load_sources(kb)) == ["ok-source"]


def test_an_unknown_area_is_named(kb):
    problems = _problems(
        kb,
        "sources:\n  - {id: leeds-mentors, name: Leeds, kind: peer_mentor_scheme, area_id: leeds,"
        " professional: false, last_reviewed: 2026-11-01}\n",
    )
    assert problems == [
        "sources.yaml, entry 'leeds-mentors', field 'area_id': unknown area 'leeds' (see areas.yaml)"
    ]


@pytest.mark.parametrize(
    "bad_id",
    ["has space", "café", "a/b", "x" * 65, "semi;colon", "dot.ted"],
)
def test_an_id_that_cannot_go_in_a_link_is_refused(kb, bad_id):
    problems = _problems(
        kb,
        f"sources:\n  - {{id: '{bad_id}', {REST}}}\n",
    )
    assert len(problems) == 1
    assert "field 'id'" in problems[0] and "cannot go in a link" in problems[0] and "64" in problems[0]


def test_a_64_character_id_with_capitals_is_allowed(kb):
    long_id = "A" + "b_-9" * 15 + "xyz"
    assert len(long_id) == 64
    (kb / "sources.yaml").write_text(f"sources:\n  - {{id: {long_id}, {REST}}}\n")
    assert list(sources.load_sources(kb)) == [long_id]


def test_duplicate_ids_are_refused_even_when_only_the_case_differs(kb):
    problems = _problems(kb, "sources:" + GOOD + GOOD + GOOD.replace("ok-source", "OK-Source"))
    assert problems == [
        "sources.yaml, entry 'ok-source', field 'id': duplicate id: every link must name one source",
        "sources.yaml, entry 'OK-Source', field 'id': duplicate id as 'ok-source'"
        " (ids differing only in case): every link must name one source",
    ]


def test_every_problem_is_reported_at_once(kb):
    problems = _problems(
        kb,
        """sources:
  - id: staff
    name: ""
    kind: pharmacy
    professional: "yes"
    last_reviewed: someday
    gp_surgery_id: nowhere
    colour: blue
  - id: wrong-area
    name: Amwell in Manchester
    kind: gp_surgery
    area_id: manchester
    gp_surgery_id: amwell-group-practice
    professional: true
    last_reviewed: 2026-11-01
""",
    )
    text = "\n".join(problems)
    for expected in (
        "entry 'staff', field 'colour': unknown field",
        "entry 'staff', field 'name': is required",
        "entry 'staff', field 'kind': 'pharmacy' is not one of: peer_mentor_scheme, gp_surgery, council,",
        "entry 'staff', field 'professional': must be true",
        "entry 'staff', field 'last_reviewed': 'someday' is not a date",
        "entry 'staff', field 'gp_surgery_id': unknown GP surgery 'nowhere'",
        "entry 'wrong-area', field 'area_id': 'amwell-group-practice' is in 'islington', not 'manchester'",
    ):
        assert expected in text
    assert len(problems) == 7


def test_a_file_that_is_not_a_list_of_sources_is_refused(kb):
    assert _problems(kb, "- id: x\n") == [
        "sources.yaml, field 'sources': the file must be a mapping with a 'sources' list"
    ]
    assert _problems(kb, "sources: [\n")[0].startswith("sources.yaml: is not valid YAML")
    (kb / "sources.yaml").unlink()
    with pytest.raises(KnowledgeError, match="file is missing"):
        sources.load_sources(kb)


# --- reach ------------------------------------------------------------------------------


def test_reach_by_source_counts_conversations_between_two_dates_inclusive(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'reach.db'}")
    Base.metadata.create_all(engine)
    day = dt.date(2026, 11, 2)
    with session_scope(engine) as session:
        for source_id, days in (("a", [0, 0, 6]), ("b", [1]), ("c", [-1, 7])):
            for offset in days:
                sources.record_arrival(session, source_id, "web", day + dt.timedelta(days=offset))
    with session_scope(engine) as session:
        assert sources.reach_by_source(session, day, day + dt.timedelta(days=6)) == {"a": 3, "b": 1}
        assert sources.reach_by_source(session, day, day) == {"a": 2}
        assert (
            sources.reach_by_source(session, day + dt.timedelta(days=30), day + dt.timedelta(days=40)) == {}
        )
    columns = {c["name"] for c in sa.inspect(engine).get_columns("conversation_sources")}
    assert columns == {"id", "source_id", "channel", "started_on"}
    engine.dispose()


def test_a_channel_name_from_a_client_is_stored_only_if_known(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'reach.db'}")
    Base.metadata.create_all(engine)
    with session_scope(engine) as session:
        sources.record_arrival(session, "a", "telegram", dt.date(2026, 11, 2))
        sources.record_arrival(session, "a", "Jane Smith 07700 900123", dt.date(2026, 11, 2))
    with session_scope(engine) as session:
        stored = session.execute(sa.select(sources.ConversationSourceRow.channel)).scalars().all()
    assert stored == ["telegram", "unknown"]
    engine.dispose()


# --- the session-start action, called as Rasa calls it -----------------------------------


def _tracker(metadata, events=None, **slots) -> Tracker:
    return Tracker(
        sender_id="person-123",
        slots={"session_started_metadata": metadata, **slots},
        latest_message={},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


@pytest.fixture
def recorded(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(
        session_action, "record_conversation_source", lambda *args: calls.append(args) or True
    )
    return calls


def _run(tracker: Tracker, carry_over: bool = False) -> list[dict]:
    domain = {"session_config": {"carry_over_slots_to_new_session": carry_over}}
    return session_action.ActionSessionStart().run(CollectingDispatcher(), tracker, domain)


def test_a_staff_link_is_recorded_and_starts_professional_mode(recorded):
    events = _run(_tracker({"source": "amwell-staff", "channel": "telegram"}))
    assert [e["event"] for e in events] == ["session_started", "slot", "action"]
    assert events[1]["name"] == "user_role" and events[1]["value"] == "patient"
    assert events[2]["name"] == "action_listen"
    assert recorded == [("amwell-staff", "telegram", dt.date.today())]


def test_a_public_link_is_recorded_without_changing_the_role(recorded):
    events = _run(_tracker({"source": "islington-peer-mentors"}))
    assert [e["event"] for e in events] == ["session_started", "action"]
    assert recorded == [("islington-peer-mentors", "unknown", dt.date.today())]


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        {},
        {"source": "no-such-source"},
        {"source": "AMWELL-STAFF"},
        {"source": ["amwell-staff"]},
        {"source": "amwell-staff; drop table"},
        {"source": "x" * 500},
        "amwell-staff",
        ["amwell-staff"],
    ],
)
def test_no_link_or_an_unknown_or_malformed_one_is_ignored_silently(recorded, metadata):
    events = _run(_tracker(metadata))
    assert [e["event"] for e in events] == ["session_started", "action"]
    assert recorded == []


def test_slots_are_carried_over_only_when_the_domain_says_so(recorded):
    tracker = _tracker({"source": "amwell-staff"}, area_id="islington", work_status=None)
    assert [e["event"] for e in _run(tracker)] == ["session_started", "slot", "action"]
    carried = _run(tracker, carry_over=True)
    assert [e["event"] for e in carried] == ["session_started", "slot", "slot", "action"]
    assert {(e["name"], e["value"]) for e in carried if e["event"] == "slot"} == {
        ("area_id", "islington"),
        ("user_role", "patient"),
    }


def test_a_database_error_does_not_break_the_conversation(monkeypatch, caplog):
    def broken_engine():
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("disk I/O error"))

    monkeypatch.setattr(sources, "sources_engine", broken_engine)
    with caplog.at_level(logging.ERROR):
        events = _run(_tracker({"source": "amwell-staff"}))
    assert [e["event"] for e in events] == ["session_started", "slot", "action"]
    assert "OperationalError" in caplog.text
    assert "person-123" not in caplog.text and "INSERT" not in caplog.text


# --- through the real servers -------------------------------------------------------------


def _say(live_servers, sender: str, message: str, metadata: dict | None = None) -> list[dict]:
    body: dict = {"sender": sender, "message": message}
    if metadata is not None:
        body["metadata"] = metadata
    request = urllib.request.Request(
        f"{live_servers.rasa_url}/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _slots(live_servers, sender: str) -> dict:
    url = f"{live_servers.rasa_url}/conversations/{sender}/tracker?token={live_servers.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())["slots"]


def _rows(live_servers) -> list[tuple]:
    path = live_servers.settings.database_url.removeprefix("sqlite:///")
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT id, source_id, channel, started_on FROM conversation_sources ORDER BY id"
        ).fetchall()
    except sqlite3.OperationalError:  # no conversation has come through a link yet
        return []
    finally:
        connection.close()


def _new_sender() -> str:
    return f"test-share-{uuid.uuid4()}"


def test_a_staff_link_is_counted_once_per_conversation_and_asks_about_the_patient(live_servers):
    before = _rows(live_servers)
    sender = _new_sender()
    replies = _say(live_servers, sender, "hi", {"source": "amwell-staff"})
    assert replies, "the bot answered"
    after_first = _rows(live_servers)
    new = after_first[len(before) :]
    assert [row[1:] for row in new] == [("amwell-staff", "unknown", dt.date.today().isoformat())]
    # Nothing about the person: no sender id anywhere in the row.
    assert not any(sender in str(value) for value in new[0])
    slots = _slots(live_servers, sender)
    assert slots["user_role"] == "patient"
    # The bot asks about the patient and never asks who the conversation is for.
    texts = " ".join(r.get("text", "") for r in replies)
    assert "Who is this for?" not in texts
    assert "patient" in texts

    _say(live_servers, sender, "they are off sick", {"source": "amwell-staff"})
    assert _rows(live_servers) == after_first
    assert _slots(live_servers, sender)["user_role"] == "patient"


def test_a_public_link_is_counted_with_its_channel(live_servers):
    before = _rows(live_servers)
    sender = _new_sender()
    _say(live_servers, sender, "hello", {"source": "islington-peer-mentors", "channel": "telegram"})
    new = _rows(live_servers)[len(before) :]
    assert [row[1:] for row in new] == [("islington-peer-mentors", "telegram", dt.date.today().isoformat())]
    assert _slots(live_servers, sender)["user_role"] is None


@pytest.mark.parametrize(
    "metadata",
    [{"source": "no-such-source"}, {"source": "x" * 80}, {"source": 42}, {"other": "amwell-staff"}, None],
)
def test_an_unknown_or_missing_source_adds_no_row(live_servers, metadata):
    before = _rows(live_servers)
    sender = _new_sender()
    replies = _say(live_servers, sender, "hi", metadata)
    assert replies
    assert _rows(live_servers) == before
    assert _slots(live_servers, sender)["user_role"] is None
