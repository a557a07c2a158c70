"""Model chart builders, checked through their Vega-Lite specs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from labeling import metrics
from labeling.charts import model as charts

PER_CLASS = metrics.per_class_frame(
    {
        "per_class": {
            "nlp": {"precision": 0.9, "recall": 0.6, "f1": 0.72, "support": 10},
            "audio": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4},
        },
        "not_enough_data": {"graphs": 3},
        "deltas": {"per_class": {"nlp": {"f1": 0.1}, "audio": {"f1": -0.2}}},
    },
    {"nlp": 0.4, "audio": 0.6},
    {"nlp": 30, "audio": 12, "graphs": 3},
)


def _rows(spec: dict[str, Any], part: dict[str, Any]) -> list[dict[str, Any]]:
    return spec["datasets"][part.get("data", spec.get("data"))["name"]]


def _tooltips(encoding: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tip["field"]: tip for tip in encoding["tooltip"]}


def test_per_class_chart_bars_dots_and_not_enough_data_notes() -> None:
    shown = metrics.sorted_per_class(PER_CLASS, "Weakest F1 first")
    spec = charts.per_class_chart(shown).to_dict()
    bars, whiskers, dots, notes = spec["layer"]
    assert whiskers["mark"]["type"] == "rule"
    assert bars["mark"]["type"] == "bar" and dots["mark"]["type"] == "point"
    assert notes["mark"]["type"] == "text"
    assert bars["encoding"]["x"]["field"] == "f1"
    assert bars["encoding"]["x"]["title"] == "Score on the evaluation split"
    assert bars["encoding"]["y"]["field"] == "tag"
    assert bars["encoding"]["y"]["sort"] == ["audio", "nlp", "graphs"]
    assert bars["encoding"]["y"]["title"] == "Tag"
    assert bars["encoding"]["color"]["scale"] == {
        "domain": ["F1", "Precision", "Recall"],
        "range": ["#4c78a8", "#f58518", "#54a24b"],
    }
    tips = _tooltips(bars["encoding"])
    assert list(tips) == [
        "tag",
        "f1",
        "precision",
        "recall",
        "support",
        "training_projects",
        "f1_change",
    ]
    assert tips["f1"]["format"] == ".3f" and tips["f1_change"]["format"] == "+.3f"
    assert [r["tag"] for r in _rows(spec, bars)] == ["audio", "nlp"]
    dot_rows = _rows(spec, dots)
    assert {(r["tag"], r["metric"], r["value"]) for r in dot_rows} == {
        ("audio", "Precision", 0.5),
        ("audio", "Recall", 0.5),
        ("nlp", "Precision", 0.9),
        ("nlp", "Recall", 0.6),
    }
    assert _tooltips(dots["encoding"])["value"]["format"] == ".3f"
    assert [r["note"] for r in _rows(spec, notes)] == ["not enough data (3 training projects)"]


def test_change_chart_colours_gains_and_losses_biggest_loss_first() -> None:
    change = metrics.change_frame(PER_CLASS)
    spec = charts.change_chart(change, "v1", "v2").to_dict()
    encoding = spec["encoding"]
    assert encoding["x"]["field"] == "change"
    assert encoding["x"]["title"] == "F1 change, v2 minus v1"
    assert encoding["y"]["sort"] == ["audio", "nlp"]
    assert encoding["color"]["scale"]["domain"] == ["gain", "loss"]
    assert encoding["color"]["scale"]["range"] == [charts.GAIN_COLOUR, charts.LOSS_COLOUR]
    assert [(r["tag"], r["direction"]) for r in _rows(spec, spec)] == [
        ("audio", "loss"),
        ("nlp", "gain"),
    ]
    tips = _tooltips(encoding)
    assert [tips[f]["title"] for f in ("before", "after", "change")] == ["F1 v1", "F1 v2", "Change"]
    assert tips["change"]["format"] == "+.3f"


def test_overall_history_chart_one_line_per_average_with_training_labels() -> None:
    history = pd.DataFrame(
        {
            "version": [1, 1, 2, 2],
            "finished": [datetime(2026, 11, 1)] * 2 + [datetime(2026, 11, 2)] * 2,
            "train_projects": [100, 100, 150, 150],
            "eval_projects": [25] * 4,
            "metric": ["Macro F1", "Weighted F1"] * 2,
            "value": [0.6, 0.7, 0.65, 0.75],
        }
    )
    spec = charts.overall_history_chart(history).to_dict()
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("version", "ordinal")
    assert encoding["x"]["title"] == "Model version"
    assert encoding["y"]["title"] == "F1 on the evaluation split"
    assert encoding["color"]["scale"]["domain"] == ["Macro F1", "Weighted F1"]
    tips = _tooltips(encoding)
    assert list(tips) == [
        "version",
        "metric",
        "value",
        "train_projects",
        "eval_projects",
        "finished",
    ]
    assert tips["train_projects"]["title"] == "Training projects"
    assert tips["value"]["format"] == ".3f"


def test_threshold_chart_by_tag_name_with_the_half_rule() -> None:
    spec = charts.threshold_chart(metrics.threshold_frame({"nlp": 0.4, "audio": 0.6})).to_dict()
    bars, rule = spec["layer"]
    assert bars["encoding"]["y"]["sort"] == ["audio", "nlp"]
    assert bars["encoding"]["x"]["title"] == "Probability threshold"
    assert _tooltips(bars["encoding"])["threshold"]["format"] == ".3f"
    assert _rows(spec, rule) == [{"threshold": 0.5}]


def test_predicted_tags_chart_counts_and_shares() -> None:
    frame = pd.DataFrame({"predicted_tags": [0, 1, 2], "projects": [1, 2, 1]})
    spec = charts.predicted_tags_chart(frame).to_dict()
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("predicted_tags", "ordinal")
    assert encoding["y"]["title"] == "Projects"
    assert [r["share"] for r in _rows(spec, spec)] == [0.25, 0.5, 0.25]
    assert _tooltips(encoding)["share"]["format"] == ".1%"


def test_per_class_chart_draws_each_measured_tags_interval() -> None:
    stored = {
        "per_class": {"nlp": {"precision": 0.9, "recall": 0.6, "f1": 0.72, "support": 12}},
        "min_support": 10,
        "intervals": {
            "all": {
                "n": 40,
                "per_class": {
                    "nlp": {
                        "support": 12,
                        "precision": {"value": 0.9, "low": 0.7, "high": 1.0},
                        "recall": {"value": 0.6, "low": 0.4, "high": 0.8},
                        "f1": {"value": 0.72, "low": 0.55, "high": 0.86},
                    }
                },
            }
        },
    }
    frame = metrics.version_per_class(_version_like(stored, {"nlp": 0.4}), "all", min_support=10)
    spec = charts.per_class_chart(frame).to_dict()
    whiskers = spec["layer"][1]
    assert whiskers["encoding"]["x"]["field"] == "f1_low"
    assert whiskers["encoding"]["x2"]["field"] == "f1_high"
    assert _rows(spec, whiskers) == [
        {**_rows(spec, whiskers)[0], "tag": "nlp", "f1_low": 0.55, "f1_high": 0.86}
    ]
    assert "95% interval" in spec["title"]


def test_rescored_chart_one_point_and_whisker_per_version_rules_first() -> None:
    rescored = metrics.rescored_frame(
        {
            "rescored": [
                {"version": 0, "n": 55, "weighted_f1": {"value": 0.49, "low": 0.37, "high": 0.58}},
                {"version": 2, "n": 55, "weighted_f1": {"value": 0.75, "low": 0.68, "high": 0.82}},
            ]
        }
    )
    assert rescored["label"].tolist() == ["rules", "v2"]
    spec = charts.rescored_chart(rescored, "v2's training").to_dict()
    whiskers, points = spec["layer"]
    assert whiskers["mark"]["type"] == "rule" and points["mark"]["type"] == "point"
    assert (whiskers["encoding"]["y"]["field"], whiskers["encoding"]["y2"]["field"]) == (
        "low",
        "high",
    )
    assert points["encoding"]["x"]["sort"] == ["rules", "v2"]
    assert spec["title"] == "Every version re-scored on today's labels (v2's training)"


def _version_like(stored: dict[str, Any], thresholds: dict[str, float]) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(metrics=stored, thresholds=thresholds, label_snapshot={})
