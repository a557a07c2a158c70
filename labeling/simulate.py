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
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from labeling.features import project_text
from labeling.io import RawProject, TaxonomyEntry, split_for
from labeling.model import ModelParams, TagModel, evaluate, fit_tag_model, trainable_tags
from labeling.strategies import STRATEGIES, get_strategy
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
    """One fit per batch. With no trainable tag yet there is no model: F1 is 0 and the caller
    queries at random, as a real team with no model would. Rows are sorted first so the model
    depends on which projects are labelled, not on the order they were revealed in (the CV
    folds are drawn by position): the whole pool gives exactly the full-data model."""
    rows = sorted(rows)
    labels = [corpus.pool_labels[i] for i in rows]
    trainable, _ = trainable_tags(labels, corpus.candidate_tags, params.min_positives)
    if not trainable:
        return Point(None, 0.0, 0.0, 0)
    model = fit_tag_model(
        [corpus.pool_texts[i] for i in rows],
        labels,
        corpus.candidate_tags,
        params,
    )
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
                f"repeat {repeat + 1}/{options.repeats} strategy {name}: "
                f"{len(labelled)}/{options.budget} labels, weighted F1 {point.weighted_f1:.2f}"
            )
        if len(labelled) >= options.budget:
            return curve
        n = min(options.batch_size, options.budget - len(labelled))
        generator = batch_generator(options.seed, repeat, batch)
        picks = query(name, point.model, corpus, labelled, unlabelled, n, generator)
        labelled.extend(picks)
        picked = set(picks)
        unlabelled = [i for i in unlabelled if i not in picked]
        point = fit_and_score(corpus, labelled, options.params)
        batch += 1


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
    """One row per strategy, best area under the weighted-F1 curve first (ties by name)."""
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


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Plain-text table for the terminal; "-" means the share of the ceiling was never reached."""
    header = [title for _, title in _TABLE_COLUMNS]
    body = [[_cell(row.get(key)) for key, _ in _TABLE_COLUMNS] for row in rows]
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
) -> dict[str, Any]:
    """Replay the labelled catalogue for every strategy and repeat; returns a JSON-ready dict
    (config, full_data ceiling, per-strategy curves and summaries, seconds).

    ``seed`` is the base seed (repeat r draws its seed set with ``seed + r``). ``n_jobs`` > 1
    replays (repeat, strategy) curves in that many worker processes: the results are the same
    numbers, but progress then arrives per finished curve instead of per batch."""
    started = time.perf_counter()
    params = params or ModelParams()
    corpus = build_corpus(projects, taxonomy, params.features.title_repeats)
    names = validate_options(
        strategies,
        seed_size,
        batch_size,
        budget,
        repeats,
        len(corpus.pool_texts),
        len(corpus.eval_texts),
    )
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1; got {n_jobs}")
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
        tasks += [(name, seed_rows, first, repeat) for name in options.strategies]
    runs: dict[str, list[Curve]] = {
        name: [[] for _ in range(options.repeats)] for name in options.strategies
    }
    if options.n_jobs == 1:
        for name, seed_rows, first, repeat in tasks:
            curve = replay_strategy(name, corpus, seed_rows, first, options, repeat, progress)
            runs[name][repeat] = curve
        return runs
    parallel = Parallel(n_jobs=options.n_jobs, return_as="generator_unordered")
    jobs = (delayed(_replay_task)(corpus, options, *task) for task in tasks)
    for name, repeat, curve, messages in parallel(jobs):
        runs[name][repeat] = curve
        for message in messages if progress else ():
            progress(message)
    return runs


def _replay_task(
    corpus: Corpus,
    options: SimulationOptions,
    name: str,
    seed_rows: list[int],
    first: Point,
    repeat: int,
) -> tuple[str, int, Curve, list[str]]:
    """Worker-process entry point: a callback cannot cross the process boundary, so progress
    messages are collected and handed back with the curve."""
    messages: list[str] = []
    curve = replay_strategy(name, corpus, seed_rows, first, options, repeat, messages.append)
    return name, repeat, curve, messages


def _seed_rows(pool_size: int, seed_size: int, seed: int) -> list[int]:
    """The random starting set of one repeat, sorted so its order carries no meaning."""
    rows = np.random.default_rng(seed).choice(pool_size, size=seed_size, replace=False)
    return sorted(int(i) for i in rows)
