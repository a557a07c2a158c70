"""Annotate: the project the model most needs a person for, its suggestions, and the form."""

import time

import streamlit as st

from db.models import utcnow
from labeling import judgements, serving, training_jobs, undo
from labeling.annotate import (
    annotation_form,
    model_status,
    progress,
    progress_note,
    submission_key,
    tag_choices,
)
from labeling.annotations import NO_TAG_APPLIES, EmptyLabelRefused
from labeling.text import escape_markdown
from ui.app import database, require_access, settings
from ui.keyboard import SHORTCUTS, install_shortcuts
from ui.tag_picker import tag_picker

user = require_access("annotate")
config = settings()
make_session = database()
state = st.session_state
state.setdefault("session_started", utcnow())

if state.get("served_for") != user.id:
    state.served = serving.serve_next(make_session, user.id, config)
    state.served_for = user.id
    state.served_at = time.monotonic()
served = state.served

st.title("Annotate")
with make_session() as session:
    status = model_status(session)
    counts = progress(session, user.id, since=state.session_started)
    choices = tag_choices(session)
    form = annotation_form(session, served) if served else None
    key = submission_key(session, user.id, served.project_id) if served else None
    undoable = undo.last_undoable(session, user.id)

# After an undo the tag box shows what it held before the undone judgement.
restored = state.get("restored_tags")
shown = restored[1] if served and restored and restored[0] == served.project_id else None
if form is not None and shown is None:
    shown = form.preselected

state.setdefault("first_version_seen", status.serving_version)
columns = st.columns(4)
columns[0].metric("Labelled today", counts.judged_today, help="judgements that stand")
columns[1].metric("This session", counts.judged_since, help="judgements that stand")
columns[2].metric("Projects nobody has labelled", f"{counts.unjudged_projects:,}")
columns[3].metric("Model version", status.serving_version or "none yet")
st.caption(progress_note(counts))
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
    with make_session.begin() as session:
        training_jobs.maybe_queue_retrain(session, config.retrain_every)
    state.pop("restored_tags", None)
    del state["served_for"]


def on_submit(tags_key: str, no_tag_key: str, shown: tuple[str, ...], key: str) -> None:
    """Runs before the next script run, so the next project renders in that same run. A
    refused submit writes nothing and says why: an empty set without "no tag applies" keeps
    the project on screen; a lost reservation serves the next project."""
    try:
        judgements.submit(
            make_session,
            user.id,
            served.project_id,
            state[tags_key],
            list(shown),
            served.model_version_id,
            time.monotonic() - state.served_at,
            key,
            no_tag_applies=bool(state.get(no_tag_key)),
            settings_like=config,
        )
    except EmptyLabelRefused as refused:
        state.annotate_flash = ("error", str(refused))
        return
    except judgements.ReservationLost as lost:
        state.annotate_flash = ("warning", f"{lost} Here is the next project.")
    judgement_done()


def on_skip(key: str, shown: tuple[str, ...]) -> None:
    judgements.skip(
        make_session,
        user.id,
        served.project_id,
        state.get("skip_reason", ""),
        served.model_version_id,
        key,
        shown_tags=shown,
    )
    state.skip_reason = ""
    judgement_done()


def on_undo(target_id: int) -> None:
    """An undone first judgement or skip comes back on screen with the tags the box held
    before it; an undone change of mind makes the earlier judgement current again."""
    try:
        undone = undo.undo_last(make_session, user.id, config, target_id)
    except ValueError as error:
        state.annotate_flash = ("warning", str(error))
        return
    if undone is None:
        state.annotate_flash = ("info", "Nothing to undo.")
    elif undone.withdrawn:
        state.annotate_flash = (
            "success",
            f"Undone: your {'skip' if undone.skipped else 'judgement'} of “{undone.title}” was "
            "taken back; the project is back below with the tags it had before.",
        )
        if undone.shown_tags is not None:
            state.restored_tags = (undone.project_id, undone.shown_tags)
        state.pop("served_for", None)
    else:
        state.annotate_flash = (
            "success",
            f"Undone: your earlier judgement of “{undone.title}” counts again.",
        )


flash = state.pop("annotate_flash", None)
if flash is not None:
    kind, message = flash
    getattr(st, kind)(escape_markdown(message))

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
        tag_picker(tag_column, "Tags", choices, shown, f"tags-{key}")
        button_column.form_submit_button(
            "Submit",
            type="primary",
            width="stretch",
            on_click=on_submit,
            args=(f"tags-{key}", f"no-tag-{key}", shown, key),
        )
        tag_column.checkbox(
            NO_TAG_APPLIES,
            key=f"no-tag-{key}",
            help="Submit an empty tag set on purpose: none of the tags fits this project. "
            "An empty box without this is refused.",
        )
    with st.form("skip"):
        st.text_input("Skip reason (optional)", key="skip_reason")
        st.form_submit_button("Skip", on_click=on_skip, args=(key, shown))

st.button(
    "Undo last judgement",
    disabled=undoable is None,
    on_click=on_undo,
    args=(undoable.annotation_id if undoable else 0,),
)
if undoable is not None:
    what = "skip of" if undoable.skipped else "judgement of"
    st.caption(f"Undo (Alt+U) takes back your {what}: " + escape_markdown(undoable.title))
install_shortcuts(showing=key or "")
st.caption(SHORTCUTS)
