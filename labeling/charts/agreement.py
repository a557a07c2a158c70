"""Agreement charts: per-tag agreement, the most disputed tags, and annotator × annotator kappa.

Each chart takes the DataFrame of its ``*_frame(report)`` function and renders on an empty one
too (pages call them on empty databases); ``has_data`` tells a page whether to show a chart or
a "nothing to show yet" line.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from labeling.agreement import OK, AgreementReport, weakest_first
from labeling.charts.common import TAG_AXIS, rows_height

TRUSTED_COLOUR = "#1f77b4"
UNTRUSTED_COLOUR = "#c7c7c7"
TICK_COLOUR = "#333333"
TRUSTED = "enough data"
UNTRUSTED = "too few or undefined"

CAPTIONS: dict[str, str] = {
    "per_tag": (
        "Tags at the top are agreed on least: read their definitions first. Grey bars rest on "
        "too few projects to trust; the tick is how often a tag applied by one annotator is "
        "applied by another."
    ),
    "disputed": (
        "The tags annotators most often disagree on, with the share of doubly judged projects "
        "in dispute: candidates for clearer guidelines."
    ),
    "annotators": (
        "Cohen's kappa of each annotator pair on their shared projects: one row paler than the "
        "others points at an annotator who reads the tags differently; grey cells share too "
        "few projects to trust."
    ),
}

PER_TAG_COLUMNS = (
    "tag",
    "alpha",
    "positive_agreement",
    "negative_agreement",
    "observed_agreement",
    "kappa_mean",
    "projects",
    "tagged_projects",
    "disputed_projects",
    "reliability",
    "note",
)
DISPUTED_COLUMNS = ("tag", "disputed_projects", "projects", "share", "share_text")
PAIR_COLUMNS = (
    "annotator",
    "other",
    "kappa",
    "observed_agreement",
    "shared_projects",
    "trusted",
    "note",
    "label",
)


def has_data(frame: pd.DataFrame) -> bool:
    return not frame.empty


def _reliability_scale() -> alt.Scale:
    return alt.Scale(domain=[TRUSTED, UNTRUSTED], range=[TRUSTED_COLOUR, UNTRUSTED_COLOUR])


def per_tag_frame(report: AgreementReport) -> pd.DataFrame:
    """One row per active tag, weakest agreement first."""
    rows = [
        {
            "tag": row["tag"],
            "alpha": row["alpha"],
            "positive_agreement": row["positive_agreement"],
            "negative_agreement": row["negative_agreement"],
            "observed_agreement": row["observed_agreement"],
            "kappa_mean": row["kappa_mean"],
            "projects": row["projects"],
            "tagged_projects": row["tagged_projects"],
            "disputed_projects": row["disputed_projects"],
            "reliability": TRUSTED if row["status"] == OK else UNTRUSTED,
            "note": row["note"],
        }
        for row in weakest_first(report.per_tag)
    ]
    return pd.DataFrame(rows, columns=list(PER_TAG_COLUMNS))


def per_tag_agreement_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Krippendorff's alpha per tag as bars (grey where not to be trusted) with positive
    agreement as a tick, weakest tag at the top; the note saying why a figure is missing or
    not to be trusted is written over the left of its row, where the light grey bar keeps it
    readable."""
    order = frame["tag"].tolist()
    lowest = min([0.0, *frame["alpha"].dropna().tolist()])
    x_scale = alt.Scale(domain=[lowest, 1.0], nice=False)
    y = alt.Y("tag:N", sort=order, title="Tag (weakest agreement first)", axis=TAG_AXIS)
    tooltip = [
        alt.Tooltip("tag:N", title="Tag"),
        alt.Tooltip("alpha:Q", title="Krippendorff's alpha", format=".3f"),
        alt.Tooltip("positive_agreement:Q", title="Positive agreement", format=".3f"),
        alt.Tooltip("negative_agreement:Q", title="Negative agreement", format=".3f"),
        alt.Tooltip("kappa_mean:Q", title="Mean pair kappa", format=".3f"),
        alt.Tooltip("projects:Q", title="Projects judged by ≥2 (n)"),
        alt.Tooltip("tagged_projects:Q", title="Projects where anyone applied it"),
        alt.Tooltip("disputed_projects:Q", title="Disputed projects"),
        alt.Tooltip("note:N", title="Note"),
    ]
    base = alt.Chart(frame)
    bars = base.mark_bar().encode(
        x=alt.X("alpha:Q", title="Agreement (bar: Krippendorff's alpha)", scale=x_scale),
        y=y,
        color=alt.Color("reliability:N", scale=_reliability_scale(), title="Sample"),
        tooltip=tooltip,
    )
    ticks = base.mark_tick(color=TICK_COLOUR, thickness=2).encode(
        x=alt.X("positive_agreement:Q", scale=x_scale), y=y, tooltip=tooltip
    )
    notes = base.mark_text(align="left", color=TICK_COLOUR, fontSize=10).encode(
        x=alt.value(4), y=y, text="note:N"
    )
    return alt.layer(bars, ticks, notes).properties(
        title="Agreement per tag: alpha (bars) and positive agreement (ticks)",
        width=520,
        height=rows_height(len(order)),
    )


def disputed_frame(report: AgreementReport, top: int = 15) -> pd.DataFrame:
    """The ``top`` most disputed tags, most disputed first."""
    rows = [
        {
            "tag": row["tag"],
            "disputed_projects": row["disputed_projects"],
            "projects": row["projects"],
            "share": row["share"],
            "share_text": f"{row['share']:.0%}",
        }
        for row in report.disputed[:top]
    ]
    return pd.DataFrame(rows, columns=list(DISPUTED_COLUMNS))


def disputed_tags_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Projects in dispute per tag, most disputed at the top, the share written at each bar."""
    y = alt.Y("tag:N", sort=frame["tag"].tolist(), title="Tag (most disputed first)", axis=TAG_AXIS)
    x = alt.X(
        "disputed_projects:Q",
        title="Projects where annotators differ on the tag",
        axis=alt.Axis(format="d", tickMinStep=1),
    )
    tooltip = [
        alt.Tooltip("tag:N", title="Tag"),
        alt.Tooltip("disputed_projects:Q", title="Disputed projects"),
        alt.Tooltip("projects:Q", title="Projects judged by ≥2 (n)"),
        alt.Tooltip("share:Q", title="Share disputed", format=".1%"),
    ]
    base = alt.Chart(frame)
    bars = base.mark_bar(color="#ff7f0e").encode(x=x, y=y, tooltip=tooltip)
    shares = base.mark_text(align="left", dx=4, fontSize=10).encode(
        x=x, y=y, text="share_text:N", tooltip=tooltip
    )
    return alt.layer(bars, shares).properties(
        title="Most disputed tags", width=520, height=rows_height(len(frame))
    )


def annotator_pairs_frame(report: AgreementReport) -> pd.DataFrame:
    """Both orientations of every pair sharing a project, so that the heat map is symmetric."""
    rows = []
    for pair in report.pairs:
        trusted = pair["enough_data"] and pair["kappa"] is not None
        if trusted:
            label = f"{pair['kappa']:.2f}"
        elif not pair["enough_data"]:
            label = f"n={pair['shared_projects']}"
        else:
            label = "n/a"
        for annotator, other in (
            (pair["annotator_a"], pair["annotator_b"]),
            (pair["annotator_b"], pair["annotator_a"]),
        ):
            rows.append(
                {
                    "annotator": annotator,
                    "other": other,
                    "kappa": pair["kappa"],
                    "observed_agreement": pair["observed_agreement"],
                    "shared_projects": pair["shared_projects"],
                    "trusted": trusted,
                    "note": pair["note"],
                    "label": label,
                }
            )
    return pd.DataFrame(rows, columns=list(PAIR_COLUMNS))


def annotator_heatmap(frame: pd.DataFrame) -> alt.LayerChart:
    """Kappa per annotator pair (red below chance, blue above); pairs with too few shared
    projects, or an undefined kappa, are grey cells labelled with their n."""
    names = sorted(set(frame["annotator"]))
    x = alt.X("other:N", sort=names, title="Other annotator", axis=alt.Axis(labelAngle=0))
    y = alt.Y("annotator:N", sort=names, title="Annotator")
    tooltip = [
        alt.Tooltip("annotator:N", title="Annotator"),
        alt.Tooltip("other:N", title="Other annotator"),
        alt.Tooltip("kappa:Q", title="Cohen's kappa", format=".3f"),
        alt.Tooltip("observed_agreement:Q", title="Observed agreement", format=".3f"),
        alt.Tooltip("shared_projects:Q", title="Shared projects (n)"),
        alt.Tooltip("note:N", title="Note"),
    ]
    base = alt.Chart(frame)
    trusted = (
        base.mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "kappa:Q",
                title="Cohen's kappa",
                scale=alt.Scale(scheme="redblue", domain=[-1, 1], domainMid=0),
            ),
            tooltip=tooltip,
        )
        .transform_filter(alt.datum.trusted)
    )
    untrusted = (
        base.mark_rect(color=UNTRUSTED_COLOUR)
        .encode(x=x, y=y, tooltip=tooltip)
        .transform_filter(~alt.datum.trusted)
    )
    labels = base.mark_text(fontSize=11).encode(x=x, y=y, text="label:N", tooltip=tooltip)
    return alt.layer(trusted, untrusted, labels).properties(
        title="Annotator × annotator agreement (Cohen's kappa)",
        width=alt.Step(60),
        height=alt.Step(40),
    )
