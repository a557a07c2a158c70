"""AppTest fixtures: the app pointed at a fresh SQLite database with one user per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from db.models import ROLES
from db.session import SessionFactory, new_engine, session_factory, upgrade_to_head
from labeling import auth
from ui.app import stop_training_workers

APP = str(Path(__file__).resolve().parents[2] / "main_script.py")
PASSWORD = "correct-horse-1"


class _NavigationPagesManager(PagesManager):
    """AppTest re-detects the legacy ``pages/`` directory before every run and then runs the
    current page file alone, skipping the entry point (the real server stops doing this once
    ``st.navigation`` has been called). Declaring the app a ``st.navigation`` app makes AppTest
    run the entry point every time, as the server does."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture(autouse=True)
def navigation_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_test, "PagesManager", _NavigationPagesManager)


@pytest.fixture
def app_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SessionFactory]:
    """A migrated empty database the app will use; cached resources are cleared so that the
    app builds its engine and settings from this test's environment."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", url)
    monkeypatch.setenv("LABELLOOP_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()
    engine = new_engine(url)
    upgrade_to_head(engine)
    yield session_factory(engine)
    stop_training_workers()
    st.cache_resource.clear()
    engine.dispose()


@pytest.fixture
def with_users(app_session: SessionFactory) -> SessionFactory:
    with app_session.begin() as session:
        for role in ROLES:
            auth.create_user(session, role, PASSWORD, role)
    return app_session


@pytest.fixture
def app_as(with_users: SessionFactory) -> Callable[[str], AppTest]:
    """An app already signed in through its own sign-in form as the user of the given role."""

    def signed_in(role: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30).run()
        at.text_input[0].input(role)
        at.text_input[1].input(PASSWORD)
        at.button[0].click().run()
        assert not at.exception, at.exception
        return at

    return signed_in
