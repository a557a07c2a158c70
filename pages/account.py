"""My account (every role): who you are, and changing your own password."""

import streamlit as st

from ui.account import password_form
from ui.app import require_access

user = require_access("account")

st.title("My account")
st.text(f"{user.username} · {user.role}")
st.subheader("Change your password")
if "account_flash" in st.session_state:
    st.success(st.session_state.pop("account_flash"))
if password_form(user, "change_password", "Change password"):
    st.session_state["account_flash"] = "Password changed."
    st.rerun()
