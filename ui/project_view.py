"""Streamlit glue for the Projects page: one project's story, and the gained / lost table of
what a searcher finds. Imported text goes through st.text, dataframes or escape_markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labeling.findability import GAINED, LOST
from labeling.project_story import ProjectStory, probability_table
from labeling.text import escape_markdown

CHANGE_COLOURS = {GAINED: "background-color: #d8f3dc", LOST: "background-color: #ffd6d6"}


def show_story(story: ProjectStory) -> None:
    st.subheader(escape_markdown(story.title))
    st.text(
        f"#{story.id} · {story.external_id} · {story.split} split · added "
        f"{story.created_at:%Y-%m-%d}" + (f" from {story.import_file}" if story.import_file else "")
    )
    st.text(story.description or "(no description)")
    left, middle, right = st.columns(3)
    left.markdown("**Source tags**")
    left.text(", ".join(story.source_tags) or "(none)")
    middle.markdown(f"**Effective label** ({story.state.label_source}, {story.state.status})")
    middle.text(", ".join(story.state.tags) or "(none)")
    right.markdown("**Label-error check**")
    right.text(
        story.label_error_reason
        + (f" (score {story.label_error_score:.2f})" if story.label_error_score else "")
    )
    st.markdown("**Judgements**")
    if story.hidden_judges:
        st.caption(
            f"{story.hidden_judges} other annotator(s) judged this project; their judgements "
            "are hidden from annotators so that a second opinion stays independent."
        )
    _table(story.judgements, "Nobody has judged this project yet.")
    st.markdown("**Resolutions**")
    _table(story.resolutions, "No reviewer has resolved this project.")
    st.markdown("**The model's probabilities, per kept version**")
    table = probability_table(story.probabilities)
    if table.empty:
        st.caption("No kept model version has scored this project.")
    else:
        st.dataframe(table, hide_index=True)
    st.markdown("**Review requests**")
    _table(story.review_requests, "Nobody has sent this project to review.")
    st.markdown("**Audit trail**")
    _table(story.audit_events, "No recorded event names this project.")


def _table(rows: list[dict[str, object]], empty: str) -> None:
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption(empty)


def show_findings_table(frame: pd.DataFrame) -> None:
    """Gained cells green, lost cells red, so the difference reads at a glance."""
    styled = frame.style.map(
        lambda value: CHANGE_COLOURS.get(value, ""), subset=["effective change", "model change"]
    )
    st.dataframe(styled, hide_index=True)
