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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from labeling.annotator import Annotator, judgement, tag_changes
from labeling.features import project_text
from labeling.io import RawProject, TaxonomyEntry, split_for
from labeling.label_errors import (
    DEFAULT_DETECTOR,
    DEFAULT_MIX_SHARE,
    DEFAULT_MIX_WITH,
    DEFAULT_PRESELECT_POLICY,
    DETECTORS,
    MIX_PARTNERS,
    PRESELECT_POLICIES,
    evidence_weights,
    implied_parents,
    mixed_batch,
    preselected_tags,
    reference_out_of_fold,
    suspects,
)
from labeling.model import (
    ModelParams,
    TagModel,
    evaluate,
    fit_tag_model,
    label_matrix,
    trainable_tags,
)
from labeling.strategies import STRATEGIES, get_strategy, uncertainty_scores
from labeling.strategies import random as random_strategy
from labeling.text import slugify_tag

ProgressCallback = Callable[[str], None]
ProjectLike = Mapping[str, Any] | RawProject
Curve = list[tuple[int, float, float, int]]  # (labels, weighted F1, macro F1, trained tags)
CEILING_FRACTIONS = (0.9, 0.95)
_FLOAT_SLACK = 1e-12


# --------------------------------------------------------------------------------------------
# Input: canonical tags, evaluation split, pool
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """The catalogue as the simulator sees it: pool (may be labelled) and evaluation split."""

    pool_texts: list[str]
    pool_labels: list[frozenset[str]]
    eval_texts: list[str]
    eval_labels: list[frozenset[str]]
    candidate_tags: list[str]
    eval_tags: list[str]
    dropped_tags: dict[str, int]
    parents: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationOptions:
    strategies: list[str]
    seed_size: int
    batch_size: int
    budget: int
    repeats: int
    params: ModelParams
    full_data: bool
    seed: int
    n_jobs: int = 1
    mix_share: float = DEFAULT_MIX_SHARE
    mix_with: str = DEFAULT_MIX_WITH
    # warm start: the simulated annotators (automation bias a; accuracy q when typing) and
    # what the Annotate page pre-selects for them
    accept_rates: tuple[float, ...] = (0.0,)
    accuracy: float = 1.0
    preselect_policy: str = DEFAULT_PRESELECT_POLICY


def alias_map(taxonomy: Mapping[str, Any]) -> dict[str, str]:
    """Slug -> canonical tag for every tag and alias. Accepts ``io.parse_taxonomy`` output
    (TaxonomyEntry values) or the raw tags.json mapping, so the CLI and tests need no parsing."""
    mapping: dict[str, str] = {}
    for raw_name, spec in taxonomy.items():
        name = slugify_tag(raw_name)
        mapping[name] = name
        for alias in _aliases_of(spec):
            mapping.setdefault(slugify_tag(alias), name)
    return mapping


def parent_map(taxonomy: Mapping[str, Any], canonical: Mapping[str, str]) -> dict[str, list[str]]:
    """Canonical tag -> its canonical parents, from TaxonomyEntry values or raw tags.json."""
    parents: dict[str, list[str]] = {}
    for raw_name, spec in taxonomy.items():
        if isinstance(spec, TaxonomyEntry):
            names: Iterable[str] = spec.parents
        elif isinstance(spec, Mapping):
            names = spec.get("parents") or ()
        else:
            names = ()
        known = [canonical[slugify_tag(n)] for n in names if slugify_tag(n) in canonical]
        if known:
            parents[slugify_tag(raw_name)] = known
    return parents


def _aliases_of(spec: Any) -> Iterable[str]:
    if isinstance(spec, TaxonomyEntry):
        return spec.aliases
    if isinstance(spec, Mapping):
        return spec.get("aliases") or ()
    return ()


def _fields(project: ProjectLike) -> tuple[str, str, str, Sequence[str]]:
    """(id, title, description, tags) of a parsed RawProject or a Made With ML dict."""
    if isinstance(project, RawProject):
        return project.external_id, project.title, project.description, project.tags
    raw_id = project.get("external_id", project.get("id"))
    return (
        str(raw_id).strip(),
        str(project.get("title") or ""),
        str(project.get("description") or ""),
        list(project.get("tags") or []),
    )


def build_corpus(
    projects: Sequence[ProjectLike], taxonomy: Mapping[str, Any], title_repeats: int
) -> Corpus:
    """Map tags to canonical names (unknown tags dropped and counted) and split the projects
    with the app's stable hash, so simulated scores are on the app's evaluation projects."""
    canonical = alias_map(taxonomy)
    pool_texts: list[str] = []
    pool_labels: list[frozenset[str]] = []
    eval_texts: list[str] = []
    eval_labels: list[frozenset[str]] = []
    dropped: dict[str, int] = {}
    for project in projects:
        external_id, title, description, tags = _fields(project)
        labels = set()
        for tag in tags:
            slug = slugify_tag(tag)
            if slug in canonical:
                labels.add(canonical[slug])
            elif slug:
                dropped[slug] = dropped.get(slug, 0) + 1
        text = project_text(title, description, title_repeats)
        is_eval = split_for(external_id) == "eval"
        (eval_texts if is_eval else pool_texts).append(text)
        (eval_labels if is_eval else pool_labels).append(frozenset(labels))
    candidates = list(dict.fromkeys(canonical.values()))
    seen_in_eval = set().union(*eval_labels) if eval_labels else set()
    return Corpus(
        pool_texts,
        pool_labels,
        eval_texts,
        eval_labels,
        candidates,
        [tag for tag in candidates if tag in seen_in_eval],
        dict(sorted(dropped.items())),
        parent_map(taxonomy, canonical),
    )


def validate_options(
    strategies: Sequence[str],
    seed_size: int,
    batch_size: int,
    budget: int,
    repeats: int,
    pool_size: int,
    eval_size: int,
) -> list[str]:
    """Check every option before any model is fitted, so a bad run fails in milliseconds with a
    message that says what to change. Returns the strategies, duplicates removed."""
    if not strategies:
        raise ValueError(f"choose at least one strategy: {', '.join(STRATEGIES)}")
    for name in strategies:
        get_strategy(name)  # ValueError listing the valid names
    if seed_size < 1:
        raise ValueError(f"seed_size must be at least 1; got {seed_size}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    if budget < seed_size:
        raise ValueError(f"budget ({budget}) must be at least seed_size ({seed_size})")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1; got {repeats}")
    if budget > pool_size:
        raise ValueError(
            f"budget ({budget}) is larger than the pool of {pool_size} training projects "
            f"({eval_size} more are kept for evaluation)"
        )
    if eval_size == 0:
        raise ValueError("no project falls in the evaluation split; the catalogue is too small")
    return list(dict.fromkeys(strategies))


# --------------------------------------------------------------------------------------------
# One point of a curve: fit on the labelled rows, score on the evaluation split
# --------------------------------------------------------------------------------------------


@dataclass
class Point:
    model: TagModel | None
    weighted_f1: float
    macro_f1: float
    trained_tags: int


def fit_and_score(corpus: Corpus, rows: Sequence[int], params: ModelParams) -> Point:
    """One fit per batch on the labelled rows. Rows are sorted first so the model depends on
    which projects are labelled, not on the order they were revealed in (the CV folds are drawn
    by position): the whole pool gives exactly the full-data model."""
    rows = sorted(rows)
    return _fit_and_score(
        corpus, [corpus.pool_texts[i] for i in rows], [corpus.pool_labels[i] for i in rows], params
    )


def _fit_and_score(
    corpus: Corpus, texts: Sequence[str], labels: Sequence[frozenset[str]], params: ModelParams
) -> Point:
    """Fit on ``texts`` and ``labels`` and score on the clean evaluation split. With no
    trainable tag yet there is no model: F1 is 0 and the caller queries at random, as a real
    team with no model would."""
    trainable, _ = trainable_tags(labels, corpus.candidate_tags, params.min_positives)
    if not trainable:
        return Point(None, 0.0, 0.0, 0)
    model = fit_tag_model(texts, labels, corpus.candidate_tags, params)
    decisions = model.decide(model.predict_proba(model.transform(corpus.eval_texts)))
    overall = evaluate(
        corpus.eval_labels, _aligned(decisions, model.tags, corpus.eval_tags), corpus.eval_tags
    )["overall"]
    return Point(model, overall["weighted_f1"], overall["macro_f1"], len(model.tags))


def _aligned(decisions: np.ndarray, model_tags: Sequence[str], tags: Sequence[str]) -> np.ndarray:
    """Decisions over ``tags``: the model's columns where it has them, "absent" elsewhere."""
    column = {tag: j for j, tag in enumerate(model_tags)}
    out = np.zeros((decisions.shape[0], len(tags)), dtype=decisions.dtype)
    for j, tag in enumerate(tags):
        if tag in column:
            out[:, j] = decisions[:, column[tag]]
    return out


# --------------------------------------------------------------------------------------------
# Querying
# --------------------------------------------------------------------------------------------


def batch_generator(seed: int, repeat: int, batch: int) -> np.random.Generator:
    """A fresh generator per (repeat, batch): ``random`` draws the same projects whatever other
    strategies ran before it, so a run is reproducible strategy by strategy."""
    return np.random.default_rng([seed, repeat, batch])


def query(
    name: str,
    model: TagModel | None,
    corpus: Corpus,
    labelled: Sequence[int],
    unlabelled: Sequence[int],
    n: int,
    generator: np.random.Generator,
) -> list[int]:
    """Pool rows to reveal next, through the strategy's modAL signature. ``random`` (and any
    strategy before a model exists) needs no features, only the pool size."""
    if name == "random" or model is None:
        holder = SimpleNamespace(random_state_=generator)
        picks = random_strategy(holder, np.empty((len(unlabelled), 0)), n)
    else:
        if name == "ranked_batch":
            model.X_training_ = model.transform([corpus.pool_texts[i] for i in labelled])
        X_pool = model.transform([corpus.pool_texts[i] for i in unlabelled])
        picks = get_strategy(name)(model, X_pool, n)
    return [unlabelled[int(i)] for i in picks]


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
                f"{_progress_prefix(name, repeat, len(labelled), options)}, "
                f"weighted F1 {point.weighted_f1:.2f}"
            )
        if len(labelled) >= options.budget:
            return curve
        n = min(options.batch_size, options.budget - len(labelled))
        generator = batch_generator(options.seed, repeat, batch)
        picks = query(name, point.model, corpus, labelled, unlabelled, n, generator)
        labelled.extend(picks)
        unlabelled = _without(unlabelled, picks)
        point = fit_and_score(corpus, labelled, options.params)
        batch += 1


def _progress_prefix(name: str, repeat: int, labels: int, options: SimulationOptions) -> str:
    return (
        f"repeat {repeat + 1}/{options.repeats} strategy {name}: {labels}/{options.budget} labels"
    )


def _without(rows: Sequence[int], picks: Sequence[int]) -> list[int]:
    picked = set(picks)
    return [i for i in rows if i not in picked]


# --------------------------------------------------------------------------------------------
# Summaries: area under the curve, labels needed to reach a share of the ceiling
# --------------------------------------------------------------------------------------------


def curve_auc(labels: Sequence[float], values: Sequence[float]) -> float:
    """Trapezoid area under the curve divided by the label range: a mean F1 over the budget,
    comparable across runs with different budgets. A single point is its own mean."""
    x = np.asarray(labels, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("a curve needs at least one point")
    if x.size == 1 or x[-1] == x[0]:
        return float(y.mean())
    area = float(np.sum((y[1:] + y[:-1]) / 2.0 * np.diff(x)))
    return area / float(x[-1] - x[0])


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


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


_WARM_COLUMNS = (
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


def _warm_cell(key: str, value: Any) -> str:
    """Error counts are means over repeats: one decimal, not F1's three."""
    if key in _ERROR_COUNT_KEYS and value is not None:
        return f"{value:.1f}"
    return _cell(value)


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Plain-text table for the terminal, for cold or warm rows (told apart by their keys).
    "-" means the share of the ceiling was never reached (cold) or the label count is beyond
    the budget (warm)."""
    warm = bool(rows) and "final_errors_fixed" in rows[0]
    columns = _WARM_COLUMNS if warm else _TABLE_COLUMNS
    header = [title for _, title in columns]
    body = [[_warm_cell(key, row.get(key)) for key, _ in columns] for row in rows]
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


def full_data_ceiling(corpus: Corpus, params: ModelParams) -> dict[str, float]:
    """F1 of a model trained on the whole pool: what labelling everything would buy. The fit is
    deterministic (same pool, same params, seeded folds), so one fit stands for every repeat;
    refitting per repeat would only repeat the same number."""
    point = fit_and_score(corpus, range(len(corpus.pool_texts)), params)
    return {"weighted_f1": point.weighted_f1, "macro_f1": point.macro_f1}


def label_counts(seed_size: int, batch_size: int, budget: int) -> list[int]:
    """Where the curve has points: the seed set, every full batch, and the budget itself."""
    counts = list(range(seed_size, budget, batch_size))
    return [*counts, budget]


def _config(options: SimulationOptions, corpus: Corpus, n_projects: int) -> dict[str, Any]:
    return {
        "strategies": options.strategies,
        "seed_size": options.seed_size,
        "batch_size": options.batch_size,
        "budget": options.budget,
        "repeats": options.repeats,
        "seed": options.seed,
        "full_data": options.full_data,
        "n_jobs": options.n_jobs,
        "params": options.params.to_dict(),
        "n_projects": n_projects,
        "n_pool": len(corpus.pool_texts),
        "n_eval": len(corpus.eval_texts),
        "n_tags": len(corpus.candidate_tags),
        "n_eval_tags": len(corpus.eval_tags),
        "dropped_tags": corpus.dropped_tags,
        "label_counts": label_counts(options.seed_size, options.batch_size, options.budget),
    }


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
        result = _run_warm(corpus, options, drop, add, len(projects), progress)
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
        "config": _config(options, corpus, len(projects)),
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


Replay = Callable[..., list[Any]]


def replay_tasks(
    replay: Replay,
    tasks: Sequence[tuple[str, Corpus, Any, Point, SimulationOptions, int]],
    options: SimulationOptions,
    progress: ProgressCallback | None,
) -> dict[str, list[Any]]:
    """Run ``replay(name, corpus, start, first, options, repeat, progress)`` for every task
    (cold and warm replays share this signature), in this process or in ``options.n_jobs``
    workers; the curves come back indexed [strategy][repeat]."""
    runs: dict[str, list[Any]] = {
        name: [[] for _ in range(options.repeats)] for name in options.strategies
    }
    if options.n_jobs == 1:
        for task in tasks:
            runs[task[0]][task[-1]] = replay(*task, progress)
        return runs
    parallel = Parallel(n_jobs=options.n_jobs, return_as="generator_unordered")
    jobs = (delayed(_replay_collecting)(replay, task) for task in tasks)
    for name, repeat, curve, messages in parallel(jobs):
        runs[name][repeat] = curve
        for message in messages if progress else ():
            progress(message)
    return runs


def _replay_collecting(
    replay: Replay, task: tuple[str, Corpus, Any, Point, SimulationOptions, int]
) -> tuple[str, int, list[Any], list[str]]:
    """Worker-process entry point: a callback cannot cross the process boundary, so progress
    messages are collected and handed back with the curve."""
    messages: list[str] = []
    curve = replay(*task, messages.append)
    return task[0], task[-1], curve, messages


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


# --------------------------------------------------------------------------------------------
# Warm start: every pool project arrives with noisy source tags; each label fixes one project
# --------------------------------------------------------------------------------------------
#
# DESIGN.md ("Cold start versus warm start"): LabelLoop's real catalogue arrives with source
# tags, noisy but mostly right, so the model starts warm and the valuable label is the one that
# corrects a wrong or incomplete project. The warm replay measures that: how many injected tag
# errors each strategy has fixed after n labels, and what the clean evaluation split says about
# the model trained on the partly corrected pool.

WarmCurve = list[tuple[int, int, float, float, float, int, int, int]]
# (labels, errors fixed, weighted F1, macro F1, batch precision (NaN at the first point),
# errors introduced, pre-selected changes, right pre-selected changes), counts cumulative
ACCEPT_RATES = (0.0, 0.5, 0.9)
WARM_MILESTONES = (100, 250, 500)
LABEL_ERRORS = "label_errors"
MIX = "label_errors_mix"
UNCERTAINTY_PARTNER = "threshold_margin"


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
    return _fit_and_score(corpus, corpus.pool_texts, labels, params)


@dataclass(frozen=True)
class Evidence:
    """The label-error evidence of one batch over the whole pool, as the training job would
    store it: out-of-fold probabilities, per-row thresholds, current labels and the parents
    the taxonomy implies."""

    probabilities: np.ndarray
    thresholds: np.ndarray
    labels: np.ndarray
    implied: dict[tuple[int, int], str]
    rows: frozenset[int] | None = None  # the picks served as suspects (None: every pick)
    parents: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def suspicions(self, row: int, tags: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What the Annotate page would show with this row: {} unless it is a suspect
        served as one."""
        if self.rows is not None and row not in self.rows:
            return {}
        implied = {(0, j): child for (r, j), child in self.implied.items() if r == row}
        found = suspects(
            [row],
            self.probabilities[row : row + 1],
            self.labels[row : row + 1],
            self.thresholds[row : row + 1],
            tags,
            implied,
            parents=self.parents,
        )
        return found[0].suspicions() if found else {}


def pool_evidence(
    model: TagModel, corpus: Corpus, current: Sequence[frozenset[str]], seed: int
) -> Evidence:
    """Out-of-fold evidence on the whole pool with the training job's own function
    (``reference_out_of_fold``), so the simulator measures what serving would serve."""
    probabilities, thresholds = reference_out_of_fold(corpus.pool_texts, current, model, seed=seed)
    labels = label_matrix(current, model.tags)
    return Evidence(
        probabilities,
        thresholds,
        labels,
        implied_parents(labels, model.tags, corpus.parents),
        parents=corpus.parents,
    )


def suspect_order(evidence: Evidence, unrevealed: Sequence[int], detector: str) -> list[int]:
    """Unrevealed pool rows, most suspect first by ``detector``. The default detector also
    counts a parent the taxonomy implies as the strongest evidence, as serving does."""
    rows = np.asarray(unrevealed, dtype=int)
    if detector == DEFAULT_DETECTOR:
        weights = evidence_weights(
            evidence.probabilities, evidence.labels, evidence.thresholds, evidence.implied
        )
        scores = weights[rows].max(axis=1, initial=0.0)
    else:
        scores = DETECTORS[detector](
            evidence.probabilities[rows], evidence.labels[rows], evidence.thresholds[rows]
        )
    return [unrevealed[int(i)] for i in np.argsort(-scores, kind="stable")]


def partner_order(
    partner: str,
    model: TagModel,
    corpus: Corpus,
    unrevealed: Sequence[int],
    generator: np.random.Generator,
) -> list[int]:
    """Unrevealed pool rows in the mix partner's order: threshold-margin uncertainty of the
    full-pool model for ``uncertainty``, a random permutation for ``random``."""
    if partner == "random":
        return [unrevealed[int(i)] for i in generator.permutation(len(unrevealed))]
    probabilities = model.predict_proba(model.transform([corpus.pool_texts[i] for i in unrevealed]))
    scores = uncertainty_scores(UNCERTAINTY_PARTNER, probabilities, model.thresholds_)
    return [unrevealed[int(i)] for i in np.argsort(-scores, kind="stable")]


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
                f"{_progress_prefix(key, repeat, len(revealed), options)}, "
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
        unrevealed = _without(unrevealed, picks)
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


def _run_warm(
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
        **_config(options, corpus, n_projects),
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
