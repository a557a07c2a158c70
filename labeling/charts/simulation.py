"""Simulation charts: learning curves of query strategies against labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
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
    "label_errors": "#8c564b",
    "label_errors_max": "#8c564b",
    "label_errors_flips": "#bcbd22",
    "label_errors_cleanlab": "#17becf",
    "label_errors_mix": "#393b79",
    "label_errors_mix_uncertainty": "#393b79",
    "label_errors_mix_random": "#7b4173",
}
_SPARE_COLOURS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94")
METRIC_TITLES = {"weighted_f1": "Weighted F1", "macro_f1": "Macro F1"}
CURVE_COLUMNS = ("strategy", "labels", "mean", "std")


def strategy_colour_scale(strategies: Sequence[str], ranked: bool = False) -> alt.Scale:
    """A domain/range scale over the strategies present (so the legend lists only those), each
    with its fixed colour; unknown names get spare colours. The legend follows the registry's
    order, or with ``ranked`` the order ``strategies`` come in (best first, say)."""
    order = [*STRATEGIES, *STRATEGY_COLOURS]
    known = [name for name in dict.fromkeys(order) if name in strategies]
    unknown = sorted(set(strategies) - set(known))
    spare = {name: _SPARE_COLOURS[i % len(_SPARE_COLOURS)] for i, name in enumerate(unknown)}
    domain = list(dict.fromkeys(strategies)) if ranked else known + unknown
    colours = [STRATEGY_COLOURS.get(name) or spare[name] for name in domain]
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
    curves: pd.DataFrame,
    metric: str = "weighted_f1",
    ceiling: float | None = None,
    zoomed: bool = False,
) -> alt.LayerChart:
    """One line per strategy with a mean ± std band over repeats, and the full-data ceiling as
    a dashed rule: how close each strategy gets to "label everything", label by label.

    The F1 axis spans 0 to 1, or with ``zoomed`` only the values drawn: warm-start curves
    start near the ceiling and differ by hundredths, which a 0-1 axis flattens into one line."""
    title = _metric_title(metric)
    frame = _with_band(curves)
    y_scale = alt.Scale(zero=False) if zoomed else alt.Scale(domain=[0, 1])
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
        y=alt.Y("lower:Q", title=y_title, scale=y_scale),
        y2="upper:Q",
        fill=alt.Fill("strategy:N", scale=scale, legend=legend),
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("mean:Q", title=y_title, scale=y_scale),
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
    """A dashed rule at the full-data F1, labelled at the left above the rule, where learning
    curves are still low and the label does not cover them."""
    return _reference_layers(
        "ceiling",
        ceiling,
        left_edge,
        f"Full-data ceiling {ceiling:.3f}",
        alt.Tooltip("ceiling:Q", title=f"Full-data {title}", format=".3f"),
        above=True,
    )


def _reference_layers(
    field: str,
    value: float,
    left_edge: float,
    text: str,
    tooltip: alt.Tooltip,
    above: bool,
) -> list[alt.Chart]:
    """A dashed horizontal rule at ``value`` with ``text`` written at the left edge, above or
    below the rule."""
    data = pd.DataFrame({field: [value], "labels": [left_edge], "text": [text]})
    rule = (
        alt.Chart(data)
        .mark_rule(strokeDash=[6, 4], color=CEILING_COLOUR)
        .encode(y=f"{field}:Q", tooltip=[tooltip])
    )
    label = (
        alt.Chart(data)
        .mark_text(
            align="left",
            baseline="bottom" if above else "top",
            dx=4,
            dy=-4 if above else 4,
            color=CEILING_COLOUR,
        )
        .encode(x="labels:Q", y=f"{field}:Q", text="text:N")
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
    """The learning-curve chart of a whole simulation result, ceiling included; zoomed to
    the values for a warm start."""
    return learning_curve_chart(
        simulation_curves_frame(result, metric),
        metric,
        simulation_ceiling(result, metric),
        zoomed="injected_errors" in result,
    )


ERRORS_COLUMNS = ("strategy", "labels", "errors_fixed", "errors_fixed_std", "batch_precision")


def errors_fixed_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """A warm ``run_simulation`` result -> one row per strategy and curve point: errors fixed
    (mean and std over repeats) and the last batch's precision (None at 0 labels)."""
    rows = [
        {
            "strategy": name,
            "labels": point["labels"],
            "errors_fixed": point["errors_fixed"],
            "errors_fixed_std": point["errors_fixed_std"],
            "batch_precision": point["batch_precision"],
        }
        for name, data in result["strategies"].items()
        for point in data["curve"]
    ]
    return pd.DataFrame(rows, columns=list(ERRORS_COLUMNS))


def errors_fixed_chart(curves: pd.DataFrame, injected: float | None = None) -> alt.LayerChart:
    """Tag errors fixed against labels, one line per strategy with a mean ± std band, and the
    injected errors as a dashed rule: how fast each strategy finds the wrong tags. The legend
    lists the strategies by the area under their curve, largest first: at the end of a budget
    that covers most of the pool every strategy has fixed nearly everything, so the last point
    alone would rank them by noise."""
    missing = [column for column in ERRORS_COLUMNS if column not in curves.columns]
    if missing:
        raise ValueError(f"curves needs columns {', '.join(ERRORS_COLUMNS)}; missing {missing}")
    frame = curves.loc[:, list(ERRORS_COLUMNS)].copy()
    frame["lower"] = (frame["errors_fixed"] - frame["errors_fixed_std"]).clip(lower=0.0)
    frame["upper"] = frame["errors_fixed"] + frame["errors_fixed_std"]
    area = {
        name: float(np.trapezoid(group["errors_fixed"], group["labels"]))
        for name, group in frame.sort_values("labels").groupby("strategy")
    }
    ranking = sorted(area, key=lambda name: (-area[name], name))
    scale = strategy_colour_scale(ranking, ranked=True)
    legend = alt.Legend(title="Strategy (most fixed first)", titleLimit=300, symbolOpacity=1)
    x = alt.X("labels:Q", title="Labelled projects", scale=alt.Scale(nice=False))
    y_title = "Tag errors fixed (mean over repeats)"
    base = alt.Chart(frame)
    band = base.mark_area(opacity=0.15).encode(
        x=x,
        y=alt.Y("lower:Q", title=y_title),
        y2="upper:Q",
        fill=alt.Fill("strategy:N", scale=scale, legend=legend),
    )
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("errors_fixed:Q", title=y_title),
        color=alt.Color("strategy:N", scale=scale, legend=legend),
        tooltip=[
            alt.Tooltip("strategy:N", title="Strategy"),
            alt.Tooltip("labels:Q", title="Labelled projects"),
            alt.Tooltip("errors_fixed:Q", title="Errors fixed (mean)", format=".1f"),
            alt.Tooltip("errors_fixed_std:Q", title="Std over repeats", format=".1f"),
            alt.Tooltip("batch_precision:Q", title="Last batch: share with an error", format=".2f"),
        ],
    )
    layers: list[alt.Chart] = [band, line]
    if injected is not None:
        layers += _injected_layers(injected, float(frame["labels"].min()))
    return alt.layer(*layers).properties(
        title="Tag errors fixed by query strategy (warm start)", width=600, height=360
    )


def _injected_layers(injected: float, left_edge: float) -> list[alt.Chart]:
    """A dashed rule at the injected tag errors: the most any strategy can fix."""
    return _reference_layers(
        "injected",
        injected,
        left_edge,
        f"Injected tag errors {injected:.1f}",
        alt.Tooltip("injected:Q", title="Injected tag errors (mean)", format=".1f"),
        above=False,
    )


def simulation_errors_chart(result: Mapping[str, Any]) -> alt.LayerChart:
    """The errors-fixed chart of a whole warm simulation result, injected errors included."""
    return errors_fixed_chart(
        errors_fixed_frame(result), float(result["injected_errors"]["tag_errors"])
    )
