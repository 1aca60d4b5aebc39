"""The outcomes report: right counts, area and date filters, nothing personal in any format,
figures unchanged by the retention purge and by erasure, events recorded by the actions.

Runs on SQLite and on the PostgreSQL server the production profile uses.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from chatbot.config import PROJECT_ROOT
from chatbot.db import create_schema, make_engine, session_scope
from chatbot.outcomes import models as om
from chatbot.outcomes import record
from chatbot.outcomes.render import render
from chatbot.outcomes.report import Report, ReportError, build_report
from chatbot.referrals import models as rm
from chatbot.referrals import store
from chatbot.referrals.crypto import ContactCipher
from chatbot.sources import load_sources
from tests.databases import KINDS, throwaway_engine

DAY = dt.date(2026, 11, 10)
TODAY = dt.date(2026, 12, 1)
ISLINGTON_SERVICE = "islington-iwork"
MANCHESTER_SERVICE = "manchester-ips"
NAMES = ["Sam Taylor", "Priya Okonkwo-Smith", "Jo Bloggs"]
EMAILS = ["sam.taylor@example.com", "priya.o@example.org", "jo@example.net"]
PHONES = ["+447700900123", "07700 900456"]
SECRET_TEXT = "I feel awful about my back and my boss at Tesco"


@pytest.fixture(params=KINDS)
def engine(request, tmp_path):
    with throwaway_engine(request.param, tmp_path, "outcomes") as engine:
        yield engine


@pytest.fixture(scope="module")
def sources():
    return load_sources(PROJECT_ROOT / "knowledge")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.timezone.utc)


def refer(
    session, cipher, service_id: str, day: dt.date, n: int, person: str = "p", statuses=(), name_index=0
) -> list[store.Submitted]:
    """n referrals made on `day`, each moved through `statuses` (a day apart), with real-looking details."""
    made = []
    for i in range(n):
        key = f"{service_id}-{day}-{person}-{i}-{uuid.uuid4().hex[:6]}"
        submitted = store.submit(
            session,
            store.Submission(
                person_key=f"person-key-{person}",
                submission_key=key,
                service_id=service_id,
                method="email",
                destination="referrals@service.example",
                channel="web",
                role="self",
                name=NAMES[(name_index + i) % len(NAMES)],
                contact_route="email",
                contact=EMAILS[(name_index + i) % len(EMAILS)],
                best_time="morning",
                shared_facts={"work_status": "off_sick", "area_id": "islington", "note": SECRET_TEXT},
                consent=store.Consent("v1", "person", "pressed yes in web", at(day)),
            ),
            cipher,
            at(day),
        )
        referral = store.find(session, submitted.reference)
        for step, status in enumerate(statuses, start=1):
            changed = at(day + dt.timedelta(days=step))
            session.add(
                rm.StatusChangeRow(
                    referral_id=referral.id, status=status, changed_by="service", changed_at=changed
                )
            )
            referral.status = status
        made.append(submitted)
    return made


def refuse(session, service_id: str, day: dt.date, n: int) -> None:
    for _ in range(n):
        store.record_refusal(
            session, service_id, "web", "self", store.Consent("v1", "person", "said no", at(day))
        )


def events(engine, day: dt.date, rows: list[dict]) -> None:
    assert record.record_events(rows, today=day, engine=engine)


@pytest.fixture
def seeded(engine):
    """A month of activity in two areas, with known numbers."""
    cipher = ContactCipher(Fernet.generate_key())
    started = [{"kind": om.CONVERSATION_STARTED, "channel": "web", "source_id": None}] * 30
    started += [{"kind": om.CONVERSATION_STARTED, "channel": "telegram", "source_id": None}] * 12
    started += [
        {
            "kind": om.CONVERSATION_STARTED,
            "channel": "web",
            "source_id": "islington-peer-mentors",
            "area_id": "islington",
        }
    ] * 8
    started += [{"kind": om.CONVERSATION_STARTED, "channel": "rest", "source_id": None}] * 3  # a small count
    events(engine, DAY, started)
    events(engine, DAY, [{"kind": om.TRIAGE_COMPLETED, "role": "self", "area_id": "islington"}] * 20)
    events(engine, DAY, [{"kind": om.TRIAGE_COMPLETED, "role": "helper", "area_id": "manchester"}] * 9)
    events(
        engine,
        DAY,
        [{"kind": om.SERVICE_RECOMMENDED, "service_id": ISLINGTON_SERVICE, "area_id": "islington"}] * 15,
    )
    events(
        engine,
        DAY,
        [{"kind": om.SERVICE_RECOMMENDED, "service_id": MANCHESTER_SERVICE, "area_id": "manchester"}] * 7,
    )
    events(engine, DAY, [{"kind": om.CRISIS_INTERRUPTED, "area_id": "islington"}] * 6)
    # Outside the period: must never be counted.
    events(engine, dt.date(2026, 10, 31), [{"kind": om.CONVERSATION_STARTED, "channel": "web"}] * 50)
    with session_scope(engine) as session:
        refer(
            session,
            cipher,
            ISLINGTON_SERVICE,
            DAY,
            10,
            statuses=[rm.DELIVERED, rm.ACKNOWLEDGED, rm.CONTACTED],
        )
        refer(session, cipher, ISLINGTON_SERVICE, DAY, 6, person="q", statuses=[rm.DELIVERED])
        refer(
            session,
            cipher,
            MANCHESTER_SERVICE,
            DAY,
            8,
            person="r",
            statuses=[rm.DELIVERED, rm.CONTACTED, rm.SUPPORT_STARTED],
        )
        refer(session, cipher, MANCHESTER_SERVICE, dt.date(2026, 10, 20), 9, person="old")
        refuse(session, ISLINGTON_SERVICE, DAY, 7)
        withdrawn = refer(session, cipher, ISLINGTON_SERVICE, DAY, 5, person="w", statuses=[rm.DELIVERED])
        for submitted in withdrawn:
            store.withdraw(session, submitted.reference, at(DAY + dt.timedelta(days=3)))
    return engine


def make(
    engine, knowledge, sources, area=None, date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 30)
):
    return build_report(engine, knowledge, sources, date_from, date_to, area_id=area, today=TODAY)


def cell(report: Report, key: str, row: str, column: str) -> str:
    table = report.table(key)
    values = dict(table.rows)[row]
    return values[table.columns.index(column)].text


def test_counts_are_right(seeded, knowledge, sources):
    report = make(seeded, knowledge, sources)
    channel = "conversations_by_channel"
    assert cell(report, channel, "Web chat", "Conversations") == "38"
    # 3 REST conversations are hidden; so is the next smallest, else 53 - 38 - 0 - 12 gives them away.
    assert cell(report, channel, "Telegram", "Conversations") == "[c]"
    assert cell(report, channel, "Total", "Conversations") == "53"
    assert cell(report, channel, "Other apps (REST)", "Conversations") == "<5"
    assert (
        cell(report, "conversations_by_source", "Islington peer mentoring scheme (demo)", "Conversations")
        == "8"
    )
    assert cell(report, "who_for", "Themselves", "Conversations") == "20"
    assert cell(report, "who_for", "Someone they help", "Conversations") == "9"
    assert cell(report, "who_for", "Total", "Conversations") == "29"
    names = {s.id: s.name for s in knowledge.services}
    isl, man = names[ISLINGTON_SERVICE], names[MANCHESTER_SERVICE]
    assert cell(report, "recommendations_by_service", isl, "Recommendations") == "15"
    assert cell(report, "crisis", "Crisis interruptions", "Times") == "6"
    status = "referrals_by_service_status"
    assert cell(report, status, isl, "Contacted") == "10"
    assert cell(report, status, isl, "Delivered") == "6"
    assert cell(report, status, isl, "Withdrawn") == "5"
    assert cell(report, status, isl, "Total") == "21"
    assert cell(report, status, man, "Support started") == "8"
    assert cell(report, status, "All services", "Total") == "29"  # October's referrals are not counted
    funnel = "referral_funnel"
    assert cell(report, funnel, "Referred", "Reached this stage") == "29"
    assert cell(report, funnel, "Delivered to the service", "Reached this stage") == "29"
    assert cell(report, funnel, "Person contacted", "Reached this stage") == "18"
    assert cell(report, funnel, "Support started", "Reached this stage") == "8"
    assert cell(report, "consent", isl, "Given") == "21"
    assert cell(report, "consent", isl, "Given, then withdrawn") == "5"
    assert cell(report, "consent", isl, "Refused") == "7"
    # Contact came 3 days after referral for Islington, 2 days for Manchester.
    assert cell(report, "days_to_first_contact", isl, "Median days") == "3.0"
    assert cell(report, "days_to_first_contact", man, "Median days") == "2.0"
    assert cell(report, "days_to_first_contact", "All services", "Median days") == "3.0"


def test_the_area_filter_keeps_only_that_areas_figures(seeded, knowledge, sources):
    report = make(seeded, knowledge, sources, area="manchester")
    names = {s.id: s.name for s in knowledge.services}
    in_manchester = [s for s in knowledge.services if "manchester" in s.eligibility.areas]
    labels = [label for label, _ in report.table("referrals_by_service_status").rows]
    # Every service of the area has a row, used or not (a row's presence must say nothing).
    assert sorted(labels[:-1]) == sorted(s.name for s in in_manchester) and labels[-1] == "All services"
    assert names[ISLINGTON_SERVICE] not in labels
    assert cell(report, "referrals_by_service_status", names[MANCHESTER_SERVICE], "Support started") == "8"
    assert cell(report, "referrals_by_service_status", "All services", "Total") == "8"
    assert cell(report, "who_for", "Total", "Conversations") == "9"
    assert cell(report, "crisis", "Crisis interruptions", "Times") == "0"
    assert cell(report, "conversations_by_source", "Total", "Conversations") == "0"
    assert report.area_name == "Manchester"


def test_the_date_range_includes_both_days_and_nothing_outside(seeded, knowledge, sources):
    october = make(seeded, knowledge, sources, date_from=dt.date(2026, 10, 20), date_to=dt.date(2026, 10, 31))
    assert cell(october, "conversations_by_channel", "Total", "Conversations") == "50"
    assert cell(october, "referrals_by_service_status", "All services", "Total") == "9"
    one_day = make(seeded, knowledge, sources, date_from=DAY, date_to=DAY)
    assert cell(one_day, "conversations_by_channel", "Total", "Conversations") == "53"


def test_a_bad_range_or_unknown_area_says_what_to_do(seeded, knowledge, sources):
    with pytest.raises(ReportError, match="before"):
        make(seeded, knowledge, sources, date_from=dt.date(2026, 11, 30), date_to=dt.date(2026, 11, 1))
    with pytest.raises(ReportError, match="Known areas: .*islington"):
        make(seeded, knowledge, sources, area="atlantis")


def test_no_name_contact_reference_or_free_text_appears_in_any_format(seeded, knowledge, sources):
    with session_scope(seeded) as session:
        references = session.scalars(sa.select(rm.ReferralRow.reference)).all()
        keys = session.scalars(sa.select(rm.ReferralRow.person_key)).all()
    assert references
    forbidden = [*NAMES, *EMAILS, *PHONES, SECRET_TEXT, "Tesco", *references, *keys, "person-key"]
    for area in (None, "islington"):
        report = make(seeded, knowledge, sources, area=area)
        for fmt in ("html", "csv", "json"):
            text = render(report, fmt).lower()
            for secret in forbidden:
                assert secret.lower() not in text, f"{secret!r} appears in the {fmt} report"


def test_no_published_cell_shows_a_count_from_one_to_four(seeded, knowledge, sources):
    report = make(seeded, knowledge, sources)
    for table in report.tables:
        if table.key in ("days_to_first_contact", "services_past_review"):
            continue  # medians and dates, not counts
        for _, values in table.rows:
            assert not any(v.value is not None and 1 <= v.value <= 4 for v in values), table.key


def test_the_purge_and_erasure_leave_the_report_unchanged(seeded, knowledge, sources):
    before = {fmt: render(make(seeded, knowledge, sources), fmt) for fmt in ("json", "csv", "html")}
    with session_scope(seeded) as session:
        purged = store.purge_expired(session, dt.timedelta(days=1), at(TODAY))
        erased = store.erase_person(
            session, "person-key-w", at(TODAY)
        )  # their referrals were already withdrawn
    assert purged > 0 and erased.referrals == 5
    with session_scope(seeded) as session:
        assert (
            session.scalar(sa.select(sa.func.count()).where(rm.ReferralRow.name_encrypted.is_not(None))) == 0
        )
    after = {fmt: render(make(seeded, knowledge, sources), fmt) for fmt in ("json", "csv", "html")}
    assert after == before


def test_the_json_holds_every_table_with_numbers_and_marks(seeded, knowledge, sources):
    data = json.loads(render(make(seeded, knowledge, sources), "json"))
    keys = [t["key"] for t in data["tables"]]
    assert {"referral_funnel", "referrals_over_time", "consent", "services_past_review", "crisis"} <= set(
        keys
    )
    channel = next(t for t in data["tables"] if t["key"] == "conversations_by_channel")
    values = {row["label"]: row["values"][0] for row in channel["rows"]}
    assert values["Web chat"] == 38 and values["Other apps (REST)"] == "<5"


def test_services_past_their_review_date_are_listed(seeded, knowledge, sources):
    later = build_report(
        seeded, knowledge, sources, dt.date(2026, 11, 1), dt.date(2026, 11, 30), today=dt.date(2028, 1, 1)
    )
    assert len(later.table("services_past_review").rows) == len(knowledge.services)
    now = make(seeded, knowledge, sources)
    assert len(now.table("services_past_review").rows) < len(knowledge.services)


# --- recording --------------------------------------------------------------------------


def test_recording_cleans_every_label_and_stores_no_text(engine):
    assert record.record_events(
        [
            {
                "kind": om.CONVERSATION_STARTED,
                "channel": SECRET_TEXT,
                "source_id": "not a source id; drop table",
                "area_id": "x" * 500,
            },
            {"kind": om.TRIAGE_COMPLETED, "role": SECRET_TEXT, "area_id": "islington"},
        ],
        today=DAY,
        engine=engine,
    )
    with session_scope(engine) as session:
        rows = session.execute(sa.select(om.OutcomeEventRow)).scalars().all()
    assert [(r.channel, r.source_id, r.area_id, r.role) for r in rows] == [
        ("unknown", None, None, None),
        (None, None, "islington", "not_said"),
    ]


def test_a_database_failure_never_breaks_the_conversation_and_logs_no_content(tmp_path, caplog):
    broken = make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}")  # no schema: every insert fails
    with caplog.at_level(logging.WARNING):
        ok = record.record_events(
            [{"kind": om.CRISIS_INTERRUPTED, "area_id": "islington"}], today=DAY, engine=broken
        )
    assert ok is False
    assert "could not record an outcome event: OperationalError" in caplog.text
    assert "islington" not in caplog.text and "INSERT" not in caplog.text


def _tracker(slots=None, events=(), latest=None) -> Tracker:
    return Tracker(
        sender_id="person-123",
        slots=slots or {},
        latest_message=latest or {},
        events=list(events),
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


@pytest.fixture
def recorded_rows():
    """Rows the actions wrote to the running process's database (a temporary one in tests)."""
    from chatbot.referrals.runtime import referral_engine

    engine = referral_engine()
    with session_scope(engine) as session:
        session.execute(sa.delete(om.OutcomeEventRow))

    def rows() -> list[tuple]:
        with session_scope(engine) as session:
            return [
                (r.kind, r.channel, r.source_id, r.role, r.area_id, r.service_id)
                for r in session.scalars(sa.select(om.OutcomeEventRow).order_by(om.OutcomeEventRow.id))
            ]

    return rows


def test_the_session_start_records_channel_and_source(recorded_rows, monkeypatch):
    from actions import session as session_action

    monkeypatch.setattr(session_action, "record_conversation_source", lambda *a: True)
    run = session_action.ActionSessionStart().run
    run(
        CollectingDispatcher(),
        _tracker({"session_started_metadata": {"source": "amwell-staff", "channel": "web"}}),
        {},
    )
    run(CollectingDispatcher(), _tracker({"session_started_metadata": None}), {})
    assert recorded_rows() == [
        (om.CONVERSATION_STARTED, "web", "amwell-staff", None, "islington", None),
        (om.CONVERSATION_STARTED, "unknown", None, None, None, None),
    ]


def test_recommendations_count_once_per_conversation_with_role_and_area(recorded_rows):
    from actions.recommend import ActionRecommendServices

    slots = {"user_role": "helper", "work_status": "off_sick", "area_id": "islington"}
    first = ActionRecommendServices().run(CollectingDispatcher(), _tracker(slots), {})
    shown = next(e["value"] for e in first if e.get("name") == "recommended_services")
    # Again after a correction: the same services are not counted twice, nor the conversation.
    ActionRecommendServices().run(
        CollectingDispatcher(), _tracker({**slots, "recommended_services": shown}), {}
    )
    rows = recorded_rows()
    assert rows[0] == (om.TRIAGE_COMPLETED, None, None, "helper", "islington", None)
    assert sorted(r[5] for r in rows[1:]) == sorted(shown)
    assert {r[0] for r in rows[1:]} == {om.SERVICE_RECOMMENDED} and {r[4] for r in rows[1:]} == {"islington"}


def test_a_crisis_is_counted_and_nothing_of_it_is_stored(recorded_rows):
    from actions.safety import ActionRespondToCrisis

    latest = {"text": SECRET_TEXT, "risk": {"level": "urgent", "categories": ["suicide_self_harm"]}}
    dispatcher = CollectingDispatcher()
    ActionRespondToCrisis().run(dispatcher, _tracker({"area_id": "manchester"}, latest=latest), {})
    assert recorded_rows() == [(om.CRISIS_INTERRUPTED, None, None, None, "manchester", None)]
    texts = [m["text"] for m in dispatcher.messages]
    assert "116 123" in texts[0] and texts[-1].startswith("I'm still here")
    assert all(SECRET_TEXT not in t for t in texts)


# --- the command ------------------------------------------------------------------------


def test_the_report_command_writes_each_format_and_explains_bad_input(tmp_path):
    var = tmp_path / "var"
    url = f"sqlite:///{var / 'chatbot.db'}"
    engine = make_engine(url)
    create_schema(engine)
    events(engine, DAY, [{"kind": om.CONVERSATION_STARTED, "channel": "telegram"}] * 11)
    engine.dispose()
    env = {**os.environ, "CHATBOT_VAR_DIR": str(var), "DATABASE_URL": url}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "chatbot", "report", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    result = run("--from", "2026-11-01", "--to", "2026-11-30", "--format", "json")
    assert result.returncode == 0, result.stderr
    channel = next(t for t in json.loads(result.stdout)["tables"] if t["key"] == "conversations_by_channel")
    assert {r["label"]: r["values"][0] for r in channel["rows"]}["Telegram"] == 11
    out = tmp_path / "report.html"
    result = run("--from", "2026-11-01", "--to", "2026-11-30", "--area", "islington", "--out", str(out))
    assert result.returncode == 0 and out.read_text().startswith("<!doctype html>")
    result = run("--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv")
    assert result.stdout.startswith("table,row,column,value")
    bad_date = run("--from", "30/11/2026", "--to", "2026-11-30")
    assert bad_date.returncode == 2 and "write it as YYYY-MM-DD" in bad_date.stderr
    bad_area = run("--from", "2026-11-01", "--to", "2026-11-30", "--area", "narnia")
    assert bad_area.returncode == 1 and "unknown area 'narnia'" in bad_area.stderr
    backwards = run("--from", "2026-11-30", "--to", "2026-11-01")
    assert backwards.returncode == 1 and "give the earlier date first" in backwards.stderr
