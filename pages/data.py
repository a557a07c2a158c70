"""Data (admin): import a catalogue with a preview and a report, export the effective labels."""

import pandas as pd
import streamlit as st

from labeling import drift, io
from labeling.annotations import STATUSES
from labeling.catalogue import import_history
from labeling.text import escape_markdown
from ui.app import database, require_access, settings

user = require_access("data")
config = settings()

st.title("Data")
st.subheader("Import a catalogue")
st.caption(
    "Made With ML JSON (a list of {id, title, description, tags}), CSV (id, title, description, "
    "tags separated by ; or ,) or JSONL, and optionally a taxonomy (tags.json)."
)
catalogue_file = st.file_uploader("Catalogue file", type=["json", "csv", "jsonl", "ndjson"])
taxonomy_file = st.file_uploader("Taxonomy file (optional)", type=["json"])
left, middle, right = st.columns(3)
unknown_tags = left.selectbox(
    "Unknown tags",
    io.UNKNOWN_TAG_POLICIES,
    help="Tags in neither the taxonomy nor the database. candidate: kept and counted, but not "
    "trained, suggested or exported until you promote, merge or discard them on the Tags page.",
)
on_existing = middle.selectbox("Ids already present with different text", ["skip", "update"])
skip_invalid = right.checkbox("Leave out invalid rows instead of rejecting the file")
strict = right.checkbox(
    "Strict: reject the file on any problem",
    help="Without it, an over-long or malformed tag, a parent that names no tag or NUL "
    "characters are dropped with a warning naming the row.",
)

projects: list[io.RawProject] = []
rejected: list[io.RejectedRow] | None = [] if skip_invalid else None
warnings: list[io.RowWarning] | None = None if strict else []
taxonomy = None
try:
    if catalogue_file is not None:
        projects = io.parse_projects(
            catalogue_file.getvalue(),
            catalogue_file.name,
            io.detect_format(catalogue_file.name),
            config.max_text_chars,
            rejected,
            warnings,
        )
    if taxonomy_file is not None:
        taxonomy = io.parse_taxonomy(taxonomy_file.getvalue(), taxonomy_file.name, warnings)
except io.InputError as error:
    st.error(escape_markdown(str(error)), icon=":material/error:")
    catalogue_file = None

if catalogue_file is not None:
    st.write(f"Preview: {len(projects):,} valid projects, first 20 shown.")
    st.dataframe(pd.DataFrame(io.preview_rows(projects, 20)), hide_index=True)
    if rejected:
        st.warning(f"{len(rejected)} rows will be left out; they are listed in the report.")
    if warnings:
        st.warning(
            f"{len(warnings):,} values will be dropped or cleaned (warnings); they are listed "
            "in the report."
        )
    if st.button("Import", type="primary"):
        try:
            with database().begin() as session:
                report = io.import_catalogue(
                    session,
                    projects,
                    filename=catalogue_file.name,
                    file_format=io.detect_format(catalogue_file.name),
                    unknown_tags=unknown_tags,
                    on_existing=on_existing,
                    actor=user,
                    taxonomy=taxonomy,
                    rejected=rejected,
                    taxonomy_filename=taxonomy_file.name if taxonomy_file else "taxonomy",
                    warnings=warnings,
                )
        except io.InputError as error:
            st.error(
                "Nothing was imported. " + escape_markdown(str(error)), icon=":material/error:"
            )
        else:
            st.success("Import finished.", icon=":material/check_circle:")
            columns = st.columns(4)
            columns[0].metric("Added", report.projects_added)
            columns[1].metric("Updated", report.projects_updated)
            columns[2].metric("Unchanged", report.projects_unchanged)
            columns[3].metric("Skipped (changed)", report.projects_skipped)
            st.text("\n".join(report.summary_lines()))
            st.download_button(
                "Download the full report (CSV)",
                io.report_csv(report),
                file_name=f"import-report-{report.batch_id}.csv",
                icon=":material/download:",
                on_click="ignore",
            )
            for title, rows in io.report_tables(report).items():
                st.text(f"{title}: {len(rows):,}")
                st.dataframe(pd.DataFrame(rows), hide_index=True)
            st.subheader("What is new in this import")
            new_in_import, why_not = drift.check_import(database(), report.batch_id)
            if new_in_import is None:
                st.caption(f"Not checked: {escape_markdown(why_not)}.")
            else:
                st.dataframe(drift.summary_rows(new_in_import), hide_index=True)
                st.caption(
                    "Against the serving model: a batch unlike the catalogue is where its "
                    "suggestions hold least. Full lists: python -m labeling drift --json."
                )

st.subheader("Export")
st.caption(
    "The file is built when you click Download, through your signed-in session, and is not "
    "kept: its one-time link is dropped by the next page runs, so no link to the catalogue "
    "outlives the download."
)
left, middle = st.columns(2)
export_format = left.selectbox("Format", io.FORMATS)
status = middle.selectbox("Status", ["all", *STATUSES])
make_session = database()


def export_file() -> str:
    """Runs when the admin clicks Download, not before: nothing of the catalogue is stored
    in Streamlit's media store until then."""
    with make_session() as session:
        rows = io.export_rows(
            session, config.trust_source_tags, None if status == "all" else status
        )
    return io.render_export(rows, export_format)


st.download_button(
    "Download export",
    export_file,
    file_name=f"labelloop-export.{export_format}",
    icon=":material/download:",
    on_click="ignore",
)

st.subheader("Recent imports")
with database()() as session:
    history = import_history(session)
if history:
    st.dataframe(pd.DataFrame(history), hide_index=True)
else:
    st.info("No imports yet.")
