"""Engine and session factory, and the schema upgrade every entry point runs on start."""

from __future__ import annotations

import functools
import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
WRITE_OPTION = "labelloop_write"


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while one writer writes; the busy timeout makes concurrent writers
    wait instead of failing at once; SQLite leaves foreign keys off unless asked."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin(conn: Any) -> None:
    """Write transactions take SQLite's write lock at BEGIN (IMMEDIATE): a deferred transaction
    that reads and then writes fails at once with 'database is locked' when another writer got
    there first, whereas an immediate one waits its turn under the busy timeout. Read-only
    sessions stay deferred so that they never hold up a writer."""
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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


def new_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        _create_private_sqlite_file(parsed.database)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        _set_sqlite_pragmas(dbapi_connection, record)

    event.listen(engine, "begin", _begin)
    return engine


@functools.cache
def engine_for(url: str) -> Engine:
    """One engine (and connection pool) per database URL for the life of the process."""
    return new_engine(url)


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
