"""Multi-label active-learning query strategies for LabelLoop.

Every strategy has modAL's query-strategy signature
``strategy(classifier, X_pool, n_instances=1) -> np.ndarray`` and returns pool row indices,
most valuable first, without duplicates, ``min(n_instances, n_pool)`` of them. ``classifier`` is
a modAL ``ActiveLearner`` or a bare estimator whose ``predict_proba`` returns the positive-class
probability of every tag, shape ``(n, k)``; an optional ``thresholds_`` attribute holds the
per-tag decision thresholds (0.5 when absent).

Why not modAL's ``modAL.multilabel`` strategies as they are (modAL 0.4.2.1, its last release):

* ``avg_confidence`` takes the argmax of the mean positive probability, and ``max_score`` the
  argmax of ``p * (prediction - 1/2)``: both pick the project the model is MOST sure has tags,
  the opposite of Esuli & Sebastiani (2009), who query the least confident documents.
  ``max_score`` also defaults to ``random_tie_break=1``, shuffling with the global numpy RNG.
* ``max_loss``/``mean_max_loss`` call ``len()`` on the pool (a ``TypeError`` on a sparse
  TF-IDF matrix) and work on 0/1 predictions instead of margins (Li et al. 2004 use SVM
  decision values).
* ``min_confidence`` runs, and is kept as it is, but ranks by the smallest raw positive-class
  probability, which is not a confidence.
* ``modAL.batch.ranked_batch`` can return the cold-start instance twice in one batch.
* None of them know about tuned per-tag thresholds, and ``multi_argmax`` (``argpartition``)
  returns the top n in no defined order, with ties broken arbitrarily.

The strategies here are thin wrappers over :func:`uncertainty_scores`: HIGHER means "serve
sooner", ties go to the lower index (stable sort), so a ranking is reproducible and the same
score can be stored per project and served with ``ORDER BY score DESC``.

Caution with ``ActiveLearner.query``: modAL first tries ``indices, metrics = strategy(...)``,
so a plain index array of length 2 is silently unpacked into one index and a "metric" (and any
other length makes it call the strategy twice). Wrap a strategy with :func:`for_active_learner`
to hand modAL the ``(indices, metrics)`` pair it expects.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from types import SimpleNamespace
from typing import Any

import numpy as np
import scipy.sparse as sp
from modAL.batch import ranked_batch as modal_ranked_batch
from modAL.batch import select_cold_start_instance
from modAL.models.base import BaseLearner
from modAL.multilabel import min_confidence as modal_min_confidence

from labeling.label_errors import MIX_PARTNERS, label_error_scores, mixed_batch
from labeling.model import DEFAULT_THRESHOLD

Pool = np.ndarray | sp.spmatrix | sp.sparray
Strategy = Callable[..., np.ndarray]

_PROBABILITY_CLIP = 1e-6
_RANKED_BATCH_METRIC = "cosine"

_rng = np.random.default_rng(0)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def seed_random(seed: int | None) -> None:
    """Re-seed the module-level generator used by :func:`random` (the simulator calls this once
    per repeat so that runs are reproducible)."""
    global _rng
    _rng = np.random.default_rng(seed)


def estimator_of(classifier: Any) -> Any:
    """The scikit-learn estimator behind ``classifier`` (an ActiveLearner or the estimator)."""
    return classifier.estimator if isinstance(classifier, BaseLearner) else classifier


def probabilities_and_thresholds(classifier: Any, X_pool: Pool) -> tuple[np.ndarray, np.ndarray]:
    """Per-tag positive probabilities ``(n, k)`` and thresholds ``(k,)`` for the pool.

    Thresholds come from the estimator's ``thresholds_`` (tuned per tag on cross-validated
    predictions; a fixed 0.5 cost about 0.2 weighted F1 on a real catalogue) or default to 0.5.
    """
    estimator = estimator_of(classifier)
    probabilities = np.asarray(estimator.predict_proba(X_pool), dtype=float)
    if probabilities.ndim == 1:
        probabilities = probabilities.reshape(-1, 1)
    if probabilities.ndim != 2 or probabilities.shape[0] != X_pool.shape[0]:
        raise ValueError(
            f"predict_proba must return shape (n_pool, n_tags); got {probabilities.shape}"
        )
    raw = getattr(estimator, "thresholds_", None)
    n_tags = probabilities.shape[1]
    thresholds = np.full(n_tags, DEFAULT_THRESHOLD) if raw is None else _as_thresholds(raw, n_tags)
    return probabilities, thresholds


def _as_thresholds(raw: Any, n_tags: int) -> np.ndarray:
    thresholds = np.asarray(raw, dtype=float)
    if thresholds.ndim == 0:
        thresholds = np.full(n_tags, float(thresholds))
    if thresholds.shape != (n_tags,):
        raise ValueError(f"thresholds_ must have shape ({n_tags},); got {thresholds.shape}")
    return thresholds


def _n_to_return(n_instances: int, n_pool: int) -> int:
    if n_instances < 0:
        raise ValueError(f"n_instances must be >= 0; got {n_instances}")
    return min(int(n_instances), int(n_pool))


def top_indices(scores: np.ndarray, n_instances: int) -> np.ndarray:
    """Indices of the ``n_instances`` highest scores, highest first, ties to the lower index."""
    n = _n_to_return(n_instances, scores.shape[0])
    return np.argsort(-scores, kind="stable")[:n].astype(int)


# --------------------------------------------------------------------------------------------
# Scores: probabilities (n, k) and thresholds (k,) -> score (n,), HIGHER = serve sooner
# --------------------------------------------------------------------------------------------


def _min_confidence_score(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """modAL's MinConfidence: minus the smallest positive probability (thresholds ignored)."""
    return -p.min(axis=1)


def tag_confidence(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Confidence of each tag decision in [0, 1]: 0 at the threshold, 1 at p = 0 or p = 1.

    ``(p - t) / (1 - t)`` above the threshold and ``(t - p) / t`` below it, so each side is
    scaled on its own; with t = 0.5 this is ``|2p - 1|``.
    """
    t = np.clip(t, _PROBABILITY_CLIP, 1 - _PROBABILITY_CLIP)
    return np.where(p >= t, (p - t) / (1 - t), (t - p) / t)


def _avg_confidence_score(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Esuli & Sebastiani's AvgConfidence: minus the mean tag confidence (lowest served first)."""
    return -tag_confidence(p, t).mean(axis=1)


def _max_score_score(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """MaxScore: minus ``max_c (p_c - t_c)``: the project whose best tag is weakest first, so
    a project none of whose tags passes its threshold (probably missing tags) comes early."""
    return -(p - t).max(axis=1)


def margins(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """SVM-like margins from probabilities: ``logit(p) - logit(t)``, positive when predicted."""
    p = np.clip(p, _PROBABILITY_CLIP, 1 - _PROBABILITY_CLIP)
    t = np.clip(t, _PROBABILITY_CLIP, 1 - _PROBABILITY_CLIP)
    return np.log(p / (1 - p)) - np.log(t / (1 - t))


def _mean_max_loss_score(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Li et al.'s Mean Max Loss on margins: mean hinge loss under the predicted labelling."""
    f = margins(p, t)
    y = np.where(f > 0, 1.0, -1.0)
    none_positive = ~(y > 0).any(axis=1)
    rows = np.flatnonzero(none_positive)
    y[rows, f[rows].argmax(axis=1)] = 1.0  # every project has at least one tag
    return np.maximum(0.0, 1.0 - y * f).mean(axis=1)


def _threshold_margin_score(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Minus the distance of the project's closest tag to its threshold: ``-min_c |p_c - t_c|``."""
    return -np.abs(p - t).min(axis=1)


def _ranked_batch_uncertainty(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Threshold-margin uncertainty in [0, 1] for ranked batch: ``1 - 2 min_c |p_c - t_c|``."""
    return np.clip(1.0 - 2.0 * np.abs(p - t).min(axis=1), 0.0, 1.0)


_SCORERS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "min_confidence": _min_confidence_score,
    "avg_confidence": _avg_confidence_score,
    "max_score": _max_score_score,
    "mean_max_loss": _mean_max_loss_score,
    "threshold_margin": _threshold_margin_score,
    "ranked_batch": _ranked_batch_uncertainty,
}


def uncertainty_scores(name: str, probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Score every project for strategy ``name``; HIGHER means "serve sooner".

    LabelLoop stores this per project after each training, so serving is ``ORDER BY score DESC``.
    ``ranked_batch`` gives its threshold-margin uncertainty (the diversity part needs the whole
    batch and cannot be stored per project). ``random`` has no score.
    """
    if name == "random":
        raise ValueError("strategy 'random' has no uncertainty score; draw random numbers instead")
    scorer = _SCORERS.get(name)
    if scorer is None:
        raise ValueError(_unknown_message(name))
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 2:
        raise ValueError(f"probabilities must have shape (n, k); got {p.shape}")
    return scorer(p, _as_thresholds(thresholds, p.shape[1]))


def _query_by_score(name: str, classifier: Any, X_pool: Pool, n_instances: int) -> np.ndarray:
    probabilities, thresholds = probabilities_and_thresholds(classifier, X_pool)
    return top_indices(uncertainty_scores(name, probabilities, thresholds), n_instances)


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


def random(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """Uniform sample without replacement: the baseline every other strategy must beat.

    The generator is the estimator's ``random_state_`` when it has one (an int seeds a fresh
    generator, so the draw is the same on every call; a ``np.random.Generator`` is used as is),
    otherwise the module-level generator that :func:`seed_random` re-seeds.
    """
    n_pool = X_pool.shape[0]
    n = _n_to_return(n_instances, n_pool)
    return _generator_for(classifier).choice(n_pool, size=n, replace=False).astype(int)


def _generator_for(classifier: Any) -> np.random.Generator:
    seed = getattr(estimator_of(classifier), "random_state_", None)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, int | np.integer):
        return np.random.default_rng(int(seed))
    return _rng


def min_confidence(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """modAL's ``modAL.multilabel.min_confidence``, run as is, ranked deterministically.

    What it computes: ``min_c p_c``, the smallest RAW positive-class probability, lowest first.
    That is not the "confidence" of Esuli & Sebastiani (2009): a tag with p = 0.01 is a very
    confident "no", yet it makes the project look least confident, so this mostly serves
    projects that lack some tag, whatever the thresholds. Kept as modAL's reference point.
    modAL returns the top n from ``argpartition`` unordered; we ask it for the whole pool and
    sort by (value, index) so the order is the documented one.
    """
    n_pool = X_pool.shape[0]
    n = _n_to_return(n_instances, n_pool)
    if n == 0:
        return np.empty(0, dtype=int)
    indices, values = modal_min_confidence(classifier, X_pool, n_instances=n_pool)
    order = np.lexsort((indices, values))
    return np.asarray(indices)[order][:n].astype(int)


def avg_confidence(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """AvgConfidence (Esuli & Sebastiani 2009), corrected: the LOWEST mean tag confidence first.

    score = ``-mean_c conf_c``, conf_c = ``(p - t)/(1 - t)`` if p >= t else ``(t - p)/t``
    (``|2p - 1|`` at t = 0.5). modAL's version takes the argmax of ``mean_c p_c`` and so
    serves the project most confidently tagged, the opposite of the paper.
    """
    return _query_by_score("avg_confidence", classifier, X_pool, n_instances)


def max_score(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """MaxScore (Esuli & Sebastiani 2009), corrected: projects whose most likely tag is the
    least certain.

    s_c = ``p_c - t_c`` (positive when tag c is predicted); the project with the smallest
    signed ``max_c s_c`` is served first. modAL's version takes the argmax of
    ``max_c p_c (prediction_c - 1/2)``, i.e. the project with the most confident positive tag.
    """
    return _query_by_score("max_score", classifier, X_pool, n_instances)


def mean_max_loss(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """Mean Max Loss (Li et al. 2004, "Multilabel SVM active learning for image classification").

    Margins f_c = ``logit(p_c) - logit(t_c)`` (p clipped to [1e-6, 1 - 1e-6]) stand in for SVM
    decision values; y_c = +1 if f_c > 0 else -1, and the tag with the largest f is set to +1
    when none is positive; score = ``mean_c max(0, 1 - y_c f_c)``, HIGHEST first. modAL's
    version calls ``len(X_pool)`` (TypeError on sparse TF-IDF) and uses 0/1 predictions, so
    its "loss" ignores how close a decision was.
    """
    return _query_by_score("mean_max_loss", classifier, X_pool, n_instances)


def threshold_margin(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """Projects with a tag closest to its decision threshold: score = ``-min_c |p_c - t_c|``.

    Multi-label margin sampling against the tuned thresholds, the decisions a label would flip.
    """
    return _query_by_score("threshold_margin", classifier, X_pool, n_instances)


def ranked_batch(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
    """Ranked batch-mode sampling (Cardoso et al. 2017) through ``modAL.batch.ranked_batch``.

    Each pick maximises ``alpha (1 - sim) + (1 - alpha) u`` where u = ``1 - 2 min_c |p - t|``
    clipped to [0, 1], sim = ``1 / (1 + cosine distance)`` to the nearest labelled or already
    picked row and alpha = ``|unlabelled| / (|unlabelled| + |labelled|)``, so one batch does
    not spend several labels on near-duplicates. The labelled set is the ActiveLearner's
    ``X_training``, else the estimator's ``X_training_``; without one it cold-starts from the
    most central row (modAL's ``select_cold_start_instance``). modAL's own cold start leaves
    that row selectable and can return it twice; here it is removed from the pool first.
    """
    n = _n_to_return(n_instances, X_pool.shape[0])
    if n == 0:
        return np.empty(0, dtype=int)
    probabilities, thresholds = probabilities_and_thresholds(classifier, X_pool)
    uncertainty = uncertainty_scores("ranked_batch", probabilities, thresholds)
    labelled = _labelled_set(classifier)
    if labelled is None:
        return _cold_start_ranked_batch(X_pool, uncertainty, n)
    indices, _ = modal_ranked_batch(
        labelled, X_pool, uncertainty, n, metric=_RANKED_BATCH_METRIC, n_jobs=None
    )
    return np.asarray(indices, dtype=int)


def _labelled_set(classifier: Any) -> Any | None:
    """An object with ``X_training`` and ``on_transformed`` for modAL, or None (cold start)."""
    if isinstance(classifier, BaseLearner):
        learner = classifier
    else:
        learner = SimpleNamespace(
            X_training=getattr(classifier, "X_training_", None), on_transformed=False
        )
    if learner.X_training is None or learner.X_training.shape[0] == 0:
        return None
    return learner


def _cold_start_ranked_batch(X_pool: Pool, uncertainty: np.ndarray, n: int) -> np.ndarray:
    first, first_row = select_cold_start_instance(X_pool, _RANKED_BATCH_METRIC, None)
    rest = np.flatnonzero(np.arange(X_pool.shape[0]) != first)
    if n == 1 or rest.size == 0:
        return np.array([first], dtype=int)
    seed = SimpleNamespace(X_training=first_row, on_transformed=False)
    picked, _ = modal_ranked_batch(
        seed, X_pool[rest], uncertainty[rest], n - 1, metric=_RANKED_BATCH_METRIC, n_jobs=None
    )
    return np.concatenate([[first], rest[np.asarray(picked, dtype=int)]]).astype(int)


# --------------------------------------------------------------------------------------------
# Registry and modAL adapter
# --------------------------------------------------------------------------------------------

STRATEGIES: dict[str, Strategy] = {
    "random": random,
    "min_confidence": min_confidence,
    "avg_confidence": avg_confidence,
    "max_score": max_score,
    "mean_max_loss": mean_max_loss,
    "threshold_margin": threshold_margin,
    "ranked_batch": ranked_batch,
}


# --------------------------------------------------------------------------------------------
# Warm start: strategies that also need the pool's current tags
# --------------------------------------------------------------------------------------------

LABEL_ERRORS = "label_errors"
LABEL_ERRORS_MIX = "label_errors_mix"
WARM_STRATEGIES = (LABEL_ERRORS, LABEL_ERRORS_MIX)
# LABELLOOP_STRATEGY=auto: the simulator's evidence (README, "Which strategy serves projects")
AUTO = "auto"
WARM_START_DEFAULT = LABEL_ERRORS


def label_errors_strategy(
    current_labels: np.ndarray, out_of_fold: np.ndarray | None = None
) -> Strategy:
    """A strategy serving the pool rows whose current tags are most likely wrong.

    modAL's signature has no place for the pool's current tags, which label-error finding is
    all about, so they are bound here (``current_labels``: 0/1, pool rows x the classifier's
    tags). ``out_of_fold`` are probabilities from models that never saw each row's label: a
    model trained on a project's own wrong tag repeats it and would vouch for it. Without
    them the classifier's own probabilities are used (fine for rows it was not trained on)."""
    labels = np.asarray(current_labels)

    def label_errors(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
        probabilities, thresholds = probabilities_and_thresholds(classifier, X_pool)
        if out_of_fold is not None:
            probabilities = np.asarray(out_of_fold, dtype=float)
        if labels.shape != probabilities.shape:
            raise ValueError(
                f"current labels have shape {labels.shape}; "
                f"the pool's probabilities {probabilities.shape}"
            )
        return top_indices(label_error_scores(probabilities, labels, thresholds), n_instances)

    return label_errors


def mixed_strategy(primary: Strategy, partner: Strategy, share: float) -> Strategy:
    """``round(share * n)`` rows of each batch from ``partner``, the rest from ``primary``,
    without duplicates (primary's picks first). Label-error finding alone never shows the
    model the projects it is unsure about; a small share of those keeps it learning there."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"mix share must be between 0 and 1; got {share}")

    def mixed(classifier: Any, X_pool: Pool, n_instances: int = 1) -> np.ndarray:
        n = _n_to_return(n_instances, X_pool.shape[0])
        # n candidates from each always hold a full batch without duplicates
        suspects = [int(i) for i in primary(classifier, X_pool, n)]
        others = [int(i) for i in partner(classifier, X_pool, n)]
        return np.array(mixed_batch(suspects, others, n, share), dtype=int)

    return mixed


def warm_strategy(
    name: str,
    current_labels: np.ndarray,
    out_of_fold: np.ndarray | None = None,
    mix_share: float = 0.2,
    mix_with: str = "uncertainty",
) -> Strategy:
    """``label_errors`` or ``label_errors_mix`` bound to the pool's current tags; the mix's
    partner is threshold-margin uncertainty or random."""
    finder = label_errors_strategy(current_labels, out_of_fold)
    if name == LABEL_ERRORS:
        return finder
    if name != LABEL_ERRORS_MIX:
        raise ValueError(
            f"unknown warm-start strategy {name!r}; choose one of: {', '.join(WARM_STRATEGIES)}"
        )
    if mix_with not in MIX_PARTNERS:
        raise ValueError(
            f"unknown mix partner {mix_with!r}; choose one of: {', '.join(MIX_PARTNERS)}"
        )
    partner = threshold_margin if mix_with == "uncertainty" else random
    return mixed_strategy(finder, partner, mix_share)


def _unknown_message(name: str) -> str:
    return f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}"


def get_strategy(name: str) -> Strategy:
    """The strategy registered under ``name``; ValueError listing the choices otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(_unknown_message(name)) from None


def for_active_learner(
    strategy: Strategy,
) -> Callable[..., tuple[np.ndarray, None]]:
    """Adapt ``strategy`` to ``ActiveLearner.query``, which unpacks ``indices, metrics``.

    A bare index array of length 2 would be unpacked into one index plus a "metric"; returning
    ``(indices, None)`` gives every batch size back intact and calls the strategy only once.
    """

    @wraps(strategy)
    def query(classifier: Any, X_pool: Pool, n_instances: int = 1) -> tuple[np.ndarray, None]:
        return strategy(classifier, X_pool, n_instances), None

    return query
