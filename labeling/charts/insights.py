"""Insights charts: labelling progress, throughput, tag coverage, suspected tag errors and what
is new in the latest import."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from labeling.charts.common import STATUS_COLOURS, TAG_AXIS, rows_height
from labeling.insights import ACTIVITY_SERIES, EFFECTIVE, LABEL_SETS, MODEL, SOURCE

# The same three colours wherever source tags, effective labels and model predictions meet:
# grey for where the catalogue started, blue for what people decided, green for what a
# search now finds.
LABEL_SET_COLOURS: dict[str, str] = {SOURCE: "#9e9e9e", EFFECTIVE: "#1f77b4", MODEL: "#2ca02c"}
# Projects judged in the "single" status colour and resolutions in the "resolved" one, so the
# lines read like the statuses they produce.
ACTIVITY_COLOURS: dict[str, str] = dict(
    zip(
        ACTIVITY_SERIES,
        ("#6a51a3", STATUS_COLOURS["single"], STATUS_COLOURS["resolved"]),
        strict=True,
    )
)
IMPORT_COLOURS = {"this import": "#ff7f0e", "the catalogue": "#9e9e9e"}
SUSPICION_COLOURS = {"probably missing": "#ff7f0e", "probably wrong": "#d62728"}
UNKNOWN_STATUS_COLOUR = "#7f7f7f"


def _scale(colours: dict[str, str], present: list[str]) -> alt.Scale:
    domain = [name for name in colours if name in present]
    return alt.Scale(domain=domain, range=[colours[name] for name in domain])


def status_chart(statuses: pd.DataFrame) -> alt.Chart:
    """Projects per label status in workflow order, each status in its fixed colour; statuses
    without a fixed colour (a newer workflow step) are grey rather than missing."""
    order = statuses["status"].tolist()
    total = int(statuses["projects"].sum())
    frame = statuses.assign(share=statuses["projects"] / total if total else 0.0)
    scale = alt.Scale(
        domain=order, range=[STATUS_COLOURS.get(s, UNKNOWN_STATUS_COLOUR) for s in order]
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("projects:Q", title="Projects"),
            y=alt.Y("status:N", sort=order, title="Label status"),
            color=alt.Color("status:N", scale=scale, legend=None),
            tooltip=[
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("projects:Q", title="Projects", format=","),
                alt.Tooltip("share:Q", title="Share of the catalogue", format=".1%"),
            ],
        )
        .properties(title="Projects by label status", height=rows_height(len(order), 28))
    )


def activity_chart(activity: pd.DataFrame) -> alt.Chart:
    """Running totals per day of judgements, projects judged at least once, and resolutions,
    with that day's own count in the tooltip."""
    scale = _scale(ACTIVITY_COLOURS, activity["series"].unique().tolist())
    return (
        alt.Chart(activity)
        .mark_line(point=True, interpolate="step-after")
        .encode(
            x=alt.X("day:T", title="Day", axis=alt.Axis(format="%b %d", tickCount="day")),
            y=alt.Y("cumulative:Q", title="Running total"),
            color=alt.Color("series:N", scale=scale, title="What"),
            tooltip=[
                alt.Tooltip("day:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("series:N", title="What"),
                alt.Tooltip("count:Q", title="That day", format=","),
                alt.Tooltip("cumulative:Q", title="Running total", format=","),
            ],
        )
        .properties(title="Labelling progress over time", height=280)
    )


def throughput_chart(throughput: pd.DataFrame) -> alt.Chart:
    """Judgements per day stacked by annotator (annotators sorted by name, so each keeps its
    place and colour between reruns)."""
    annotators = sorted(throughput["annotator"].unique().tolist())
    return (
        alt.Chart(throughput)
        .mark_bar()
        .encode(
            x=alt.X(
                "yearmonthdate(day):O",
                title="Day",
                axis=alt.Axis(format="%b %d", labelAngle=0),
            ),
            y=alt.Y("judgements:Q", title="Judgements", stack="zero"),
            color=alt.Color(
                "annotator:N",
                sort=annotators,
                scale=alt.Scale(domain=annotators, scheme="tableau20"),
                title="Annotator",
            ),
            order=alt.Order("annotator:N"),
            tooltip=[
                alt.Tooltip("day:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("annotator:N", title="Annotator"),
                alt.Tooltip("judgements:Q", title="Judgements", format=","),
                alt.Tooltip("skips:Q", title="Skips", format=","),
            ],
        )
        .properties(title="Judgements per annotator per day", height=280)
    )


def tag_distribution_chart(long: pd.DataFrame, order: list[str]) -> alt.Chart:
    """Projects per tag in the source tags and the effective labels, side by side, tags in
    the given order."""
    frame = long[long["label_set"].isin([SOURCE, EFFECTIVE])]
    return _grouped_tag_bars(frame, order, "Tag distribution: source tags and effective labels")


def discoverability_chart(long: pd.DataFrame, order: list[str]) -> alt.LayerChart:
    """Per tag, one row with a dot for each label set (source tags, effective labels, model
    predictions) and a line between the smallest and largest: the green dot is how many
    projects a person searching that tag now finds, its distance from the grey one what
    labelling and the model added."""
    sets = [s for s in LABEL_SETS if s in set(long["label_set"])]
    y = alt.Y("tag:N", sort=order, title="Tag", axis=TAG_AXIS)
    spread = long.groupby("tag", as_index=False)["projects"].agg(low="min", high="max")
    line = (
        alt.Chart(spread)
        .mark_rule(color="#c7c7c7", strokeWidth=2)
        .encode(x=alt.X("low:Q", title="Projects"), x2="high:Q", y=y)
    )
    dots = (
        alt.Chart(long)
        .mark_point(filled=True, size=90, opacity=0.9)
        .encode(
            x=alt.X("projects:Q", title="Projects"),
            y=y,
            color=alt.Color(
                "label_set:N", scale=_scale(LABEL_SET_COLOURS, sets), sort=sets, title="Label set"
            ),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("label_set:N", title="Label set"),
                alt.Tooltip("projects:Q", title="Projects", format=","),
            ],
        )
    )
    return alt.layer(line, dots).properties(
        title="Projects findable under each tag", height=rows_height(len(order), 20)
    )


def _grouped_tag_bars(frame: pd.DataFrame, order: list[str], title: str) -> alt.Chart:
    sets = [s for s in LABEL_SETS if s in set(frame["label_set"])]
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("projects:Q", title="Projects"),
            y=alt.Y("tag:N", sort=order, title="Tag", axis=TAG_AXIS),
            yOffset=alt.YOffset("label_set:N", sort=sets),
            color=alt.Color(
                "label_set:N", scale=_scale(LABEL_SET_COLOURS, sets), sort=sets, title="Label set"
            ),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("label_set:N", title="Label set"),
                alt.Tooltip("projects:Q", title="Projects", format=","),
            ],
        )
        .properties(title=title, height=rows_height(len(order), 9 * len(sets)))
    )


def gain_chart(coverage: pd.DataFrame, top: int = 10) -> alt.Chart:
    """The tags with the largest gain in findable projects over the source tags (model
    predictions when a model exists, else effective labels), biggest first."""
    has_model = coverage["model"].notna().any()
    gain = "model_gain" if has_model else "effective_gain"
    now = "model" if has_model else "effective"
    frame = (
        coverage.sort_values([gain, "tag"], ascending=[False, True], kind="stable")
        .head(top)
        .rename(columns={gain: "gain", now: "now"})
        .loc[:, ["tag", "source", "now", "gain"]]
    )
    frame["label"] = [f"{g:+,.0f}" for g in frame["gain"]]
    now_title = MODEL if has_model else EFFECTIVE
    y = alt.Y("tag:N", sort=frame["tag"].tolist(), title="Tag", axis=TAG_AXIS)
    tooltip = [
        alt.Tooltip("tag:N", title="Tag"),
        alt.Tooltip("source:Q", title=f"Projects in the {SOURCE.lower()}", format=","),
        alt.Tooltip("now:Q", title=f"Projects in the {now_title.lower()}", format=","),
        alt.Tooltip("gain:Q", title="Gain", format="+,"),
    ]
    bars = (
        alt.Chart(frame)
        .mark_bar(color=LABEL_SET_COLOURS[now_title])
        .encode(
            x=alt.X(
                "gain:Q",
                title="More projects findable than with the source tags",
                axis=alt.Axis(format=",d", tickMinStep=1),
            ),
            y=y,
        )
        .encode(tooltip=tooltip)
    )
    labels = (
        alt.Chart(frame)
        .mark_text(align="left", dx=3)
        .encode(x="gain:Q", y=y, text="label:N", tooltip=tooltip)
    )
    return alt.layer(bars, labels).properties(
        title=f"Tags that gained the most findable projects (top {top})",
        height=rows_height(len(frame), 24),
    )


def tags_per_project_chart(tags_per_project: pd.DataFrame) -> alt.Chart:
    """How many projects have 0, 1, 2, ... tags in each label set, side by side."""
    sets = [s for s in LABEL_SETS if s in set(tags_per_project["label_set"])]
    return (
        alt.Chart(tags_per_project)
        .mark_bar()
        .encode(
            x=alt.X("tags:O", title="Tags per project", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("label_set:N", sort=sets),
            y=alt.Y("projects:Q", title="Projects"),
            color=alt.Color(
                "label_set:N", scale=_scale(LABEL_SET_COLOURS, sets), sort=sets, title="Label set"
            ),
            tooltip=[
                alt.Tooltip("tags:O", title="Tags per project"),
                alt.Tooltip("label_set:N", title="Label set"),
                alt.Tooltip("projects:Q", title="Projects", format=","),
            ],
        )
        .properties(title="Tags per project", height=280)
    )


def suspected_chart(suspected: pd.DataFrame) -> alt.Chart:
    """Per tag, projects that probably miss it and projects that probably carry it wrongly,
    stacked, most suspected tag first."""
    order = suspected["tag"].tolist()
    long = suspected.melt(
        id_vars="tag",
        value_vars=["probably_missing", "probably_wrong"],
        var_name="kind",
        value_name="projects",
    )
    long["kind"] = long["kind"].str.replace("_", " ")
    long = long.merge(suspected, on="tag")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("projects:Q", title="Projects with a suspected error", stack="zero"),
            y=alt.Y("tag:N", sort=order, title="Tag", axis=TAG_AXIS),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=list(SUSPICION_COLOURS), range=list(SUSPICION_COLOURS.values())
                ),
                title="Suspected error",
            ),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("probably_missing:Q", title="Probably missing", format=","),
                alt.Tooltip("probably_wrong:Q", title="Probably wrong", format=","),
            ],
        )
        .properties(title="Suspected tag errors per tag", height=rows_height(len(order), 20))
    )


def import_shift_chart(report: dict[str, Any], top: int = 10) -> alt.Chart:
    """The tags whose share of the model's predicted tags moved most between the import
    (labeling.drift.batch_report) and the catalogue, side by side, with each side's n in the
    title: a share of 30% means little when it is 3 of 10 predicted tags."""
    shift = report["tag_distribution"]
    moved = shift["tags"][:top]
    order = [row["tag"] for row in moved]
    frame = pd.DataFrame(
        [
            {"tag": row["tag"], "side": side, "share": row[key]}
            for row in moved
            for side, key in (("this import", "batch_share"), ("the catalogue", "catalogue_share"))
        ],
        columns=["tag", "side", "share"],
    )
    sides = list(IMPORT_COLOURS)
    title = (
        f"Predicted tags: this import ({shift['batch_tags']:,} on {report['projects']:,} "
        f"projects) vs the catalogue ({shift['catalogue_tags']:,})"
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="Share of predicted tags", axis=alt.Axis(format="%")),
            y=alt.Y("tag:N", sort=order, title="Tag", axis=TAG_AXIS),
            yOffset=alt.YOffset("side:N", sort=sides),
            color=alt.Color("side:N", scale=_scale(IMPORT_COLOURS, sides), sort=sides, title=""),
            tooltip=[
                alt.Tooltip("tag:N", title="Tag"),
                alt.Tooltip("side:N", title="Among"),
                alt.Tooltip("share:Q", title="Share of predicted tags", format=".1%"),
            ],
        )
        .properties(title=title, height=rows_height(len(order), 18))
    )
