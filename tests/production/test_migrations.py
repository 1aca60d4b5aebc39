"""Alembic: `upgrade head` makes exactly the tables the models declare; `downgrade base` removes them.

Run through the real `alembic` command and alembic.ini, against databases of a private
PostgreSQL server. Rasa's `events` table is never created, changed or dropped by a migration.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from chatbot.config import PROJECT_ROOT
from chatbot.production.schema import (
    declared_metadata,
    ensure_database,
    head_revision,
    migrate,
    schema_differences,
)
from tests.production.services import clean_environment

ALEMBIC = str(Path(sys.executable).parent / "alembic")


def alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [ALEMBIC, *args],
        cwd=PROJECT_ROOT,
        env=clean_environment(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"alembic {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def columns_by_table(engine: sa.engine.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


def declared_columns() -> dict[str, set[str]]:
    return {name: {c.name for c in table.columns} for name, table in declared_metadata().tables.items()}


def fresh_database(private_postgres, name: str) -> str:
    url = private_postgres.database_url(name)
    assert ensure_database(url) is True
    assert ensure_database(url) is False  # a second time finds it
    return url


def test_upgrade_head_makes_exactly_the_declared_tables_and_downgrade_removes_them(private_postgres):
    url = fresh_database(private_postgres, "migrations_empty")
    engine = sa.create_engine(url, future=True)
    try:
        assert columns_by_table(engine) == {}

        alembic(url, "upgrade", "head")
        tables = columns_by_table(engine)
        assert tables.pop("alembic_version") == {"version_num"}
        assert tables == declared_columns()
        assert {"referrals", "referral_consents", "referral_outbox", "conversation_sources"} <= set(tables)
        assert {t for t in tables if t.startswith("kb_")} == {
            "kb_organizations", "kb_areas", "kb_area_terms", "kb_gp_surgeries", "kb_services",
            "kb_service_areas", "kb_answers", "kb_loads",
        }  # fmt: skip
        assert "events" not in tables
        # Beyond names: types, nullability, keys and indexes as autogenerate compares them.
        with engine.connect() as connection:
            assert schema_differences(connection) == []
        assert "(head)" in alembic(url, "current").stdout

        alembic(url, "downgrade", "base")
        assert set(columns_by_table(engine)) == {"alembic_version"}
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 0
    finally:
        engine.dispose()


def test_migrations_leave_rasas_events_table_alone(private_postgres):
    url = fresh_database(private_postgres, "migrations_beside_rasa")
    engine = sa.create_engine(url, future=True)
    try:
        # Rasa's own table definition, with a row in it, as a running Rasa server leaves it.
        SQLTrackerStore.SQLEvent.__table__.create(engine)
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO events (sender_id, type_name, timestamp) VALUES ('s', 'user', 1.0)")
            )
        before = columns_by_table(engine)["events"]

        alembic(url, "upgrade", "head")
        alembic(url, "downgrade", "base")

        after = columns_by_table(engine)
        assert set(after) == {"events", "alembic_version"}
        assert after["events"] == before
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM events")).scalar() == 1
    finally:
        engine.dispose()


def test_tables_made_by_create_all_are_adopted_at_head(private_postgres):
    """A process (kb load, say) made the tables before any migration ran: `up` stamps them, no error."""
    from chatbot.db import create_schema, make_engine

    url = fresh_database(private_postgres, "migrations_adopt")
    engine = make_engine(url)
    try:
        create_schema(engine)
        report = migrate(url)
        assert report.adopted and report.before is None and report.after == head_revision()
        again = migrate(url)
        assert not again.adopted and again.before == again.after == head_revision()
    finally:
        engine.dispose()
