"""The one place that makes database engines and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

Base = declarative_base()


def make_engine(url: str) -> Engine:
    """An engine for SQLite (the embedded default) or PostgreSQL (production)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False})

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


def create_schema(engine: Engine) -> None:
    # Import for the side effect of registering every table on Base.
    from chatbot import sources as source_models  # noqa: F401
    from chatbot.knowledge import models  # noqa: F401
    from chatbot.outcomes import models as outcome_models  # noqa: F401
    from chatbot.referrals import models as referral_models  # noqa: F401

    Base.metadata.create_all(engine)


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
