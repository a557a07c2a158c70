"""My history: the signed-in annotator's judgements, filterable, and re-opening one."""

import pandas as pd
import streamlit as st

from labeling import serving
from labeling.annotate import (
    HISTORY_STATUSES,
    filter_history,
    history_table,
    submission_key,
    tag_choices,
)
from labeling.text import escape_markdown
from ui.app import database, require_access

user = require_access("history")
make_session = database()

st.title("My history")
with make_session() as session:
    rows = serving.history(session, user.id, limit=1000)
    choices = tag_choices(session)
if not rows:
    st.info("You have not judged any project yet. Start on the Annotate page.")
    st.stop()

left, middle, right = st.columns(3)
days = left.date_input("Dates", value=(), help="a day or a range; empty for all")
tag = middle.selectbox("Tag", ["any", *choices])
status = right.selectbox("Status", HISTORY_STATUSES)
shown = filter_history(rows, tuple(days), None if tag == "any" else tag, status)
st.caption(f"{len(shown)} of {len(rows)} judgements, newest first.")
st.dataframe(pd.DataFrame(history_table(shown)), hide_index=True)

st.subheader("Change a judgement")
current = {r["project_id"]: r for r in rows if not r["superseded"]}
project_id = st.selectbox(
    "Project",
    list(current),
    format_func=lambda p: f"{current[p]['external_id']}: {current[p]['title']}",
)
chosen = current[project_id]
st.markdown("Judged as: " + escape_markdown(", ".join(chosen["tags"]) or "(skipped)"))
with st.form("reopen"):
    tags = st.multiselect(
        "Tags",
        options=list(choices),
        default=[t for t in chosen["tags"] if t in choices],
        format_func=choices.get,
        filter_mode="contains",
        select_all=False,
        key=f"reopen-{project_id}",
    )
    if st.form_submit_button("Save new judgement", type="primary"):
        with make_session() as session:
            key = submission_key(session, user.id, project_id)
        serving.submit(
            make_session, user.id, project_id, tags, list(chosen["tags"]), None, None, key
        )
        st.toast("Saved: the new judgement supersedes the old one.")
        st.rerun()
