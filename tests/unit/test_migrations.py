"""Alembic migrations: they build the schema the models describe, and SQLite runs safely."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from db.models import SEARCH_TABLE, Base, SourceTag, User, include_in_autogenerate
from db.session import (
    SQLITE_BUSY_TIMEOUT_MS,
    SessionFactory,
    alembic_config,
    new_engine,
    upgrade_to_head,
)

EXPECTED_TABLES = {
    "alembic_version",
    "annotations",
    "audit_events",
    "effective_tags",
    "import_batches",
    "leases",
    "model_versions",
    "new_topics",
    "predicted_tags",
    "predictions",
    "project_states",
    "projects",
    "resolutions",
    "review_requests",
    "session_handoffs",
    "sign_in_throttle",
    "source_tags",
    "tag_aliases",
    "tag_parents",
    "tags",
    "users",
    "user_sessions",
}


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database no migration has touched yet."""
    engine = new_engine(database_url)
    yield engine
    engine.dispose()


def require_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific check")


def table_names(engine: Engine) -> set[str]:
    """Tables of the schema, without SQLite's full-text search table and its shadow tables
    (tested in test_search)."""
    return {name for name in inspect(engine).get_table_names() if not name.startswith(SEARCH_TABLE)}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# newest first; extend when adding a migration
MIGRATIONS = [
    "0014",
    "0013",
    "0012",
    "0011",
    "0008",
    "0007",
    "0006",
    "0009",
    "0005",
    "0004",
    "0003",
    "0002",
    "0001",
]


def test_migrations_form_one_linear_history() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [MIGRATIONS[0]]
    assert [rev.revision for rev in scripts.walk_revisions()] == MIGRATIONS


def test_empty_database_has_no_tables(empty_engine: Engine) -> None:
    assert table_names(empty_engine) == set()


def test_upgrade_creates_every_model_table(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_creates_the_expected_tables(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == EXPECTED_TABLES


def test_upgrade_stamps_the_head_revision(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert current_revision(empty_engine) == head_revision() == MIGRATIONS[0]


def test_second_upgrade_is_a_no_op(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    with session_for(empty_engine).begin() as session:
        session.add(User(username="alice", password_hash="x", role="admin", active=True))
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == EXPECTED_TABLES
    assert current_revision(empty_engine) == MIGRATIONS[0]
    with session_for(empty_engine)() as session:
        assert [u.username for u in session.query(User)] == ["alice"]


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": include_in_autogenerate,
            },
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_removes_the_schema_and_upgrade_restores_it(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert table_names(engine) == {"alembic_version"}
    upgrade_to_head(engine)
    assert table_names(engine) == EXPECTED_TABLES


def session_for(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


# --- SQLite settings -------------------------------------------------------------------------


def pragma(engine: Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_uses_wal(engine: Engine) -> None:
    require_sqlite(engine)
    assert pragma(engine, "journal_mode") == "wal"


def test_sqlite_enforces_foreign_keys(engine: Engine) -> None:
    require_sqlite(engine)
    assert pragma(engine, "foreign_keys") == 1


def test_sqlite_waits_when_busy(engine: Engine) -> None:
    require_sqlite(engine)
    assert pragma(engine, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    assert SQLITE_BUSY_TIMEOUT_MS > 0


def test_sqlite_pragmas_hold_on_every_pooled_connection(engine: Engine) -> None:
    require_sqlite(engine)
    connections = [engine.raw_connection() for _ in range(3)]
    try:
        values = []
        for connection in connections:
            cursor = connection.cursor()
            values.append(
                tuple(
                    cursor.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("journal_mode", "foreign_keys", "busy_timeout")
                )
            )
            cursor.close()
    finally:
        for connection in connections:
            connection.close()
    assert values == [("wal", 1, SQLITE_BUSY_TIMEOUT_MS)] * 3


def test_sqlite_reader_does_not_block_a_writer(engine: Engine) -> None:
    """WAL lets readers run while one writer writes (db/session.py says so): a session that is
    only reading must not hold the write lock for its whole transaction."""
    require_sqlite(engine)
    with engine.connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM users")).scalar() == 0
        with engine.connect() as writer:
            writer.connection.driver_connection.execute("PRAGMA busy_timeout=200")
            try:
                with writer.begin():
                    writer.execute(
                        text(
                            "INSERT INTO users (username, password_hash, role, active, "
                            "created_at) VALUES ('alice', 'x', 'admin', 1, CURRENT_TIMESTAMP)"
                        )
                    )
            finally:
                writer.connection.driver_connection.execute(
                    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"
                )
        assert reader.execute(text("SELECT count(*) FROM users")).scalar() == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM users")).scalars().all() == ["alice"]


def test_foreign_key_violation_is_rejected(make_session: SessionFactory) -> None:
    with pytest.raises(IntegrityError), make_session.begin() as session:
        session.add(SourceTag(project_id=999, tag_id=999))
    with make_session() as session:
        assert session.query(SourceTag).count() == 0


def test_foreign_key_violation_in_raw_sql_is_rejected(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (user_id, actor, action, details, created_at) "
                "VALUES (42, 'ghost', 'x', '{}', CURRENT_TIMESTAMP)"
            )
        )
