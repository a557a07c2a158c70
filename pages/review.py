"""Review: the queue of conflicts, one conflict in full, and the reviewer's decision."""

import pandas as pd
import streamlit as st

from labeling import review, review_queue
from labeling.annotate import tag_choices
from labeling.annotations import NO_TAG_APPLIES, EmptyLabelRefused
from labeling.text import escape_markdown
from ui.agreement import show_agreement
from ui.app import database, require_access
from ui.keyboard import Shortcut, install_shortcuts
from ui.tag_picker import tag_picker

MAX_COLUMNS = 4
user = require_access("review")
make_session = database()
state = st.session_state

st.title("Review")
with make_session() as session:
    whole_queue = review_queue.conflict_queue(session)
    choices = tag_choices(session)
queue_tags, queue_annotators = review_queue.queue_filter_choices(whole_queue)

left, middle, right = st.columns(3)
order = left.selectbox("Order", review_queue.ORDERS, format_func=review_queue.ORDER_LABELS.get)
tag = middle.selectbox("Disputed tag", ["any", *queue_tags])
annotator = right.selectbox("Annotator", ["any", *queue_annotators])
queue = review_queue.select_queue(
    whole_queue, order, None if tag == "any" else tag, None if annotator == "any" else annotator
)
queue_ids = [row.project_id for row in queue]
st.caption(review_queue.queue_summary(queue, whole_queue))

flash = state.pop("review_flash", None)
if flash is not None:
    kind, message = flash
    if kind == "success":
        st.success(escape_markdown(message), icon=":material/check_circle:")
    else:
        st.warning(escape_markdown(message), icon=":material/warning:")

# A project whose decision was refused stays on screen with its fresh state, even though the
# other reviewer's resolution has taken it out of the queue.
pinned, pinned_title = state.get("review_pinned") or (None, "")
options = queue_ids if pinned is None or pinned in queue_ids else [pinned, *queue_ids]
titles = {pinned: pinned_title} | {
    row.project_id: f"{row.external_id}: {row.title}" for row in queue
}
if state.get("review_project") not in options:
    state.review_project = options[0] if options else None

if not whole_queue and pinned is None:
    st.success("No conflicts to review. Every project annotators disagreed on is resolved.")
elif not options:
    st.info("No conflicts match these filters.")
else:
    st.dataframe(
        pd.DataFrame(review_queue.queue_table(queue)),
        hide_index=True,
        height=min(38 + 35 * len(queue), 248),
        column_config={
            "title": st.column_config.TextColumn(width=260),
            "disputed tags": st.column_config.TextColumn(width=200),
            "annotators": st.column_config.TextColumn(width=170),
            "since": st.column_config.DatetimeColumn("since (UTC)", format="MM-DD HH:mm"),
            "model uncertainty": st.column_config.NumberColumn(
                "uncertainty",
                format="%.2f",
                help="the current model's stored score for this project: higher, less sure",
            ),
        },
    )
    project_id = st.selectbox(
        "Project",
        options,
        format_func=titles.get,
        key="review_project",
    )
    with make_session() as session:
        item = review.review_item(session, project_id)

    def decide(tags: list[str], method: str, accepted: int | None) -> None:
        """Runs before the next script run, so that the next conflict renders in that run."""
        note = state.get(f"note-{project_id}-{item.latest_resolution_id}", "")
        try:
            review.resolve(
                make_session,
                user.id,
                project_id,
                tags,
                note,
                method,
                item.latest_resolution_id,
                accepted_user_id=accepted,
                no_tag_applies=bool(state.get(f"no-tag-{project_id}-{item.latest_resolution_id}")),
            )
        except review.ResolutionConflict as conflict:
            state.review_flash = ("warning", str(conflict))
            state.review_pinned = (project_id, f"{item.external_id}: {item.title} (resolved)")
        except EmptyLabelRefused as refused:
            state.review_flash = ("warning", str(refused))
        except ValueError as error:
            state.review_flash = ("warning", f"Not saved: {error}")
        else:
            shown = ", ".join(sorted(set(tags))) or "no tags"
            state.review_flash = ("success", f"Resolved {item.external_id} as: {shown}.")
            state.review_pinned = None
            state.review_project = review.next_project(queue_ids, project_id)

    def resolve_edited(tags_key: str) -> None:
        tags = list(state[tags_key])
        decide(tags, review.method_for_edit(tags, item.majority), None)

    def show_next() -> None:
        state.review_pinned = None
        state.review_project = review.next_project(queue_ids, project_id)

    st.markdown("### " + escape_markdown(item.title))
    judges = len(item.annotator_sets)
    st.caption(
        f"Project {escape_markdown(item.external_id)} · {item.status} · "
        f"{judges} annotator{'' if judges == 1 else 's'}"
    )
    st.markdown(escape_markdown(item.description or "(no description)"))

    st.subheader("What each annotator chose")
    disputed = {votes.tag for votes in item.votes if votes.disputed}
    for start in range(0, len(item.annotator_sets), MAX_COLUMNS):
        row = item.annotator_sets[start : start + MAX_COLUMNS]
        for column, chosen in zip(st.columns(MAX_COLUMNS), row, strict=False):
            column.markdown(f"**{escape_markdown(chosen.username)}**")
            when = f"{chosen.judged_at:%Y-%m-%d %H:%M} UTC"
            column.caption(
                when + (" · after the last resolution" if chosen.after_resolution else "")
            )
            column.markdown(
                "\n".join(
                    f"- :orange[{escape_markdown(t)}]"
                    if t in disputed
                    else f"- {escape_markdown(t)}"
                    for t in chosen.tags
                )
                or "(no tags)"
            )
    st.caption("Orange: tags the annotators disagree on.")

    st.subheader("Votes per tag")
    st.dataframe(
        pd.DataFrame(review.votes_table(item)),
        hide_index=True,
        column_config={
            "model p": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
            "threshold": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    st.markdown("Source tags: " + escape_markdown(", ".join(item.source_tags) or "none"))
    if item.probabilities:
        st.caption(
            f"Model p: model version {item.model_version_id}'s probability; it suggests a tag "
            "when p reaches the tag's threshold."
        )
    else:
        st.caption("No model version has scored this project yet.")

    st.subheader("Decision")
    # The page opens scrolled to this box, with the title out of sight: name the project here.
    st.caption(f"On project {escape_markdown(item.external_id)}: {escape_markdown(item.title)}")
    st.markdown("Majority (more than half): " + escape_markdown(", ".join(item.majority) or "none"))
    key = f"{project_id}-{item.latest_resolution_id}"
    no_majority = review.majority_unavailable(item.majority)
    with st.form("decision", enter_to_submit=False, border=False):
        tags_column, button_column = st.columns([5, 2], vertical_alignment="bottom")
        tag_picker(tags_column, "Final tags", choices, item.majority, f"final-{key}")
        button_column.form_submit_button(
            "Resolve with these tags",
            type="primary",
            width="stretch",
            on_click=resolve_edited,
            args=(f"final-{key}",),
        )
        st.checkbox(
            NO_TAG_APPLIES,
            key=f"no-tag-{key}",
            help="Resolve as an empty tag set on purpose. Without it an empty final set, or "
            "accepting an empty set, is refused.",
        )
        st.text_input("Note (optional)", key=f"note-{key}")
        with st.container(horizontal=True):
            st.form_submit_button(
                "Accept majority",
                on_click=decide,
                args=(list(item.majority), "majority", None),
                disabled=no_majority is not None,
            )
            for chosen in item.annotator_sets:
                st.form_submit_button(
                    f"Accept {escape_markdown(chosen.username)}'s set",
                    on_click=decide,
                    args=(list(chosen.tags), "annotator", chosen.user_id),
                )
    if no_majority is not None:
        st.caption(no_majority)
    st.button("Next conflict", on_click=show_next, disabled=len(options) < 2)

    st.subheader("Resolution history")
    if item.resolutions:
        st.dataframe(
            pd.DataFrame(review.history_table(item)),
            hide_index=True,
            column_config={
                "when": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm")
            },
        )
    else:
        st.caption("No resolution yet.")

    install_shortcuts(
        [
            Shortcut("Ctrl+Enter", "Resolve with these tags"),
            Shortcut("Alt+M", "Accept majority", no_majority or ""),
            Shortcut("Alt+N", "Next conflict"),
            *(
                Shortcut(f"Alt+{n}", f"Accept {chosen.username}'s set")
                for n, chosen in enumerate(item.annotator_sets[:9], start=1)
            ),
        ],
        showing=key,
    )
    st.caption(
        "Keys: type to search tags, Enter adds the highlighted one, Backspace removes the last "
        "· Ctrl+Enter resolves with the tags in the box (it starts as the majority; it never "
        "adds a tag) · Alt+M accepts the majority · Alt+1, Alt+2, … accept an annotator's set, "
        f"in column order · Alt+N shows the next conflict · an empty set needs “{NO_TAG_APPLIES}”"
    )

st.divider()
st.header("Agreement")
# Off by default: at 100,000 projects the report takes about a second, and it would be
# recomputed after every resolution, slowing the reviewer's loop.
if st.toggle("Show agreement between annotators", key="review_show_agreement"):
    show_agreement()
