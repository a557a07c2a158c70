"""Cached resources and the signed-in user, shared by every page."""

from __future__ import annotations

import threading

import streamlit as st

from db.session import SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import audit, auth, registry
from labeling.config import Settings, load_settings

USER_KEY = "signed_in_user"
_worker_stops: list[threading.Event] = []


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def database() -> SessionFactory:
    """One engine per app process; the schema is upgraded once, when the app first runs."""
    engine = engine_for(settings().database_url)
    upgrade_to_head(engine)
    return session_factory(engine)


@st.cache_resource
def training_worker() -> threading.Event:
    """One background thread per app process runs queued trainings, so that a retrain never
    blocks a page; several replicas may each run one, the database lets one train at a time.
    The returned event stops it."""
    stop = threading.Event()
    _worker_stops.append(stop)
    worker = threading.Thread(
        target=registry.run_worker,
        args=(database(), settings(), stop),
        name="labelloop-training-worker",
        daemon=True,
    )
    worker.start()
    return stop


def stop_training_workers() -> None:
    """Stop every worker this process started (tests, and a clean shutdown)."""
    while _worker_stops:
        _worker_stops.pop().set()


def signed_in_user() -> auth.SignedInUser | None:
    """The session's user as the database has them now (None once deactivated)."""
    stored = st.session_state.get(USER_KEY)
    if stored is None:
        return None
    with database()() as session:
        user = auth.current_account(session, stored)
    if user is None:
        del st.session_state[USER_KEY]
    else:
        st.session_state[USER_KEY] = user
    return user


def require_access(page: str) -> auth.SignedInUser:
    """Page guard: the navigation hides pages a role may not open, and each page checks again
    here, so a page reached any other way shows only a refusal."""
    user = signed_in_user()
    if user is None:
        st.error("Not signed in. Open the app's start page to sign in.")
        st.stop()
    if not auth.can_open(user.role, page):
        st.error(f"Not allowed: the {page.title()} page is not open to the {user.role} role.")
        st.stop()
    return user


def sign_out() -> None:
    user = st.session_state.pop(USER_KEY, None)
    if user is not None:
        with database().begin() as session:
            audit.record(session, user, "sign_out")
