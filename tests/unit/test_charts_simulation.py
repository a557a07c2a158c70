"""Chart builders, checked through their Vega-Lite specs (AppTest cannot see inside them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from labeling.charts import common
from labeling.charts.common import save_chart
from labeling.charts.simulation import (
    RANDOM_GREY,
    STRATEGY_COLOURS,
    errors_fixed_chart,
    errors_fixed_frame,
    learning_curve_chart,
    simulation_chart,
    simulation_curves_frame,
    simulation_errors_chart,
)
from labeling.label_errors import DEFAULT_DETECTOR
from labeling.strategies import STRATEGIES

CURVES = pd.DataFrame(
    {
        "strategy": ["random", "random", "threshold_margin", "threshold_margin"],
        "labels": [10, 20, 10, 20],
        "mean": [0.50, 0.60, 0.50, 0.70],
        "std": [0.02, 0.03, 0.02, 0.05],
    }
)


def _layers(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Layers by mark type (each chart has at most one layer of each)."""
    return {layer["mark"]["type"]: layer for layer in spec["layer"]}


def _rows(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows a layer draws (Altair hoists data shared by every layer to the top)."""
    return spec["datasets"][layer.get("data", spec.get("data"))["name"]]


def test_line_encodings_tooltips_and_titles() -> None:
    spec = learning_curve_chart(CURVES).to_dict()
    line = _layers(spec)["line"]["encoding"]
    assert (line["x"]["field"], line["y"]["field"], line["color"]["field"]) == (
        "labels",
        "mean",
        "strategy",
    )
    assert line["x"]["title"] == "Labelled projects"
    assert line["y"]["title"] == "Weighted F1 on the evaluation split"
    tooltips = {tip["field"]: tip for tip in line["tooltip"]}
    assert list(tooltips) == ["strategy", "labels", "mean", "std"]
    assert tooltips["mean"]["format"] == ".3f"
    assert tooltips["std"]["format"] == ".3f"
    assert spec["title"] == "Learning curves: Weighted F1 by query strategy"


def test_macro_titles() -> None:
    line = _layers(learning_curve_chart(CURVES, metric="macro_f1").to_dict())["line"]
    assert line["encoding"]["y"]["title"] == "Macro F1 on the evaluation split"


def test_random_is_grey_and_colours_are_fixed_per_strategy() -> None:
    spec = learning_curve_chart(CURVES).to_dict()
    scale = _layers(spec)["line"]["encoding"]["color"]["scale"]
    mapping = dict(zip(scale["domain"], scale["range"], strict=True))
    assert mapping == {
        "random": RANDOM_GREY,
        "threshold_margin": STRATEGY_COLOURS["threshold_margin"],
    }
    # Another chart without random keeps threshold_margin's colour.
    only = CURVES[CURVES["strategy"] == "threshold_margin"]
    other = _layers(learning_curve_chart(only).to_dict())["line"]["encoding"]["color"]["scale"]
    assert other == {
        "domain": ["threshold_margin"],
        "range": [STRATEGY_COLOURS["threshold_margin"]],
    }


def test_band_is_mean_plus_minus_std() -> None:
    spec = learning_curve_chart(CURVES).to_dict()
    area = _layers(spec)["area"]
    assert (area["encoding"]["y"]["field"], area["encoding"]["y2"]["field"]) == ("lower", "upper")
    line = _layers(spec)["line"]
    assert area["encoding"]["fill"]["scale"] == line["encoding"]["color"]["scale"]
    rows = _rows(spec, area)
    assert [row["lower"] for row in rows] == pytest.approx([0.48, 0.57, 0.48, 0.65])
    assert [row["upper"] for row in rows] == pytest.approx([0.52, 0.63, 0.52, 0.75])


def test_ceiling_rule_only_when_given() -> None:
    assert "rule" not in _layers(learning_curve_chart(CURVES).to_dict())
    spec = learning_curve_chart(CURVES, ceiling=0.8).to_dict()
    layers = _layers(spec)
    rule = layers["rule"]
    assert rule["mark"]["strokeDash"] == [6, 4]
    assert rule["encoding"]["y"]["field"] == "ceiling"
    assert _rows(spec, rule)[0]["ceiling"] == 0.8
    text = layers["text"]
    assert _rows(spec, text)[0]["text"] == "Full-data ceiling 0.800"


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown metric 'accuracy'"):
        learning_curve_chart(CURVES, metric="accuracy")
    with pytest.raises(ValueError, match=r"missing \['std'\]"):
        learning_curve_chart(CURVES.drop(columns="std"))


RESULT: dict[str, Any] = {
    "full_data": {"weighted_f1": 0.9, "macro_f1": 0.8},
    "strategies": {
        name: {
            "curve": [
                {
                    "labels": n,
                    "weighted_f1_mean": w,
                    "weighted_f1_std": 0.01,
                    "macro_f1_mean": w - 0.1,
                    "macro_f1_std": 0.02,
                }
                for n, w in [(10, 0.5), (20, 0.7)]
            ]
        }
        for name in ("random", "max_score")
    },
}


def test_simulation_frame_and_chart() -> None:
    frame = simulation_curves_frame(RESULT, "macro_f1")
    assert list(frame.columns) == ["strategy", "labels", "mean", "std"]
    assert frame.to_dict("records")[1] == {
        "strategy": "random",
        "labels": 20,
        "mean": pytest.approx(0.6),
        "std": 0.02,
    }
    spec = simulation_chart(RESULT, "macro_f1").to_dict()
    rule = _layers(spec)["rule"]
    assert _rows(spec, rule)[0]["ceiling"] == 0.8


def test_save_chart_writes_html_and_skips_png_without_vl_convert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "png_export_available", lambda: False)
    written = save_chart(learning_curve_chart(CURVES), tmp_path / "out" / "curves.v1")
    assert written == [tmp_path / "out" / "curves.v1.html"]
    assert "vega" in written[0].read_text(encoding="utf-8")


ERRORS = pd.DataFrame(
    {
        "strategy": ["random"] * 3 + ["label_errors"] * 3 + ["threshold_margin"] * 3,
        "labels": [0, 25, 50] * 3,
        "errors_fixed": [0.0, 6.0, 14.0, 0.0, 15.0, 26.0, 0.0, 5.0, 14.5],
        "errors_fixed_std": [0.0, 1.5, 2.0, 0.0, 2.0, 3.0, 0.0, 7.0, 1.0],
        "batch_precision": [None, 0.24, 0.28, None, 0.6, 0.44, None, 0.2, 0.3],
    }
)


def test_errors_chart_encodings_titles_and_tooltips() -> None:
    spec = errors_fixed_chart(ERRORS, injected=75.0).to_dict()
    line = _layers(spec)["line"]["encoding"]
    assert (line["x"]["field"], line["y"]["field"], line["color"]["field"]) == (
        "labels",
        "errors_fixed",
        "strategy",
    )
    assert line["x"]["title"] == "Labelled projects"
    assert line["y"]["title"] == "Tag errors fixed (mean over repeats)"
    assert spec["title"] == "Tag errors fixed by query strategy (warm start)"
    tooltips = {tip["field"]: tip for tip in line["tooltip"]}
    assert list(tooltips) == [
        "strategy",
        "labels",
        "errors_fixed",
        "errors_fixed_std",
        "batch_precision",
    ]
    assert [tooltips[f].get("format") for f in tooltips] == [None, None, ".1f", ".1f", ".2f"]


def test_errors_legend_is_sorted_by_the_area_under_the_curve_with_fixed_colours() -> None:
    spec = errors_fixed_chart(ERRORS).to_dict()
    scale = _layers(spec)["line"]["encoding"]["color"]["scale"]
    # areas (trapezoids, 25 labels apart): label_errors 25 * (7.5 + 20.5) = 700, random
    # 25 * (3 + 10) = 325, threshold_margin 25 * (2.5 + 9.75) = 306.25, although it ends
    # higher than random (14.5 against 14)
    assert scale["domain"] == ["label_errors", "random", "threshold_margin"]
    assert scale["range"] == [
        STRATEGY_COLOURS["label_errors"],
        RANDOM_GREY,
        STRATEGY_COLOURS["threshold_margin"],
    ]
    assert _layers(spec)["area"]["encoding"]["fill"]["scale"] == scale


def test_errors_band_is_mean_plus_minus_std_and_never_below_zero() -> None:
    spec = errors_fixed_chart(ERRORS).to_dict()
    area = _layers(spec)["area"]
    assert (area["encoding"]["y"]["field"], area["encoding"]["y2"]["field"]) == ("lower", "upper")
    rows = [row for row in _rows(spec, area) if row["strategy"] == "threshold_margin"]
    assert [row["lower"] for row in rows] == pytest.approx([0.0, 0.0, 13.5])  # 5 - 7 -> 0
    assert [row["upper"] for row in rows] == pytest.approx([0.0, 12.0, 15.5])


def test_injected_errors_rule_only_when_given() -> None:
    assert "rule" not in _layers(errors_fixed_chart(ERRORS).to_dict())
    spec = errors_fixed_chart(ERRORS, injected=75.5).to_dict()
    rule = _layers(spec)["rule"]
    assert rule["encoding"]["y"]["field"] == "injected"
    assert _rows(spec, _layers(spec)["text"])[0]["text"] == "Injected tag errors 75.5"


def test_errors_chart_refuses_a_frame_without_its_columns() -> None:
    with pytest.raises(ValueError, match=r"missing \['batch_precision'\]"):
        errors_fixed_chart(ERRORS.drop(columns="batch_precision"))


def test_new_strategies_have_their_own_colours() -> None:
    names = ["label_errors", "label_errors_flips", "label_errors_cleanlab", "label_errors_mix"]
    colours = [STRATEGY_COLOURS[name] for name in names]
    assert len(set(colours)) == len(colours)
    assert not set(colours) & {STRATEGY_COLOURS[name] for name in STRATEGIES}
    # a name for the same strategy looks the same
    assert STRATEGY_COLOURS[f"label_errors_{DEFAULT_DETECTOR}"] == STRATEGY_COLOURS["label_errors"]
    assert STRATEGY_COLOURS["label_errors_mix_uncertainty"] == STRATEGY_COLOURS["label_errors_mix"]


def test_warm_result_frame_and_chart() -> None:
    result = {
        "injected_errors": {"tag_errors": 40.0},
        "strategies": {
            "random": {
                "curve": [
                    {
                        "labels": n,
                        "errors_fixed": fixed,
                        "errors_fixed_std": 1.0,
                        "batch_precision": precision,
                        "weighted_f1": 0.7,
                    }
                    for n, fixed, precision in [(0, 0.0, None), (10, 3.0, 0.3)]
                ]
            }
        },
    }
    frame = errors_fixed_frame(result)
    assert frame.to_dict("records")[1] == {
        "strategy": "random",
        "labels": 10,
        "errors_fixed": 3.0,
        "errors_fixed_std": 1.0,
        "batch_precision": 0.3,
    }
    spec = simulation_errors_chart(result).to_dict()
    assert _rows(spec, _layers(spec)["rule"])[0]["injected"] == 40.0


def test_warm_f1_charts_zoom_to_the_values_and_cold_ones_span_0_1() -> None:
    cold = _layers(simulation_chart(RESULT).to_dict())["line"]["encoding"]["y"]["scale"]
    assert cold == {"domain": [0, 1]}
    warm_result = {
        **RESULT,
        "injected_errors": {"tag_errors": 10.0},
        "strategies": {
            name: {
                "curve": [
                    {
                        "labels": n,
                        "weighted_f1": w,
                        "weighted_f1_std": 0.01,
                        "macro_f1": w,
                        "macro_f1_std": 0.01,
                    }
                    for n, w in [(0, 0.78), (25, 0.79)]
                ]
            }
            for name in ("random", "label_errors")
        },
    }
    spec = simulation_chart(warm_result).to_dict()
    assert _layers(spec)["line"]["encoding"]["y"]["scale"] == {"zero": False}
    assert _rows(spec, _layers(spec)["line"])[1]["mean"] == 0.79
