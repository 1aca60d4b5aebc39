"""How long `python -m chatbot report` takes on 10,000 generated conversations.

Generates a year of activity in a fresh database (SQLite, and PostgreSQL when one answers
at POSTGRES_URL): every conversation's start (channel, share link), triage for most, the
services recommended, crisis interruptions, and referrals with consent, refusals and
status histories, in a realistic mix. Then times building the report and each format,
for all areas and for one. Prints figures; asserts nothing.

    .venv/bin/python bench/report_bench.py [--conversations 10000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.config import PROJECT_ROOT  # noqa: E402
from chatbot.db import create_schema, make_engine  # noqa: E402
from chatbot.knowledge.loader import read_knowledge  # noqa: E402
from chatbot.outcomes import models as om  # noqa: E402
from chatbot.outcomes.render import render  # noqa: E402
from chatbot.outcomes.report import build_report  # noqa: E402
from chatbot.referrals import models as rm  # noqa: E402
from chatbot.sources import load_sources  # noqa: E402

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
START = dt.date(2026, 1, 1)
DAYS = 365
# Where the status of a referral ends, with its path (a realistic spread, not data).
PATHS = [
    (0.04, [rm.SUBMITTED]),
    (0.10, [rm.SUBMITTED, rm.DELIVERED]),
    (0.10, [rm.SUBMITTED, rm.DELIVERED, rm.ACKNOWLEDGED]),
    (0.18, [rm.SUBMITTED, rm.DELIVERED, rm.ACKNOWLEDGED, rm.CONTACTED]),
    (0.30, [rm.SUBMITTED, rm.DELIVERED, rm.ACKNOWLEDGED, rm.CONTACTED, rm.SUPPORT_STARTED]),
    (0.08, [rm.SUBMITTED, rm.DELIVERED, rm.DECLINED]),
    (0.12, [rm.SUBMITTED, rm.DELIVERED, rm.ACKNOWLEDGED, rm.COULD_NOT_CONTACT]),
    (0.08, [rm.SUBMITTED, rm.DELIVERED, rm.WITHDRAWN]),
]


def _event(**labels) -> dict:  # noqa: ANN003
    """Every column present: executemany needs the same keys in every row."""
    return {"channel": None, "source_id": None, "role": None, "area_id": None, "service_id": None, **labels}


def generate(engine: sa.engine.Engine, conversations: int, seed: int = 9) -> dict[str, int]:
    rng = random.Random(seed)
    knowledge = read_knowledge(PROJECT_ROOT / "knowledge")
    sources = list(load_sources(PROJECT_ROOT / "knowledge").values())
    areas = [a.id for a in knowledge.areas]
    by_area = {a: [s.id for s in knowledge.services if a in s.eligibility.areas] for a in areas}
    events, referrals, consents, changes = [], [], [], []
    for _ in range(conversations):
        day = START + dt.timedelta(days=rng.randrange(DAYS))
        channel = rng.choices(["web", "telegram", "rest", "socketio"], [60, 30, 5, 5])[0]
        source = rng.choice(sources) if rng.random() < 0.25 else None
        events.append(
            _event(
                kind=om.CONVERSATION_STARTED,
                occurred_on=day,
                channel=channel,
                source_id=source and source.id,
                area_id=source and source.area_id or None,
            )
        )
        if rng.random() < 0.03:
            events.append(_event(kind=om.CRISIS_INTERRUPTED, occurred_on=day, area_id=rng.choice(areas)))
        if rng.random() > 0.7:
            continue  # left before triage finished
        area = rng.choices(areas, [1, 3, 2, 2, 1] if len(areas) == 5 else None)[0]
        role = rng.choices(["self", "patient", "helper", om.ROLE_NOT_SAID], [70, 15, 10, 5])[0]
        events.append(_event(kind=om.TRIAGE_COMPLETED, occurred_on=day, role=role, area_id=area))
        recommended = rng.sample(by_area[area], min(len(by_area[area]), rng.randint(1, 3)))
        for service_id in recommended:
            events.append(
                _event(kind=om.SERVICE_RECOMMENDED, occurred_on=day, service_id=service_id, area_id=area)
            )
        if not recommended or rng.random() > 0.25:
            continue
        service_id = recommended[0]
        created = dt.datetime.combine(day, dt.time(rng.randrange(8, 20)), tzinfo=dt.timezone.utc)
        consent = dict(
            service_id=service_id,
            wording_version="bench",
            given_by="person",
            how="bench",
            channel=channel,
            role="self",
            decided_at=created,
        )
        if rng.random() < 0.15:
            consents.append({**consent, "decision": "refused", "referral_id": None, "withdrawn_at": None})
            continue
        path = rng.choices([p for _, p in PATHS], [w for w, _ in PATHS])[0]
        referral_id = len(referrals) + 1
        at = created
        for status in path[1:]:
            at += dt.timedelta(hours=rng.randint(4, 24 * 6))
            changes.append(dict(referral_id=referral_id, status=status, changed_by="service", changed_at=at))
        referrals.append(
            dict(
                id=referral_id,
                reference=uuid.uuid4().hex[:12],
                submission_key=uuid.uuid4().hex,
                person_key=uuid.uuid4().hex,
                service_id=service_id,
                status=path[-1],
                channel=channel,
                role="self",
                created_at=created,
                status_changed_at=at,
            )
        )
        withdrawn = at if path[-1] == rm.WITHDRAWN else None
        consents.append(
            {**consent, "decision": "given", "referral_id": referral_id, "withdrawn_at": withdrawn}
        )
    with engine.begin() as connection:
        connection.execute(sa.insert(om.OutcomeEventRow), events)
        connection.execute(sa.insert(rm.ReferralRow), referrals)
        connection.execute(sa.insert(rm.StatusChangeRow), changes)
        connection.execute(sa.insert(rm.ConsentRow), consents)
    return {
        "events": len(events),
        "referrals": len(referrals),
        "consents": len(consents),
        "changes": len(changes),
    }


def time_it(fn, repeat: int = 3) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(name: str, engine: sa.engine.Engine, conversations: int) -> None:
    create_schema(engine)
    started = time.perf_counter()
    rows = generate(engine, conversations)
    took = time.perf_counter() - started
    print(f"\n{name}: generated {conversations:,} conversations in {took:.1f} s: {rows}")
    knowledge = read_knowledge(PROJECT_ROOT / "knowledge")
    sources = load_sources(PROJECT_ROOT / "knowledge")
    for label, area, first, last in [
        ("whole year, all areas", None, START, START + dt.timedelta(days=DAYS - 1)),
        ("whole year, islington", "islington", START, START + dt.timedelta(days=DAYS - 1)),
        ("one month, all areas", None, dt.date(2026, 6, 1), dt.date(2026, 6, 30)),
    ]:

        def build(area=area, first=first, last=last):  # noqa: ANN001, ANN202
            return build_report(engine, knowledge, sources, first, last, area_id=area)

        report = build()
        hidden = sum(v.hidden for t in report.tables for _, vs in t.rows for v in vs)
        figures = sum(len(vs) for t in report.tables for _, vs in t.rows)
        line = f"  {label:24} build {time_it(build):6.2f} s ({hidden} of {figures} figures hidden)"
        for fmt in ("html", "csv", "json"):
            line += f"  {fmt} {time_it(lambda fmt=fmt, report=report: render(report, fmt)) * 1000:5.1f} ms"
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        bench("SQLite", engine, args.conversations)
        engine.dispose()
    if args.no_postgres:
        return 0
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError:
        print("\nPostgreSQL: not reachable at", POSTGRES_URL, "- skipped")
        return 0
    engine = sa.create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        bench("PostgreSQL", engine, args.conversations)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
