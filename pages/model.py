"""Model: the serving version, retraining with live progress, and per-tag quality over versions."""

import streamlit as st

from labeling import insights, metrics, registry
from labeling.charts import model as charts
from labeling.charts.simulation import simulation_chart
from labeling.text import escape_markdown
from ui.app import database, require_access, settings

user = require_access("model")
make_session = database()
config = settings()


@st.cache_data(show_spinner="Counting the model's predictions…", max_entries=4)
def prediction_summary(database_url: str, version_id: int) -> insights.PredictionSummary:
    """Per version: a version's predictions never change once it is ready."""
    with make_session() as session:
        return insights.prediction_summary(session, version_id)


with make_session() as session:
    versions = registry.list_versions(session)
    names = metrics.usernames(session)
    current = registry.current_version(session)

st.title("Model")


def training_panel(following: int | None) -> None:
    """Retrain button and the running job's progress; reruns itself every two seconds while
    a job runs and reloads the whole page once the job it follows has ended."""
    with make_session() as session:
        job = metrics.running_job(metrics.unfinished_versions(session))
    if following is not None and (job is None or job.id != following):
        st.rerun()
    if job is not None:
        st.progress(
            job.progress_pct / 100,
            text=f"Version {job.id}: {job.progress_stage} ({job.progress_pct:.0f}%)",
        )
        st.caption(
            "Training runs in the background: annotators keep working, and the current "
            "version keeps serving until the new one is ready."
        )
    if st.button("Retrain now", type="primary", disabled=job is not None):
        with make_session.begin() as session:
            registry.queue_training(session, user)
        st.rerun()


job = metrics.running_job(versions)
st.fragment(training_panel, run_every=2 if job is not None else None)(job.id if job else None)

failure = metrics.newest_failure(versions)
if failure is not None:
    serving = f"version {current.id} keeps serving" if current else "no version is serving yet"
    st.error(
        escape_markdown(f"Version {failure.id} failed: {failure.error or 'no reason recorded'}")
        + f" — {serving}."
    )

if current is None:
    st.info(
        "No model version is ready yet. Press Retrain now to train the first one on the "
        "current labels; it takes seconds on the demo catalogue and about two minutes at "
        "100,000 projects."
    )
    st.stop()

facts = metrics.training_facts(current, names)
columns = st.columns(4)
columns[0].metric("Serving version", facts["version"])
columns[1].metric(
    "Weighted F1",
    f"{facts['weighted_f1']:.3f}" if facts["weighted_f1"] is not None else "-",
    delta=(
        f"{facts['weighted_f1_change']:+.3f} vs v{facts['previous_version']}"
        if facts["weighted_f1_change"] is not None
        else None
    ),
)
columns[2].metric("Training projects", f"{facts['train_projects']:,}")
columns[3].metric("Evaluation projects", f"{facts['eval_projects']:,}")
st.caption(
    f"Trained on the labels of {facts['train_projects']:,} projects (label snapshot "
    f"{facts['labels_hash']}), started by {escape_markdown(facts['started_by'])}, finished "
    f"{metrics.when_text(facts['finished_at'])} after "
    f"{metrics.duration_text(facts['duration_s'])}. Scores are measured on "
    f"{facts['eval_projects']:,} held-out projects the model never trains on."
)

st.subheader("Per-tag quality")
per_class = metrics.version_per_class(current)
order = st.selectbox("Sort tags by", list(metrics.SORT_ORDERS))
shown = metrics.sorted_per_class(per_class, order)
st.altair_chart(charts.per_class_chart(shown), width="stretch")
st.caption(
    "Bars are F1 (higher is better); a short bar is a weak tag. The orange dot is precision "
    "(how often a suggested tag is right), the green one recall (how many of the tag's "
    "projects it finds). Grey notes mark tags with too few labelled projects to learn, or "
    "without an evaluation project to measure them."
)
st.dataframe(
    metrics.per_class_table(shown),
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="%.3f")
        for name in ("Precision", "Recall", "F1", "F1 change", "Threshold")
    },
)
st.download_button(
    "Download per-tag metrics (CSV)",
    metrics.per_class_csv(shown),
    file_name=f"labelloop-model-v{current.id}-per-tag.csv",
    mime="text/csv",
)

st.subheader("What the last retrain changed")
change = metrics.change_frame(per_class)
if change.empty:
    st.info("This is the first version: there is no previous version to compare with yet.")
else:
    previous = f"v{facts['previous_version']}"
    st.altair_chart(charts.change_chart(change, previous, f"v{current.id}"), width="stretch")
    st.caption(
        f"Each tag's F1 change from {previous} to v{current.id}: green bars helped, red bars "
        "got worse; the biggest losses are at the top."
    )

st.subheader("Overall F1 across versions")
st.altair_chart(
    charts.overall_history_chart(metrics.overall_history_frame(versions)), width="stretch"
)
st.caption(
    "Weighted F1 follows the common tags, macro F1 treats every tag equally (it drops when "
    "rare tags are weak), micro F1 counts every tag decision. Hover a point for the labels "
    "that version was trained on."
)

st.subheader("Learning curve of the latest simulation")
simulation = metrics.latest_simulation(config.data_dir / "simulations")
if simulation is None:
    st.caption(
        "No simulation yet. Run one to see how fast each query strategy learns: "
        "python -m labeling simulate --projects FILE --taxonomy FILE --strategies "
        "random,threshold_margin --out data/simulations/run.json"
    )
else:
    st.altair_chart(simulation_chart(simulation[1]), width="stretch")
    st.caption(
        f"From {escape_markdown(simulation[0].name)}: F1 as labels are added, one line per "
        "query strategy; a strategy above the grey random line learns faster per label."
    )

st.subheader("Decision thresholds")
st.altair_chart(
    charts.threshold_chart(metrics.threshold_frame(current.thresholds or {})), width="stretch"
)
st.caption(
    "A tag is suggested when its probability reaches its threshold, tuned per tag for the "
    "best F1; the dashed line is 0.5. Low thresholds mean the model is rarely sure of a tag."
)

st.subheader("Predicted tags per project")
predicted = prediction_summary(config.database_url, current.id)
if predicted.projects == 0:
    st.info("This version stored no predictions.")
else:
    st.altair_chart(charts.predicted_tags_chart(predicted.tags_per_project), width="stretch")
    st.caption(
        f"How many tags the model gives each of {predicted.projects:,} projects. Projects "
        "with 0 predicted tags cannot be found by any tag."
    )

st.subheader("Versions")
st.dataframe(
    metrics.versions_frame(versions, names),
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="%.3f")
        for name in ("Micro F1", "Macro F1", "Weighted F1")
    },
)
ready = [v.id for v in metrics.ready_versions(versions)]
if len(ready) < 2:
    st.caption("Compare two versions side by side once there are two ready versions.")
else:
    left, right = st.columns(2)
    a_id = left.selectbox("Compare version", ready, index=len(ready) - 2)
    b_id = right.selectbox("with version", ready, index=len(ready) - 1)
    by_id = {v.id: v for v in versions}
    overall, compared = metrics.comparison_frames(by_id[a_id], by_id[b_id])
    scores = {
        name: st.column_config.NumberColumn(format="%.3f")
        for name in (f"v{a_id}", f"v{b_id}", f"F1 v{a_id}", f"F1 v{b_id}")
    }
    scores["Change"] = st.column_config.NumberColumn(format="%+.3f")
    st.dataframe(overall, hide_index=True, column_config=scores)
    st.caption(
        f"Overall and per-tag F1 of v{a_id} and v{b_id} on the evaluation split; per tag, the "
        "biggest losses first."
    )
    st.dataframe(
        metrics.comparison_table(compared, a_id, b_id), hide_index=True, column_config=scores
    )
