"""LabelLoop entry point: page config, the sign-in gate, and navigation by role."""

import altair  # noqa: F401  (imported with the app, not by the first page that draws a chart)
import streamlit as st

from labeling import auth
from ui.account import require_password_change
from ui.app import USER_KEY, database, settings, sign_out, signed_in_user, training_worker

st.set_page_config(page_title="LabelLoop", page_icon=":material/label:", layout="wide")

PAGES = {
    "home": st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    "projects": st.Page("pages/projects.py", title="Projects", icon=":material/search:"),
    "annotate": st.Page("pages/annotate.py", title="Annotate", icon=":material/label:"),
    "history": st.Page("pages/history.py", title="My history", icon=":material/history:"),
    "review": st.Page("pages/review.py", title="Review", icon=":material/gavel:"),
    "model": st.Page("pages/model.py", title="Model", icon=":material/model_training:"),
    "insights": st.Page("pages/insights.py", title="Insights", icon=":material/insights:"),
    "data": st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
    "users": st.Page("pages/users.py", title="Users", icon=":material/group:"),
    "account": st.Page("pages/account.py", title="My account", icon=":material/person:"),
}


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


# Every page is routable, even before sign-in, so that a deep link survives the sign-in form
# and a page opened by URL by the wrong role runs its own guard and says "Not allowed". The
# sidebar lists only the pages this role may open.
navigation = st.navigation(list(PAGES.values()), position="hidden")
training_worker()
user = signed_in_user()
if user is None:
    with database()() as session:
        has_users = auth.user_count(session) > 0
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        if has_users:
            sign_in_form()
        else:
            first_admin_form()
    st.stop()

with st.sidebar:
    for key in auth.pages_for(user.role):
        st.page_link(PAGES[key])
    st.divider()
    st.text(f"Signed in as {user.username} ({user.role})")
    if st.button("Sign out", icon=":material/logout:"):
        sign_out()
        st.rerun()
require_password_change(user)  # accounts: a reset password is replaced before any page opens
navigation.run()
