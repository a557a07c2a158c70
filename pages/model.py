"""Model: the serving version, retraining with live progress, and per-tag quality over versions."""

import streamlit as st

from labeling import (
    assessment,
    drift,
    insights,
    metrics,
    promotion,
    registry,
    training_jobs,
    version_status,
)
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
    names = version_status.usernames(session)
    current = registry.current_version(session)

st.title("Model")


def training_panel(following: int | None) -> None:
    """Retrain button and the running job's progress; reruns itself every two seconds while
    a job runs and reloads the whole page once the job it follows has ended."""
    with make_session() as session:
        job = version_status.running_job(version_status.unfinished_versions(session))
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
            training_jobs.queue_training(session, user)
        st.rerun()


job = version_status.running_job(versions)
st.fragment(training_panel, run_every=2 if job is not None else None)(job.id if job else None)

failure = version_status.newest_failure(versions)
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


def promote(version_id: int) -> None:
    """Serve a version (promote or roll back); the reason is shown after the rerun."""
    try:
        with st.spinner("Promoting…"), make_session.begin() as session:
            st.session_state["promotion_message"] = promotion.promote(
                session, version_id, user, settings=config
            )
    except promotion.PromotionError as error:
        st.error(escape_markdown(str(error)))
    else:
        st.rerun()


for version in version_status.held_versions(versions):
    st.warning(
        escape_markdown(
            f"Version {version.id} is held, v{current.id} keeps serving — "
            f"{(version.promotion or {}).get('reason', 'no reason recorded')}"
        )
    )
    if st.button(f"Promote version {version.id}", key=f"promote-held-{version.id}"):
        promote(version.id)
if "promotion_message" in st.session_state:
    st.success(escape_markdown(st.session_state.pop("promotion_message").capitalize()))

facts = version_status.training_facts(current, names)
scored = current.metrics or {}
counts = metrics.labelled_counts(scored)
labels = st.radio(
    "Score against",
    ["all", "verified"],
    format_func=lambda which: {
        "all": f"All effective labels ({counts['all']:,} evaluation projects)",
        "verified": f"Verified labels only ({counts['verified']:,} evaluation projects)",
    }[which],
    horizontal=True,
)
st.caption(
    "All effective labels are mostly the imported tags, which may carry the very errors this "
    "team fixes; verified labels are evaluation projects an annotator judged or a reviewer "
    "resolved. Believe the verified figures once they rest on enough projects (their "
    f"intervals are narrow and most tags have {config.min_eval_support}+ positives); until "
    "then read the all-labels figures, knowing a model that copies source errors scores well "
    "on them."
)
if labels == "verified":
    enough = metrics.tags_with_enough_support(scored, "verified", config.min_eval_support)
    st.info(
        f"{counts['verified']:,} verified evaluation projects; {enough} of "
        f"{len(current.thresholds or {})} tags have {config.min_eval_support}+ verified "
        "positives. "
        + (
            "Too few to tell yet: read the all-labels figures. "
            if enough < len(current.thresholds or {}) / 2
            else "Enough for most tags: prefer these figures. "
        )
        + "About one judgement in five is of an evaluation project, so this grows with labelling."
    )
top = metrics.headline(scored, labels)
columns = st.columns(4)
columns[0].metric("Serving version", facts["version"])
columns[1].metric(
    "Weighted F1",
    f"{top.value:.3f}" if top.value is not None else "-",
    delta=top.change,
    delta_color="normal" if top.real else "off",
    delta_arrow="auto" if top.real else "off",
)
columns[2].metric("Training projects", f"{facts['train_projects']:,}")
columns[3].metric("Evaluation projects", f"{counts[labels]:,}")
if top.value is not None:
    st.caption(
        f"Weighted F1 95% interval: {top.low:.3f} to {top.high:.3f}. An interval "
        "is the range the figure would likely fall in on another sample of evaluation projects "
        "of the same size: two figures whose intervals overlap may not really differ."
    )
st.caption(
    f"Trained on the labels of {facts['train_projects']:,} projects (label snapshot "
    f"{facts['labels_hash']}), started by {escape_markdown(facts['started_by'])}, finished "
    f"{version_status.when_text(facts['finished_at'])} after "
    f"{version_status.duration_text(facts['duration_s'])}. Scores are measured on held-out "
    "projects the model never trains on. "
    + escape_markdown(
        f"Why it serves: {(current.promotion or {}).get('reason', 'newest ready version')}."
    )
)
st.dataframe(metrics.overall_frame(scored, labels), hide_index=True)
st.caption(
    "Rules is version 0: a tag is given when its name or an alias appears in the title or "
    "description, with its taxonomy parents. 'better' or 'worse' means the whole 95% interval "
    "of the difference (same projects, same labels, resampled together) is on one side of 0; "
    "otherwise 'can't tell'."
)

st.subheader("Per-tag quality")
per_class = metrics.version_per_class(current, labels, config.min_eval_support)
order = st.selectbox("Sort tags by", list(metrics.SORT_ORDERS))
shown = metrics.sorted_per_class(per_class, order)
st.altair_chart(charts.per_class_chart(shown), width="stretch")
st.caption(
    "Bars are F1 (higher is better) and the dark line its 95% interval: the range F1 would "
    "likely fall in on another sample of evaluation projects. The orange dot is precision, the "
    "green one recall. Tags with fewer than "
    f"{config.min_eval_support} positive evaluation projects read 'too few evaluation "
    "projects to tell' instead of a number."
)
st.dataframe(
    metrics.per_class_table(shown),
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="%.3f")
        for name in (
            "Precision",
            "Recall",
            "F1",
            "F1 low (95%)",
            "F1 high (95%)",
            "Rules F1",
            "F1 change",
            "Threshold",
        )
    },
)
st.download_button(
    "Download per-tag metrics (CSV)",
    metrics.per_class_csv(shown),
    file_name=f"labelloop-model-v{current.id}-per-tag.csv",
    mime="text/csv",
)

st.subheader("What the last retrain changed")
sentence = metrics.change_sentence(scored, labels)
if sentence is None:
    st.info("There is no earlier version compared on the same labels yet.")
else:
    st.write(sentence)
change_frame = metrics.change_frame(per_class)
if not change_frame.empty and facts["previous_version"]:
    previous = f"v{facts['previous_version']}"
    st.altair_chart(charts.change_chart(change_frame, previous, f"v{current.id}"), width="stretch")
    st.caption(
        f"Each tag's F1 change from {previous} to v{current.id}, as each was scored when it "
        "was trained (labels may have changed in between): the verdict column of the table "
        "above says which changes are real."
    )

st.subheader("Every version on today's labels")
rescored = metrics.rescored_frame(scored)
if rescored.empty:
    st.info("This version was trained before versions were re-scored on the same labels.")
else:
    st.altair_chart(
        charts.rescored_chart(rescored, f"v{current.id}'s training, all labels"), width="stretch"
    )
    st.caption(
        "Each version's weighted F1 re-scored on the labels of the serving version's training, "
        "so the line shows what the models learned, not what people relabelled; the whiskers "
        "are 95% intervals."
    )

st.subheader("What is new in the latest import")
if st.button("Check the latest import against the model"):
    report, why_not = drift.check_import(make_session, None)
    if report is None:
        st.error(escape_markdown(why_not))
    else:
        st.text(
            f"Import batch {report['batch']} ({report['file']}): {report['projects']:,} new "
            f"projects, checked with v{report['model_version']}"
        )
        st.dataframe(drift.summary_rows(report), hide_index=True)
        st.caption(
            "A batch unlike the catalogue (many unseen words, a shifted tag mix, many projects "
            "without a confident tag) is where the model's figures above hold least; label "
            "some of it before trusting its suggestions. The checks are kept for Insights, and "
            "the projects without a confident tag go to annotators first while "
            "LABELLOOP_NEW_TOPICS_FIRST is on. Full lists: python -m labeling drift --json."
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
    version_status.versions_frame(versions, names, current.id),
    hide_index=True,
    column_config={
        name: st.column_config.NumberColumn(format="%.3f")
        for name in ("Micro F1", "Macro F1", "Weighted F1")
    },
)
ready = [v.id for v in metrics.ready_versions(versions)]
st.caption(
    f"Version {current.id} serves. A new version serves only when it is not worse than the "
    f"serving one (rule: {escape_markdown(config.promotion_rule)}); a manager can promote or "
    "roll back to any ready version."
)
others = [v for v in reversed(ready) if v != current.id]
if others:
    chosen = st.selectbox("Version to serve", others)
    if st.button("Promote or roll back to this version"):
        promote(chosen)

st.subheader("Compare two versions on today's labels")
choices = [0, *ready]
left, right = st.columns(2)
a_id = left.selectbox(
    "Compare version", choices, index=max(len(choices) - 2, 0), format_func=metrics.version_name
)
b_id = right.selectbox(
    "with version", choices, index=len(choices) - 1, format_func=metrics.version_name
)
if st.button("Compare on today's labels"):
    try:
        with make_session() as session:
            compared = assessment.compare_versions(
                session, a_id, b_id, config.trust_source_tags, config.min_eval_support
            )
    except assessment.ComparisonError as error:
        st.error(escape_markdown(str(error)))
    else:
        for which in ("all", "verified"):
            a_name, b_name = metrics.version_name(a_id), metrics.version_name(b_id)
            overall, per_tag = metrics.paired_frames(compared[which], a_name, b_name)
            st.markdown(
                f"**{'All effective labels' if which == 'all' else 'Verified labels only'}** "
                f"({compared[which]['n']:,} evaluation projects)"
            )
            st.dataframe(overall, hide_index=True)
            st.dataframe(per_tag, hide_index=True)
        st.caption(
            f"{b_name} minus {a_name} on the same evaluation projects and today's labels; "
            "'better' or 'worse' only when the whole 95% interval of the difference is on one "
            "side of 0."
        )
