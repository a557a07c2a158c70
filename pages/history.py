"""My history: the signed-in annotator's judgements, skips and undos, filterable, and
changing one."""

import pandas as pd
import streamlit as st

from labeling import judgements
from labeling.annotate import (
    HISTORY_STATUSES,
    changeable,
    filter_history,
    history,
    history_table,
    history_tags,
    submission_key,
    tag_choices,
)
from labeling.annotations import NO_TAG_APPLIES
from labeling.text import escape_markdown
from ui.app import database, require_access, settings

user = require_access("history")
make_session = database()

st.title("My history")
with make_session() as session:
    rows = history(session, user.id, limit=1000)
    choices = tag_choices(session)
if not rows:
    st.info("You have not judged any project yet. Start on the Annotate page.")
    st.stop()

left, middle, right = st.columns(3)
days = left.date_input("Dates", value=(), help="a day or a range; empty for all")
tag = middle.selectbox("Tag", ["any", *choices])
status = right.selectbox("Status", HISTORY_STATUSES)
shown = filter_history(rows, tuple(days), None if tag == "any" else tag, status)
st.caption(
    f"{len(shown)} of {len(rows)} rows, newest first. Kind: judgement (a tag set you "
    "submitted), skip, or undo (takes back the row before it). Status: current (counts now), "
    "superseded (a later row replaced it), undone (an undo took it back). Changes are shown "
    "against the project's tags when you judged it and against what was pre-selected."
)
st.dataframe(
    pd.DataFrame(history_table(shown)),
    hide_index=True,
    column_config={
        "when": st.column_config.DatetimeColumn("when (UTC)", format="MM-DD HH:mm"),
        "project": st.column_config.TextColumn(width=70),
        "title": st.column_config.TextColumn(width=180),
        "kind": st.column_config.TextColumn(width=80),
        "tags saved": st.column_config.TextColumn(width=180),
        "vs project tags": st.column_config.TextColumn(width=150),
        "vs pre-selected": st.column_config.TextColumn(width=150),
        "status": st.column_config.TextColumn(width=90),
    },
)

st.subheader("Change a judgement")
current = changeable(rows)
if not current:
    st.caption("Nothing to change: every project you judged was undone.")
    st.stop()
project_id = st.selectbox(
    "Project",
    list(current),
    format_func=lambda p: f"{current[p]['external_id']}: {current[p]['title']}",
)
chosen = current[project_id]
st.markdown("Judged as: " + escape_markdown(history_tags(chosen)))
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
    no_tag = st.checkbox(NO_TAG_APPLIES, value=chosen["no_tag_applies"])
    if st.form_submit_button("Save new judgement", type="primary"):
        with make_session() as session:
            key = submission_key(session, user.id, project_id)
        try:
            judgements.submit(
                make_session,
                user.id,
                project_id,
                tags,
                list(chosen["tags"]),
                None,
                None,
                key,
                no_tag_applies=no_tag,
                settings_like=settings(),
            )
        except ValueError as refused:
            st.error(escape_markdown(str(refused)))
        else:
            st.toast("Saved: the new judgement supersedes the old one.")
            st.rerun()
