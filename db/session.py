"""Engine and session factory, and the schema upgrade every entry point runs on start."""

from __future__ import annotations

import functools
import logging
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "labelloop_write"
log = logging.getLogger("labelloop.db")


@dataclass(frozen=True)
class EngineLimits:
    """How many connections a process may hold and how long a writer waits its turn.

    PostgreSQL: every app user whose page is running holds a connection, and serving holds
    it while it waits for the serving lock, so the pool must exceed the number of people
    acting at once (SQLAlchemy's default of 5 + 10 failed with 20 annotators).
    SQLite: one writer at a time; a writer waits up to ``busy_timeout_ms`` for the lock and
    then tries again, ``write_retries`` more times, before the action fails."""

    pool_size: int = 10
    max_overflow: int = 20
    pool_timeout_s: int = 30
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    write_retries: int = 3

    @classmethod
    def of(cls, settings: Any) -> EngineLimits:
        """From labeling.config.Settings (its LABELLOOP_DB_* values)."""
        return cls(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            busy_timeout_ms=settings.db_busy_timeout_ms,
            write_retries=settings.db_write_retries,
        )


def _set_sqlite_pragmas(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    """WAL lets readers run while one writer writes; the busy timeout makes concurrent writers
    wait instead of failing at once; SQLite leaves foreign keys off unless asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _locked(error: OperationalError) -> bool:
    return "database is locked" in str(error.orig)


def _begin_with_retries(write_retries: int) -> Any:
    """Write transactions take SQLite's write lock at BEGIN (IMMEDIATE): a deferred transaction
    that reads and then writes fails at once with 'database is locked' when another writer got
    there first, whereas an immediate one waits its turn under the busy timeout. As the lock
    is taken before the transaction has done anything, a BEGIN that timed out (a queue of
    writers on a loaded machine) is simply tried again, a bounded number of times. Read-only
    sessions stay deferred so that they never hold up a writer."""

    def begin(conn: Any) -> None:
        if not conn.get_execution_options().get(WRITE_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        for attempt in range(write_retries + 1):
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if not _locked(error) or attempt == write_retries:
                    raise
                log.warning("write lock busy; waiting again (%d of %d)", attempt + 1, write_retries)

    return begin


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700: the data directory holds the database
    (password hashes) and model artifacts, which no other local user should read. Directories
    that already exist keep their mode."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    return path


def _create_private_sqlite_file(database: str) -> None:
    """Create the SQLite file as 0600 before SQLite does (it would use 0644); SQLite gives its
    -wal and -shm files the mode of the database file."""
    path = Path(database)
    make_private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def new_engine(url: str, limits: EngineLimits | None = None) -> Engine:
    limits = limits or EngineLimits()
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=limits.pool_size,
            max_overflow=limits.max_overflow,
            pool_timeout=limits.pool_timeout_s,
        )
    if parsed.database and parsed.database != ":memory:":
        _create_private_sqlite_file(parsed.database)
    engine = create_engine(
        url,
        connect_args={"timeout": limits.busy_timeout_ms / 1000},
        pool_size=limits.pool_size,
        max_overflow=limits.max_overflow,
        pool_timeout=limits.pool_timeout_s,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        _set_sqlite_pragmas(dbapi_connection, limits.busy_timeout_ms)

    event.listen(engine, "begin", _begin_with_retries(limits.write_retries))
    return engine


@functools.cache
def engine_for(url: str, limits: EngineLimits | None = None) -> Engine:
    """One engine (and connection pool) per database URL for the life of the process."""
    return new_engine(url, limits)


class SessionFactory:
    """``factory()`` opens a session for reading; ``factory.begin()`` opens one write
    transaction (one user action), committed on leaving the block and rolled back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    def __call__(self) -> Session:
        return self._read()

    def begin(self) -> AbstractContextManager[Session]:
        return self._write.begin()


def session_factory(engine: Engine) -> SessionFactory:
    return SessionFactory(engine)


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the latest migration; a no-op when it is already there."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
