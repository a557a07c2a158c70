"""Model charts: per-class quality, its change between versions, overall F1 over versions,
thresholds and how many tags the model gives a project."""

from __future__ import annotations

import altair as alt
import pandas as pd

from labeling.charts.common import TAG_AXIS, rows_height

# One colour per metric in every model chart: F1 is the bar a reader compares, precision and
# recall the two dots that say why it is low.
METRIC_COLOURS: dict[str, str] = {
    "F1": "#4c78a8",
    "Precision": "#f58518",
    "Recall": "#54a24b",
    "Micro F1": "#72b7b2",
    "Macro F1": "#e45756",
    "Weighted F1": "#4c78a8",
}
GAIN_COLOUR = "#2ca02c"
LOSS_COLOUR = "#d62728"
NO_DATA_GREY = "#8c8c8c"
# Every tag named: Vega would otherwise hide labels it thinks collide, and cut long names.


def _metric_scale(metrics: list[str]) -> alt.Scale:
    return alt.Scale(domain=metrics, range=[METRIC_COLOURS[m] for m in metrics])


def per_class_chart(per_class: pd.DataFrame) -> alt.LayerChart:
    """F1 per tag as a bar with precision and recall as dots, in the frame's row order (the
    page's sort choice); unmeasured tags (too little data, or no evaluation project) get a
    grey note instead of bars, so they read as unknown, not as zero."""
    order = per_class["tag"].tolist()
    y = alt.Y("tag:N", sort=order, title="Tag", axis=TAG_AXIS)
    x_scale = alt.Scale(domain=[0, 1])
    rated = per_class[per_class["measured"]].copy()
    rated["metric"] = "F1"
    tooltip = [
        alt.Tooltip("tag:N", title="Tag"),
        alt.Tooltip("f1:Q", title="F1", format=".3f"),
        alt.Tooltip("precision:Q", title="Precision", format=".3f"),
        alt.Tooltip("recall:Q", title="Recall", format=".3f"),
        alt.Tooltip("support:Q", title="Evaluation projects"),
        alt.Tooltip("training_projects:Q", title="Training projects"),
        alt.Tooltip("f1_change:Q", title="F1 change vs previous", format="+.3f"),
    ]
    scale = _metric_scale(["F1", "Precision", "Recall"])
    bars = (
        alt.Chart(rated)
        .mark_bar(opacity=0.55)
        .encode(
            x=alt.X("f1:Q", title="Score on the evaluation split", scale=x_scale),
            y=y,
            color=alt.Color("metric:N", scale=scale, title="Metric"),
            tooltip=tooltip,
        )
    )
    dots_frame = rated.melt(
        id_vars=["tag", "support", "training_projects", "f1", "f1_change"],
        value_vars=["precision", "recall"],
        var_name="metric",
        value_name="value",
    )
    dots_frame["metric"] = dots_frame["metric"].str.title()
    dots = (
        alt.Chart(dots_frame)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("value:Q", scale=x_scale),
            y=y,
            color=alt.Color("metric:N", scale=scale, title="Metric"),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("metric:N", title="Metric"),
                alt.Tooltip("value:Q", title="Value", format=".3f"),
                alt.Tooltip("f1:Q", title="F1", format=".3f"),
                alt.Tooltip("support:Q", title="Evaluation projects"),
            ],
        )
    )
    whiskers = (
        alt.Chart(
            rated.dropna(subset=["f1_low", "f1_high"]) if "f1_low" in rated else rated.iloc[:0]
        )
        .mark_rule(color="#1f3b57", strokeWidth=2)
        .encode(
            x=alt.X("f1_low:Q", scale=x_scale),
            x2="f1_high:Q",
            y=y,
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("f1:Q", title="F1", format=".3f"),
                alt.Tooltip("f1_low:Q", title="95% interval from", format=".3f"),
                alt.Tooltip("f1_high:Q", title="to", format=".3f"),
                alt.Tooltip("support:Q", title="Evaluation projects"),
            ],
        )
    )
    unrated = per_class[~per_class["measured"]]
    notes = (
        alt.Chart(unrated)
        .mark_text(align="left", dx=4, color=NO_DATA_GREY, fontStyle="italic")
        .encode(
            x=alt.datum(0),
            y=y,
            text="note:N",
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("training_projects:Q", title="Training projects"),
                alt.Tooltip("note:N", title="Why no score"),
            ],
        )
    )
    return alt.layer(bars, whiskers, dots, notes).properties(
        title="Per-tag quality: F1 bar with its 95% interval, precision and recall dots",
        height=rows_height(len(order)),
    )


def change_chart(change: pd.DataFrame, before_label: str, after_label: str) -> alt.Chart:
    """F1 change per tag (after minus before), gains green and losses red, in the frame's row
    order (biggest loss first), with both F1 values in the tooltip."""
    frame = change[change["change"].notna()].copy()
    frame["direction"] = ["gain" if c >= 0 else "loss" for c in frame["change"]]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("change:Q", title=f"F1 change, {after_label} minus {before_label}"),
            y=alt.Y("tag:N", sort=frame["tag"].tolist(), title="Tag", axis=TAG_AXIS),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["gain", "loss"], range=[GAIN_COLOUR, LOSS_COLOUR]),
                title="Direction",
            ),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("before:Q", title=f"F1 {before_label}", format=".3f"),
                alt.Tooltip("after:Q", title=f"F1 {after_label}", format=".3f"),
                alt.Tooltip("change:Q", title="Change", format="+.3f"),
            ],
        )
        .properties(
            title=f"F1 change per tag: {after_label} against {before_label}",
            height=rows_height(len(frame)),
        )
    )


def overall_history_chart(history: pd.DataFrame) -> alt.Chart:
    """Micro, macro and weighted F1 of every ready version, with each version's training
    labels and finishing time in the tooltip: is labelling paying off?"""
    metrics = [m for m in METRIC_COLOURS if m in set(history["metric"])]
    return (
        alt.Chart(history)
        .mark_line(point=alt.OverlayMarkDef(size=60, filled=True))
        .encode(
            x=alt.X("version:O", title="Model version", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title="F1 on the evaluation split", scale=alt.Scale(zero=False)),
            color=alt.Color("metric:N", scale=_metric_scale(metrics), title="Average"),
            tooltip=[
                alt.Tooltip("version:O", title="Version"),
                alt.Tooltip("metric:N", title="Average"),
                alt.Tooltip("value:Q", title="F1", format=".3f"),
                alt.Tooltip("train_projects:Q", title="Training projects", format=","),
                alt.Tooltip("eval_projects:Q", title="Evaluation projects", format=","),
                alt.Tooltip("finished:T", title="Finished", format="%Y-%m-%d %H:%M"),
            ],
        )
        .properties(title="Overall F1 across model versions", height=300)
    )


def threshold_chart(thresholds: pd.DataFrame) -> alt.Chart:
    """Each tag's decision threshold, by name, with the plain 0.5 marked for reference: a low
    threshold means the model is rarely confident about that tag."""
    bars = (
        alt.Chart(thresholds)
        .mark_bar(color=METRIC_COLOURS["F1"])
        .encode(
            x=alt.X("threshold:Q", title="Probability threshold", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("tag:N", sort=thresholds["tag"].tolist(), title="Tag", axis=TAG_AXIS),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("threshold:Q", title="Threshold", format=".3f"),
            ],
        )
    )
    half = (
        alt.Chart(pd.DataFrame({"threshold": [0.5]}))
        .mark_rule(strokeDash=[4, 4], color="#333333")
        .encode(x="threshold:Q")
    )
    return alt.layer(bars, half).properties(
        title="Per-tag decision thresholds", height=rows_height(len(thresholds))
    )


def predicted_tags_chart(tags_per_project: pd.DataFrame) -> alt.Chart:
    """How many projects the model gives 0, 1, 2, ... tags (probability at or above the tag's
    threshold): a big bar at 0 means projects nobody can find by tag."""
    total = int(tags_per_project["projects"].sum())
    frame = tags_per_project.assign(share=tags_per_project["projects"] / total if total else 0.0)
    return (
        alt.Chart(frame)
        .mark_bar(color=METRIC_COLOURS["F1"])
        .encode(
            x=alt.X(
                "predicted_tags:O", title="Predicted tags per project", axis=alt.Axis(labelAngle=0)
            ),
            y=alt.Y("projects:Q", title="Projects"),
            tooltip=[
                alt.Tooltip("predicted_tags:O", title="Predicted tags"),
                alt.Tooltip("projects:Q", title="Projects", format=","),
                alt.Tooltip("share:Q", title="Share of projects", format=".1%"),
            ],
        )
        .properties(title="Number of predicted tags per project", height=260)
    )


def rescored_chart(rescored: pd.DataFrame, labels_of: str) -> alt.LayerChart:
    """Weighted F1 of every version (and of the rules) re-scored on the same, current labels,
    with its 95% interval as a whisker: overlapping whiskers mean the versions may not differ."""
    x = alt.X("label:N", sort=rescored["label"].tolist(), title="Version (rules = baseline)")
    x = x.axis(labelAngle=0)
    points = (
        alt.Chart(rescored)
        .mark_point(filled=True, size=80, color=METRIC_COLOURS["Weighted F1"])
        .encode(
            x=x,
            y=alt.Y("value:Q", title="Weighted F1", scale=alt.Scale(domain=[0, 1])),
            tooltip=[
                alt.Tooltip("label:N", title="Version"),
                alt.Tooltip("value:Q", title="Weighted F1", format=".3f"),
                alt.Tooltip("low:Q", title="95% interval from", format=".3f"),
                alt.Tooltip("high:Q", title="to", format=".3f"),
                alt.Tooltip("n:Q", title="Evaluation projects", format=","),
            ],
        )
    )
    whiskers = (
        alt.Chart(rescored)
        .mark_rule(color=METRIC_COLOURS["Weighted F1"], strokeWidth=2)
        .encode(x=x, y="low:Q", y2="high:Q")
    )
    return alt.layer(whiskers, points).properties(
        title=f"Every version re-scored on today's labels ({labels_of})", height=300
    )
