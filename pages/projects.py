"""Projects (every role): search and filter the catalogue, open one project's story, and see
what a searcher finds under a tag. Annotators can label a project now; reviewers and admins
can also send it to review."""

import pandas as pd
import streamlit as st

from labeling import findability, project_actions, search
from labeling.annotations import STATUSES
from labeling.project_story import project_story
from labeling.text import escape_markdown
from ui.app import database, require_access, settings
from ui.project_view import show_findings_table, show_story

user = require_access("projects")
make_session = database()
config = settings()
ANY = "any"

st.title("Projects")
with make_session() as session:
    choices = search.filter_choices(session)
batch_names = dict(choices.batches)
annotator_names = dict(choices.annotators)

find_tab, findings_tab = st.tabs(["Search", "What a searcher finds"])

with find_tab:
    words = st.text_input("Words in the title or description", key="projects_words")
    tag_col, under_col, status_col, split_col = st.columns(4)
    tag = tag_col.selectbox("Tag", [ANY, *choices.tags], key="projects_tag")
    tag_in = under_col.selectbox(
        "Tag under",
        search.TAG_SETS,
        key="projects_tag_in",
        help="source tags, effective labels "
        "(what training and export use) or the serving model's predictions",
    )
    status = status_col.selectbox("Status", [ANY, *STATUSES], key="projects_status")
    split = split_col.selectbox("Split", [ANY, "train", "eval"], key="projects_split")
    batch_col, annotator_col, sort_col, size_col = st.columns(4)
    batch = batch_col.selectbox(
        "Import batch", [None, *batch_names], format_func=lambda b: batch_names.get(b, ANY)
    )
    annotator = annotator_col.selectbox(
        "Judged by", [None, *annotator_names], format_func=lambda u: annotator_names.get(u, ANY)
    )
    sort = sort_col.selectbox("Sort by", search.SORTS, key="projects_sort")
    page_size = size_col.selectbox("Per page", search.PAGE_SIZES, key="projects_page_size")
    suspected = st.checkbox("Only projects whose tags are suspected wrong", key="projects_suspect")
    page_number = st.number_input("Page", min_value=1, value=1, step=1, key="projects_page")
    query = search.ProjectQuery(
        text=words,
        tag=None if tag == ANY else tag,
        tag_in=tag_in,
        status=None if status == ANY else status,
        suspected=suspected,
        split=None if split == ANY else split,
        batch_id=batch,
        annotator_id=annotator,
        sort=sort,
        page=int(page_number),
        page_size=page_size,
    )
    with make_session() as session:
        found = search.search_projects(session, query, config.trust_source_tags)
    st.caption(
        f"{found.total:,} project{'' if found.total == 1 else 's'} found"
        f" · page {found.page} of {found.pages}"
        + (" · best match first" if sort == "relevance" and search.search_words(words) else "")
    )
    if not found.rows:
        st.info(
            f"Page {found.page} is past the last page ({found.pages})."
            if found.total
            else "No project matches. Remove a filter or use fewer words."
        )
    else:
        st.dataframe(pd.DataFrame(search.rows_table(found.rows)), hide_index=True)
        titles = {row.id: f"#{row.id} {row.title}" for row in found.rows}
        opened = st.selectbox(
            "Open a project",
            [None, *titles],
            format_func=lambda p: (
                "choose one of this page's projects" if p is None else titles.get(p, f"#{p}")
            ),
            key="projects_open",
        )
        if opened in titles:
            only_mine = user.id if user.role == "annotator" else None
            with make_session() as session:
                story = project_story(session, opened, config.trust_source_tags, only_mine)
            show_story(story)
            label_col, review_col = st.columns(2)
            if user.role in project_actions.LABELLING_ROLES and label_col.button(
                "Label it now", icon=":material/label:"
            ):
                outcome = project_actions.lease_for_labelling(make_session, user.id, opened, config)
                if outcome.leased:
                    st.switch_page("pages/annotate.py")
                label_col.warning(escape_markdown(outcome.reason))
            if user.role in project_actions.REVIEWING_ROLES:
                note = review_col.text_input("Note for the reviewer", key="projects_review_note")
                if review_col.button("Send to review", icon=":material/gavel:"):
                    try:
                        with make_session.begin() as session:
                            project_actions.request_review(session, opened, user, user.role, note)
                    except project_actions.ProjectActionError as error:
                        review_col.warning(escape_markdown(str(error)))
                    else:
                        review_col.success("Sent: the project waits on the Review page.")

with findings_tab:
    st.write(
        "Pick a tag to see which projects a person searching for it finds: under the tags the "
        "projects arrived with, under the effective labels (after labelling and review) and "
        "under the model's predictions. Gained projects are green, lost ones red."
    )
    chosen = st.selectbox("Tag", [None, *choices.tags], key="findings_tag")
    if chosen is not None:
        with make_session() as session:
            findings = findability.tag_findings(session, chosen, config.trust_source_tags)
            table = findability.findings_table(session, findings)
        counts, changes = findings.counts(), findings.changes()
        columns = st.columns(3)
        for column, (label, count) in zip(columns, counts.items(), strict=True):
            change = changes.get(label)
            column.metric(
                label,
                "no model" if count is None else f"{count:,}",
                delta=None
                if change is None
                else f"+{change['gained']:,} gained, -{change['lost']:,} lost",
                delta_color="off",
            )
        if table.empty:
            st.info("Every set finds the same projects under this tag.")
        else:
            st.caption(f"Projects found under some sets and not others (up to {len(table)}).")
            show_findings_table(table)
