"""The agreement views shared by the Review and Insights pages: headline figures and three
charts with their captions, from one cached agreement report."""

from __future__ import annotations

import streamlit as st

from labeling import agreement, insights
from labeling.charts import agreement as charts
from ui.app import database, settings


@st.cache_data(show_spinner="Measuring agreement…", max_entries=4)
def _report(database_url: str, version: insights.DataVersion) -> agreement.AgreementReport:
    """Per data version: agreement changes only when a judgement or resolution arrives."""
    with database()() as session:
        return agreement.compute_agreement(session)


def agreement_report() -> agreement.AgreementReport:
    with database()() as session:
        version = insights.data_version(session)
    return _report(settings().database_url, version)


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def show_agreement() -> None:
    """Headline figures, then per-tag agreement, the most disputed tags and the annotator
    pairs; each chart only when it has something to show, so an empty database reads as
    "nothing yet" rather than as empty axes."""
    report = agreement_report()
    overall = report.overall
    if overall["projects"] == 0:
        st.info(
            "Nothing yet: agreement is measured on projects that at least two annotators have "
            "judged. Overlap serving sends a share of projects to a second annotator."
        )
        return
    columns = st.columns(4)
    columns[0].metric("Projects judged by 2+ annotators", f"{overall['projects']:,}")
    columns[1].metric(
        "Krippendorff's alpha",
        _figure(overall["alpha"]),
        help="Agreement beyond chance over every tag decision: 1 is perfect, 0 is chance. "
        "Below about 0.67 the labels are not reliable enough to draw conclusions from.",
    )
    columns[2].metric(
        "Positive agreement",
        _figure(overall["positive_agreement"]),
        help="When one annotator applies a tag, how often another one does too.",
    )
    columns[3].metric("Projects in dispute", f"{overall['disputed_projects']:,}")
    if overall["note"]:
        st.caption(f"Overall: {overall['note']}.")
    for key, frame, chart in (
        ("per_tag", charts.per_tag_frame(report), charts.per_tag_agreement_chart),
        ("disputed", charts.disputed_frame(report), charts.disputed_tags_chart),
        ("annotators", charts.annotator_pairs_frame(report), charts.annotator_heatmap),
    ):
        if charts.has_data(frame):
            st.altair_chart(chart(frame), width="stretch")
            st.caption(charts.CAPTIONS[key])
