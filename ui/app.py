"""Cached resources, the signed-in user and the sign-in forms, shared by every page (a deep
link reaches a page script before the entry point has ever run, so pages show the form too)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import streamlit as st

from db.session import EngineLimits, SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import audit, auth, registry
from labeling.config import Settings, load_settings

USER_KEY = "signed_in_user"
log = logging.getLogger("labelloop")
_worker_stops: list[threading.Event] = []


@st.cache_resource
def settings() -> Settings:
    return load_settings()


@st.cache_resource
def database() -> SessionFactory:
    """One engine per app process; the schema is upgraded once, when the app first runs."""
    engine = engine_for(settings().database_url, EngineLimits.of(settings()))
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
        sign_in_gate()
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


def run_guarded(action: Callable[[], None]) -> None:
    """Run a page so that an unexpected error never shows a traceback (file paths, SQL) to the
    visitor: they see an error id, the log gets the traceback under that id. st.stop and
    st.rerun are BaseExceptions and pass through."""
    try:
        action()
    except Exception:
        error_id = uuid.uuid4().hex[:12]
        log.exception("unexpected error, error id %s", error_id)
        st.error(
            f"Something went wrong (error id {error_id}). Nothing was lost that was saved "
            "before; the administrator can find the details in the server log under that id."
        )


def demo_password_banner() -> None:
    """Warn admins on every page while a demo account still has the published password."""
    with database()() as session:
        exposed = auth.demo_accounts_with_demo_password(session)
    if exposed:
        st.warning(
            "Demo accounts with the published demo password exist: "
            + ", ".join(exposed)
            + ". Anyone who can reach this app can sign in with them. Deactivate them, or "
            "change their passwords, on the Users page.",
            icon=":material/warning:",
        )


def first_admin_form() -> None:
    st.title("Welcome to LabelLoop")
    st.write("There are no accounts yet. Create the first administrator to start.")
    with st.form("first_admin"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        repeat = st.text_input("Repeat password", type="password")
        if st.form_submit_button("Create administrator", type="primary"):
            if password != repeat:
                st.error("The two passwords differ.")
                return
            try:
                with database().begin() as session:
                    auth.create_first_admin(session, username, password)
            except auth.AuthError as error:
                st.error(str(error))
                return
            st.success("Administrator created. Sign in below.")
            st.rerun()


def sign_in_form() -> None:
    st.title("LabelLoop")
    st.caption("Better tags for a catalogue of ML projects, with active learning.")
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            with database().begin() as session:
                outcome = auth.sign_in(session, username, password, settings())
            if outcome.user is None:
                st.error(outcome.error)
            else:
                st.session_state[USER_KEY] = outcome.user
                st.rerun()


def sign_in_gate() -> None:
    """The form this visitor needs (first admin on an empty database, else sign-in), centred;
    the caller stops the run afterwards."""
    with database()() as session:
        has_users = auth.user_count(session) > 0
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        if has_users:
            sign_in_form()
        else:
            first_admin_form()
