"""The tag model: one-vs-rest linear classifiers over TF-IDF, with per-tag thresholds.

Pure machine learning on plain data (texts, tag sets); the database side lives in
``labeling.registry``. Per-tag thresholds tuned on cross-validated training predictions matter
more than the choice of model (a fixed 0.5 lost about 0.2 weighted F1 on a real catalogue), so
they are part of the model, not an afterthought.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from labeling.features import FeatureParams, build_vectorizer
from labeling.ridge import DUAL_FIT_UP_TO, dual_ridge_scores, fit_ridge

Progress = Callable[[str, float], None]
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelParams:
    features: FeatureParams = field(default_factory=FeatureParams)
    classifier: str = "ridge"
    C: float = 4.0
    alpha: float = 1.0
    char_ngram_max_projects: int = 20_000
    char_ngram_max_cells: int = 1_000_000
    min_positives: int = 5
    cv_folds: int = 3
    cv_max_projects: int = 10_000
    ensure_one_tag: bool = True
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelParams:
        values = dict(data)
        values["features"] = FeatureParams(**values.get("features", {}))
        return cls(**values)


def _base_estimator(params: ModelParams) -> Any:
    """Three linear models: class-balanced logistic regression (probabilities directly), a
    linear SVM and a multi-output ridge classifier, whose scores are turned into probabilities
    per tag by Platt scaling on cross-validated scores, so people always see probabilities."""
    if params.classifier == "logreg":
        return OneVsRestClassifier(
            LogisticRegression(solver="liblinear", C=params.C, class_weight="balanced")
        )
    if params.classifier == "svm":
        return OneVsRestClassifier(LinearSVC(C=params.C / 10, class_weight="balanced"))
    if params.classifier == "ridge":
        return Ridge(alpha=params.alpha)
    raise ValueError(f"unknown classifier {params.classifier!r}; use ridge, logreg or svm")


def _fit(X: Any, Y: np.ndarray, params: ModelParams) -> Any:
    if params.classifier == "ridge":
        return fit_ridge(X, 2.0 * Y - 1.0, params.alpha)
    return _base_estimator(params).fit(X, Y)


def _raw_scores(estimator: Any, X: Any) -> np.ndarray:
    """Probabilities for logistic regression, margins for the others (calibrated later)."""
    if isinstance(estimator, Ridge):
        scores = np.asarray(estimator.predict(X), dtype=np.float64)
    elif hasattr(estimator.estimators_[0], "predict_proba"):
        return np.asarray(estimator.predict_proba(X))
    else:
        scores = np.asarray(estimator.decision_function(X), dtype=np.float64)
    return scores[:, None] if scores.ndim == 1 else scores


PLATT_C = 100.0
_PLATT_ITERATIONS = 30
# Newton's steps shrink quadratically: once every tag's step is this small the remaining
# iterations change no probability in its fourth decimal, so they are skipped.
_PLATT_TOLERANCE = 1e-10


def platt_parameters(scores: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per tag (a, b) so that sigmoid(a * score + b) is a probability (Platt scaling), fitted
    on cross-validated scores; a tag with one class only keeps a plain sigmoid.

    Newton's method on every tag at once (a 2 x 2 system per tag, the slope lightly
    penalised as logistic regression with C = 100 would): one loop over iterations instead of
    one scikit-learn fit per tag, which matters at 400 tags and once per out-of-fold fold;
    it stops as soon as every tag has converged."""
    S = np.asarray(scores, dtype=np.float64)
    y = np.asarray(Y, dtype=np.float64)
    two_classes = (y.sum(axis=0) > 0) & (y.sum(axis=0) < len(y))
    a, b = np.ones(y.shape[1]), np.zeros(y.shape[1])
    # three (projects x tags) buffers reused by every iteration, the arithmetic unchanged
    # (same operations, same order, so the same bits): fresh temporaries cost page faults
    # on every one of the ~15 passes, 3 s of CPU per call at 16,000 x 400
    p, residual, work = np.empty_like(S), np.empty_like(S), np.empty_like(S)
    for _ in range(_PLATT_ITERATIONS):
        np.multiply(S, a, out=p)
        p += b
        np.clip(p, -35.0, 35.0, out=p)
        np.negative(p, out=p)
        np.exp(p, out=p)
        np.add(1.0, p, out=p)
        np.divide(1.0, p, out=p)
        np.subtract(p, y, out=residual)
        grad_a = np.multiply(residual, S, out=work).sum(axis=0) + a / PLATT_C
        grad_b = residual.sum(axis=0)
        np.subtract(1.0, p, out=work)
        weight = np.maximum(np.multiply(p, work, out=work), 1e-12, out=work)
        h_bb = weight.sum(axis=0)
        weighted = np.multiply(weight, S, out=work)
        h_ab = weighted.sum(axis=0)
        h_aa = np.multiply(weighted, S, out=work).sum(axis=0) + 1.0 / PLATT_C
        det = np.maximum(h_aa * h_bb - h_ab**2, 1e-12)
        step_a = (h_bb * grad_a - h_ab * grad_b) / det
        step_b = (h_aa * grad_b - h_ab * grad_a) / det
        a = np.where(two_classes, a - step_a, a)
        b = np.where(two_classes, b - step_b, b)
        if np.abs(np.where(two_classes, step_a, 0.0)).max(initial=0.0) < _PLATT_TOLERANCE and (
            np.abs(np.where(two_classes, step_b, 0.0)).max(initial=0.0) < _PLATT_TOLERANCE
        ):
            break
    return np.column_stack([np.where(two_classes, a, 1.0), np.where(two_classes, b, 0.0)])


def calibrated(scores: np.ndarray, parameters: np.ndarray | None) -> np.ndarray:
    if parameters is None:
        return scores
    return 1.0 / (1.0 + np.exp(-(scores * parameters[:, 0] + parameters[:, 1])))


def trainable_tags(
    label_sets: Sequence[frozenset[str] | set[str]],
    candidate_tags: Sequence[str],
    min_positives: int,
) -> tuple[list[str], dict[str, int]]:
    """Tags with enough positive examples to learn, and the others with their counts, which are
    reported as "not enough data" rather than silently dropped."""
    counts = {tag: 0 for tag in candidate_tags}
    for tags in label_sets:
        for tag in tags:
            if tag in counts:
                counts[tag] += 1
    trainable = [tag for tag in candidate_tags if counts[tag] >= min_positives]
    too_few = {tag: counts[tag] for tag in candidate_tags if counts[tag] < min_positives}
    return trainable, too_few


def best_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """The grid threshold with the highest F1 for one tag (see :func:`best_thresholds`)."""
    return float(best_thresholds(y_true[:, None], scores[:, None])[0])


def best_thresholds(Y: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per tag, the grid threshold with the highest F1; 0.5 for a tag that never occurs (F1
    is 0 everywhere and any choice would be noise). Ties go to the threshold nearest 0.5,
    which is the least surprising to a person reading the suggestions.

    All tags in one pass: each probability falls in one grid bin, and a reversed cumulative
    sum of the per-bin counts gives every threshold's predicted and true positives, so the
    cost is one sweep of the (projects x tags) matrix rather than one per tag and grid
    point (the per-tag loop ran 1,650 times per training at 150 tags)."""
    y = np.asarray(Y, dtype=np.float64)
    n_tags, n_grid = y.shape[1], len(THRESHOLD_GRID)
    # bins[i, j] = how many grid thresholds probability (i, j) reaches (0 .. n_grid)
    bins = np.searchsorted(THRESHOLD_GRID, probabilities, side="right")
    flat = (bins + (n_grid + 1) * np.arange(n_tags)[None, :]).ravel()
    size = n_tags * (n_grid + 1)
    per_bin = np.bincount(flat, minlength=size).reshape(n_tags, n_grid + 1)
    true_per_bin = np.bincount(flat, weights=y.ravel(), minlength=size).reshape(n_tags, -1)
    # reaching grid point k means a bin above k: reversed cumulative sums from bin k + 1
    predicted_positive = np.cumsum(per_bin[:, ::-1], axis=1)[:, ::-1][:, 1:]
    true_positive = np.cumsum(true_per_bin[:, ::-1], axis=1)[:, ::-1][:, 1:]
    positives = y.sum(axis=0)
    f1 = 2 * true_positive / np.maximum(predicted_positive + positives[:, None], 1)
    best = np.isclose(f1, f1.max(axis=1, keepdims=True))
    distance = np.where(best, np.abs(THRESHOLD_GRID - DEFAULT_THRESHOLD)[None, :], np.inf)
    chosen = THRESHOLD_GRID[np.argmin(distance, axis=1)]
    return np.where(positives > 0, chosen, DEFAULT_THRESHOLD)


@dataclass
class TagModel:
    """A fitted vectorizer, a linear model over all trainable tags, its calibration and the
    per-tag thresholds. ``predict_proba`` on a feature matrix makes it usable by modAL."""

    vectorizer: Any
    estimator: Any
    tags: list[str]
    thresholds_: np.ndarray
    calibration_: np.ndarray | None
    not_enough_data: dict[str, int]
    params: ModelParams
    ensure_one_tag: bool = True

    def transform(self, texts: Sequence[str]) -> Any:
        return self.vectorizer.transform(texts)

    def predict_proba(self, X: Any) -> np.ndarray:
        return calibrated(_raw_scores(self.estimator, X), self.calibration_)

    def predict_proba_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(self.transform(texts))

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        return apply_thresholds(probabilities, self.thresholds_, self.ensure_one_tag)

    def threshold_map(self) -> dict[str, float]:
        return {tag: float(t) for tag, t in zip(self.tags, self.thresholds_, strict=True)}


def apply_thresholds(
    probabilities: np.ndarray, thresholds: np.ndarray, ensure_one_tag: bool
) -> np.ndarray:
    """Binary tag decisions. With ``ensure_one_tag`` a project none of whose probabilities
    passes its threshold still gets the tag closest to passing (highest p / threshold), since
    every catalogue project has at least one topic."""
    decisions = probabilities >= thresholds[None, :]
    if ensure_one_tag and probabilities.shape[1] > 0:
        empty = ~decisions.any(axis=1)
        if empty.any():
            closest = np.argmax(probabilities[empty] / thresholds[None, :], axis=1)
            decisions[np.flatnonzero(empty), closest] = True
    return decisions.astype(np.int8)


def label_matrix(
    label_sets: Sequence[frozenset[str] | set[str]], tags: Sequence[str]
) -> np.ndarray:
    binarizer = MultiLabelBinarizer(classes=list(tags))
    known = set(tags)
    return binarizer.fit_transform([[t for t in labels if t in known] for labels in label_sets])


def out_of_fold_scores(
    texts: Sequence[str], Y: np.ndarray, params: ModelParams
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validated raw scores: each project is scored by a model that never saw its label,
    so its own (possibly wrong) tags do not vouch for themselves. Each fold fits its own
    vectorizer: a shared one would know the held-out projects' rare terms, whose zero weights
    dilute the normalised vectors and bias the thresholds low (the effect DESIGN.md measured
    for the evaluation split). On large catalogues a random subsample of ``cv_max_projects``
    is used; thresholds need thousands of projects, not all. Returns rows used and scores."""
    rng = np.random.default_rng(params.seed)
    rows = np.arange(len(texts))
    if len(rows) > params.cv_max_projects:
        rows = np.sort(rng.choice(rows, size=params.cv_max_projects, replace=False))
    folds = KFold(n_splits=params.cv_folds, shuffle=True, random_state=params.seed)
    scores = np.zeros((len(rows), Y.shape[1]), dtype=np.float64)
    for fit_rows, held_rows in folds.split(rows):
        vectorizer = build_vectorizer(params.features, len(fit_rows))
        X_fit = vectorizer.fit_transform([texts[i] for i in rows[fit_rows]])
        X_held = vectorizer.transform([texts[i] for i in rows[held_rows]])
        scores[held_rows] = _raw_scores(_fit(X_fit, Y[rows[fit_rows]], params), X_held)
    return rows, scores


DUAL_RIDGE_UP_TO = 4_000


def fold_scores(
    X: Any, Y: np.ndarray, params: ModelParams, folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores of every row of the feature matrix ``X`` from a model fitted without its
    fold, and each row's fold number: one fit per fold on features computed once. Sharing
    the features is sound here because every fold's scores are calibrated on other folds'
    held-out scores, which are computed the same way (``cross_fitted_probabilities``).
    Ridge on up to ``DUAL_RIDGE_UP_TO`` rows is solved in its dual form: one Gram matrix for
    all folds, then one small dense solve per fold (ten folds at 2,000 projects cost less
    than one sparse fit per tag and fold)."""
    scores = np.zeros(Y.shape, dtype=np.float64)
    fold_of = np.zeros(Y.shape[0], dtype=int)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    gram = None
    if params.classifier == "ridge" and Y.shape[0] <= DUAL_RIDGE_UP_TO:
        gram = np.asarray((X @ X.T).todense() if hasattr(X, "todense") else X @ X.T)
    for fold, (fit_rows, held_rows) in enumerate(splitter.split(np.arange(Y.shape[0]))):
        if gram is not None:
            scores[held_rows] = dual_ridge_scores(gram, Y, fit_rows, held_rows, params.alpha)
        else:
            estimator = _fit(X[fit_rows], Y[fit_rows], params)
            scores[held_rows] = _raw_scores(estimator, X[held_rows])
        fold_of[held_rows] = fold
    return scores, fold_of


def cross_fitted_probabilities(
    scores: np.ndarray, Y: np.ndarray, fold_of: np.ndarray, calibrate: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities, thresholds), both (n x tags), for out-of-fold ``scores``: the scores of
    fold k are calibrated, and their thresholds tuned, on the other folds' scores, which come
    from models fitted on as many projects as fold k's. Reusing the full model's Platt
    parameters and thresholds instead is unsound: those were fitted on the scores of models
    trained on a different number of projects (the full model's own cross-validation), and
    a linear model's score scale moves with the training size. Fold k's own labels never
    calibrate fold k, so a wrong tag does not vouch for itself."""
    probabilities = np.zeros(Y.shape, dtype=np.float64)
    thresholds = np.full(Y.shape, DEFAULT_THRESHOLD)
    for fold in np.unique(fold_of):
        held, other = fold_of == fold, fold_of != fold
        parameters = platt_parameters(scores[other], Y[other]) if calibrate else None
        probabilities[held] = calibrated(scores[held], parameters)
        reference = calibrated(scores[other], parameters)
        thresholds[held] = best_thresholds(Y[other], reference)
    return probabilities, thresholds


def _weighted_f1(Y: np.ndarray, decisions: np.ndarray) -> float:
    return float(f1_score(Y, decisions, average="weighted", zero_division=0))


def fit_tag_model(
    texts: Sequence[str],
    label_sets: Sequence[frozenset[str] | set[str]],
    candidate_tags: Sequence[str],
    params: ModelParams,
    progress: Progress | None = None,
) -> TagModel:
    """The tag model alone; see :func:`fit_tag_model_and_cross_fit`."""
    return fit_tag_model_and_cross_fit(texts, label_sets, candidate_tags, params, progress)[0]


@dataclass(frozen=True)
class CrossFit:
    """The cross-validation a large training ran for its calibration and thresholds, kept so
    that the label-error stage fits nothing again (issue 16): every training project's
    cross-fitted (probabilities, thresholds), both (projects x tags), from
    :func:`cross_fitted_probabilities`, and the fold models' average, which scores projects
    that no fold trained on (the evaluation split) on the fold models' score scale, the scale
    the model's calibration and thresholds were fitted on."""

    probabilities: np.ndarray
    thresholds: np.ndarray
    fold_average: Ridge


# Past this many training projects (where one ridge fit stops being an exact dual solve and
# becomes iterative) the cross-validation shares the final model's features and its folds
# also give the label-error evidence (:class:`CrossFit`). Up to it, training is as before
# issue 16, so the demo's probabilities, thresholds and suspects are unchanged.
SHARED_CROSS_FIT_ABOVE = DUAL_FIT_UP_TO


def fit_tag_model_and_cross_fit(
    texts: Sequence[str],
    label_sets: Sequence[frozenset[str] | set[str]],
    candidate_tags: Sequence[str],
    params: ModelParams,
    progress: Progress | None = None,
) -> tuple[TagModel, CrossFit | None]:
    """Tune calibration, thresholds and the at-least-one-tag rule on cross-validated scores,
    then fit the vectorizer and the final model on all training texts.
    The at-least-one-tag rule is kept only when it raises cross-validated weighted F1.
    A ridge model on more than ``SHARED_CROSS_FIT_ABOVE`` projects also returns its
    :class:`CrossFit`; smaller or other models return None."""
    tags, too_few = trainable_tags(label_sets, candidate_tags, params.min_positives)
    if not tags:
        raise ValueError(
            f"no tag has {params.min_positives} or more labelled training projects; "
            "label more projects or import source tags"
        )
    Y = label_matrix(label_sets, tags)
    if params.features.char_ngrams and _too_large_for_char_ngrams(len(texts), len(tags), params):
        params = replace(params, features=replace(params.features, char_ngrams=False))
    if params.classifier == "ridge" and len(texts) > SHARED_CROSS_FIT_ABOVE:
        return _fit_with_shared_cross_fit(texts, Y, (tags, too_few), params, progress)
    calibration = None
    thresholds = np.full(len(tags), DEFAULT_THRESHOLD)
    ensure_one = params.ensure_one_tag
    if len(texts) >= 2 * params.cv_folds:
        if progress:
            progress("cross-validating thresholds", 0.1)
        rows, scores = out_of_fold_scores(texts, Y, params)
        if params.classifier != "logreg":
            calibration = platt_parameters(scores, Y[rows])
        oof = calibrated(scores, calibration)
        thresholds = best_thresholds(Y[rows], oof)
        ensure_one = ensure_one and _rule_helps(Y[rows], oof, thresholds)
    if progress:
        progress("vectorising", 0.6)
    vectorizer = build_vectorizer(params.features, len(texts))
    X = vectorizer.fit_transform(texts)
    if progress:
        progress("fitting the model", 0.7)
    estimator = _fit(X, Y, params)
    model = TagModel(
        vectorizer, estimator, tags, thresholds, calibration, too_few, params, ensure_one
    )
    return model, None


def _too_large_for_char_ngrams(projects: int, tags: int, params: ModelParams) -> bool:
    """Character n-grams multiply the features' non-zeros by about 4.5 (2.7 million against
    0.6 million at 16,000 generated projects), and every ridge iteration costs non-zeros times
    tags: past ``char_ngram_max_projects`` projects, or ``char_ngram_max_cells`` projects x
    trainable tags (16,000 x 400 = 6.4 million; the demo-like 20,000 x 28 tags stays at
    0.45 million, 2,000 x 183 tags at 0.37 million), they cost more than they add."""
    return (
        projects > params.char_ngram_max_projects or projects * tags > params.char_ngram_max_cells
    )


def _rule_helps(Y: np.ndarray, probabilities: np.ndarray, thresholds: np.ndarray) -> bool:
    """Whether the at-least-one-tag rule raises weighted F1 on these out-of-fold predictions."""
    with_rule = _weighted_f1(Y, apply_thresholds(probabilities, thresholds, True))
    return with_rule > _weighted_f1(Y, apply_thresholds(probabilities, thresholds, False))


def _fit_with_shared_cross_fit(
    texts: Sequence[str],
    Y: np.ndarray,
    tags_and_too_few: tuple[list[str], dict[str, int]],
    params: ModelParams,
    progress: Progress | None,
) -> tuple[TagModel, CrossFit]:
    """A large ridge training: the vectorizer is fitted once, on all training texts; the
    ``cv_folds`` fold models on those features give every training project's out-of-fold
    score, which tunes calibration and thresholds and is kept as label-error evidence; the
    final fit starts from the fold models' average. Per-fold vectorizers (the small path)
    guard against held-out rare terms biasing thresholds, an effect that fades with
    thousands of projects per fold, while each one costs a full vectorizer fit."""
    tags, too_few = tags_and_too_few
    if progress:
        progress("vectorising", 0.1)
    vectorizer = build_vectorizer(params.features, len(texts))
    X = vectorizer.fit_transform(texts)
    if progress:
        progress("cross-validating thresholds", 0.2)
    scores, fold_of, fold_average = ridge_fold_scores(X, Y, params)
    calibration = platt_parameters(scores, Y)
    oof = calibrated(scores, calibration)
    thresholds = best_thresholds(Y, oof)
    ensure_one = params.ensure_one_tag and _rule_helps(Y, oof, thresholds)
    probabilities, fold_thresholds = cross_fitted_probabilities(scores, Y, fold_of)
    del scores, oof  # (projects x tags) float64 each: 512 MB less during the final fit at 80,000
    if progress:
        progress("fitting the model", 0.7)
    estimator = fit_ridge(X, 2.0 * Y - 1.0, params.alpha, LARGE_FIT_TOL, start=fold_average)
    model = TagModel(
        vectorizer, estimator, tags, thresholds, calibration, too_few, params, ensure_one
    )
    return model, CrossFit(probabilities, fold_thresholds, fold_average)


# The shared cross-fit path's iterative solves, fold models and final model alike, stop at a
# relative residual of 1e-3 instead of 1e-4: on 10,667 of the generated 20,000 x 400-tag
# catalogue's projects that is 10 iterations instead of 14, and held-out scores move by at
# most 0.003 (on a -1..1 target scale); on the final model's 16,000 projects, 22 sparse
# products instead of 29 (34 s of CPU instead of 44), scores moving by at most 0.0028.
LARGE_FIT_TOL = 1e-3
# The fold models stop earlier still, at 1e-2: their scores only calibrate, set thresholds
# and give label-error evidence, all through Platt scaling and a threshold grid of 0.025
# steps. On the 20,000 x 400 catalogue's folds: 26 sparse products (in units of 400 tags)
# instead of 38.5 for the three fits, held-out scores moving by 0.0005 on average (at most
# 0.03); weighted / macro F1 on the evaluation split 0.8921 / 0.8547 -> 0.8923 / 0.8552,
# suspects 14,998 -> 14,997 (14,995 shared, the 500 most suspicious identical).
FOLD_FIT_TOL = 1e-2


def ridge_fold_scores(
    X: Any, Y: np.ndarray, params: ModelParams
) -> tuple[np.ndarray, np.ndarray, Ridge]:
    """Every row's raw score from a ridge model fitted without its fold (``cv_folds`` shuffled
    folds), each row's fold number, and the fold models' average (a ridge model whose scores are
    the mean of the fold models' scores). Each fold fits on all its rows: fitting on a 20,000-row
    subsample at 80,000 training projects halved this stage's CPU but cost 0.008 macro F1,
    beyond issue 16's 0.005 tolerance."""
    scores = np.zeros(Y.shape, dtype=np.float64)
    fold_of = np.zeros(Y.shape[0], dtype=int)
    splitter = KFold(n_splits=params.cv_folds, shuffle=True, random_state=params.seed)
    # running sums, not a list of the fold models: each coef_ is (tags x features) float64,
    # 256 MB at 400 tags and 80,000 features, and np.mean of a list stacks a copy of all
    coefficient_sum = np.zeros((Y.shape[1], X.shape[1]))
    intercept_sum = np.zeros(Y.shape[1])
    for fold, (fit_rows, held_rows) in enumerate(splitter.split(np.arange(Y.shape[0]))):
        estimator = fit_ridge(X[fit_rows], 2.0 * Y[fit_rows] - 1.0, params.alpha, FOLD_FIT_TOL)
        scores[held_rows] = _raw_scores(estimator, X[held_rows])
        fold_of[held_rows] = fold
        coefficient_sum += estimator.coef_
        intercept_sum += estimator.intercept_
        del estimator
    average = Ridge(alpha=params.alpha)
    coefficient_sum /= params.cv_folds
    average.coef_ = coefficient_sum
    average.intercept_ = intercept_sum / params.cv_folds
    average.n_features_in_ = X.shape[1]
    return scores, fold_of, average


def evaluate(
    true_sets: Sequence[frozenset[str] | set[str]], predicted: np.ndarray, tags: Sequence[str]
) -> dict[str, Any]:
    """Per-class precision/recall/F1/support and micro/macro/weighted/samples F1, on the tags
    the model knows (scikit-learn's definitions, zero_division=0)."""
    Y_true = label_matrix(true_sets, tags)
    precision, recall, f1, support = precision_recall_fscore_support(
        Y_true, predicted, zero_division=0
    )
    per_class = {
        tag: {
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
        }
        for j, tag in enumerate(tags)
    }
    overall = {
        f"{average}_f1": float(f1_score(Y_true, predicted, average=average, zero_division=0))
        for average in ("micro", "macro", "weighted", "samples")
    }
    overall["projects"] = len(true_sets)
    return {"overall": overall, "per_class": per_class}
