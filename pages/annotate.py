"""Annotate: the project the model most needs a person for, its suggestions, and the form."""

import time

import streamlit as st

from labeling import registry, serving
from labeling.annotate import (
    annotation_form,
    model_status,
    progress,
    submission_key,
    tag_choices,
)
from labeling.text import escape_markdown
from ui.app import database, require_access, settings
from ui.keyboard import SHORTCUTS, install_shortcuts
from ui.tag_picker import tag_picker

user = require_access("annotate")
config = settings()
make_session = database()
state = st.session_state

if state.get("served_for") != user.id:
    state.served = serving.serve_next(make_session, user.id, config)
    state.served_for = user.id
    state.served_at = time.monotonic()
served = state.served

st.title("Annotate")
with make_session() as session:
    status = model_status(session)
    counts = progress(session, user.id)
    choices = tag_choices(session)
    form = annotation_form(session, served) if served else None
    key = submission_key(session, user.id, served.project_id) if served else None

state.setdefault("first_version_seen", status.serving_version)
state.setdefault("labelled_this_session", 0)
columns = st.columns(4)
columns[0].metric("Labelled today", counts.judged_today)
columns[1].metric("This session", state.labelled_this_session)
columns[2].metric("Projects nobody has labelled", f"{counts.unjudged_projects:,}")
columns[3].metric("Model version", status.serving_version or "none yet")
if status.serving_version != state.first_version_seen:
    st.info(
        f"Model version {status.serving_version} became active at "
        f"{status.ready_at:%H:%M}; suggestions now come from it."
    )
    state.first_version_seen = status.serving_version
if status.training_stage:
    st.caption(
        f"Retraining in the background: {status.training_stage} ({status.training_pct:.0f}%)"
    )


def judgement_done() -> None:
    state.labelled_this_session += 1
    with make_session.begin() as session:
        registry.maybe_queue_retrain(session, config.retrain_every)
    del state["served_for"]


def on_submit(tags_key: str, shown: tuple[str, ...], key: str) -> None:
    """Runs before the next script run, so the next project renders in that same run."""
    serving.submit(
        make_session,
        user.id,
        served.project_id,
        state[tags_key],
        list(shown),
        served.model_version_id,
        time.monotonic() - state.served_at,
        key,
    )
    judgement_done()


def on_skip(key: str) -> None:
    serving.skip(
        make_session,
        user.id,
        served.project_id,
        state.get("skip_reason", ""),
        served.model_version_id,
        key,
    )
    state.skip_reason = ""
    judgement_done()


if served is None:
    st.success("Nothing left for you to label right now. Thank you!")
else:
    st.markdown("### " + escape_markdown(served.title))
    st.markdown(escape_markdown(served.description or "(no description)"))
    if served.suspected_wrong or served.suspected_missing:
        st.info(
            "Why this project: " + escape_markdown(served.reason) + ". That model was "
            "trained without this project, so its current tags could not vouch for themselves. "
            "Only changes likely to be right are pre-selected; the rest are hints.",
            icon=":material/rule:",
        )
    else:
        st.caption("Why this project: " + escape_markdown(served.reason))
    st.markdown("Current tags: " + escape_markdown(", ".join(served.source_tags) or "none"))
    for line in form.lines:
        st.markdown(escape_markdown(line))
    # The button sits beside the tag box, top-aligned: the box grows a line while it has focus,
    # and a button below it would jump away between mouse-down and mouse-up.
    with st.form("judgement"):
        tag_column, button_column = st.columns([6, 1], vertical_alignment="top")
        tag_picker(tag_column, "Tags", choices, form.preselected, f"tags-{key}")
        button_column.form_submit_button(
            "Submit",
            type="primary",
            width="stretch",
            on_click=on_submit,
            args=(f"tags-{key}", form.preselected, key),
        )
    with st.form("skip"):
        st.text_input("Skip reason (optional)", key="skip_reason")
        st.form_submit_button("Skip", on_click=on_skip, args=(key,))

if st.button("Undo last judgement", disabled=counts.judged_total == 0):
    undone = serving.undo_last(make_session, user.id)
    st.toast("Your last judgement was undone." if undone else "Nothing to undo.")
install_shortcuts()
st.caption(SHORTCUTS)
