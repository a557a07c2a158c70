"""LabelLoop's entry point for ``streamlit run streamlit_app.py``: an ``st.App`` that runs
main_script.py (page config, sign-in gate, navigation by role) and adds the two HTTP routes
that set and clear the HttpOnly session cookie, which a page run cannot do (README, "How the
session cookie is set"). ``streamlit run`` finds ``app`` here and serves it with uvicorn; the
``--server.*`` flags apply as before."""

import streamlit as st

from ui.app import database, settings
from ui.cookie_routes import cookie_routes

app = st.App(
    "main_script.py",
    routes=cookie_routes(database, settings, st.get_option("server.baseUrlPath")),
)
