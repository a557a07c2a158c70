"""Shared fixtures: a fresh, migrated database per test, on SQLite always and on PostgreSQL
too when LABELLOOP_TEST_POSTGRES_URL is set (CI sets it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, make_url, text

from db.session import SessionFactory, new_engine, session_factory, upgrade_to_head
from labeling import auth
from labeling.config import Settings

POSTGRES_URL = os.environ.get("LABELLOOP_TEST_POSTGRES_URL")
FIXTURES = Path(__file__).parent / "fixtures"

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[PasswordHasher]:
    """argon2id with its smallest cost: the production cost (64 MiB, 3 passes, ~0.1-0.4 s a
    hash here) spent on every test user and sign-in made the suite minutes slower, and no test
    measures the cost. Yields the app's own hasher, whose parameters test_auth checks."""
    production = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield production
    auth._hasher = production


def _worker_database(url: str) -> str:
    """The PostgreSQL URL this test process may use. Under pytest-xdist (the suite runs in
    two processes, ``-n 2``) every worker gets its own database, ``<name>_<worker>``, created
    on first use: each test resets the ``public`` schema, which two processes sharing one
    database would do under each other's feet."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url: str) -> Engine:
    engine = new_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        url = _worker_database(POSTGRES_URL)
        _reset_postgres(url).dispose()
        return url
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = new_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def make_session(engine: Engine) -> SessionFactory:
    return session_factory(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, lockout_seconds=60)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """Point the CLI (which reads the environment) at this test's database."""
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LABELLOOP_DATA_DIR", str(settings.data_dir))
    return settings
