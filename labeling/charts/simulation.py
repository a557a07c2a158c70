"""Simulation charts: learning curves of query strategies against labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from labeling.strategies import STRATEGIES

RANDOM_GREY = "#8c8c8c"
CEILING_COLOUR = "#333333"
# One colour per strategy, fixed, so a strategy looks the same in every chart and every run;
# the baseline is grey so that the eye reads it as the reference, not as a contender.
STRATEGY_COLOURS: dict[str, str] = {
    "random": RANDOM_GREY,
    "threshold_margin": "#1f77b4",
    "max_score": "#ff7f0e",
    "mean_max_loss": "#2ca02c",
    "ranked_batch": "#d62728",
    "avg_confidence": "#9467bd",
    "min_confidence": "#e377c2",
}
_SPARE_COLOURS = ("#8c564b", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a")
METRIC_TITLES = {"weighted_f1": "Weighted F1", "macro_f1": "Macro F1"}
CURVE_COLUMNS = ("strategy", "labels", "mean", "std")


def strategy_colour_scale(strategies: Sequence[str]) -> alt.Scale:
    """A domain/range scale over the strategies present (so the legend lists only those), in
    the registry's order, each with its fixed colour; unknown names get spare colours."""
    known = [name for name in STRATEGIES if name in strategies]
    unknown = sorted(set(strategies) - set(known))
    domain = known + unknown
    colours = [STRATEGY_COLOURS[name] for name in known]
    colours += [_SPARE_COLOURS[i % len(_SPARE_COLOURS)] for i in range(len(unknown))]
    return alt.Scale(domain=domain, range=colours)


def _metric_title(metric: str) -> str:
    try:
        return METRIC_TITLES[metric]
    except KeyError:
        raise ValueError(
            f"unknown metric {metric!r}; choose one of: {', '.join(METRIC_TITLES)}"
        ) from None


def _with_band(curves: pd.DataFrame) -> pd.DataFrame:
    """mean ± std, clipped to [0, 1] because F1 cannot leave it (a band past 1 misleads)."""
    missing = [column for column in CURVE_COLUMNS if column not in curves.columns]
    if missing:
        raise ValueError(f"curves needs columns {', '.join(CURVE_COLUMNS)}; missing {missing}")
    frame = curves.loc[:, list(CURVE_COLUMNS)].copy()
    frame["lower"] = (frame["mean"] - frame["std"]).clip(0.0, 1.0)
    frame["upper"] = (frame["mean"] + frame["std"]).clip(0.0, 1.0)
    return frame


def learning_curve_chart(
    curves: pd.DataFrame, metric: str = "weighted_f1", ceiling: float | None = None
) -> alt.LayerChart:
    """One line per strategy with a mean ± std band over repeats, and the full-data ceiling as
    a dashed rule: how close each strategy gets to "label everything", label by label."""
    title = _metric_title(metric)
    frame = _with_band(curves)
    scale = strategy_colour_scale(frame["strategy"].unique().tolist())
    legend = alt.Legend(title="Strategy", symbolOpacity=1)
    colour = alt.Color("strategy:N", scale=scale, legend=legend)
    x = alt.X("labels:Q", title="Labelled projects", scale=alt.Scale(zero=False, nice=False))
    y_title = f"{title} on the evaluation split"
    base = alt.Chart(frame)
    # Vega-Lite merges the band's and the line's legends into one (the same field and scale);
    # an opaque symbol keeps it readable, where the band's 0.15 opacity would wash it out.
    band = base.mark_area(opacity=0.15).encode(
        x=x,
        y=alt.Y("lower:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        y2="upper:Q",
        fill=alt.Fill("strategy:N", scale=scale, legend=legend),
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("mean:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
        color=colour,
        tooltip=[
            alt.Tooltip("strategy:N", title="Strategy"),
            alt.Tooltip("labels:Q", title="Labelled projects"),
            alt.Tooltip("mean:Q", title=f"Mean {title}", format=".3f"),
            alt.Tooltip("std:Q", title="Std over repeats", format=".3f"),
        ],
    )
    layers: list[alt.Chart] = [band, line]
    if ceiling is not None:
        layers += _ceiling_layers(ceiling, float(frame["labels"].min()), title)
    return alt.layer(*layers).properties(
        title=f"Learning curves: {title} by query strategy", width=600, height=360
    )


def _ceiling_layers(ceiling: float, left_edge: float, title: str) -> list[alt.Chart]:
    """A dashed rule at the full-data F1, labelled at the left, where learning curves are
    still low and the label does not cover them."""
    data = pd.DataFrame(
        {
            "ceiling": [ceiling],
            "labels": [left_edge],
            "text": [f"Full-data ceiling {ceiling:.3f}"],
        }
    )
    rule = (
        alt.Chart(data)
        .mark_rule(strokeDash=[6, 4], color=CEILING_COLOUR)
        .encode(
            y="ceiling:Q",
            tooltip=[alt.Tooltip("ceiling:Q", title=f"Full-data {title}", format=".3f")],
        )
    )
    label = (
        alt.Chart(data)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-4, color=CEILING_COLOUR)
        .encode(x="labels:Q", y="ceiling:Q", text="text:N")
    )
    return [rule, label]


def simulation_curves_frame(result: Mapping[str, Any], metric: str) -> pd.DataFrame:
    """``run_simulation`` output -> the (strategy, labels, mean, std) frame of one metric
    (cold-start points name the mean ``<metric>_mean``, warm-start points ``<metric>``)."""
    _metric_title(metric)
    rows = [
        {
            "strategy": name,
            "labels": point["labels"],
            "mean": point.get(f"{metric}_mean", point.get(metric)),
            "std": point[f"{metric}_std"],
        }
        for name, data in result["strategies"].items()
        for point in data["curve"]
    ]
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def simulation_ceiling(result: Mapping[str, Any], metric: str) -> float | None:
    """The full-data F1 of ``metric``, or None when the run skipped the full-data fit."""
    full_data = result.get("full_data")
    return None if not full_data else float(full_data[metric])


def simulation_chart(result: Mapping[str, Any], metric: str = "weighted_f1") -> alt.LayerChart:
    """The learning-curve chart of a whole simulation result, ceiling included."""
    return learning_curve_chart(
        simulation_curves_frame(result, metric), metric, simulation_ceiling(result, metric)
    )
