"""Insights: labelling progress, throughput, tag coverage, discoverability and suspected errors."""

import streamlit as st

from labeling import drift, insights
from labeling.charts import insights as charts
from labeling.text import escape_markdown
from ui.agreement import show_agreement
from ui.app import database, require_access, settings

require_access("insights")
make_session = database()
config = settings()


@st.cache_data(show_spinner="Counting labels across the catalogue…", max_entries=4)
def catalogue_insights(database_url: str, version: insights.DataVersion) -> insights.Insights:
    """Per data version: nothing the page shows changes until a judgement, resolution, import
    or model version arrives."""
    with make_session() as session:
        predictions = insights.prediction_summary(session, version.serving_model or None)
        return insights.catalogue_insights(session, config.trust_source_tags, predictions)


@st.cache_data(show_spinner="Reading the latest import's checks…", max_entries=4)
def latest_import_check(
    database_url: str, version: insights.DataVersion
) -> tuple[dict | None, str]:
    """The checks stored when the newest batch was imported (or checked on the Model page),
    per data version like the figures above."""
    with make_session() as session:
        return drift.stored_check(session)


with make_session() as session:
    version = insights.data_version(session)
found = catalogue_insights(config.database_url, version)

st.title("Insights")
if found.projects == 0:
    st.info(
        "Nothing yet: the catalogue is empty. Once an admin imports projects on the Data page, "
        "this page shows labelling progress, tag coverage and what the model makes findable."
    )
    st.stop()

headline = insights.discoverability_headline(found.coverage)
columns = st.columns(4)
columns[0].metric("Projects", f"{found.projects:,}")
columns[1].metric("Judgements", f"{found.judgements:,}")
columns[2].metric("Resolutions", f"{found.resolutions:,}")
findable = headline["model"] if headline["model"] is not None else headline["effective"]
columns[3].metric(
    "Project-tag pairs findable",
    f"{findable:,}",
    delta=(
        f"{headline['gain_pct']:+.1f}% vs source tags" if headline["gain_pct"] is not None else None
    ),
    help="Project-tag pairs a tag search finds now (the model's predictions, or the effective "
    "labels before a model exists) against the tags the projects arrived with.",
)

st.subheader("Labelling progress")
st.altair_chart(charts.status_chart(found.statuses), width="stretch")
st.caption(
    "Where every project stands: unlabeled, judged once (single), by two who agreed or "
    "disagreed (conflict), settled by a reviewer (resolved) or judged again after that "
    "(reopened). Conflicts and reopened projects wait for a reviewer."
)
if found.judgements == 0:
    st.info("Nothing labelled yet: progress over time appears after the first judgement.")
else:
    st.altair_chart(charts.activity_chart(found.activity), width="stretch")
    st.caption(
        "Running totals per day: judgements, projects judged at least once, and reviewer "
        "resolutions. A flattening line means labelling has slowed down."
    )
    st.subheader("Throughput per annotator")
    st.altair_chart(charts.throughput_chart(found.throughput), width="stretch")
    st.caption(
        "Judgements per day, one colour per annotator; hover a bar for that person's "
        "judgements and skips on that day."
    )

st.subheader("Agreement between annotators")
show_agreement()

st.subheader("Tags")
order = found.coverage.sort_values(["effective", "tag"], ascending=[False, True])["tag"].tolist()
long = insights.coverage_long(found.coverage)
st.altair_chart(charts.tag_distribution_chart(long, order), width="stretch")
st.caption(
    "Projects per tag as imported (grey) and after labelling (blue), most common tag first: "
    "a blue bar longer than its grey one means people added that tag where it was missing."
)
st.altair_chart(charts.tags_per_project_chart(found.tags_per_project), width="stretch")
st.caption(
    "How many tags projects carry. Projects with 0 tags cannot be found by any tag search; "
    "a shift to the right means projects became findable under more topics."
)

st.subheader("Discoverability")
if found.model_version is None:
    st.info(
        "No model version yet: once one is trained (Model page), this section shows how many "
        "projects its predictions make findable under each tag."
    )
st.altair_chart(charts.gain_chart(found.coverage), width="stretch")
st.caption(
    "How many more projects a search for each tag finds now than with the imported tags "
    + (
        f"(model version {found.model_version}'s predictions)."
        if found.model_version is not None
        else "(effective labels)."
    )
)
st.altair_chart(charts.discoverability_chart(long, order), width="stretch")
st.caption(
    "Per tag: projects carrying it as imported (grey), after labelling (blue) and in the "
    "model's predictions (green); the green dot is what a person searching that tag finds."
)
st.dataframe(
    found.coverage.rename(
        columns={
            "tag": "Tag",
            "source": "Source tags",
            "effective": "Effective labels",
            "model": "Model predictions",
            "effective_gain": "Gain from labels",
            "model_gain": "Gain from the model",
        }
    ),
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="%d")
        for name in ("Model predictions", "Gain from the model")
    },
)

st.subheader("Suspected tag errors")
if found.model_version is None:
    st.info("Nothing yet: suspected errors come from a trained model version.")
elif found.suspected.empty:
    st.info(f"Model version {found.model_version} found no project whose tags it contradicts.")
else:
    st.altair_chart(charts.suspected_chart(found.suspected), width="stretch")
    st.caption(
        f"From model version {found.model_version}: per tag, how many projects probably miss it "
        "(orange) or probably carry it wrongly (red). Long bars are the tags to review first."
    )

st.subheader("What is new in the latest import")
new_in_import, why_not = latest_import_check(config.database_url, version)
if new_in_import is None:
    st.info(f"Not checked: {escape_markdown(why_not)}.")
else:
    st.text(
        f"Import batch {new_in_import['batch']} ({new_in_import['file']}): "
        f"{new_in_import['projects']:,} new projects, checked with model version "
        f"{new_in_import['model_version']}"
    )
    st.dataframe(drift.summary_rows(new_in_import), hide_index=True)
    if new_in_import["tag_distribution"]["distance"] is not None:
        st.altair_chart(charts.import_shift_chart(new_in_import), width="stretch")
        st.caption(
            "The tags whose share of the model's predicted tags differs most between this "
            "import and the catalogue (orange: the import, grey: the catalogue's stored "
            "predictions); the title gives how many predicted tags each share is taken from."
        )
    st.caption(
        "A batch unlike the catalogue (many unseen words, a shifted tag mix, many projects with "
        "no confident tag) is where suggestions and the figures above hold least: label some "
        "of it first. "
        + (
            "Its projects with no confident tag are served to annotators before anything else."
            if config.new_topics_first
            else "Its projects with no confident tag wait for their turn in the serving order "
            "(LABELLOOP_NEW_TOPICS_FIRST is off)."
        )
    )
