"""Home: what LabelLoop is, what the signed-in person can do, and how big the catalogue is."""

import pandas as pd
import streamlit as st

from labeling import auth
from labeling.catalogue import catalogue_summary
from ui.app import database, require_access, settings

user = require_access("home")

st.title("LabelLoop")
st.write(
    "A catalogue of ML projects is only useful if people can find projects by tag. LabelLoop "
    "shows annotators the projects whose tags are most likely wrong or that the model is least "
    "sure about, tracks where annotators disagree, and retrains a lightweight model so that "
    "every label makes more projects findable."
)
st.subheader(f"You are signed in as {user.username}, with the {user.role} role")
st.write(f"You can {auth.ROLE_SUMMARY[user.role]}.")
st.write("Pages open to you: " + ", ".join(p.title() for p in auth.pages_for(user.role)) + ".")

with database()() as session:
    summary = catalogue_summary(session, settings().trust_source_tags)

st.subheader("The catalogue")
if summary.projects == 0:
    st.info("The catalogue is empty. An admin can import projects on the Data page.")
else:
    columns = st.columns(4)
    columns[0].metric("Projects", f"{summary.projects:,}")
    columns[1].metric("Active tags", f"{summary.active_tags:,}")
    columns[2].metric("Tags per project (source)", f"{summary.tags_per_project:.2f}")
    columns[3].metric("Evaluation split", f"{summary.eval_projects:,}")
    st.caption(
        f"{summary.train_projects:,} projects train the model; {summary.eval_projects:,} are held "
        "out to measure it, chosen once by a hash of their id."
    )
    statuses = pd.DataFrame(
        {"status": list(summary.statuses), "projects": list(summary.statuses.values())}
    )
    st.dataframe(statuses, hide_index=True)
