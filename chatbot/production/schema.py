"""The production database: created if missing, then brought to the newest schema by Alembic.

Alembic (`alembic.ini`, `migrations/`) owns every table our SQLAlchemy models declare on
`chatbot.db.Base`; Rasa creates and owns its `events` table, which migrations never touch.
The embedded SQLite default keeps using `create_all` (chatbot/db.py); in production,
`create_all` still runs when a process starts, but finds every table already made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url

from chatbot.config import PROJECT_ROOT
from chatbot.db import declared_metadata

logger = logging.getLogger(__name__)

VERSION_TABLE = "alembic_version"


class DatabaseError(RuntimeError):
    """The database cannot be reached, made or migrated; the message says what to do."""


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: only our tables (and what belongs to them), never Rasa's `events`."""
    if type_ == "table":
        return name in declared_metadata().tables
    return True


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _safe(url: str | URL) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database `url` names if it is missing. True if it was created."""
    target = make_url(url)
    name = target.database
    if not name:
        raise DatabaseError(f"{_safe(url)} names no database.")
    admin = sa.create_engine(target.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
            logger.info("created the database %s", name)
            return True
    except sa.exc.OperationalError as error:
        raise DatabaseError(
            f"cannot reach PostgreSQL at {_safe(target.set(database='postgres'))} to check that the "
            f"database '{name}' exists ({_first_line(error)}). Is the server running, and may this user "
            "create databases? Otherwise create it yourself (createdb) and run this again."
        ) from None
    except sa.exc.ProgrammingError as error:
        raise DatabaseError(
            f"the database '{name}' does not exist and could not be created ({_first_line(error)}). "
            "Create it (createdb, owned by the user in the URL), then run this again."
        ) from None
    finally:
        admin.dispose()


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def alembic_config(url: str, connection: Connection | None = None):  # noqa: ANN201 (alembic's Config)
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False  # our process keeps its own logging set-up
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def schema_differences(connection: Connection) -> list:
    """What Alembic's autogenerate would change to make the database match the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"include_object": include_object})
    return compare_metadata(context, declared_metadata())


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


@dataclass(frozen=True)
class MigrationReport:
    before: str | None  # the revision the database was at (None: empty, or made by create_all)
    after: str
    adopted: bool  # tables made by create_all were found matching the models and stamped


def migrate(url: str) -> MigrationReport:
    """`alembic upgrade head` on `url`.

    A database whose tables were made by `create_all` (a process that started before any
    migration ran, such as `kb load` with DATABASE_URL set) has our tables but no
    `alembic_version`: if they match the models exactly it is stamped at head, otherwise
    this stops and lists the differences rather than guess.
    """
    from alembic import command

    metadata = declared_metadata()
    engine = sa.create_engine(url, future=True, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            before = current_revision(connection)
            adopted = False
            if before is None:
                ours = set(metadata.tables) & set(sa.inspect(connection).get_table_names())
                if ours:
                    differences = schema_differences(connection)
                    if differences:
                        listed = "; ".join(str(d) for d in differences[:10])
                        raise DatabaseError(
                            f"{_safe(url)} holds {len(ours)} of our tables but no {VERSION_TABLE}, and they "
                            f"differ from the models ({len(differences)} differences: {listed}). "
                            "Bring them in line by hand, then `alembic stamp head`."
                        )
                    command.stamp(alembic_config(url, connection), "head")
                    adopted = True
                    logger.info("tables made by create_all match the models: stamped at head")
            command.upgrade(alembic_config(url, connection), "head")
            after = current_revision(connection)
    except sa.exc.DBAPIError as error:
        raise DatabaseError(f"cannot migrate {_safe(url)}: {_first_line(error)}") from None
    finally:
        engine.dispose()
    return MigrationReport(before=before, after=after or "", adopted=adopted)
