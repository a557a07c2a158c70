"""Replay a fully labelled catalogue to benchmark active-learning query strategies.

Every strategy starts from the same random seed set (per repeat), so the comparison is paired:
differences between curves come from what the strategies chose, not from a lucky start. After
each batch the tag model is refitted on the labelled projects and scored on the app's own
evaluation split (``io.split_for``), and the numbers are reported as they are, including when
``random`` wins (DESIGN.md: nobody tunes the simulator until a strategy looks good).

F1 is always computed over one fixed set of tags (every tag that occurs in the evaluation
split), with the tags a small labelled set cannot train yet predicted absent. Scoring only the
tags the current model knows would make the first points look better than they are (four easy
tags at 20 labels) and make points with different trained-tag sets incomparable.

No Streamlit here: the CLI, the app and the tests call :func:`run_simulation` on plain data.

This module holds the cold-start replay and the one entry point; the warm-start replay (noisy
source tags, label-error strategies, simulated annotators) is in ``simulate_warm`` and the
pieces both use (corpus, fit-and-score, querying, task runner) in ``simulate_common``.
Imports go one way: simulate -> simulate_warm -> simulate_common.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labeling.label_errors import DEFAULT_MIX_SHARE, DEFAULT_MIX_WITH, DEFAULT_PRESELECT_POLICY
from labeling.model import ModelParams
from labeling.simulate_common import (
    Corpus,
    Point,
    ProgressCallback,
    ProjectLike,
    SimulationOptions,
    batch_generator,
    build_corpus,
    curve_auc,
    fit_and_score,
    full_data_ceiling,
    label_counts,
    progress_prefix,
    query,
    replay_tasks,
    run_config,
    validate_options,
    without,
)
from labeling.simulate_warm import (
    WARM_COLUMNS,
    is_label_error_strategy,
    run_warm,
    validate_annotators,
    validate_warm_options,
    warm_cell,
    warm_summary_table,
)

Curve = list[tuple[int, float, float, int]]  # (labels, weighted F1, macro F1, trained tags)
CEILING_FRACTIONS = (0.9, 0.95)
_FLOAT_SLACK = 1e-12


def replay_strategy(
    name: str,
    corpus: Corpus,
    seed_rows: Sequence[int],
    first: Point,
    options: SimulationOptions,
    repeat: int,
    progress: ProgressCallback | None,
) -> Curve:
    """One learning curve: (labels, weighted F1, macro F1, trained tags) after every batch."""
    labelled = list(seed_rows)
    chosen = set(labelled)
    unlabelled = [i for i in range(len(corpus.pool_texts)) if i not in chosen]
    point, curve, batch = first, [], 0
    while True:
        curve.append((len(labelled), point.weighted_f1, point.macro_f1, point.trained_tags))
        if progress:
            progress(
                f"{progress_prefix(name, repeat, len(labelled), options)}, "
                f"weighted F1 {point.weighted_f1:.2f}"
            )
        if len(labelled) >= options.budget:
            return curve
        n = min(options.batch_size, options.budget - len(labelled))
        generator = batch_generator(options.seed, repeat, batch)
        picks = query(name, point.model, corpus, labelled, unlabelled, n, generator)
        labelled.extend(picks)
        unlabelled = without(unlabelled, picks)
        point = fit_and_score(corpus, labelled, options.params)
        batch += 1


# --------------------------------------------------------------------------------------------
# Summaries: area under the curve, labels needed to reach a share of the ceiling
# --------------------------------------------------------------------------------------------


def labels_to_fraction(
    labels: Sequence[int], values: Sequence[float], ceiling: float | None, fraction: float
) -> int | None:
    """The smallest label count whose mean F1 reaches ``fraction`` of the full-data ceiling;
    None when it never does (or there is no ceiling). That is the number a team budgets with."""
    if ceiling is None:
        return None
    target = fraction * ceiling
    for n, value in zip(labels, values, strict=True):
        if value >= target - _FLOAT_SLACK:
            return int(n)
    return None


def _curve_points(runs: np.ndarray, labels: Sequence[int]) -> list[dict[str, Any]]:
    """Mean and (population) std over repeats at every label count; runs is (repeats, points, 3)
    holding weighted F1, macro F1 and trained tags."""
    mean, std = runs.mean(axis=0), runs.std(axis=0)
    return [
        {
            "labels": int(n),
            "weighted_f1_mean": float(mean[i, 0]),
            "weighted_f1_std": float(std[i, 0]),
            "macro_f1_mean": float(mean[i, 1]),
            "macro_f1_std": float(std[i, 1]),
            "trained_tags_mean": float(mean[i, 2]),
        }
        for i, n in enumerate(labels)
    ]


def summarise_strategy(
    runs: np.ndarray, labels: Sequence[int], full_data: Mapping[str, float] | None
) -> dict[str, Any]:
    curve = _curve_points(runs, labels)
    weighted = [p["weighted_f1_mean"] for p in curve]
    ceiling = full_data["weighted_f1"] if full_data else None
    summary: dict[str, Any] = {
        "curve": curve,
        "auc_weighted_f1": curve_auc(labels, weighted),
        "auc_macro_f1": curve_auc(labels, [p["macro_f1_mean"] for p in curve]),
    }
    for fraction in CEILING_FRACTIONS:
        key = f"labels_to_{round(fraction * 100)}pct"
        summary[key] = labels_to_fraction(labels, weighted, ceiling, fraction)
    summary["repeats_weighted_f1"] = runs[:, :, 0].tolist()
    summary["repeats_macro_f1"] = runs[:, :, 1].tolist()
    return summary


def summary_table(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per strategy, best area under the weighted-F1 curve first (ties by name). A warm
    result (it carries ``injected_errors``) gets :func:`warm_summary_table` instead."""
    if "injected_errors" in result:
        return warm_summary_table(result)
    rows = [
        {
            "strategy": name,
            "auc_weighted_f1": data["auc_weighted_f1"],
            "auc_macro_f1": data["auc_macro_f1"],
            "labels_to_90pct": data["labels_to_90pct"],
            "labels_to_95pct": data["labels_to_95pct"],
            "final_weighted_f1": data["curve"][-1]["weighted_f1_mean"],
        }
        for name, data in result["strategies"].items()
    ]
    return sorted(rows, key=lambda row: (-row["auc_weighted_f1"], row["strategy"]))


_TABLE_COLUMNS = (
    ("strategy", "strategy"),
    ("auc_weighted_f1", "AUC weighted F1"),
    ("auc_macro_f1", "AUC macro F1"),
    ("labels_to_90pct", "labels to 90%"),
    ("labels_to_95pct", "labels to 95%"),
    ("final_weighted_f1", "final weighted F1"),
)


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Plain-text table for the terminal, for cold or warm rows (told apart by their keys).
    "-" means the share of the ceiling was never reached (cold) or the label count is beyond
    the budget (warm)."""
    warm = bool(rows) and "final_errors_fixed" in rows[0]
    columns = WARM_COLUMNS if warm else _TABLE_COLUMNS
    header = [title for _, title in columns]
    body = [[warm_cell(key, row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[j]) for line in [header, *body]) for j in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def run_simulation(
    projects: Sequence[ProjectLike],
    taxonomy: Mapping[str, Any],
    strategies: Sequence[str],
    seed_size: int,
    batch_size: int,
    budget: int,
    repeats: int,
    params: ModelParams | None = None,
    progress: ProgressCallback | None = None,
    full_data: bool = True,
    seed: int = 0,
    n_jobs: int = 1,
    noise_drop: float | None = None,
    noise_add: float | None = None,
    mix_share: float = DEFAULT_MIX_SHARE,
    mix_with: str = DEFAULT_MIX_WITH,
    accept_rates: Sequence[float] = (0.0, 0.5, 0.9),
    accuracy: float = 1.0,
    preselect_policy: str = DEFAULT_PRESELECT_POLICY,
) -> dict[str, Any]:
    """Replay the labelled catalogue for every strategy and repeat; returns a JSON-ready dict
    (config, full_data ceiling, per-strategy curves and summaries, seconds).

    ``seed`` is the base seed (repeat r draws its seed set with ``seed + r``). ``n_jobs`` > 1
    replays (repeat, strategy) curves in that many worker processes: the results are the same
    numbers, but progress then arrives per finished curve instead of per batch.

    Warm start (``noise_drop`` and/or ``noise_add`` given; a missing one counts as 0): every
    pool project starts with noisy source tags made from its true tags (repeat r draws its
    noise with ``seed + r``), the model trains on the whole pool, and each batch replaces the
    picked projects' tags by the true ones. ``seed_size`` is IGNORED there: nothing needs to
    be labelled before the first model, so the first point is at 0 labels. The result adds
    ``injected_errors`` and per point ``errors_fixed`` and ``batch_precision``. The
    label-error strategies (:func:`warm_choice`) are warm only; ``mix_share`` and
    ``mix_with`` configure ``label_errors_mix``. Every warm strategy is replayed once per
    simulated annotator: with probability a (each of ``accept_rates``) they submit what
    ``preselect_policy`` pre-selects, otherwise they type the true tags with per-tag
    ``accuracy``; each point adds errors introduced, net and the pre-selection's precision
    (``labeling.annotator``)."""
    started = time.perf_counter()
    params = params or ModelParams()
    corpus = build_corpus(projects, taxonomy, params.features.title_repeats)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1; got {n_jobs}")
    if noise_drop is not None or noise_add is not None:
        drop, add = noise_drop or 0.0, noise_add or 0.0
        for name, value in (("noise_drop", drop), ("noise_add", add)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1; got {value}")
        names = validate_warm_options(
            strategies, batch_size, budget, repeats, corpus, mix_share, mix_with
        )
        rates = validate_annotators(accept_rates, accuracy, preselect_policy)
        options = SimulationOptions(
            names,
            0,
            batch_size,
            budget,
            repeats,
            params,
            full_data,
            seed,
            n_jobs,
            mix_share=mix_share,
            mix_with=mix_with,
            accept_rates=rates,
            accuracy=accuracy,
            preselect_policy=preselect_policy,
        )
        result = run_warm(corpus, options, drop, add, len(projects), progress)
        return {**result, "seconds": round(time.perf_counter() - started, 3)}
    warm_only = [name for name in strategies if is_label_error_strategy(name)]
    if warm_only:
        raise ValueError(f"strategy '{warm_only[0]}' needs a warm start (noise_drop, noise_add)")
    names = validate_options(
        strategies,
        seed_size,
        batch_size,
        budget,
        repeats,
        len(corpus.pool_texts),
        len(corpus.eval_texts),
    )
    options = SimulationOptions(
        names, seed_size, batch_size, budget, repeats, params, full_data, seed, n_jobs
    )
    ceiling = full_data_ceiling(corpus, params) if full_data else None
    runs = replay_all(corpus, options, progress)
    labels = label_counts(seed_size, batch_size, budget)
    return {
        "config": run_config(options, corpus, len(projects)),
        "full_data": ceiling,
        "strategies": {
            name: summarise_strategy(
                np.array([[point[1:] for point in curve] for curve in runs[name]], dtype=float),
                labels,
                ceiling,
            )
            for name in names
        },
        "seconds": round(time.perf_counter() - started, 3),
    }


def replay_all(
    corpus: Corpus, options: SimulationOptions, progress: ProgressCallback | None
) -> dict[str, list[Curve]]:
    """Every (repeat, strategy) curve, indexed [strategy][repeat]. The seed-set model of a
    repeat is fitted once and shared, which makes every strategy's first point identical by
    construction and saves one fit per strategy."""
    tasks = []
    for repeat in range(options.repeats):
        seed_rows = _seed_rows(len(corpus.pool_texts), options.seed_size, options.seed + repeat)
        first = fit_and_score(corpus, seed_rows, options.params)
        tasks += [(name, corpus, seed_rows, first, options, repeat) for name in options.strategies]
    return replay_tasks(replay_strategy, tasks, options, progress)


def _seed_rows(pool_size: int, seed_size: int, seed: int) -> list[int]:
    """The random starting set of one repeat, sorted so its order carries no meaning."""
    rows = np.random.default_rng(seed).choice(pool_size, size=seed_size, replace=False)
    return sorted(int(i) for i in rows)
