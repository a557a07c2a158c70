"""Users (admin): accounts and roles, and the audit trail of sign-ins and changes."""

import pandas as pd
import streamlit as st

from db.models import ROLES
from labeling import audit, auth, sessions
from labeling.text import escape_markdown
from ui.app import database, require_access, settings

user = require_access("users")

st.title("Users")
if "users_flash" in st.session_state:
    st.success(st.session_state.pop("users_flash"))
with database()() as session:
    accounts = auth.list_users(session)
st.dataframe(
    pd.DataFrame(
        [
            {"username": a.username, "role": a.role, "active": a.active, "since": a.created_at}
            for a in accounts
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
    new_password = st.text_input("Initial password", type="password")
    new_role = st.selectbox("Role", ROLES)
    if st.form_submit_button("Add user"):
        run_account_change(
            lambda s: auth.create_user(s, new_name, new_password, new_role, actor=user),
            f"Created {new_name} ({new_role}).",
        )

with right:
    st.subheader("Change an account")
    names = [a.username for a in accounts]
    chosen = st.selectbox("Account", names)
    role = st.selectbox("New role", ROLES, key="change_role")
    if st.button("Set role"):
        run_account_change(
            lambda s: auth.set_role(s, chosen, role, actor=user), f"{chosen} is now {role}."
        )
    if st.button("Deactivate", type="secondary"):
        run_account_change(
            lambda s: auth.deactivate(s, chosen, actor=user), f"{chosen} can no longer sign in."
        )

st.subheader("Sessions")
st.caption(
    "One row per sign-in. A session ends at sign-out, after "
    f"{settings().session_hours} h, after {settings().session_idle_minutes} min without use, "
    "or when the account is deactivated, changes role or password."
)
account = st.selectbox("Sessions of", names, key="sessions_of")
chosen_id = next(a.id for a in accounts if a.username == account)
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
        f"Every session of {account} has ended.",
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
