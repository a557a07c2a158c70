"""Users (admin): accounts, roles, passwords and reactivation, and the audit trail."""

import pandas as pd
import streamlit as st

from db.models import ROLES
from labeling import accounts, audit, auth, sessions
from labeling.text import escape_markdown
from ui.app import database, require_access, settings

user = require_access("users")

st.title("Users")
if "users_flash" in st.session_state:
    st.success(st.session_state.pop("users_flash"))
if "users_one_time" in st.session_state:
    name, one_time = st.session_state.pop("users_one_time")
    st.warning(
        f"One-time password for {escape_markdown(name)}, shown only now: give it to them; "
        "they choose their "
        "own at the next sign-in."
    )
    st.code(one_time, language=None)
with database()() as session:
    everyone = auth.list_users(session)
st.dataframe(
    pd.DataFrame(
        [
            {
                "username": a.username,
                "role": a.role,
                "active": a.active,
                "must change password": a.must_change_password,
                "since": a.created_at,
            }
            for a in everyone
        ]
    ),
    hide_index=True,
)


def run_account_change(change, success: str) -> None:
    """One transaction per change; a refused change shows its reason and writes nothing, a
    done one reruns the page so that the table above shows it."""
    try:
        with database().begin() as session:
            change(session)
    except auth.AuthError as error:
        st.error(escape_markdown(str(error)))
    else:
        st.session_state["users_flash"] = success
        st.rerun()


left, right = st.columns(2)
with left, st.form("add_user", clear_on_submit=True):
    st.subheader("Add a user")
    new_name = st.text_input("New username")
    new_password = st.text_input("Initial password", type="password", help=accounts.POLICY)
    new_role = st.selectbox("Role", ROLES)
    if st.form_submit_button("Add user"):
        run_account_change(
            lambda s: accounts.create_account(s, new_name, new_password, new_role, actor=user),
            f"Created {new_name} ({new_role}).",
        )

with right:
    st.subheader("Change an account")
    by_name = {a.username: a for a in everyone}
    chosen = st.selectbox(
        "Account", list(by_name), index=None, placeholder="Choose an account", key="change_account"
    )
    if chosen is not None:
        account = by_name[chosen]
        st.text(f"{chosen}: {account.role}, {'active' if account.active else 'deactivated'}")
        role = st.selectbox(
            "New role", ROLES, index=ROLES.index(account.role), key=f"change_role_{chosen}"
        )
        buttons = st.columns(3)
        if buttons[0].button("Set role"):
            run_account_change(
                lambda s: auth.set_role(s, chosen, role, actor=user), f"{chosen} is now {role}."
            )
        if account.active and buttons[1].button("Deactivate"):
            run_account_change(
                lambda s: auth.deactivate(s, chosen, actor=user), f"{chosen} can no longer sign in."
            )
        if not account.active and buttons[1].button("Reactivate"):
            run_account_change(
                lambda s: accounts.reactivate(s, chosen, actor=user), f"{chosen} can sign in again."
            )
        if buttons[2].button("Reset password"):
            try:
                with database().begin() as session:
                    one_time = accounts.reset_password(session, chosen, actor=user)
            except auth.AuthError as error:
                st.error(escape_markdown(str(error)))
            else:
                # Kept for the next run only: shown once, after the reset is committed.
                st.session_state["users_one_time"] = (chosen, one_time)
                st.rerun()

st.subheader("Sessions")
st.caption(
    "One row per sign-in. A session ends at sign-out, after "
    f"{settings().session_hours} h, after {settings().session_idle_minutes} min without use, "
    "or when the account is deactivated, changes role or password."
)
sessions_of = st.selectbox("Sessions of", list(by_name), key="sessions_of")
chosen_id = by_name[sessions_of].id
with database()() as session:
    listed = sessions.list_sessions(session, settings(), user_id=chosen_id)
st.dataframe(
    pd.DataFrame(
        [
            {
                "session": s.id,
                "signed in": s.created_at,
                "last used": s.last_used_at,
                "expires": s.expires_at,
                "state": s.state,
            }
            for s in listed
        ],
        columns=["session", "signed in", "last used", "expires", "state"],
    ),
    hide_index=True,
)
if st.button("End all sessions of this account", key="revoke_all_of"):
    run_account_change(
        lambda s: sessions.revoke_user_sessions(
            s, chosen_id, sessions.SIGN_OUT_EVERYWHERE, actor=user
        ),
        f"Every session of {sessions_of} has ended.",
    )

st.subheader("Audit trail")
with database()() as session:
    events = audit.recent_events(session, limit=100)
st.dataframe(
    pd.DataFrame(
        [
            {"when": e.created_at, "who": e.actor, "action": e.action, "details": str(e.details)}
            for e in events
        ]
    ),
    hide_index=True,
)
