"""Throwaway databases for tests that must hold on SQLite (the default) and PostgreSQL (production).

PostgreSQL is the machine's shared server (127.0.0.1:5432, database `test`): each use
gets a schema of its own, found through `search_path`, and drops it afterwards. A
missing server fails the test with what to do; it is never skipped.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from chatbot.db import create_schema, make_engine

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
KINDS = ("sqlite", "postgresql")


@contextlib.contextmanager
def throwaway_database_url(kind: str, tmp_path: Path, name: str = "test") -> Iterator[str]:
    """A URL to an empty database: a SQLite file under tmp_path, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    schema = f"{name}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, future=True)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 (database test, trust auth) is needed: {error}")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def throwaway_engine(kind: str, tmp_path: Path, name: str = "test") -> Iterator[sa.engine.Engine]:
    """An engine on a throwaway database with every table our models declare."""
    with throwaway_database_url(kind, tmp_path, name) as url:
        engine = make_engine(url)
        try:
            create_schema(engine)
            yield engine
        finally:
            engine.dispose()
