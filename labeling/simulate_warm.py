"""Warm-start replay: every pool project arrives with noisy source tags, and each label fixes
(or, through a hurried annotator, spoils) one project.

Split out of ``simulate`` (the project rule: a module past ~600 lines or mixing two subjects is
split). Warm replay is its own subject: noise injection, the label-error strategies and their
mixes, the simulated annotator (automation bias a, accuracy q) replayed per accept rate, and the
warm summary table. :func:`labeling.simulate.run_simulation` stays the one entry point and
dispatches here when noise is given; this module imports only ``simulate_common``, never
``simulate``, so the imports go one way.

DESIGN.md ("Cold start versus warm start"): LabelLoop's real catalogue arrives with source
tags, noisy but mostly right, so the model starts warm and the valuable label is the one that
corrects a wrong or incomplete project. The warm replay measures that: how many injected tag
errors each strategy has fixed after n labels, and what the clean evaluation split says about
the model trained on the partly corrected pool.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from labeling.annotator import Annotator, judgement, tag_changes
from labeling.label_errors import (
    DEFAULT_DETECTOR,
    DEFAULT_MIX_SHARE,
    DEFAULT_MIX_WITH,
    DETECTORS,
    MIX_PARTNERS,
    PRESELECT_POLICIES,
    mixed_batch,
    preselected_tags,
)
from labeling.model import ModelParams
from labeling.simulate_common import (
    Corpus,
    Point,
    ProgressCallback,
    SimulationOptions,
    batch_generator,
    curve_auc,
    fit_and_score_texts,
    full_data_ceiling,
    progress_prefix,
    query,
    replay_tasks,
    run_config,
    table_cell,
    validate_options,
    without,
)
from labeling.simulate_evidence import Evidence, partner_order, pool_evidence, suspect_order
from labeling.strategies import STRATEGIES, get_strategy

WarmCurve = list[tuple[int, int, float, float, float, int, int, int]]
# (labels, errors fixed, weighted F1, macro F1, batch precision (NaN at the first point),
# errors introduced, pre-selected changes, right pre-selected changes), counts cumulative
ACCEPT_RATES = (0.0, 0.5, 0.9)
WARM_MILESTONES = (100, 250, 500)
LABEL_ERRORS = "label_errors"
MIX = "label_errors_mix"


@dataclass(frozen=True)
class WarmChoice:
    """What a warm strategy name asks for: a label-error detector (None for a plain strategy)
    and, for a mix, the partner that gets a share of every batch."""

    detector: str | None
    partner: str | None = None


def warm_choice(name: str, mix_with: str = DEFAULT_MIX_WITH) -> WarmChoice:
    """``label_errors`` = the default detector; ``label_errors_<detector>`` one of
    ``DETECTORS``; ``label_errors_mix`` = the default detector mixed with ``mix_with``, and
    ``label_errors_mix_<partner>`` with that partner; any other name is a plain strategy."""
    if name == LABEL_ERRORS:
        return WarmChoice(DEFAULT_DETECTOR)
    if name == MIX:
        return WarmChoice(DEFAULT_DETECTOR, mix_with)
    suffix = name.removeprefix(f"{MIX}_")
    if suffix != name and suffix in MIX_PARTNERS:
        return WarmChoice(DEFAULT_DETECTOR, suffix)
    detector = name.removeprefix(f"{LABEL_ERRORS}_")
    if detector != name and detector in DETECTORS:
        return WarmChoice(detector)
    return WarmChoice(None)


def is_label_error_strategy(name: str) -> bool:
    return warm_choice(name).detector is not None


def label_error_strategy_names() -> list[str]:
    return [
        LABEL_ERRORS,
        *(f"{LABEL_ERRORS}_{detector}" for detector in DETECTORS),
        MIX,
        *(f"{MIX}_{partner}" for partner in MIX_PARTNERS),
    ]


def inject_noise(
    labels: Sequence[frozenset[str]],
    tags: Sequence[str],
    drop: float,
    add: float,
    seed: int,
) -> tuple[list[frozenset[str]], dict[str, int]]:
    """Source tags made from true tags: each true tag is dropped with probability ``drop`` and
    one wrong tag (uniform among the tags the project lacks) is added with probability ``add``.

    Tags are visited in sorted order, never in set order: string hashing is randomised per
    process, so set order would make the same seed give different noise from run to run.
    Returns the noisy sets and {"dropped", "added", "projects_with_error"}."""
    for name, value in (("drop", drop), ("add", add)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"noise {name} must be between 0 and 1; got {value}")
    generator = np.random.default_rng(seed)
    noisy: list[frozenset[str]] = []
    summary = {"dropped": 0, "added": 0, "projects_with_error": 0}
    for true in labels:
        kept = [tag for tag in sorted(true) if generator.random() >= drop]
        summary["dropped"] += len(true) - len(kept)
        if generator.random() < add:
            wrong = [tag for tag in tags if tag not in true]
            if wrong:
                kept.append(wrong[int(generator.integers(len(wrong)))])
                summary["added"] += 1
        noisy.append(frozenset(kept))
        summary["projects_with_error"] += noisy[-1] != true
    return noisy, summary


@dataclass(frozen=True)
class WarmStart:
    """One repeat's noisy pool: the source tags and how many tag errors each project carries."""

    noisy: list[frozenset[str]]
    errors: list[int]
    summary: dict[str, int]


def warm_start(corpus: Corpus, drop: float, add: float, seed: int) -> WarmStart:
    """The noisy pool of a repeat (the simulator uses ``seed + repeat``). Every strategy of a
    repeat sees the same noise, so their error counts are a paired comparison."""
    noisy, summary = inject_noise(corpus.pool_labels, corpus.candidate_tags, drop, add, seed)
    errors = [len(t ^ n) for t, n in zip(corpus.pool_labels, noisy, strict=True)]
    return WarmStart(noisy, errors, {**summary, "tag_errors": sum(errors)})


def warm_label_counts(batch_size: int, budget: int) -> list[int]:
    """Warm curves start at 0 labels: the model already has the source tags to learn from."""
    return [*range(0, budget, batch_size), budget]


def validate_warm_options(
    strategies: Sequence[str],
    batch_size: int,
    budget: int,
    repeats: int,
    corpus: Corpus,
    mix_share: float = DEFAULT_MIX_SHARE,
    mix_with: str = DEFAULT_MIX_WITH,
) -> list[str]:
    """Warm-mode checks: every name is a label-error strategy or a registered one, and the
    batch, budget and mix settings make sense. Returns the strategies, duplicates removed."""
    if budget < 1:
        raise ValueError(f"budget must be at least 1; got {budget}")
    if not 0.0 <= mix_share <= 1.0:
        raise ValueError(f"mix share must be between 0 and 1; got {mix_share}")
    if mix_with not in MIX_PARTNERS:
        raise ValueError(
            f"unknown mix partner {mix_with!r}; choose one of: {', '.join(MIX_PARTNERS)}"
        )
    if not strategies:
        raise ValueError(f"choose at least one strategy: {', '.join(STRATEGIES)}")
    for name in strategies:
        if not is_label_error_strategy(name) and name not in STRATEGIES:
            valid = [*STRATEGIES, *label_error_strategy_names()]
            raise ValueError(f"unknown strategy {name!r}; choose one of: {', '.join(valid)}")
    validate_options(
        ["random"], 1, batch_size, budget, repeats, len(corpus.pool_texts), len(corpus.eval_texts)
    )
    return list(dict.fromkeys(strategies))


def validate_annotators(
    accept_rates: Sequence[float], accuracy: float, preselect_policy: str
) -> tuple[float, ...]:
    """The simulated annotators' settings, checked before any fit; duplicates removed."""
    rates = tuple(dict.fromkeys(float(a) for a in accept_rates))
    if not rates:
        raise ValueError("give at least one accept rate (automation bias a), e.g. 0,0.5,0.9")
    for rate in rates:
        Annotator(rate, accuracy)  # ValueError naming the bad value
    if preselect_policy not in PRESELECT_POLICIES:
        raise ValueError(
            f"unknown pre-selection policy {preselect_policy!r}; choose one of: "
            f"{', '.join(PRESELECT_POLICIES)}"
        )
    return rates


def fit_and_score_labels(
    corpus: Corpus, labels: Sequence[frozenset[str]], params: ModelParams
) -> Point:
    """Fit on the WHOLE pool with the given (partly corrected) labels: the warm model."""
    return fit_and_score_texts(corpus, corpus.pool_texts, labels, params)


def _warm_query(
    name: str,
    point: Point,
    corpus: Corpus,
    current: Sequence[frozenset[str]],
    revealed: Sequence[int],
    unrevealed: Sequence[int],
    n: int,
    generator: np.random.Generator,
    oof_seed: int,
    options: SimulationOptions,
) -> tuple[list[int], Evidence | None]:
    """The picks and, for a label-error strategy, the evidence the Annotate page would show
    with them. Plain strategies see the model's probabilities on the unrevealed pool exactly
    as in cold mode (and nothing is pre-selected for their picks, as in serving); every
    strategy queries at random while there is no model. Ranked batch's labelled set is the
    revealed projects."""
    choice = warm_choice(name, options.mix_with)
    model = point.model
    if choice.detector is not None and model is not None:
        evidence = pool_evidence(model, corpus, current, oof_seed)
        order = suspect_order(evidence, unrevealed, choice.detector)
        if choice.partner is None:
            return order[:n], evidence
        partner = partner_order(choice.partner, model, corpus, unrevealed, generator)
        batch = mixed_batch(order, partner, n, options.mix_share)
        # serving shows the suspicions only with the label-error route's picks
        from_suspects = set(batch[: n - round(options.mix_share * n)])
        return batch, replace(evidence, rows=frozenset(from_suspects))
    strategy = "random" if choice.detector is not None else name
    if strategy == "ranked_batch" and not revealed and model is not None:
        # nothing verified yet: ranked batch cold-starts from the most central project
        model.X_training_ = None  # type: ignore[attr-defined]
        X_pool = model.transform([corpus.pool_texts[i] for i in unrevealed])
        return [unrevealed[int(i)] for i in get_strategy(strategy)(model, X_pool, n)], None
    return query(strategy, model, corpus, revealed, unrevealed, n, generator), None


def warm_key(name: str, accept_rate: float) -> str:
    """One replay per (strategy, annotator): e.g. ``label_errors@0.9``."""
    return f"{name}@{accept_rate:g}"


def _split_key(key: str) -> tuple[str, float]:
    name, _, rate = key.rpartition("@")
    return name, float(rate)


def replay_warm(
    key: str,
    corpus: Corpus,
    start: WarmStart,
    first: Point,
    options: SimulationOptions,
    repeat: int,
    progress: ProgressCallback | None,
) -> WarmCurve:
    """One warm curve for one strategy and one simulated annotator (``key`` =
    :func:`warm_key`): after every batch, each picked project gets what the annotator
    submits (the pre-selection with probability a, otherwise the true tags typed with
    accuracy q), the model is refitted on the whole pool, and the errors fixed and introduced
    so far are counted against the true tags."""
    name, accept_rate = _split_key(key)
    annotator = Annotator(accept_rate, options.accuracy)
    current = list(start.noisy)
    revealed: list[int] = []
    unrevealed = list(range(len(corpus.pool_texts)))
    point, precision, batch = first, float("nan"), 0
    fixed = introduced = changes = right = 0
    curve: WarmCurve = []
    while True:
        curve.append(
            (
                len(revealed),
                fixed,
                point.weighted_f1,
                point.macro_f1,
                precision,
                introduced,
                changes,
                right,
            )
        )
        if progress:
            progress(
                f"{progress_prefix(key, repeat, len(revealed), options)}, "
                f"{fixed}/{start.summary['tag_errors']} errors fixed, {introduced} introduced, "
                f"weighted F1 {point.weighted_f1:.2f}"
            )
        if len(revealed) >= options.budget:
            return curve
        n = min(options.batch_size, options.budget - len(revealed))
        generator = batch_generator(options.seed, repeat, batch)
        oof_seed = options.seed * 1_000_003 + repeat * 1_009 + batch
        picks, evidence = _warm_query(
            name, point, corpus, current, revealed, unrevealed, n, generator, oof_seed, options
        )
        person = np.random.default_rng([options.seed, repeat, batch, 1])
        tags = point.model.tags if point.model is not None else []
        for row in picks:
            suspicions = evidence.suspicions(row, tags) if evidence is not None else {}
            shown = preselected_tags(sorted(current[row]), suspicions, options.preselect_policy)
            truth = corpus.pool_labels[row]
            submitted = judgement(annotator, current[row], shown, truth, person)
            preselection = tag_changes(current[row], shown, truth)
            result = tag_changes(current[row], submitted, truth)
            fixed, introduced = fixed + result.fixed, introduced + result.introduced
            changes += preselection.changes
            right += preselection.right_changes
            current[row] = submitted
        precision = sum(start.errors[row] > 0 for row in picks) / len(picks)
        revealed.extend(picks)
        unrevealed = without(unrevealed, picks)
        point = fit_and_score_labels(corpus, current, options.params)
        batch += 1


def replay_all_warm(
    corpus: Corpus,
    options: SimulationOptions,
    drop: float,
    add: float,
    progress: ProgressCallback | None,
) -> tuple[dict[str, list[WarmCurve]], list[dict[str, int]]]:
    """Every warm (repeat, strategy, annotator) curve, keyed by :func:`warm_key`, and each
    repeat's injected-noise summary. The noisy pool and its first model are shared by the
    replays of a repeat."""
    keys = [warm_key(name, a) for name in options.strategies for a in options.accept_rates]
    tasks = []
    injected = []
    for repeat in range(options.repeats):
        start = warm_start(corpus, drop, add, options.seed + repeat)
        injected.append(start.summary)
        first = fit_and_score_labels(corpus, start.noisy, options.params)
        tasks += [(key, corpus, start, first, options, repeat) for key in keys]
    keyed = replace(options, strategies=keys)
    return replay_tasks(replay_warm, tasks, keyed, progress), injected


def _mean_or_none(values: np.ndarray) -> float | None:
    """Batch precision has no value at 0 labels (no batch yet): NaN becomes JSON null."""
    mean = float(values.mean())
    return None if np.isnan(mean) else mean


def summarise_warm(runs: np.ndarray, labels: Sequence[int]) -> dict[str, Any]:
    """Means over repeats; runs is (repeats, points, 7): errors fixed, weighted F1, macro
    F1, batch precision, errors introduced, pre-selected changes, right ones (cumulative).
    ``preselect_precision`` pools the repeats' pre-selected changes (None before any)."""
    mean, std = runs.mean(axis=0), runs.std(axis=0)
    changes, right = runs[:, :, 5].sum(axis=0), runs[:, :, 6].sum(axis=0)
    curve = [
        {
            "labels": int(n),
            "errors_fixed": float(mean[i, 0]),
            "errors_fixed_std": float(std[i, 0]),
            "errors_introduced": float(mean[i, 4]),
            "errors_introduced_std": float(std[i, 4]),
            "net": float(mean[i, 0] - mean[i, 4]),
            "weighted_f1": float(mean[i, 1]),
            "weighted_f1_std": float(std[i, 1]),
            "macro_f1": float(mean[i, 2]),
            "macro_f1_std": float(std[i, 2]),
            "batch_precision": _mean_or_none(runs[:, i, 3]),
            "preselected_changes": float(mean[i, 5]),
            "preselect_precision": float(right[i] / changes[i]) if changes[i] else None,
        }
        for i, n in enumerate(labels)
    ]
    precisions = runs[:, 1:, 3]
    return {
        "curve": curve,
        "auc_weighted_f1": curve_auc(labels, [p["weighted_f1"] for p in curve]),
        "mean_batch_precision": _mean_or_none(precisions) if precisions.size else None,
        "repeats_errors_fixed": runs[:, :, 0].tolist(),
        "repeats_errors_introduced": runs[:, :, 4].tolist(),
        "repeats_weighted_f1": runs[:, :, 1].tolist(),
        "repeats_macro_f1": runs[:, :, 2].tolist(),
    }


def injected_errors(per_repeat: Sequence[Mapping[str, int]]) -> dict[str, Any]:
    """Means over repeats (each repeat draws its own noise) and the per-repeat counts."""
    keys = ("tag_errors", "projects_with_error", "dropped", "added")
    means = {key: float(np.mean([summary[key] for summary in per_repeat])) for key in keys}
    return {**means, "per_repeat": [dict(summary) for summary in per_repeat]}


def run_warm(
    corpus: Corpus,
    options: SimulationOptions,
    drop: float,
    add: float,
    n_projects: int,
    progress: ProgressCallback | None,
) -> dict[str, Any]:
    ceiling = full_data_ceiling(corpus, options.params) if options.full_data else None
    runs, injected = replay_all_warm(corpus, options, drop, add, progress)
    labels = warm_label_counts(options.batch_size, options.budget)
    config = {
        **run_config(options, corpus, n_projects),
        "mode": "warm",
        "seed_size": None,
        "noise_drop": drop,
        "noise_add": add,
        "mix_share": options.mix_share,
        "mix_with": options.mix_with,
        "label_counts": labels,
        "accept_rates": list(options.accept_rates),
        "accuracy": options.accuracy,
        "preselect_policy": options.preselect_policy,
    }

    def summary(key: str) -> dict[str, Any]:
        points = [[point[1:] for point in curve] for curve in runs[key]]
        return summarise_warm(np.array(points, dtype=float), labels)

    strategies = {}
    for name in options.strategies:
        by_rate = {f"{a:g}": summary(warm_key(name, a)) for a in options.accept_rates}
        # the first annotator's summary stays at the top level (charts read it)
        strategies[name] = {**by_rate[f"{options.accept_rates[0]:g}"], "by_accept_rate": by_rate}
    return {
        "config": config,
        "full_data": ceiling,
        "injected_errors": injected_errors(injected),
        "strategies": strategies,
    }


def errors_fixed_at(curve: Sequence[Mapping[str, Any]], target: int) -> float | None:
    """Errors fixed at the curve point nearest ``target`` labels (the lower one on a tie);
    None when ``target`` is beyond the budget, which would otherwise report the last point."""
    if not curve or target > curve[-1]["labels"]:
        return None
    nearest = min(curve, key=lambda point: abs(point["labels"] - target))
    return nearest["errors_fixed"]


def warm_summary_table(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per strategy and simulated annotator (automation bias a): errors fixed at the
    milestones, then at the end of the budget errors fixed, introduced and net, the mean
    batch precision, the precision of the pre-selected changes and F1. Grouped by a, best
    net first (ties by name)."""
    rows = []
    for name, data in result["strategies"].items():
        for rate, summary in data.get("by_accept_rate", {"": data}).items():
            curve = summary["curve"]
            row: dict[str, Any] = {"strategy": name, "accept_rate": rate}
            for target in WARM_MILESTONES:
                row[f"errors_fixed_at_{target}"] = errors_fixed_at(curve, target)
            row["final_labels"] = curve[-1]["labels"]
            row["final_errors_fixed"] = curve[-1]["errors_fixed"]
            row["final_errors_introduced"] = curve[-1].get("errors_introduced")
            row["final_net"] = curve[-1].get("net")
            row["batch_precision"] = summary.get("mean_batch_precision")
            row["preselect_precision"] = curve[-1].get("preselect_precision")
            row["final_weighted_f1"] = curve[-1]["weighted_f1"]
            row["final_macro_f1"] = curve[-1]["macro_f1"]
            rows.append(row)
    return sorted(
        rows,
        key=lambda row: (
            row["accept_rate"],
            -(row["final_net"] if row["final_net"] is not None else row["final_errors_fixed"]),
            row["strategy"],
        ),
    )


# --------------------------------------------------------------------------------------------
# The terminal table's warm columns (``simulate.format_table`` prints cold or warm rows)
# --------------------------------------------------------------------------------------------

WARM_COLUMNS = (
    ("strategy", "strategy"),
    ("accept_rate", "a"),
    *((f"errors_fixed_at_{n}", f"errors fixed @{n}") for n in (100, 250, 500)),
    ("final_labels", "labels"),
    ("final_errors_fixed", "errors fixed"),
    ("final_errors_introduced", "introduced"),
    ("final_net", "net"),
    ("batch_precision", "batch precision"),
    ("preselect_precision", "pre-selection precision"),
    ("final_weighted_f1", "weighted F1"),
    ("final_macro_f1", "macro F1"),
)
_ERROR_COUNT_KEYS = frozenset(
    {
        "final_errors_fixed",
        "final_errors_introduced",
        "final_net",
        *(f"errors_fixed_at_{n}" for n in (100, 250, 500)),
    }
)


def warm_cell(key: str, value: Any) -> str:
    """Error counts are means over repeats: one decimal, not F1's three."""
    if key in _ERROR_COUNT_KEYS and value is not None:
        return f"{value:.1f}"
    return table_cell(value)
