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
    learning_curve_chart,
    simulation_chart,
    simulation_curves_frame,
)

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
