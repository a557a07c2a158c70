"""The password forms: the forced change after a reset (the sign-in hook) and "My account"."""

from __future__ import annotations

import streamlit as st

from labeling import accounts, auth, sessions
from labeling.text import escape_markdown
from ui.app import TOKEN_KEY, database


def password_form(user: auth.SignedInUser, key: str, submit_label: str) -> bool:
    """Current password, new one twice; True once the change is saved."""
    with st.form(key, clear_on_submit=True):
        current = st.text_input("Current password", type="password")
        new = st.text_input("New password", type="password")
        repeat = st.text_input("Repeat new password", type="password")
        st.caption(accounts.POLICY)
        if not st.form_submit_button(submit_label, type="primary"):
            return False
    try:
        with database().begin() as session:
            # this browser's session survives its own change; every other one ends
            session.info[sessions.KEEP_TOKEN] = st.session_state.get(TOKEN_KEY)
            accounts.change_own_password(session, user.id, current, new, repeat)
    except accounts.AccountError as error:
        st.error(escape_markdown(str(error)))
        return False
    return True


def require_password_change(user: auth.SignedInUser) -> None:
    """Sign-in hook: after an admin's reset, no page opens until the one-time password is
    replaced. Asked of the database on every run, so a reset reaches an open browser too."""
    with database()() as session:
        if not accounts.must_change_password(session, user.id):
            return
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("Choose a new password")
        st.write(
            "An administrator reset your password. Enter the one-time password you were given "
            "as the current password, then choose your own."
        )
        if password_form(user, "forced_password_change", "Save and continue"):
            st.rerun()
    st.stop()
