"""Why 20 concurrent annotators once failed, pinned down: a SQLite writer that waits longer
than one busy timeout tries again (bounded), and the connection pool holds 20 users at once
on either database; both limits come from the settings."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError

from db.models import Tag
from db.session import EngineLimits, new_engine, session_factory, upgrade_to_head
from labeling.config import Settings, load_settings


def _hold_the_write_lock(engine: Engine, seconds: float, holding: threading.Event) -> None:
    with session_factory(engine).begin() as session:
        session.add(Tag(name="held"))
        session.flush()
        holding.set()
        time.sleep(seconds)


def _write_while_locked(engine: Engine, hold_seconds: float) -> None:
    holding = threading.Event()
    holder = threading.Thread(target=_hold_the_write_lock, args=(engine, hold_seconds, holding))
    holder.start()
    try:
        holding.wait(10)
        with session_factory(engine).begin() as session:
            session.add(Tag(name="waited"))
    finally:
        holder.join()


def _sqlite_engine(database_url: str, limits: EngineLimits) -> Engine:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer lock")
    engine = new_engine(database_url, limits)
    upgrade_to_head(engine)
    return engine


def test_a_sqlite_writer_waiting_past_one_busy_timeout_tries_again_and_succeeds(
    database_url: str,
) -> None:
    engine = _sqlite_engine(database_url, EngineLimits(busy_timeout_ms=200, write_retries=10))
    _write_while_locked(engine, hold_seconds=0.8)
    with engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM tags ORDER BY name")).scalars().all()
    assert names == ["held", "waited"]
    engine.dispose()


def test_a_sqlite_writer_gives_up_after_its_retries(database_url: str) -> None:
    engine = _sqlite_engine(database_url, EngineLimits(busy_timeout_ms=100, write_retries=1))
    with pytest.raises(OperationalError, match="database is locked"):
        _write_while_locked(engine, hold_seconds=1.5)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Tag)) == 1
    engine.dispose()


def test_twenty_users_can_hold_a_connection_at_once(database_url: str) -> None:
    """SQLAlchemy's default pool (5 + 10 overflow) made the 16th concurrent user wait and then
    fail with 'QueuePool limit ... reached'."""
    engine = new_engine(database_url)
    users = 20
    together = threading.Barrier(users, timeout=20)
    failures: list[BaseException] = []

    def act() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                together.wait()
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=act) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert failures == []


def test_engine_limits_come_from_the_settings(database_url: str) -> None:
    settings = load_settings(
        {
            "LABELLOOP_DATABASE_URL": database_url,
            "LABELLOOP_DB_POOL_SIZE": "3",
            "LABELLOOP_DB_MAX_OVERFLOW": "0",
            "LABELLOOP_DB_BUSY_TIMEOUT_MS": "1500",
            "LABELLOOP_DB_WRITE_RETRIES": "0",
        }
    )
    limits = EngineLimits.of(settings)
    assert limits == EngineLimits(
        pool_size=3, max_overflow=0, busy_timeout_ms=1500, write_retries=0
    )
    engine = new_engine(database_url, limits)
    assert engine.pool.size() == 3  # type: ignore[attr-defined]
    engine.dispose()
    defaults = EngineLimits.of(replace(Settings(database_url, settings.data_dir)))
    assert (defaults.pool_size, defaults.max_overflow, defaults.write_retries) == (10, 20, 3)
