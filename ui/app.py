"""Cached resources, the signed-in user and the sign-in forms, shared by every page (a deep
link reaches a page script before the entry point has ever run, so pages show the form too)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable

import streamlit as st

from db.session import EngineLimits, SessionFactory, engine_for, session_factory, upgrade_to_head
from labeling import audit, auth, session_handoff, sessions, training_jobs
from labeling.config import Settings, load_settings
from ui.cookie_routes import CLEAR_PATH, SET_PATH, route_path

USER_KEY = "signed_in_user"
TOKEN_KEY = "session_token"
# A cookie token this connection has already found dead (signed out, revoked, expired): the
# websocket's cookies never change, so without this every rerun would check it again.
DEAD_COOKIE_KEY = "dead_session_cookie"
# The cookie change the browser still has to ask the cookie routes for: ("set", one-time code)
# or ("clear", "").
COOKIE_CHANGE_KEY = "session_cookie_change"
# Why this tab's session ended, shown once above the sign-in form.
ENDED_KEY = "session_ended_message"
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
        target=training_jobs.run_worker,
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


def _cookie_token() -> str | None:
    """The token the browser sent when this connection opened (a reload or a new tab)."""
    token = st.context.cookies.get(sessions.COOKIE_NAME)
    if not isinstance(token, str) or not token or token == st.session_state.get(DEAD_COOKIE_KEY):
        return None
    return token


def signed_in_user() -> auth.SignedInUser | None:
    """The user of this tab's session token, checked against the database on every run, so
    that a sign-out elsewhere, a deactivation or a role change ends this tab at its next
    action. The token is this tab's own sign-in, else the cookie a reload or new tab sent."""
    token = st.session_state.get(TOKEN_KEY) or _cookie_token()
    if token is None:
        st.session_state.pop(USER_KEY, None)
        return None
    with database()() as session:
        resumed = sessions.peek(session, token, settings())
    if resumed.pending:
        with database().begin() as session:
            resumed = sessions.resume(session, token, settings())
    user = (
        None
        if resumed.user is None
        else auth.SignedInUser(resumed.user.id, resumed.user.username, resumed.user.role)
    )
    if user is None:
        _forget_session(token)
        st.session_state[ENDED_KEY] = sessions.ended_message(resumed.refusal, settings())
        return None
    st.session_state[USER_KEY] = user
    st.session_state[TOKEN_KEY] = token
    return user


def _forget_session(token: str) -> None:
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state[DEAD_COOKIE_KEY] = token
    st.session_state[COOKIE_CHANGE_KEY] = ("clear", "")


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
    """End this browser's session in the database (every tab using it is out at its next
    action) and have the browser drop the cookie."""
    user = st.session_state.get(USER_KEY)
    token = st.session_state.get(TOKEN_KEY)
    if token is not None:
        with database().begin() as session:
            sessions.sign_out(session, token, user)
            if user is not None:
                audit.record(session, user, "sign_out")
        _forget_session(token)
    st.session_state.pop(USER_KEY, None)


def sign_out_everywhere(user: auth.SignedInUser) -> int:
    """End every session of this user, in every browser; returns how many were live."""
    with database().begin() as session:
        ended = sessions.revoke_user_sessions(
            session, user.id, sessions.SIGN_OUT_EVERYWHERE, actor=user
        )
    token = st.session_state.get(TOKEN_KEY)
    if token is not None:
        _forget_session(token)
    plural = "" if ended == 1 else "s"
    st.session_state[ENDED_KEY] = f"Ended {ended} session{plural}, this one included."
    return ended


def _cookie_script(action: str, code: str) -> str:
    """JavaScript that asks the app's own cookie route to set the HttpOnly cookie (with the
    one-time code of this tab's new sign-in: the token itself never reaches the page) or to
    clear it (the route clears it only if its session is over, so a tab that finds its old
    token dead cannot sign out a newer sign-in made in another tab)."""
    base = st.get_option("server.baseUrlPath") or ""
    url = route_path(base, SET_PATH if action == "set" else CLEAR_PATH)
    body = json.dumps({"code": code} if action == "set" else {})
    return f"""<script>
fetch({json.dumps(url)}, {{
  method: "POST",
  credentials: "same-origin",
  headers: {{"Content-Type": "application/json"}},
  body: {json.dumps(body)}
}});
</script>"""


def sync_session_cookie() -> None:
    """Make the browser's cookie follow a sign-in or sign-out of this tab, once. A page run
    cannot send a Set-Cookie header, so it places a script that asks the cookie routes of
    streamlit_app.py to (see the README, "How the session cookie is set")."""
    change = st.session_state.pop(COOKIE_CHANGE_KEY, None)
    if change is not None:
        st.html(_cookie_script(*change), unsafe_allow_javascript=True)


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
    ended = st.session_state.pop(ENDED_KEY, None)
    if ended:
        st.info(ended, icon=":material/logout:")
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in", type="primary"):
            with database().begin() as session:
                outcome = auth.sign_in(session, username, password, settings())
                token = (
                    None
                    if outcome.user is None
                    else sessions.start(session, outcome.user, settings())
                )
                code = None if token is None else session_handoff.issue(session, token)
            if outcome.user is None or token is None or code is None:
                st.error(outcome.error)
            else:
                st.session_state[USER_KEY] = outcome.user
                st.session_state[TOKEN_KEY] = token
                st.session_state[COOKIE_CHANGE_KEY] = ("set", code)
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
