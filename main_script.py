"""The Streamlit script the app runs (see streamlit_app.py): page config, the sign-in gate and
navigation by role."""

import altair  # noqa: F401  (imported with the app, not by the first page that draws a chart)
import streamlit as st

from labeling import auth
from ui.account import require_password_change
from ui.app import (
    demo_password_banner,
    run_guarded,
    sign_in_gate,
    sign_out,
    sign_out_everywhere,
    signed_in_user,
    sync_session_cookie,
    training_worker,
)

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
    "tags": st.Page("pages/tags.py", title="Tags", icon=":material/sell:"),
    "users": st.Page("pages/users.py", title="Users", icon=":material/group:"),
    "account": st.Page("pages/account.py", title="My account", icon=":material/person:"),
}


# Every page is routable, even before sign-in, so that a deep link survives the sign-in form
# and a page opened by URL by the wrong role runs its own guard and says "Not allowed". The
# sidebar lists only the pages this role may open.
navigation = st.navigation(list(PAGES.values()), position="hidden")


def main() -> None:
    training_worker()
    user = signed_in_user()
    sync_session_cookie()
    if user is None:
        sign_in_gate()
        st.stop()
    with st.sidebar:
        for key in auth.pages_for(user.role):
            st.page_link(PAGES[key])
        st.divider()
        st.text(f"Signed in as {user.username} ({user.role})")
        if st.button("Sign out", icon=":material/logout:"):
            sign_out()
            st.rerun()
        # Not labelled "Sign out ...", so that "Sign out" names one button only.
        if st.button(
            "End all my sessions",
            icon=":material/devices:",
            help="Signs you out in every browser and tab, this one included.",
        ):
            sign_out_everywhere(user)
            st.rerun()
    if user.role == "admin":
        demo_password_banner()
    require_password_change(user)  # a reset password is replaced before any page opens
    navigation.run()


run_guarded(main)
