"""Agreement charts, checked through their Vega-Lite specs (AppTest cannot see inside them)."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import pytest

from labeling.agreement import AgreementReport, agreement_from_judgements
from labeling.charts.agreement import (
    CAPTIONS,
    TRUSTED,
    TRUSTED_COLOUR,
    UNTRUSTED,
    UNTRUSTED_COLOUR,
    annotator_heatmap,
    annotator_pairs_frame,
    disputed_frame,
    disputed_tags_chart,
    has_data,
    per_tag_agreement_chart,
    per_tag_frame,
)

X, Y, W = frozenset({"x"}), frozenset({"y"}), frozenset({"w"})
NONE: frozenset[str] = frozenset()


def sample_report() -> AgreementReport:
    """a and b judge 10 projects: they agree on x everywhere (present on 5), differ on y on
    4 projects, and w is applied by a once; c judges projects 0 and 1 (x only, as a and b)."""
    judgements: dict[int, dict[str, frozenset[str]]] = {}
    for i in range(10):
        x = X if i < 5 else NONE
        judgements[i] = {"a": x | (Y if i < 6 else NONE), "b": x | (Y if 2 <= i < 4 else NONE)}
    judgements[0]["a"] |= W
    judgements[0]["c"] = X
    judgements[1]["c"] = X
    return agreement_from_judgements(judgements, {}, ["w", "x", "y", "z"])


def _layers(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["mark"]["type"]: layer for layer in spec["layer"]}


def _rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["datasets"][spec["data"]["name"]]


def _tooltip_fields(layer: dict[str, Any]) -> list[str]:
    return [tip["field"] for tip in layer["encoding"]["tooltip"]]


def test_per_tag_chart_sorts_weakest_first_and_greys_untrusted_tags() -> None:
    frame = per_tag_frame(sample_report())
    # y: a present on 0-5, b on 2-3 -> alpha < 1; x: perfect -> 1.0; w tagged on 1 project
    # (below 5) and z never applied: untrusted, after the trusted ones, by name.
    assert frame["tag"].tolist() == ["y", "x", "w", "z"]
    assert frame["reliability"].tolist() == [TRUSTED, TRUSTED, UNTRUSTED, UNTRUSTED]
    spec = per_tag_agreement_chart(frame).to_dict()
    layers = _layers(spec)
    bar = layers["bar"]["encoding"]
    assert (bar["x"]["field"], bar["y"]["field"]) == ("alpha", "tag")
    assert bar["y"]["sort"] == ["y", "x", "w", "z"]
    assert bar["x"]["title"] == "Agreement (bar: Krippendorff's alpha)"
    assert bar["color"]["scale"] == {
        "domain": [TRUSTED, UNTRUSTED],
        "range": [TRUSTED_COLOUR, UNTRUSTED_COLOUR],
    }
    assert layers["tick"]["encoding"]["x"]["field"] == "positive_agreement"
    assert _tooltip_fields(layers["bar"]) == [
        "tag",
        "alpha",
        "positive_agreement",
        "negative_agreement",
        "kappa_mean",
        "projects",
        "tagged_projects",
        "disputed_projects",
        "note",
    ]
    assert {tip["field"]: tip.get("format") for tip in bar["tooltip"]}["alpha"] == ".3f"
    assert layers["text"]["encoding"]["text"]["field"] == "note"
    notes = {row["tag"]: row["note"] for row in _rows(spec)}
    assert notes == {
        "y": "",
        "x": "",
        "w": "not enough data (n=1 tagged projects)",
        "z": "one class only: kappa/alpha undefined",
    }


def test_per_tag_axis_reaches_below_zero_for_negative_alpha() -> None:
    frame = per_tag_frame(sample_report())
    frame.loc[0, "alpha"] = -0.25
    bar = _layers(per_tag_agreement_chart(frame).to_dict())["bar"]["encoding"]
    assert bar["x"]["scale"]["domain"] == [-0.25, 1.0]


def test_disputed_chart_counts_shares_and_order() -> None:
    frame = disputed_frame(sample_report())
    # y differs on projects 0, 1, 4, 5 (4 of 10); w on project 0 (1 of 10); x never.
    assert frame[["tag", "disputed_projects", "projects"]].values.tolist() == [
        ["y", 4, 10],
        ["w", 1, 10],
    ]
    assert frame["share"].tolist() == pytest.approx([0.4, 0.1])
    spec = disputed_tags_chart(frame).to_dict()
    layers = _layers(spec)
    bar = layers["bar"]["encoding"]
    assert (bar["x"]["field"], bar["y"]["field"], bar["y"]["sort"]) == (
        "disputed_projects",
        "tag",
        ["y", "w"],
    )
    assert _tooltip_fields(layers["bar"]) == ["tag", "disputed_projects", "projects", "share"]
    assert bar["tooltip"][3]["format"] == ".1%"
    assert [row["share_text"] for row in _rows(spec)] == ["40%", "10%"]
    assert disputed_frame(sample_report(), top=1)["tag"].tolist() == ["y"]


def test_heatmap_is_symmetric_and_marks_pairs_without_enough_data() -> None:
    frame = annotator_pairs_frame(sample_report())
    cells = {(row.annotator, row.other): row for row in frame.itertuples()}
    assert set(cells) == {("a", "b"), ("b", "a"), ("a", "c"), ("c", "a"), ("b", "c"), ("c", "b")}
    assert cells["a", "b"].kappa == cells["b", "a"].kappa
    assert cells["a", "b"].trusted and cells["a", "b"].label == f"{cells['a', 'b'].kappa:.2f}"
    assert not cells["a", "c"].trusted
    assert (cells["a", "c"].label, cells["a", "c"].shared_projects) == ("n=2", 2)
    spec = annotator_heatmap(frame).to_dict()
    trusted, untrusted, labels = spec["layer"]
    assert trusted["encoding"]["color"]["field"] == "kappa"
    assert trusted["encoding"]["color"]["scale"]["domain"] == [-1, 1]
    assert trusted["transform"] == [{"filter": "datum.trusted"}]
    assert untrusted["mark"]["color"] == UNTRUSTED_COLOUR
    assert untrusted["transform"] == [{"filter": "(!datum.trusted)"}]
    assert labels["encoding"]["text"]["field"] == "label"
    assert trusted["encoding"]["x"]["sort"] == ["a", "b", "c"]
    assert _tooltip_fields(trusted) == [
        "annotator",
        "other",
        "kappa",
        "observed_agreement",
        "shared_projects",
        "note",
    ]


@pytest.mark.parametrize(
    ("make_frame", "chart"),
    [
        (per_tag_frame, per_tag_agreement_chart),
        (disputed_frame, disputed_tags_chart),
        (annotator_pairs_frame, annotator_heatmap),
    ],
)
def test_charts_render_on_an_empty_report(make_frame: Any, chart: Any) -> None:
    frame: pd.DataFrame = make_frame(agreement_from_judgements({}, {}, []))
    assert frame.empty and not has_data(frame)
    rendered = chart(frame)
    assert isinstance(rendered, alt.LayerChart)
    assert _rows(rendered.to_dict()) == []


def test_captions_cover_every_chart() -> None:
    assert set(CAPTIONS) == {"per_tag", "disputed", "annotators"}
    assert all(caption.strip() and "\n" not in caption for caption in CAPTIONS.values())
