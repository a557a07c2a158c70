"""Streamlit glue shared by the pages: cached resources, the signed-in user, page guards.
Kept apart from ``labeling`` so that the domain logic never imports Streamlit."""
