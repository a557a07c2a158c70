"""Insights chart builders, checked through their Vega-Lite specs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from labeling import insights
from labeling.charts import insights as charts
from labeling.charts.common import STATUS_COLOURS

COVERAGE = insights.coverage_frame(
    {"nlp": 10, "audio": 4, "graphs": 6},
    {"nlp": 12, "audio": 4, "graphs": 6},
    {"nlp": 15, "audio": 9, "graphs": 5},
)


def _rows(spec: dict[str, Any], part: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["datasets"][part.get("data", spec.get("data"))["name"]]


def _tooltips(encoding: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tip["field"]: tip for tip in encoding["tooltip"]}


def test_status_chart_uses_the_fixed_colours_and_workflow_order() -> None:
    statuses = insights.status_frame({"unlabeled": 6, "conflict": 2, "escalated": 2})
    spec = charts.status_chart(statuses).to_dict()
    encoding = spec["encoding"]
    order = statuses["status"].tolist()
    assert encoding["y"]["sort"] == order
    assert order[0] == "unlabeled" and order[-1] == "escalated"
    scale = encoding["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours["conflict"] == STATUS_COLOURS["conflict"]
    assert colours["unlabeled"] == STATUS_COLOURS["unlabeled"]
    assert colours["escalated"] == charts.UNKNOWN_STATUS_COLOUR
    assert encoding["x"]["title"] == "Projects" and encoding["y"]["title"] == "Label status"
    tips = _tooltips(encoding)
    assert list(tips) == ["status", "projects", "share"]
    assert tips["share"]["format"] == ".1%"
    shares = {r["status"]: r["share"] for r in _rows(spec, spec)}
    assert shares["unlabeled"] == 0.6


def test_activity_chart_running_totals_with_that_days_count() -> None:
    activity = pd.DataFrame(
        {
            "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-02"]),
            "series": ["Judgements", "Judgements", "Resolutions"],
            "count": [3, 2, 1],
            "cumulative": [3, 5, 1],
        }
    )
    spec = charts.activity_chart(activity).to_dict()
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("day", "temporal")
    assert encoding["y"]["field"] == "cumulative"
    assert encoding["y"]["title"] == "Running total"
    assert encoding["color"]["scale"]["domain"] == ["Judgements", "Resolutions"]
    assert encoding["color"]["scale"]["range"][1] == STATUS_COLOURS["resolved"]
    tips = _tooltips(encoding)
    assert list(tips) == ["day", "series", "count", "cumulative"]
    assert tips["count"]["title"] == "That day"


def test_throughput_chart_stacks_annotators_in_name_order() -> None:
    throughput = pd.DataFrame(
        {
            "day": pd.to_datetime(["2026-11-01", "2026-11-01"]),
            "annotator": ["zoe", "amir"],
            "judgements": [4, 2],
            "skips": [1, 0],
        }
    )
    encoding = charts.throughput_chart(throughput).to_dict()["encoding"]
    assert encoding["color"]["field"] == "annotator"
    assert encoding["color"]["scale"]["domain"] == ["amir", "zoe"]
    assert encoding["y"]["field"] == "judgements" and encoding["y"]["stack"] == "zero"
    assert list(_tooltips(encoding)) == ["day", "annotator", "judgements", "skips"]


def test_tag_distribution_shows_source_and_effective_in_the_given_order() -> None:
    long = insights.coverage_long(COVERAGE)
    spec = charts.tag_distribution_chart(long, ["nlp", "graphs", "audio"]).to_dict()
    encoding = spec["encoding"]
    assert encoding["y"]["sort"] == ["nlp", "graphs", "audio"]
    assert encoding["yOffset"]["field"] == "label_set"
    assert encoding["color"]["scale"]["domain"] == [insights.SOURCE, insights.EFFECTIVE]
    assert encoding["color"]["scale"]["range"] == ["#9e9e9e", "#1f77b4"]
    assert {r["label_set"] for r in _rows(spec, spec)} == {insights.SOURCE, insights.EFFECTIVE}
    assert list(_tooltips(encoding)) == ["tag", "label_set", "projects"]


def test_discoverability_chart_one_row_per_tag_dots_joined_by_a_line() -> None:
    long = insights.coverage_long(COVERAGE)
    spec = charts.discoverability_chart(long, ["audio", "nlp", "graphs"]).to_dict()
    line, dots = spec["layer"]
    encoding = dots["encoding"]
    assert encoding["y"]["sort"] == ["audio", "nlp", "graphs"]
    assert encoding["x"]["field"] == "projects" and encoding["x"]["title"] == "Projects"
    assert encoding["color"]["scale"]["domain"] == list(insights.LABEL_SETS)
    assert encoding["color"]["scale"]["range"][2] == charts.LABEL_SET_COLOURS[insights.MODEL]
    found = {(r["tag"], r["label_set"]): r["projects"] for r in _rows(spec, dots)}
    assert found[("audio", insights.MODEL)] == 9
    assert found[("nlp", insights.EFFECTIVE)] == 12
    assert list(_tooltips(encoding)) == ["tag", "label_set", "projects"]
    spans = {r["tag"]: (r["low"], r["high"]) for r in _rows(spec, line)}
    assert spans == {"audio": (4, 9), "graphs": (5, 6), "nlp": (10, 15)}
    assert (line["encoding"]["x"]["field"], line["encoding"]["x2"]["field"]) == ("low", "high")


def test_gain_chart_lists_the_biggest_gains_first_with_labels() -> None:
    spec = charts.gain_chart(COVERAGE, top=2).to_dict()
    bars, labels = spec["layer"]
    assert labels["encoding"]["text"]["field"] == "label"
    assert bars["encoding"]["y"]["sort"] == ["audio", "nlp"]
    assert bars["encoding"]["x"]["field"] == "gain"
    assert bars["encoding"]["x"]["title"] == "More projects findable than with the source tags"
    assert [(r["tag"], r["gain"], r["label"]) for r in _rows(spec, bars)] == [
        ("audio", 5.0, "+5"),
        ("nlp", 5.0, "+5"),
    ]
    tips = _tooltips(bars["encoding"])
    assert [tips[f]["title"] for f in ("source", "now", "gain")] == [
        "Projects in the source tags",
        "Projects in the model predictions",
        "Gain",
    ]
    assert spec["title"] == "Tags that gained the most findable projects (top 2)"


def test_gain_chart_without_a_model_uses_the_effective_labels() -> None:
    coverage = insights.coverage_frame({"nlp": 10, "audio": 4}, {"nlp": 12, "audio": 4}, None)
    spec = charts.gain_chart(coverage).to_dict()
    bars = spec["layer"][0]
    assert [(r["tag"], r["gain"]) for r in _rows(spec, bars)] == [("nlp", 2), ("audio", 0)]
    assert _tooltips(bars["encoding"])["now"]["title"] == "Projects in the effective labels"


def test_tags_per_project_chart_groups_label_sets_side_by_side() -> None:
    frame = insights.tags_per_project_frame(
        {0: 1, 1: 3}, {1: 2, 2: 2}, pd.DataFrame({"predicted_tags": [2], "projects": [4]})
    )
    spec = charts.tags_per_project_chart(frame).to_dict()
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("tags", "ordinal")
    assert encoding["xOffset"]["field"] == "label_set"
    assert encoding["color"]["scale"]["domain"] == list(insights.LABEL_SETS)
    rows = {(r["tags"], r["label_set"]): r["projects"] for r in _rows(spec, spec)}
    assert rows[(0, insights.EFFECTIVE)] == 0 and rows[(2, insights.MODEL)] == 4
    assert list(_tooltips(encoding)) == ["tags", "label_set", "projects"]


def test_suspected_chart_stacks_missing_and_wrong_most_suspected_first() -> None:
    suspected = pd.DataFrame(
        {"tag": ["nlp", "audio"], "probably_missing": [5, 1], "probably_wrong": [2, 0]}
    )
    spec = charts.suspected_chart(suspected).to_dict()
    encoding = spec["encoding"]
    assert encoding["y"]["sort"] == ["nlp", "audio"]
    assert encoding["color"]["scale"]["domain"] == ["probably missing", "probably wrong"]
    rows = {(r["tag"], r["kind"]): r["projects"] for r in _rows(spec, spec)}
    assert rows == {
        ("nlp", "probably missing"): 5,
        ("audio", "probably missing"): 1,
        ("nlp", "probably wrong"): 2,
        ("audio", "probably wrong"): 0,
    }
    assert list(_tooltips(encoding)) == ["tag", "probably_missing", "probably_wrong"]


def test_import_shift_chart_pairs_the_shares_most_moved_first_with_each_sides_n() -> None:
    report = {
        "projects": 12,
        "tag_distribution": {
            "batch_tags": 20,
            "catalogue_tags": 1500,
            "tags": [
                {"tag": "nlp", "batch_share": 0.5, "catalogue_share": 0.1},
                {"tag": "vision", "batch_share": 0.05, "catalogue_share": 0.3},
                {"tag": "audio", "batch_share": 0.1, "catalogue_share": 0.12},
            ],
        },
    }
    spec = charts.import_shift_chart(report, top=2).to_dict()
    assert (
        spec["title"] == "Predicted tags: this import (20 on 12 projects) vs the catalogue (1,500)"
    )
    assert spec["encoding"]["y"]["sort"] == ["nlp", "vision"]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["this import", "the catalogue"]
    rows = {(r["tag"], r["side"]): r["share"] for r in _rows(spec, spec)}
    assert rows == {
        ("nlp", "this import"): 0.5,
        ("nlp", "the catalogue"): 0.1,
        ("vision", "this import"): 0.05,
        ("vision", "the catalogue"): 0.3,
    }
