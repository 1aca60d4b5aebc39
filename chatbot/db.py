"""The one place that makes database engines and sessions."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.pool import QueuePool

Base = declarative_base()


def make_engine(url: str) -> Engine:
    """An engine for SQLite (the embedded default) or PostgreSQL (production)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        # A kept pool: SQLAlchemy 1.4 gives file SQLite a NullPool, so each transaction opened
        # a connection and its close checkpointed the WAL (the action server's largest cost
        # when recording outcomes, bench under py-spy).
        engine = create_engine(
            url, future=True, poolclass=QueuePool, connect_args={"check_same_thread": False}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            # WAL lets the action server read while the Rasa server writes; with it,
            # synchronous=NORMAL still survives a process crash and skips most fsyncs.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


# Every module that declares tables on Base: create_schema and Alembic (chatbot.production.schema)
# both import exactly these, so a new table cannot reach one and miss the other.
MODEL_MODULES = (
    "chatbot.knowledge.models",
    "chatbot.referrals.models",
    "chatbot.sources",
    "chatbot.outcomes.models",
)


def declared_metadata() -> MetaData:
    """Base.metadata with every model module imported, so it holds every table we declare."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def create_schema(engine: Engine) -> None:
    declared_metadata().create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed if the block succeeds, rolled back if it raises."""
    session = sessionmaker(bind=engine, future=True, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
