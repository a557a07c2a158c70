"""Pieces the cold-start and warm-start replays share: the corpus (canonical tags, the app's
evaluation split, the pool), one fit-and-score point, querying through a strategy, the area
under a curve, the run's config and the (parallel) task runner.

They live here, not in ``simulate``, so that ``simulate_warm`` can use them without importing
``simulate``, which itself imports ``simulate_warm`` to dispatch a warm run: one direction of
imports, no cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from labeling.baseline import Rules, build_rules
from labeling.features import project_text
from labeling.io import RawProject, TaxonomyEntry, split_for
from labeling.label_errors import DEFAULT_MIX_SHARE, DEFAULT_MIX_WITH, DEFAULT_PRESELECT_POLICY
from labeling.model import ModelParams, TagModel, evaluate, fit_tag_model, trainable_tags
from labeling.strategies import STRATEGIES, get_strategy
from labeling.strategies import random as random_strategy
from labeling.text import slugify_tag

ProgressCallback = Callable[[str], None]
ProjectLike = Mapping[str, Any] | RawProject


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
    # the taxonomy's names and aliases, as the training job reads them (baseline.load_rules)
    rules: Rules | None = None


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
        taxonomy_rules(taxonomy, canonical),
    )


def taxonomy_rules(taxonomy: Mapping[str, Any], canonical: Mapping[str, str]) -> Rules:
    """The baseline's rules from a taxonomy as ``alias_map`` reads it, so the simulator knows
    which tags a text names exactly as the app does."""
    aliases: dict[str, list[str]] = {}
    for alias, name in canonical.items():
        if alias != name:
            aliases.setdefault(name, []).append(alias)
    names = sorted(set(canonical.values()))
    return build_rules(names, aliases, parent_map(taxonomy, canonical))


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
    return fit_and_score_texts(
        corpus, [corpus.pool_texts[i] for i in rows], [corpus.pool_labels[i] for i in rows], params
    )


def fit_and_score_texts(
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


def progress_prefix(name: str, repeat: int, labels: int, options: SimulationOptions) -> str:
    return (
        f"repeat {repeat + 1}/{options.repeats} strategy {name}: {labels}/{options.budget} labels"
    )


def without(rows: Sequence[int], picks: Sequence[int]) -> list[int]:
    picked = set(picks)
    return [i for i in rows if i not in picked]


# --------------------------------------------------------------------------------------------
# Summaries: area under the curve, table cells
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


def table_cell(value: Any) -> str:
    """A terminal table cell: "-" for a missing number, three decimals for a float."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# --------------------------------------------------------------------------------------------
# The run: the full-data ceiling, the config, (parallel) replay of every task
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


def run_config(options: SimulationOptions, corpus: Corpus, n_projects: int) -> dict[str, Any]:
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
