"""Tags (admin): every tag and candidate with its counts, merge suggestions, identifier
candidates, the curation actions and each tag's history with undo."""

import pandas as pd
import streamlit as st

from labeling import implied_parents, tag_history, tag_overview, tag_suggestions, tags
from labeling.text import escape_markdown
from ui.app import database, require_access, settings

user = require_access("tags")
config = settings()
SUGGESTIONS_SHOWN = 20

st.title("Tags")
if "tags_flash" in st.session_state:
    st.success(escape_markdown(st.session_state.pop("tags_flash")), icon=":material/check:")


def run(change, done: str | None = None) -> None:
    """One transaction per action; a refused action shows its exact reason and writes
    nothing, a done one reruns the page so that every table shows it."""
    try:
        with database().begin() as session:
            message = change(session)
    except tags.TagError as error:
        st.error(escape_markdown(str(error)), icon=":material/error:")
    else:
        st.session_state["tags_flash"] = done or message
        st.rerun()


with database()() as session:
    overview = tag_overview.tag_overview(session, config.trust_source_tags)
    suggestions = tag_suggestions.merge_suggestions(session)
    identifiers = tag_suggestions.identifier_tags(session)
    implied = implied_parents.implied_parents(session)

candidates = sum(row.kind == "candidate" for row in overview)
columns = st.columns(4)
columns[0].metric("Tags", len(overview) - candidates)
columns[1].metric("Candidates", candidates)
columns[2].metric("Merge suggestions", len(suggestions))
columns[3].metric("Identifier candidates", len(identifiers))

st.subheader("Merge suggestions")
if suggestions:
    st.caption(
        "The canonical tag each candidate or rare tag most likely stands for. Merge makes it an "
        "alias: its projects, judgements and resolutions follow and a retrain is queued."
    )
    for number, suggestion in enumerate(suggestions[:SUGGESTIONS_SHOWN]):
        text_column, button_column = st.columns([6, 1], vertical_alignment="center")
        text_column.text(
            f"{suggestion.source} → {suggestion.target}  ({suggestion.source_kind}, "
            f"{suggestion.source_projects} projects, score {suggestion.score:.2f}): "
            + "; ".join(suggestion.evidence)
        )
        if button_column.button("Merge", key=f"merge_suggestion_{number}"):
            run(lambda s, sg=suggestion: tags.run_action(s, user, "merge", *sg.pair))
    if len(suggestions) > SUGGESTIONS_SHOWN:
        st.text(f"and {len(suggestions) - SUGGESTIONS_SHOWN} more (all in the table below)")
        st.dataframe(
            pd.DataFrame(
                [
                    {"source": s.source, "target": s.target, "score": s.score,
                     "projects": s.source_projects, "evidence": "; ".join(s.evidence)}
                    for s in suggestions
                ]
            ),
            hide_index=True,
        )  # fmt: skip
else:
    st.info("No merge suggestions: no candidate or rare tag is spelled like a tag.")

st.subheader("Identifier candidates")
if identifiers:
    st.caption(
        "arXiv ids, DOIs and conference-year tags are metadata, not topics. Left as candidates "
        "they stay with their projects without being labels; discarding removes them."
    )
    st.dataframe(
        pd.DataFrame(identifiers, columns=["candidate", "projects"]), hide_index=True, height=200
    )
    if st.button(f"Discard all {len(identifiers)} identifier candidates"):
        run(
            lambda s: tags.discard_identifiers(s, user, [name for name, _ in identifiers]),
            f"Discarded {len(identifiers)} identifier candidates.",
        )
else:
    st.info("No identifier-like candidates.")

st.subheader("Parents the taxonomy implies")
if implied.missing or implied.doubted:
    links, projects = implied_parents.implied_parent_counts(implied.missing)
    held_links, held_projects = implied_parents.implied_parent_counts(implied.doubted)
    st.caption(
        f"{projects:,} projects lack a parent their own tags imply (a project tagged "
        "object-detection is computer-vision by the taxonomy's definition). Until they have it, "
        "each is a label-error suspect an annotator is served only to add it. Adding them "
        "is one event in each parent's history, undone like any other; a retrain is queued."
        + (
            f" Left to annotators: {held_links:,} parents on {held_projects:,} projects, "
            "implied only by a tag the model calls probably wrong."
            if held_links
            else ""
        )
    )
    rows = implied_parents.implied_parent_rows(implied)
    st.dataframe(pd.DataFrame(rows), hide_index=True, height=min(38 + 35 * len(rows), 248))
    if links and st.button(f"Add {links:,} implied parent tags to {projects:,} projects"):
        run(
            lambda s: implied_parents.add_implied_parents(s, user),
            f"Added {links:,} implied parent tags to {projects:,} projects; a retrain is queued.",
        )
else:
    st.info("Every project carries the parents its tags imply.")

st.subheader("All tags and candidates")
search_column, kind_column = st.columns([3, 1])
search = search_column.text_input("Search names and aliases")
kind = kind_column.selectbox("Kind", ["all", "tag", "candidate"])
shown = tag_overview.filter_overview(overview, search, None if kind == "all" else kind)
st.dataframe(
    pd.DataFrame([row.to_dict() for row in shown]).assign(
        aliases=lambda f: f["aliases"].map(", ".join),
        parents=lambda f: f["parents"].map(", ".join),
    )
    if shown
    else pd.DataFrame(),
    hide_index=True,
)

st.subheader("Change a tag")
names = [row.name for row in overview]
with st.form("tag_action"):
    action = st.selectbox("Action", list(tags.ACTIONS), key="tag_action_name")
    first = st.selectbox("Tag", names, accept_new_options=True, index=None, key="tag_action_first")
    second = st.text_input(
        "Second name (new name, alias, parent or merge target)",
        help="Needed by rename, alias-add, parent-set, parent-remove and merge.",
        key="tag_action_second",
    )
    if st.form_submit_button("Apply"):
        needed = len(tags.ACTIONS[action].arguments)
        run(lambda s: tags.run_action(s, user, action, *[first or "", second][:needed]))

st.subheader("History")
history_tag = st.selectbox("Tag or candidate", names, key="history_tag", index=None)
if history_tag:
    with database()() as session:
        events = tag_history.tag_history(session, history_tag)
    if events:
        st.dataframe(
            pd.DataFrame(
                [{"event": e.id, "when": e.at, "by": e.actor, "what": e.summary} for e in events]
            ),
            hide_index=True,
        )
        undo_id = st.selectbox("Event to undo", [e.id for e in events])
        if st.button("Undo this event"):
            run(lambda s: tag_history.undo(s, user, undo_id))
    else:
        st.info("No changes recorded for this tag.")
